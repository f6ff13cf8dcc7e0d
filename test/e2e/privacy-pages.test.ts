/**
 * The privacy and activity pages in a real browser (headless Chromium): a person gives and withdraws a
 * consent, asks for an export of their data, watches its stage and downloads it from the page, asks for
 * the erasure of their account and keeps it from the page; their activity page tells what happened in
 * words, and shows nothing of another person's. Real HTTP, the real workers on the Temporal dev server,
 * FerretDB.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { signedInPerson as signedInPersonOf, type SignedInPerson } from '../support/people.js';
import { call, eventually, useTestStack } from '../support/stack.js';
import { unzip } from '../support/zip.js';

let browser: Browser;
// Long enough that nothing is erased while the pages are open.
const stack = useTestStack({ env: { ERASURE_GRACE_PERIOD: '1 hour' } });
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const signedInPerson = (name: string) => signedInPersonOf(stack, browser, name);
const mainText = async (page: Page) => (await page.locator('main').textContent()) ?? '';
const openPrivacy = async (page: Page) => {
  await page.goto(`${stack.baseUrl}/account/privacy`);
  await page.getByRole('heading', { level: 1, name: 'Privacy' }).waitFor();
};
const openActivity = async (page: Page) => {
  await page.goto(`${stack.baseUrl}/account/activity`);
  await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
};
const consentRow = (page: Page, purpose: string) =>
  page.locator('section[aria-labelledby=consents] li', { hasText: `${purpose} · version` });

let owner: SignedInPerson;
let other: SignedInPerson;
beforeAll(async () => {
  owner = await signedInPerson('privacy-owner');
  other = await signedInPerson('privacy-other');
}, 120_000);

describe('the privacy page', () => {
  it('gives and withdraws a consent, and the activity page says so in words, to this person only', async () => {
    const { page } = owner;
    await openPrivacy(page);
    const menu = page.getByRole('navigation', { name: 'Account center' });
    expect(await menu.getByRole('link', { name: 'Privacy' }).getAttribute('aria-current')).toBe('page');
    await checkPage(page, 'privacy-overview');
    const row = consentRow(page, 'provider_data');
    if ((await row.locator('.badge').textContent()) !== 'Given') {
      await row.getByRole('button', { name: 'Give consent to "provider_data"' }).click();
      await page.getByText('Your consent is recorded.').waitFor();
    }
    expect(await row.locator('.badge').textContent()).toBe('Given');
    await row.getByRole('button', { name: 'Withdraw consent to "provider_data"' }).click();
    await page.getByText('Your consent is withdrawn.').waitFor();
    expect(await row.locator('.badge').textContent()).toBe('Withdrawn');
    await checkPage(page, 'privacy-consent-withdrawn');
    const consents = await call<{ current: { purpose: string; granted: boolean }[] }>(stack, 'GET', '/v1/me/consents', {
      token: owner.token,
    });
    expect(consents.body.current.find((c) => c.purpose === 'provider_data')?.granted).toBe(false);
    await row.getByRole('button', { name: 'Give consent to "provider_data"' }).click();
    await page.getByText('Your consent is recorded.').waitFor();
    expect(await row.locator('.badge').textContent()).toBe('Given');

    // The activity page: newest first, in words, by whom.
    await openActivity(page);
    await checkPage(page, 'privacy-activity');
    const rows = await page.locator('main tbody tr td:nth-child(2)').allTextContents();
    expect(rows.slice(0, 2)).toEqual([
      'You gave your consent to "provider_data"',
      'You withdrew your consent to "provider_data"',
    ]);
    expect(rows).toContain('Your account center was created');
    expect(await page.locator('main tbody tr').first().locator('td').nth(2).textContent()).toBe('You');

    // Older events are a page further: 25 more answers (recorded through the API) push the first ones there.
    for (let i = 0; i < 25; i++) {
      const answer = await call(stack, 'PUT', '/v1/me/consents', {
        token: owner.token,
        json: { purpose: 'provider_data', version: '2026-11', granted: i % 2 === 0 ? false : true },
      });
      expect(answer.status).toBe(200);
    }
    await openActivity(page);
    expect(await page.locator('main tbody tr').count()).toBe(25);
    expect(await mainText(page)).not.toContain('Your account center was created');
    await page.getByRole('link', { name: 'Older events' }).click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    expect(await mainText(page)).toContain('Your account center was created');
    await checkPage(page, 'privacy-activity-older');
    await page.getByRole('link', { name: 'Back to the newest' }).click();
    expect(await page.locator('main tbody tr').count()).toBe(25);

    // The other person never withdrew anything, and sees none of the owner's events.
    await openActivity(other.page);
    const theirs = await mainText(other.page);
    expect(theirs).toContain('Your account center was created');
    expect(theirs).not.toContain('You withdrew your consent');
    expect(theirs).not.toContain(owner.email);
  }, 120_000);

  it('asks for an export, shows its stage, and downloads it when ready', async () => {
    const { page } = owner;
    await openPrivacy(page);
    await page.getByRole('button', { name: 'Request an export' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data export' }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/account\/privacy\/exports\/[0-9a-f-]{36}$/);
    await checkPage(page, 'privacy-export-requested');
    // As a person would: refresh the page until the link is there.
    // The page reloads itself while the export is built: the link appears when it is ready.
    const link = page.getByRole('link', { name: 'Download the zip' });
    await link.waitFor({ timeout: 120_000 });
    expect(await mainText(page)).toContain('Ready to download');
    await checkPage(page, 'privacy-export-ready');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(/^cra-export-[0-9a-f-]{36}\.zip$/);
    const files = await unzip(await readFile((await download.path())!));
    expect(files.get('account.json')!.toString('utf8')).toContain(owner.email);

    // Another person's browser opening the owner's export page sees no such page.
    const stranger = await other.page.goto(page.url());
    expect(stranger?.status()).toBe(404);
  }, 180_000);

  it('asks for the erasure after a page that says what goes, then keeps the account from the page', async () => {
    const { page } = other;
    await openPrivacy(page);
    await page.getByRole('link', { name: 'Erase my account…' }).click();
    await page.getByRole('heading', { level: 1, name: 'Erase your account?' }).waitFor();
    const confirm = await mainText(page);
    expect(confirm).toContain('every record imported from your providers');
    expect(confirm).toContain('Nothing is erased for 1 hour');
    await checkPage(page, 'privacy-erasure-confirm');

    // The same button posted without the page's CSRF token (another site's form) asks for nothing.
    const forged = await other.context.request.post(`${stack.baseUrl}/account/privacy/erasure`, {
      form: {},
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect((await call(stack, 'GET', '/v1/me/erasure', { token: other.token })).status).toBe(404);

    await page.getByRole('button', { name: 'Erase my account' }).click();
    await page.getByText('Your account will be erased when the grace period ends.').waitFor();
    const state = await call<{ stage: string; graceEndsAt: string }>(stack, 'GET', '/v1/me/erasure', {
      token: other.token,
    });
    expect(state.body.stage).toBe('grace');
    expect(await mainText(page)).toContain(
      `Your account will be erased on ${state.body.graceEndsAt.slice(0, 16).replace('T', ' ')} UTC`,
    );
    await checkPage(page, 'privacy-erasure-pending');

    await page.getByRole('button', { name: 'Keep my account' }).click();
    await page.getByText('The erasure is cancelled: your account stays.').waitFor();
    expect(await page.getByRole('link', { name: 'Erase my account…' }).count()).toBe(1);
    await eventually(
      async () =>
        (await call<{ stage: string }>(stack, 'GET', '/v1/me/erasure', { token: other.token })).body.stage ===
        'cancelled'
          ? true
          : undefined,
      'the erasure cancelled',
    );
    await checkPage(page, 'privacy-erasure-cancelled');
  }, 120_000);
});
