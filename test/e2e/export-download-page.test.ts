/**
 * An export's download link in a real browser (headless Chromium; issue 11, Tests): people sign up and sign
 * in on the account center's pages, the owner asks for an export as the account center would (the API,
 * with their token) and opens the signed link from `GET /v1/me/exports/{id}` in their own browser, which
 * downloads the zip: it unzips, and its manifest's SHA-256s match its files. The same link in another
 * person's browser, in a browser signed in to nobody, changed, cut or expired downloads nothing and shows a
 * page that says why and what to do. Real HTTP, the real workers on the Temporal dev server, FerretDB.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedArchivePath, type ManifestFile } from '../../activities/exports/store.js';
import type { ExportResult } from '../../workflows/export/messages.js';
import { launchBrowser } from '../support/browser.js';
import { signedInPerson as signedInPersonOf, type SignedInPerson } from '../support/people.js';
import { call, eventually, useTestStack } from '../support/stack.js';
import { unzip } from '../support/zip.js';

/** Long enough for the pages below to be opened before the link expires; short enough to see it expire. */
const linkTtl = '45 seconds';

let browser: Browser;
const stack = useTestStack({ env: { EXPORT_LINK_TTL: linkTtl } });

type Person = SignedInPerson;
const signedInPerson = (name: string) => signedInPersonOf(stack, browser, name);

interface ReadyExport {
  exportId: string;
  workflowId: string;
  archive: { bytes: number; files: ManifestFile[] };
  download: { url: string; expiresAt: string };
}

/** Ask for an export as the account center would, and wait for its signed download link. */
async function readyExport(p: Person): Promise<ReadyExport> {
  const asked = await call<{ exportId: string }>(stack, 'POST', '/v1/me/exports', { token: p.token });
  expect(asked.status, JSON.stringify(asked.body)).toBe(202);
  return eventually(
    async () => {
      const res = await call<ReadyExport & { status: string }>(stack, 'GET', `/v1/me/exports/${asked.body.exportId}`, {
        token: p.token,
      });
      expect(res.status).toBe(200);
      return res.body.status === 'ready' ? res.body : undefined;
    },
    `export ${asked.body.exportId} ready`,
    120_000,
  );
}

/** Open a link that downloads: the browser's navigation turns into a download (Playwright's goto throws then). */
async function downloadFrom(page: Page, url: string): Promise<{ download: Download; headers: Record<string, string> }> {
  const [download, response] = await Promise.all([
    page.waitForEvent('download'),
    page.waitForResponse((r) => r.url() === url),
    page.goto(url).catch(() => undefined),
  ]);
  return { download, headers: response.headers() };
}

/** Every download a page starts, so a test can say none started. */
function downloadsOf(page: Page): Download[] {
  const seen: Download[] = [];
  page.on('download', (d) => seen.push(d));
  return seen;
}

const heading = async (page: Page) => (await page.locator('h1').textContent()) ?? '';
const mainText = async (page: Page) => (await page.locator('main').textContent()) ?? '';

let owner: Person;
let other: Person;
let ready: ReadyExport;

beforeAll(async () => {
  browser = await launchBrowser();
  owner = await signedInPerson('export-owner');
  other = await signedInPerson('export-stranger');
  ready = await readyExport(owner);
}, 240_000);
afterAll(async () => {
  await browser?.close();
});

describe('the download link of an export, in a browser', () => {
  it('downloads the owner’s archive in the owner’s browser: a zip whose manifest matches its files', async () => {
    expect(ready.download.url.startsWith(`${stack.baseUrl}/v1/exports/${ready.exportId}/archive?`)).toBe(true);
    const { download, headers } = await downloadFrom(owner.page, ready.download.url);
    expect(headers['content-type']).toBe('application/zip');
    expect(headers['content-disposition']).toBe(`attachment; filename="cra-export-${ready.exportId}.zip"`);
    expect(download.suggestedFilename()).toBe(`cra-export-${ready.exportId}.zip`);
    expect(await download.failure()).toBeNull();
    const archive = await readFile((await download.path())!);
    expect(archive.length).toBe(ready.archive.bytes);

    const files = await unzip(archive);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as {
      format: string;
      exportId: string;
      accountId: string;
      files: ManifestFile[];
    };
    expect(manifest).toMatchObject({ format: 'cra-export/1', exportId: ready.exportId, accountId: owner.accountId });
    expect(manifest.files.map((f) => f.name).sort()).toEqual(
      [...files.keys()].filter((n) => n !== 'manifest.json').sort(),
    );
    for (const f of manifest.files) {
      const body = files.get(f.name)!;
      expect(f.bytes, f.name).toBe(body.length);
      expect(f.sha256, f.name).toBe(createHash('sha256').update(body).digest('hex'));
    }
    // What the person finds in it is theirs: their address, the terms they accepted at sign-up.
    expect(files.get('account.json')!.toString('utf8')).toContain(owner.email);
    expect(files.get('consents.jsonl')!.toString('utf8')).toContain('"purpose":"terms"');
    expect([...files.values()].join('\n')).not.toContain(other.email);
  }, 60_000);

  it('downloads nothing in another person’s browser: a page says the download is not for their account', async () => {
    const page = other.page;
    const downloads = downloadsOf(page);
    const answer = await page.goto(ready.download.url);
    expect(answer?.status()).toBe(404);
    expect(answer?.headers()['content-type']).toMatch(/^text\/html/);
    expect(answer?.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    expect(await heading(page)).toBe('This download is not for your account');
    const text = await mainText(page);
    expect(text).toContain('Nothing was downloaded');
    // Nothing of the owner's is on the page.
    expect(text).not.toContain(owner.email);
    expect(text).not.toContain(owner.accountId);
    expect(downloads).toHaveLength(0);
  }, 60_000);

  it('downloads nothing in a browser signed in to nobody; signing in there as the owner starts the download', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const downloads = downloadsOf(page);
    const answer = await page.goto(ready.download.url);
    expect(answer?.status()).toBe(401);
    expect(await heading(page)).toBe('Sign in to download your export');
    expect(await mainText(page)).toContain('nothing was downloaded');
    expect(downloads).toHaveLength(0);

    // The page's one link signs in and comes back to the same link: the owner, on another computer.
    await page.getByRole('link', { name: 'Sign in and download' }).click();
    await page.getByLabel('Email address').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`cra-export-${ready.exportId}.zip`);
    const archive = await readFile((await download.path())!);
    expect(archive.length).toBe(ready.archive.bytes);
    expect([...(await unzip(archive)).keys()]).toContain('manifest.json');
    await context.close();
  }, 90_000);

  it('downloads nothing from a changed or cut link: a page says the link does not work', async () => {
    const page = owner.page;
    const downloads = downloadsOf(page);
    const url = new URL(ready.download.url);
    const forged = new URL(url);
    forged.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3_600_000));
    const changed = await page.goto(forged.href);
    expect(changed?.status()).toBe(403);
    expect(await heading(page)).toBe('This download link does not work');
    expect(await mainText(page)).toContain('Nothing was downloaded');

    // Cut by a mail program: no signature left.
    const cut = await page.goto(`${url.origin}${url.pathname}?expires=${url.searchParams.get('expires')}`);
    expect(cut?.status()).toBe(400);
    expect(await heading(page)).toBe('This download link does not work');
    expect(downloads).toHaveLength(0);
  }, 60_000);

  it('downloads nothing from an expired link: a page says it expired and to ask for a new export', async () => {
    const page = owner.page;
    const downloads = downloadsOf(page);
    // A link CRA signed whose time is over, while the archive is still there.
    const past = await signedArchivePath(stack.deps.vault, {
      exportId: ready.exportId,
      accountId: owner.accountId,
      expiresAt: new Date(Date.now() - 1000),
    });
    const expired = await page.goto(`${stack.baseUrl}${past}`);
    expect(expired?.status()).toBe(410);
    expect(await heading(page)).toBe('This download link has expired');
    const text = await mainText(page);
    expect(text).toContain('Nothing was downloaded');
    expect(text).toContain(linkTtl);
    expect(text).toContain('Ask for a new export');

    // The link the person was given, once its time is over and the archive deleted with it.
    const result: ExportResult = await stack.temporal.workflow.getHandle(ready.workflowId).result();
    expect(result).toMatchObject({ status: 'expired', exportId: ready.exportId });
    const late = await page.goto(ready.download.url);
    expect(late?.status()).toBe(410);
    expect(await heading(page)).toBe('This download link has expired');
    expect(downloads).toHaveLength(0);
  }, 150_000);
});
