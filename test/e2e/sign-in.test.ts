/**
 * Signing in as a person does it, in a real browser against the embedded OpenID provider: create an
 * account, confirm the address from the link in the email, sign in, reach the account center, see and
 * end sessions, sign out. And the defences: no enumeration on sign-up or sign-in, lockout with backoff,
 * CSRF tokens on every form, a forged sign-in callback, cookies that scripts cannot read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { collections } from '../../domain/collections.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { createRecoveryIdentityActivities } from '../../activities/recovery/identity-activities.js';
import { openedAccountByEmail } from '../support/account-documents.js';
import { launchBrowser } from '../support/browser.js';
import { linkIn, newestNotice, newPerson as signedUpPerson, signIn, signUp } from '../support/people.js';
import { call, eventually, useTestStack } from '../support/stack.js';

const stack = useTestStack();
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('sign-in in a browser', () => {
  it('creates an account, confirms the address from the email, signs in and reaches the account center', async () => {
    const ctx = await browser.newContext();
    const ada = await signedUpPerson(stack, ctx, 'ada');
    expect(await ada.page.textContent('main')).toContain(`Signed in as`);
    // The signup process ran: the account-center document exists with the names given on the sign-up page.
    const accountId = await eventually(
      async () => {
        const account = await openedAccountByEmail(stack, ada.email);
        return account?.profile.givenName === ada.givenName ? account._id : undefined;
      },
      'the account center document',
      60_000,
    );
    expect(accountId).toMatch(/[0-9a-f-]{36}/);
    // The session cookie is httpOnly (no script reads it) and SameSite=Lax.
    const cookies = await ctx.cookies(stack.baseUrl);
    const session = cookies.find((c) => c.name === 'cra_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(await ada.page.evaluate('document.cookie')).not.toContain('cra_session');
    await ctx.close();
  });

  it('answers sign-up alike for a taken address and tells its owner instead', async () => {
    const ctx = await browser.newContext();
    const bob = await signedUpPerson(stack, ctx, 'bob');
    const other = await browser.newContext();
    const page = await other.newPage();
    await signUp(stack, page, {
      email: bob.email,
      password: 'someone elses password',
      givenName: 'Mallory',
      familyName: 'Imposter',
    });
    expect(await page.textContent('main')).toContain(`We sent a message to ${bob.email}`);
    const notice = await newestNotice(stack, bob.email, 'signup-existing-account');
    expect(notice.body).toContain('you already have one');
    // Bob's password still works; the imposter's does not.
    await signIn(stack, page, bob.email, 'someone elses password');
    expect(await page.getByRole('alert').textContent()).toContain('do not match an account');
    await ctx.close();
    await other.close();
  });

  it('gives the same answer for an unknown address and a wrong password, then locks with a backoff', async () => {
    const ctx = await browser.newContext();
    const carol = await signedUpPerson(stack, ctx, 'carol');
    const attacker = await browser.newContext();
    const page = await attacker.newPage();
    await signIn(stack, page, `nobody-${Date.now()}@example.com`, 'whatever it is');
    const unknown = await page.getByRole('alert').textContent();
    await signIn(stack, page, carol.email, 'not her password');
    const wrong = await page.getByRole('alert').textContent();
    expect(unknown).toBe(wrong);
    for (let i = 0; i < 4; i++) await signIn(stack, page, carol.email, `guess ${i}`);
    // Five failures: the next try is refused even with the right password, and says when to come back.
    await signIn(stack, page, carol.email, carol.password);
    expect(await page.getByRole('alert').textContent()).toMatch(
      /Too many failed attempts for this email address\. Try again in 1 minute/,
    );
    await ctx.close();
    await attacker.close();
  });

  it('lists the browser sessions, signs one out from another, and refuses a form without its CSRF token', async () => {
    const laptop = await browser.newContext();
    const dave = await signedUpPerson(stack, laptop, 'dave');
    const phone = await browser.newContext();
    const phonePage = await phone.newPage();
    await signIn(stack, phonePage, dave.email, dave.password);
    await phonePage.getByRole('heading', { name: 'Your account center' }).waitFor();
    await dave.page.reload();
    expect(await dave.page.getByRole('button', { name: 'Sign out this session' }).count()).toBe(2);

    // A form posted from elsewhere (no CSRF token) changes nothing.
    const forged = await phonePage.request.post(`${stack.baseUrl}/account/sessions/sign-out-all`, {
      form: { csrf: 'forged' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('This form has expired');
    await dave.page.reload();
    expect(await dave.page.getByRole('button', { name: 'Sign out this session' }).count()).toBe(2);

    // The laptop signs the phone out: the phone's next page asks it to sign in.
    await dave.page
      .locator('li', { hasNot: dave.page.getByText('This browser') })
      .getByRole('button', { name: 'Sign out this session' })
      .click();
    await phonePage.goto(`${stack.baseUrl}/account`);
    await phonePage.getByRole('heading', { name: 'Sign in' }).waitFor();
    await dave.page.reload();
    expect(await dave.page.getByRole('button', { name: 'Sign out this session' }).count()).toBe(1);

    // Signing out ends the session here and at the issuer: /account asks for the password again.
    await dave.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await dave.page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await dave.page.goto(`${stack.baseUrl}/account`);
    await dave.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await dave.page.getByLabel('Password').count()).toBe(1);
    await laptop.close();
    await phone.close();
  });

  it('after a recovery resets the credentials: every session ends, the old password stops, the emailed ticket sets a new one once', async () => {
    const ctx = await browser.newContext();
    const fay = await signedUpPerson(stack, ctx, 'fay');
    const subject = (await stack.db
      .collection<{ _id: string; subject: string }>(collections.identityEmails)
      .findOne({ _id: fay.email }))!.subject;
    const accountId =
      (await eventually(
        async () =>
          (
            await stack.db
              .collection<{ _id: string; status: string }>(collections.accounts)
              .findOne({ 'rootIdentity.subject': subject })
          )?.status === 'active' || undefined,
        'the account',
      )) && accountIdForSubject(subject);
    // What an approved recovery does: the recovery workflow's reset activity, with the real directory and outbox.
    const sent = await createRecoveryIdentityActivities({
      directory: stack.deps.directory,
      notifier: stack.deps.notifier,
      db: stack.db,
      accountKeys: stack.deps.accountKeys,
    }).resetRecoveredCredentials({ recoveryId: `test-${Date.now()}`, accountId, subject, ticketTtlSeconds: 900 });
    expect(sent).toEqual({ directory: 'embedded', ticketSent: true });
    // The link as the mail carries it.
    const passwordChangeTicketUrl = linkIn((await newestNotice(stack, fay.email, 'recovery-password-ticket')).body);
    expect(passwordChangeTicketUrl).toMatch(new RegExp(`^${stack.baseUrl}/account/reset-password\\?ticket=`));
    await fay.page.goto(`${stack.baseUrl}/account`);
    await fay.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await fay.page.getByLabel('Password').count()).toBe(1);
    await signIn(stack, fay.page, fay.email, fay.password);
    expect(await fay.page.getByRole('alert').textContent()).toContain('Your password was reset');

    await fay.page.goto(passwordChangeTicketUrl!);
    // The browser asks for 10 characters itself; the server refuses fewer too, and keeps the ticket.
    const short = await fay.page.request.post(`${stack.baseUrl}/account/reset-password`, {
      form: { ticket: new URL(passwordChangeTicketUrl!).searchParams.get('ticket')!, password: 'short' },
    });
    expect(short.status()).toBe(400);
    expect(await short.text()).toContain('at least 10 characters');
    await fay.page.getByLabel('Choose a password').fill('a brand new passphrase');
    await fay.page.getByRole('button', { name: 'Save the new password' }).click();
    await fay.page.getByRole('heading', { name: 'Your new password is saved' }).waitFor();
    await signIn(stack, fay.page, fay.email, 'a brand new passphrase');
    await fay.page.getByRole('heading', { name: 'Your account center' }).waitFor();
    // The ticket worked once.
    const again = await fay.page.goto(passwordChangeTicketUrl!);
    expect(again?.status()).toBe(400);
    expect(await fay.page.textContent('main')).toContain('This link does not work');
    await ctx.close();
  });

  it('refuses a sign-in callback that this browser did not start (login CSRF)', async () => {
    // Mallory starts a sign-in and sends the victim the callback URL with her code: the victim's browser holds
    // no transaction for it, so nothing signs the victim in as Mallory.
    const mallory = await browser.newContext();
    const eve = await signedUpPerson(stack, mallory, 'eve');
    await eve.page.close();
    const victim = await browser.newContext();
    const page = await victim.newPage();
    const res = await page.goto(`${stack.baseUrl}/account/callback?code=stolen&state=forged`);
    expect(res?.status()).toBe(400);
    expect(await page.textContent('main')).toContain('Sign-in did not complete');
    // Nor does a crafted error put the crafter's words on the page.
    await page.goto(
      `${stack.baseUrl}/account/callback?error=server_error&error_description=${encodeURIComponent('Call +1 555 0100 to unlock your account')}`,
    );
    expect(await page.textContent('main')).toContain('could not sign you in');
    expect(await page.textContent('main')).not.toContain('555 0100');
    expect((await victim.cookies(stack.baseUrl)).find((c) => c.name === 'cra_session')).toBeUndefined();
    await mallory.close();
    await victim.close();
  });

  it('gives apps the discovery document, the JWKS and 15-minute access tokens that the API accepts', async () => {
    const discovery = await call<{
      issuer: string;
      authorization_endpoint: string;
      code_challenge_methods_supported: string[];
      jwks_uri: string;
    }>(stack, 'GET', '/.well-known/openid-configuration');
    expect(discovery.status).toBe(200);
    expect(discovery.body.issuer).toBe(stack.config.auth.issuer);
    expect(discovery.body.code_challenge_methods_supported).toEqual(['S256']);
    const jwks = await call<{ keys: Array<{ kid: string; d?: string }> }>(stack, 'GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.length).toBeGreaterThan(0);
    expect(jwks.body.keys.every((k) => k.d === undefined)).toBe(true);
  });
});
