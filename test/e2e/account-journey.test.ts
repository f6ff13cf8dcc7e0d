/**
 * The account center's journey in a real browser, against the sandbox providers: a person signs up, confirms
 * the address from the outbox and signs in; reads what GitHub's scopes let CRA see, connects GitHub through
 * the sandbox's consent page, watches the first sync on Processes, browses the records with their origins,
 * disconnects with "keep" and sees the records kept, detached. Then a second person tries the first one's
 * pages, ids and forms, and a form without its CSRF token.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { signedInPerson, type SignedInPerson } from '../support/people.js';
import { call, useTestStack } from '../support/stack.js';

const stack = useTestStack({ sandbox: true });
let browser: Browser;
let ada: SignedInPerson;
/** What Ada's pages showed, for the second person to try. */
let disconnectResultUrl = '';
/** Workflows and Temporal visibility take a moment: pages are reloaded until they show the outcome. */
const poll = { timeout: 60_000, interval: 500 };

beforeAll(async () => {
  browser = await launchBrowser();
  ada = await signedInPerson(stack, browser, 'ada');
});
afterAll(async () => {
  await browser?.close();
});

interface RecordPage {
  items: { status: string; provider: string }[];
}

describe('the account center’s journey', () => {
  it('connects GitHub after reading its scopes, follows the sync, browses origins, disconnects keeping the data', async () => {
    const page = ada.page;
    await page.goto(`${stack.baseUrl}/account`);
    await checkPage(page, 'account-home-summary');
    await page
      .getByRole('navigation', { name: 'Account center' })
      .getByRole('link', { name: 'Connected providers' })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Connected providers' }).waitFor();
    const github = page.getByRole('row', { name: /GitHub/ });
    expect(await github.textContent()).toContain('Not connected');
    await checkPage(page, 'account-providers');

    // The disclosure: each scope in plain words, before anything is asked of GitHub.
    // GitHub answers the last kind slowly, so the first sync is still running when Processes is opened.
    stack.sandbox!.faults.inject('github', { kind: 'starred', delayMs: 8_000 });
    await github.getByRole('link', { name: 'Connect GitHub' }).click();
    await page.getByRole('heading', { level: 1, name: 'Connect GitHub' }).waitFor();
    const disclosure = await page.locator('main').textContent();
    expect(disclosure).toContain('See your email addresses.');
    expect(disclosure).toContain('(user:email)');
    expect(disclosure).toContain('A sync imports: repositories, organizations, starred.');
    await checkPage(page, 'account-connect-disclosure');

    await page.getByRole('button', { name: 'Continue to GitHub' }).click();
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    await page.getByLabel('Username').fill('ada-gh');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { level: 1, name: 'Connected: GitHub' }).waitFor();

    // The first sync, on Processes: running with its progress, or already done.
    await page.goto(`${stack.baseUrl}/account/processes`);
    const sync = page.getByRole('row', { name: /Importing data/ });
    await expect
      .poll(async () => {
        await page.reload();
        return (await sync.count()) > 0 ? await sync.textContent() : '';
      }, poll)
      .toMatch(/kinds of data done/);
    expect(await sync.textContent()).toMatch(/GitHub/);
    expect(await sync.textContent()).toMatch(/Running/);
    // While it runs, the workflow's own query gives the bar.
    expect(await sync.getByRole('progressbar').count()).toBe(1);
    await checkPage(page, 'account-processes');
    // No reload from here: the page's script fetches the list again every few seconds and swaps it in.
    await page.waitForRequest((r) => r.url().endsWith('/account/processes') && r.resourceType() === 'fetch');
    await expect.poll(() => sync.textContent(), poll).toContain('Done');

    // Imported data: each record with its origin, filtered by provider and kind.
    await page.getByRole('navigation', { name: 'Account center' }).getByRole('link', { name: 'Imported data' }).click();
    await page.getByLabel('Provider').selectOption('github');
    await page.getByLabel('Kind').selectOption('repositories');
    await page.getByRole('button', { name: 'Show' }).click();
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    const first = await rows.first().textContent();
    expect(first).toContain('GitHub');
    expect(first).toContain('repositories');
    expect(first).toContain('Up to date');
    expect(first).toMatch(/Fetched \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(first).toMatch(/Sync run \S+/);
    expect(first).toContain('Origin verified: as imported');
    expect(new URL(page.url()).searchParams.get('kind')).toBe('repositories');
    await checkPage(page, 'account-data');

    // An origin edited where the records are stored (say, to steer a deletion) no longer verifies, and the page says so.
    const records = stack.db.collection<{ _id: string; origin: { sourceUrl: string } }>(collections.providerRecords);
    const edited = (await records
      .find({ accountId: ada.accountId, provider: 'github', kind: 'repositories' })
      .sort({ _id: 1 })
      .limit(1)
      .next())!;
    await records.updateOne({ _id: edited._id }, { $set: { 'origin.sourceUrl': 'https://example.com/forged' } });
    await page.reload();
    expect(await rows.first().textContent()).toContain('Origin does not verify: it was edited');
    await records.updateOne({ _id: edited._id }, { $set: { 'origin.sourceUrl': edited.origin.sourceUrl } });

    // Disconnect: the impact preview, a required choice, then what happened.
    await page.goto(`${stack.baseUrl}/account/providers`);
    await page.getByRole('link', { name: 'Disconnect GitHub' }).click();
    await page.getByRole('heading', { level: 1, name: 'Disconnect GitHub' }).waitFor();
    const preview = await page.locator('main').textContent();
    expect(preview).toMatch(/\d+ records?/);
    expect(preview).toContain('ada-gh');
    const choice = page.getByRole('group', { name: 'What should happen to the imported records?' });
    expect(await choice.getByRole('radio').count()).toBe(2);
    await checkPage(page, 'account-disconnect-preview');
    await choice.getByRole('radio', { name: /Keep them/ }).check();
    await page.getByRole('button', { name: 'Disconnect GitHub' }).click();
    await page.waitForURL(/\/account\/providers\/github\/disconnected\?/);
    disconnectResultUrl = page.url();
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByRole('heading', { level: 1 }).textContent();
      }, poll)
      .toBe('GitHub is disconnected');
    expect(await page.getByRole('status').textContent()).toContain('Your records from GitHub were kept');
    await checkPage(page, 'account-disconnect-result');

    // The records are still there, marked kept and detached.
    await page.getByRole('link', { name: 'See your imported data' }).click();
    const kept = await page.locator('tbody tr').first().textContent();
    expect(kept).toContain('Kept, detached');
    const api = await call<RecordPage>(stack, 'GET', '/v1/me/data?provider=github', { token: ada.token });
    expect(api.body.items.length).toBeGreaterThan(0);
    expect(new Set(api.body.items.map((r) => r.status))).toEqual(new Set(['detached']));
    await page.goto(`${stack.baseUrl}/account/providers`);
    expect(await page.getByRole('row', { name: /GitHub/ }).textContent()).toContain('Not connected');
  });

  it('shows a second person only their own data and processes, and refuses them the first one’s ids', async () => {
    expect(disconnectResultUrl).not.toBe('');
    const bob = await signedInPerson(stack, browser, 'bob');
    const page = bob.page;
    // Ada's disconnect result, opened by Bob: the same 404 as a process that does not exist.
    const foreign = await page.goto(disconnectResultUrl);
    expect(foreign?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('There is no such page');
    await checkPage(page, 'account-not-found');
    await page.goto(`${stack.baseUrl}/account/data?provider=github`);
    expect(await page.locator('main').textContent()).toContain('No records to show.');
    await page.goto(`${stack.baseUrl}/account/processes`);
    expect(await page.locator('main').textContent()).not.toContain('GitHub');
    // Bob has no GitHub to disconnect: the page and the form answer 404, whatever Ada has.
    expect((await page.goto(`${stack.baseUrl}/account/providers/github/disconnect`))?.status()).toBe(404);
    const csrf = await page.evaluate<string>(
      `fetch('/account/profile').then((r) => r.text()).then((h) => h.match(/name="csrf" value="([^"]+)"/)[1])`,
    );
    const forged = await page.request.post(`${stack.baseUrl}/account/providers/github/disconnect`, {
      form: { csrf, retention: 'delete' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(404);
    // A form posted without its CSRF token (from another site) is refused, and nothing is started.
    const noToken = await page.request.post(`${stack.baseUrl}/account/providers/github/connect`, {
      form: {},
      maxRedirects: 0,
    });
    expect(noToken.status()).toBe(403);
    expect(await noToken.text()).toContain('This form has expired');
    const ownData = await call<RecordPage>(stack, 'GET', '/v1/me/data?provider=github', { token: bob.token });
    expect(ownData.body.items).toEqual([]);
    await bob.context.close();
  });
});
