/**
 * The security page in a real browser (headless Chromium): a person sets up an authenticator app by reading
 * the key the page shows, makes backup codes that are shown once, adds a passkey with Chromium's virtual
 * authenticator and signs in with it, adds a phone with the code texted to it, and signs another browser
 * out. A form without its CSRF token, and another person's attempt to remove a factor, change nothing.
 * On localhost: WebAuthn refuses IP addresses as relying-party ids.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/services.js';
import { base32Decode, hotp, totpDefaults, totpStep } from '../../domain/recovery.js';
import { addVirtualAuthenticator, launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { newestNotice, signIn, signedInPerson as signedInPersonOf } from '../support/people.js';
import { useTestStack } from '../support/stack.js';

let browser: Browser;
const stack = useTestStack(async () => {
  const port = await freePort();
  return { env: { PORT: String(port), CRA_PUBLIC_URL: `http://localhost:${port}` } };
});
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const signedInPerson = (name: string) => signedInPersonOf(stack, browser, name);
const mainText = async (page: Page) => (await page.locator('main').textContent()) ?? '';
const openSecurity = async (page: Page) => {
  await page.goto(`${stack.baseUrl}/account/security`);
  await page.getByRole('heading', { level: 1, name: 'Security' }).waitFor();
};

describe('the security page', () => {
  it('sets up an authenticator app from the key on the page, and shows backup codes only once', async () => {
    const person = await signedInPerson('sec-totp');
    const { page } = person;
    await openSecurity(page);
    const menu = page.getByRole('navigation', { name: 'Account center' });
    expect(await menu.getByRole('link', { name: 'Security' }).getAttribute('aria-current')).toBe('page');
    expect(await mainText(page)).toContain('Not set up');
    await checkPage(page, 'security-overview');

    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    const qr = page.getByRole('img', { name: 'QR code to scan with your authenticator app' });
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    await checkPage(page, 'security-totp-setup');
    // What a person types into their app: the key as shown, in groups.
    const shown = (await page.locator('#totp-secret').textContent()) ?? '';
    expect(shown).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
    const code = hotp(base32Decode(shown.replace(/\s/g, '')), totpStep(Date.now()), totpDefaults.digits);

    // A wrong code is refused with words, and the person can try again.
    await page.getByLabel('The code your app shows now').fill('00000000');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('alert').waitFor();
    await checkPage(page, 'security-totp-wrong-code');
    await page.getByLabel('The code your app shows now').fill(code);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('Your authenticator app is set up.').waitFor();
    expect(await page.locator('section[aria-labelledby=totp] .badge').textContent()).toBe('Set up');

    await page.getByRole('button', { name: 'Make new backup codes' }).click();
    await page.getByRole('heading', { name: 'Your backup codes' }).waitFor();
    expect(await mainText(page)).toContain('Save these codes now');
    const codes = await page.locator('#backup-codes-list li').allTextContents();
    expect(codes).toHaveLength(10);
    await checkPage(page, 'security-backup-codes');
    await page.getByRole('link', { name: 'I have saved them: back to security' }).click();
    await page.getByRole('heading', { level: 1, name: 'Security' }).waitFor();
    await page.reload();
    const after = await mainText(page);
    expect(after).toContain('10 of 10 backup codes are left.');
    for (const c of codes) expect(after).not.toContain(c);

    // The person's own cookies, but no CSRF token (a form from another site): refused, nothing removed.
    const forged = await person.context.request.post(`${stack.baseUrl}/account/security/totp/remove`, {
      form: { csrf: 'not-the-token' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('This form has expired');
    await page.reload();
    expect(await mainText(page)).toContain('Remove the authenticator app');

    await page.getByRole('button', { name: 'Remove the authenticator app' }).click();
    await page.getByText('Your authenticator app is removed.').waitFor();
    expect(await mainText(page)).toContain('Not set up');
  }, 120_000);

  it('adds a passkey in the browser, signs in with it after signing out, and removes it', async () => {
    const person = await signedInPerson('sec-passkey');
    const { page, context } = person;
    await addVirtualAuthenticator(context, page);
    await openSecurity(page);
    expect(await mainText(page)).toContain('You have no passkeys.');
    await page.getByLabel('A name for the new passkey (optional)').fill('This laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('Your passkey is added.').waitFor();
    expect(await page.getByRole('button', { name: 'Remove This laptop' }).count()).toBe(1);
    await checkPage(page, 'security-passkey-added');

    // The script's calls need the page's CSRF header too: without it, no options are handed out.
    const forged = await context.request.post(`${stack.baseUrl}/account/security/passkeys/options`, { data: {} });
    expect(forged.status()).toBe(403);

    await page.goto(`${stack.baseUrl}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await page.goto(`${stack.baseUrl}/account/security`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('heading', { level: 1, name: 'Security' }).waitFor();
    const sessions = page.locator('section[aria-labelledby=sessions] li');
    expect(await sessions.count()).toBe(1);
    expect(await sessions.first().textContent()).toContain('with a passkey');
    expect(await sessions.first().textContent()).toContain('This browser');

    await page.getByRole('button', { name: 'Remove This laptop' }).click();
    await page.getByText('The passkey is removed.').waitFor();
    expect(await mainText(page)).toContain('You have no passkeys.');
  }, 120_000);

  it('adds a phone with the texted code; another person cannot remove it', async () => {
    const person = await signedInPerson('sec-phone');
    const stranger = await signedInPerson('sec-phone-stranger');
    const { page } = person;
    const number = `+1555${String(Date.now()).slice(-7)}`;
    await openSecurity(page);
    await page.getByLabel(/Phone number, with country code/).fill(number);
    await page.getByRole('button', { name: 'Add the number' }).click();
    await page.getByRole('heading', { name: 'Confirm your phone number' }).waitFor();
    expect(await mainText(page)).toContain(number);
    await checkPage(page, 'security-phone-confirm');
    const text = await newestNotice(stack, number, 'recovery-phone-confirm');
    const code = text.body.match(/\b\d{6,8}\b/)?.[0] ?? '';
    expect(code).not.toBe('');
    await page.getByLabel('The code in the text message').fill(code);
    await page.getByRole('button', { name: 'Confirm the number' }).click();
    await page.getByText('Your phone number is confirmed.').waitFor();
    const row = page.locator('section[aria-labelledby=phones] li', { hasText: number });
    expect(await row.locator('.badge').textContent()).toBe('Confirmed');
    const removeAction = await row.locator('form').getAttribute('action');
    expect(removeAction).toMatch(/^\/account\/security\/phones\/[0-9a-f-]{36}\/remove$/);

    // The stranger, signed in with their own session and token, posts the first person's phone's removal.
    await openSecurity(stranger.page);
    const strangerCsrf = await stranger.page.locator('input[name=csrf]').first().getAttribute('value');
    const refused = await stranger.context.request.post(`${stack.baseUrl}${removeAction}`, {
      form: { csrf: strangerCsrf ?? '' },
      maxRedirects: 0,
    });
    expect(refused.status()).toBe(404);
    expect(await refused.text()).toContain('You have no phone number with this id.');
    await page.reload();
    expect(await row.count()).toBe(1);

    await row.getByRole('button', { name: `Remove ${number}` }).click();
    await page.getByText('The phone number is removed.').waitFor();
    expect(await mainText(page)).not.toContain(number);
  }, 120_000);

  it('lists every browser the person is signed in on, and signs another one out', async () => {
    const person = await signedInPerson('sec-sessions');
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await signIn(stack, otherPage, person.email, person.password);
    await otherPage.getByRole('heading', { name: 'Your account center' }).waitFor();

    const { page } = person;
    await openSecurity(page);
    const sessions = page.locator('section[aria-labelledby=sessions] li');
    expect(await sessions.count()).toBe(2);
    expect(await sessions.filter({ hasText: 'This browser' }).count()).toBe(1);
    await checkPage(page, 'security-sessions');
    await sessions
      .filter({ hasNotText: 'This browser' })
      .getByRole('button', { name: 'Sign out this session' })
      .click();
    // The person stays on the security page, where the list now holds this browser alone.
    await page.waitForURL(`${stack.baseUrl}/account/security`);
    expect(await sessions.count()).toBe(1);
    expect(await sessions.first().textContent()).toContain('This browser');

    // The other browser is signed out: its next page asks it to sign in.
    await otherPage.goto(`${stack.baseUrl}/account/security`);
    await otherPage.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await other.close();
  }, 120_000);
});
