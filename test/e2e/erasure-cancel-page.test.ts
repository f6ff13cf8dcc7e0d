/**
 * The cancel link of the erasure notice, in a real browser (headless Chromium): people sign up and sign in
 * on the account center's pages, the link is read from the outbox exactly as the notice carries it, opened
 * with a GET (which changes nothing), and its one button cancels only for the account's owner signed in in
 * that browser. Real HTTP, the real workers on the Temporal dev server, FerretDB.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountCenter } from '../../domain/account-center.js';
import { describeInstant, maskEmail } from '../../domain/recovery.js';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { newestNotice, signedInPerson as signedInPersonOf, type SignedInPerson } from '../support/people.js';
import { call, useTestStack } from '../support/stack.js';

let browser: Browser;
// Long enough that nothing is erased while the pages are open.
const stack = useTestStack({ env: { ERASURE_GRACE_PERIOD: '1 hour' } });
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

type Person = SignedInPerson;
const signedInPerson = (name: string) => signedInPersonOf(stack, browser, name);

const statusOf = async (p: Person) =>
  (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: p.token })).body.status;
const stageOf = async (p: Person) =>
  (await call<{ stage: string }>(stack, 'GET', '/v1/me/erasure', { token: p.token })).body.stage;

/** Ask for the erasure, and read the notice's cancel link as the person receives it. */
async function erasureWithLink(p: Person): Promise<{ link: URL; graceEndsAt: string; requestedAt: string }> {
  const asked = await call<{ graceEndsAt: string; requestedAt: string }>(stack, 'POST', '/v1/me/erasure', {
    token: p.token,
  });
  expect(asked.status).toBe(202);
  const notice = await newestNotice(stack, p.email, 'erasure-requested');
  expect(notice.body).toContain(describeInstant(asked.body.graceEndsAt));
  const found = /https?:\/\/\S+\/account\/erasure\/cancel\?token=\S+/.exec(notice.body);
  expect(found, notice.body).not.toBeNull();
  return { link: new URL(found![0]), ...asked.body };
}

describe('the cancel link of an erasure notice', () => {
  it('opens a page that says what would be cancelled and changes nothing; the owner’s button cancels; the link is then spent', async () => {
    const owner = await signedInPerson('erasure-owner');
    const { link, graceEndsAt, requestedAt } = await erasureWithLink(owner);
    expect(link.origin).toBe(stack.baseUrl);
    expect(await statusOf(owner)).toBe('pending_deletion');

    const page = owner.page;
    const opened = await page.goto(link.toString());
    expect(opened?.status()).toBe(200);
    expect(opened!.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    expect(await page.locator('h1').textContent()).toBe('Keep your account?');
    // Signed in: the page has the account center's look, its menu and who is signed in.
    expect(await page.getByRole('navigation', { name: 'Account center' }).count()).toBe(1);
    expect(await page.locator('header').textContent()).toContain(owner.email);
    await checkPage(page, 'privacy-erasure-cancel-link');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain(maskEmail(owner.email));
    expect(text).not.toContain(owner.email);
    expect(text).toContain(describeInstant(requestedAt));
    expect(text).toContain(describeInstant(graceEndsAt));
    const buttons = page.locator('button');
    expect(await buttons.count()).toBe(1);
    expect(await buttons.textContent()).toBe('Keep my account');

    // Opening the link (again, as a mail scanner would) changed nothing.
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(200);
    expect(await stageOf(owner)).toBe('grace');
    expect(await statusOf(owner)).toBe('pending_deletion');

    const [answer] = await Promise.all([page.waitForNavigation(), buttons.click()]);
    expect(answer?.status()).toBe(200);
    expect(answer?.request().method()).toBe('POST');
    // The token travelled in the form's body, not in the URL.
    expect(page.url()).toBe(`${stack.baseUrl}/account/erasure/cancel`);
    expect(await page.locator('h1').textContent()).toBe('Your account will not be erased');
    expect(await statusOf(owner)).toBe('active');
    expect(await stageOf(owner)).toBe('cancelled');
    const audit = await stack.deps.auditLog.list({ accountId: owner.accountId });
    expect(audit.find((e) => e.action === 'erasure.cancelled')?.details).toMatchObject({ by: 'link' });
    await newestNotice(stack, owner.email, 'erasure-cancelled');

    // The link is spent.
    const used = await page.goto(link.toString());
    expect(used?.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('This cancel link was used already');
    expect(await page.locator('button').count()).toBe(0);
    await owner.context.close();
  }, 120_000);

  it('cancels nothing for someone else signed in, for a browser not signed in, or with a wrong token', async () => {
    const owner = await signedInPerson('erasure-target');
    const other = await signedInPerson('erasure-stranger');
    const { link } = await erasureWithLink(owner);

    // Someone else, signed in to their own account, opens the owner's link and presses the button.
    const page = other.page;
    expect((await page.goto(link.toString()))?.status()).toBe(200);
    const [refused] = await Promise.all([page.waitForNavigation(), page.locator('button').click()]);
    expect(refused?.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('This link is for another account');
    expect(await page.locator('main').textContent()).toContain('Nothing was cancelled');
    expect(await stageOf(owner)).toBe('grace');
    expect(await statusOf(owner)).toBe('pending_deletion');
    expect(await statusOf(other)).toBe('active');

    // A browser signed in to nobody is sent to sign in first; nothing changes.
    const anonymous = await browser.newContext();
    const stranger = await anonymous.newPage();
    expect((await stranger.goto(link.toString()))?.status()).toBe(200);
    await Promise.all([stranger.waitForNavigation(), stranger.locator('button').click()]);
    await stranger.getByLabel('Password').waitFor();
    expect(await stageOf(owner)).toBe('grace');

    // A wrong or cut token is a page that says the link does not work.
    const wrong = new URL(link);
    wrong.searchParams.set('token', 'x'.repeat(43));
    const wrongAnswer = await stranger.goto(wrong.toString());
    expect(wrongAnswer?.status()).toBe(404);
    expect(await stranger.locator('h1').textContent()).toBe('This cancel link does not work');
    expect(await stranger.locator('button').count()).toBe(0);
    const cut = await stranger.goto(`${stack.baseUrl}${link.pathname}`);
    expect(cut?.status()).toBe(404);
    const forged = await fetch(`${stack.baseUrl}/account/erasure/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${'y'.repeat(43)}`,
    });
    expect(forged.status).toBe(404);
    expect(await forged.text()).toContain('This cancel link does not work');
    expect(await stageOf(owner)).toBe('grace');
    await anonymous.close();

    // The owner, signed in in their own browser, still can.
    const own = owner.page;
    expect((await own.goto(link.toString()))?.status()).toBe(200);
    const [done] = await Promise.all([own.waitForNavigation(), own.locator('button').click()]);
    expect(done?.status()).toBe(200);
    expect(await own.locator('h1').textContent()).toBe('Your account will not be erased');
    expect(await statusOf(owner)).toBe('active');
    await owner.context.close();
    await other.context.close();
  }, 180_000);
});
