/**
 * Undo a recent link from the "connected" notice: the link opens a confirmation page (a GET, which mail
 * scanners also do, changes nothing), its one button disconnects the provider with retention `delete`, and
 * a used, wrong or expired link gets a clear page. Driven in headless Chromium from the link exactly as the
 * outbox notice carries it.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { linkUndoTokens } from '../../activities/providers/stores.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { noticesTo } from '../support/outbox.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { decodedPayloads } from '../support/history.js';
import { call, eventually, useTestStack } from '../support/stack.js';

const stack = useTestStack({ sandbox: true });
let browser: Browser;
const run = randomBytes(3).toString('hex');

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const nodes = async (who: SignedUp) =>
  (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body.connected_providers.nodes;

/** Link GitHub, wait for the first sync, and read the undo link from the provider-linked notice in the outbox. */
async function linkedWithNotice(
  name: string,
): Promise<{ who: SignedUp; undoUrl: string; workflowId: string; email: string }> {
  const email = `${name}-${run}@example.com`;
  const who = await signedUp(stack, `auth0|${name}-${run}`, { email });
  stack
    .sandbox!.data.kinds('github')
    .forEach((kind) => stack.sandbox!.data.setCount('github', `${name}-gh-${run}`, kind, 2));
  const { answer, workflowId } = await linkThroughSandbox(stack, who, 'github', `${name}-gh-${run}`);
  expect(answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(`sync/${who.accountId}/github`).result();
  const notice = await eventually(
    async () => (await noticesTo(stack, { to: email, template: 'provider-linked' }))[0],
    'the provider-linked notice',
  );
  const undoUrl = /(http\S+\/account\/links\/undo\?token=[A-Za-z0-9_-]+)/.exec(notice.body)?.[1];
  expect(undoUrl).toBeDefined();
  return { who, undoUrl: undoUrl!, workflowId, email };
}

it('shows what would be disconnected, changes nothing on GET, and disconnects with the button', async () => {
  const { who, undoUrl, workflowId } = await linkedWithNotice('undo');
  const token = new URL(undoUrl).searchParams.get('token')!;
  expect(
    await stack.db.collection(collections.providerRecords).countDocuments({ accountId: who.accountId }),
  ).toBeGreaterThan(0);

  // A mail scanner prefetches the link (twice): nothing changes.
  for (let i = 0; i < 2; i++) {
    const scanned = await fetch(undoUrl);
    expect(scanned.status).toBe(200);
    expect(scanned.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(scanned.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await scanned.text();
    expect(html).toContain('Disconnect GitHub and delete its data');
    expect(html).not.toMatch(/<script/i);
  }
  expect((await nodes(who)).map((n) => n.provider)).toEqual(['github']);
  expect(await linkUndoTokens(stack.db).countDocuments({ usedAt: { $ne: null }, accountId: who.accountId })).toBe(0);

  // The token is in no workflow history, and only its hash is stored.
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  expect([...decodedPayloads(history, stack.codec), JSON.stringify(history)].filter((h) => h.includes(token))).toEqual(
    [],
  );
  expect(await linkUndoTokens(stack.db).countDocuments({ _id: token })).toBe(0);

  // The person opens the link from the notice in a browser and presses the one button.
  const context = await browser.newContext();
  const page = await context.newPage();
  const scripts: string[] = [];
  page.on('request', (r) => r.resourceType() === 'script' && scripts.push(r.url()));
  const opened = await page.goto(undoUrl);
  expect(opened?.status()).toBe(200);
  expect(await page.locator('h1').textContent()).toBe('Undo the connection of GitHub?');
  await checkPage(page, 'security-link-undo');
  expect(await page.locator('dd').allTextContents()).toEqual(
    expect.arrayContaining([`undo-${run}@example.com`, 'GitHub']),
  );
  expect(await page.locator('button').count()).toBe(1);
  expect((await nodes(who)).map((n) => n.provider)).toEqual(['github']);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.locator('button').click(),
  ]);
  expect(answer.status()).toBe(200);
  await page.waitForLoadState();
  expect(await page.locator('h1').textContent()).toBe('GitHub is being disconnected');
  expect(scripts).toEqual([]);

  const disconnect = stack.temporal.workflow.getHandle(`disconnect/${who.accountId}/github`);
  expect(await disconnect.result()).toMatchObject({ retention: 'delete' });
  expect(await nodes(who)).toEqual([]);
  expect(await stack.db.collection(collections.providerRecords).countDocuments({ accountId: who.accountId })).toBe(0);
  expect(await stack.db.collection(collections.providerTokens).countDocuments({ accountId: who.accountId })).toBe(0);

  // Used: a clear page, in the browser too, and nothing more happens.
  const again = await page.goto(undoUrl);
  expect(again?.status()).toBe(409);
  expect(await page.locator('h1').textContent()).toBe('This connection was already undone');
  await context.close();
  const pressedAgain = await pressUndo(undoUrl);
  expect(pressedAgain.status).toBe(409);
});

/** The undo page's button, as a browser sends it: the token from the link, in a form body. */
const pressUndo = (url: string) =>
  fetch(`${stack.baseUrl}/account/links/undo`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: new URL(url).searchParams.get('token')! }).toString(),
  });

it('answers a wrong token with 404 and an expired one with 410, changing nothing', async () => {
  const { who, undoUrl } = await linkedWithNotice('late');
  const wrong = new URL(undoUrl);
  wrong.searchParams.set('token', randomBytes(32).toString('base64url'));
  const bad = await pressUndo(wrong.toString());
  expect(bad.status).toBe(404);
  expect(await bad.text()).toContain('This undo link does not work');
  expect((await fetch(`${stack.baseUrl}/account/links/undo`)).status).toBe(404);

  await linkUndoTokens(stack.db).updateMany(
    { accountId: who.accountId },
    { $set: { expiresAt: new Date(Date.now() - 1000).toISOString() } },
  );
  const expired = await fetch(undoUrl);
  expect(expired.status).toBe(410);
  expect(await expired.text()).toContain('This undo link has expired');
  expect((await pressUndo(undoUrl)).status).toBe(410);
  expect((await nodes(who)).map((n) => n.provider)).toEqual(['github']);
});
