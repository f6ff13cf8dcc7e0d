/**
 * Erasing an identity in the embedded directory (the erasure's directory step): a person who signed up,
 * confirmed the address, signed in and mistyped the password once — through the real sign-up pages, the
 * embedded issuer and a real browser — is deleted, and then nothing of the directory or its issuer holds the
 * subject or the address. A second deletion finds nothing; signing up again with the same address makes a
 * new identity, never the old one back.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDirectory } from '../../activities/identity/embedded-directory.js';
import { EmbeddedAccounts } from '../../api/auth/embedded-oidc/accounts.js';
import { collections } from '../../domain/collections.js';
import { launchBrowser } from '../support/browser.js';
import { confirmEmail, newPerson, signIn, signUp } from '../support/people.js';
import { eventually, useTestStack } from '../support/stack.js';

const stack = useTestStack();
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/**
 * Collections other steps of the erasure own (the account document, the notices sent, the audit log): they
 * hold the person too, and are erased or pseudonymised by those steps, not by the directory.
 */
const notTheDirectory = new Set<string>([collections.accounts, collections.outbox, collections.auditEvents]);

/** Every document of every other collection that mentions one of `needles`, as `collection: document`. */
async function mentions(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { name } of await stack.db.listCollections({}, { nameOnly: true }).toArray()) {
    if (notTheDirectory.has(name)) continue;
    for await (const doc of stack.db.collection(name).find({})) {
      const text = JSON.stringify(doc).toLowerCase();
      if (needles.some((n) => text.includes(n.toLowerCase()))) found.push(`${name}: ${JSON.stringify(doc)}`);
    }
  }
  return found;
}

const subjectOf = async (email: string) =>
  (await stack.db.collection<{ _id: string; subject: string }>(collections.identityEmails).findOne({ _id: email }))
    ?.subject;

describe('erasing an identity of the embedded directory', () => {
  it('leaves nothing of the subject or the address, finds nothing the second time, and a new sign-up is a new person', async () => {
    const ctx = await browser.newContext();
    const erin = await newPerson(stack, ctx, 'erin');
    const subject = (await subjectOf(erin.email))!;
    expect(subject).toMatch(/^cra\|/);
    // Signed in: the account center's first sign-in ran the signup, which binds the identity to the account.
    await eventually(
      async () =>
        (await stack.db.collection(collections.accounts).findOne({ 'rootIdentity.subject': subject })) ?? undefined,
      'the account of the signed-in person',
      60_000,
    );
    // A mistyped password leaves a throttle record for the address.
    const other = await browser.newContext();
    const typo = await other.newPage();
    await signIn(stack, typo, erin.email, 'not the password');
    expect(await typo.getByRole('alert').textContent()).toContain('do not match an account');

    // What the directory and its issuer hold of Erin before: the user with its password hash, the address
    // claim, the used verification, the browser session, the issuer's session and grant, the throttle.
    const before = await mentions([subject, erin.email]);
    for (const name of [
      collections.identityUsers,
      collections.identityEmails,
      collections.emailVerifications,
      collections.browserSessions,
      collections.oidcRecords,
    ])
      expect(before.some((line) => line.startsWith(`${name}: `))).toBe(true);
    expect(await stack.db.collection(collections.signinThrottle).countDocuments()).toBeGreaterThan(0);

    const directory = new EmbeddedDirectory(stack.db, stack.config.publicUrl);
    await expect(directory.deleteIdentity(subject)).resolves.toEqual({ deleted: true, unlinkedIdentities: 0 });

    expect(await mentions([subject, erin.email])).toEqual([]);
    expect(await stack.db.collection(collections.signinThrottle).countDocuments()).toBe(0);
    expect(await directory.getIdentity(subject)).toBeUndefined();
    // Erin's session is over: the account center asks her to sign in again, and her password opens nothing.
    await erin.page.goto(`${stack.baseUrl}/account`);
    expect(await erin.page.getByRole('button', { name: 'Sign in', exact: true }).count()).toBe(1);
    await signIn(stack, erin.page, erin.email, erin.password);
    expect(await erin.page.getByRole('alert').textContent()).toContain('do not match an account');

    await expect(directory.deleteIdentity(subject)).resolves.toEqual({ deleted: false, unlinkedIdentities: 0 });

    // The same address signs up again: a new subject, a new account.
    const again = await browser.newContext();
    const page = await again.newPage();
    await signUp(stack, page, { ...erin, password: 'a brand new passphrase' });
    await confirmEmail(stack, page, erin.email);
    await signIn(stack, page, erin.email, 'a brand new passphrase');
    await page.getByRole('heading', { name: 'Your account center' }).waitFor();
    const newSubject = (await subjectOf(erin.email))!;
    expect(newSubject).toMatch(/^cra\|/);
    expect(newSubject).not.toBe(subject);
    expect(await directory.getIdentity(subject)).toBeUndefined();
    expect(await mentions([subject])).toEqual([]);

    await ctx.close();
    await other.close();
    await again.close();
  });

  it('also erases a pending verification and an unused password-change ticket', async () => {
    const email = `frank-${Date.now()}@example.com`;
    const accounts = new EmbeddedAccounts(stack.db, stack.deps.notifier, stack.config.publicUrl);
    await accounts.signUp({
      email,
      password: 'frank’s long passphrase',
      givenName: 'Frank',
      familyName: 'Tester',
      consents: [],
    });
    const subject = (await subjectOf(email))!;
    const directory = new EmbeddedDirectory(stack.db, stack.config.publicUrl);
    // A recovery's reset left a password-change ticket behind.
    const { passwordChangeTicketUrl } = await directory.resetCredentials(subject, { ticketTtlSeconds: 900 });
    expect(passwordChangeTicketUrl).toContain('/account/reset-password?ticket=');
    expect(await stack.db.collection(collections.passwordTickets).countDocuments({ subject })).toBe(1);
    expect(await stack.db.collection(collections.emailVerifications).countDocuments({ subject, usedAt: null })).toBe(1);
    expect((await fetch(passwordChangeTicketUrl!)).status).toBe(200);

    await expect(directory.deleteIdentity(subject)).resolves.toEqual({ deleted: true, unlinkedIdentities: 0 });
    expect(await mentions([subject, email])).toEqual([]);
    // The ticket opens nothing any more.
    expect((await fetch(passwordChangeTicketUrl!)).status).toBe(400);
  });
});
