/**
 * People as they use CRA in a browser: sign up on the embedded issuer's page, confirm the address from
 * the email in the outbox, sign in with the password.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { accountIdForSubject } from '../../domain/account-id.js';
import { changeStaffRole } from '../../api/auth/embedded-oidc/staff-roles.js';
import { collections } from '../../domain/collections.js';
import { staffRoles, type StaffRole } from '../../domain/roles.js';
import { workflowIds } from '../../domain/ids.js';
import { noticesTo, type OutboxNotice, type OutboxReader } from './outbox.js';
import { call, eventually, tokenFor, type TestStack } from './stack.js';

export { noticesTo, type NoticeFilter, type OutboxNotice, type OutboxReader } from './outbox.js';

/** The newest notice to an address, as `npm run outbox` shows it (waits for it). */
export async function newestNotice(stack: OutboxReader, to: string, template: string): Promise<OutboxNotice> {
  return eventually(async () => (await noticesTo(stack, { to, template }))[0], `a ${template} notice to ${to}`);
}

export const linkIn = (body: string) => body.match(/https?:\/\/\S+/)?.[0] ?? '';

export async function signUp(
  stack: TestStack,
  page: Page,
  who: { email: string; password: string; givenName: string; familyName: string },
): Promise<void> {
  await page.goto(`${stack.baseUrl}/account`);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('First name').fill(who.givenName);
  await page.getByLabel('Last name').fill(who.familyName);
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Choose a password').fill(who.password);
  await page.getByLabel(/I accept the terms/).check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
}

export async function confirmEmail(stack: TestStack, page: Page, email: string): Promise<void> {
  const notice = await newestNotice(stack, email, 'email-verification');
  await page.goto(linkIn(notice.body));
  await page.getByRole('button', { name: 'Confirm my address' }).click();
  await page.getByRole('heading', { name: 'Email address confirmed' }).waitFor();
}

export async function signIn(stack: TestStack, page: Page, email: string, password: string): Promise<void> {
  await page.goto(`${stack.baseUrl}/account`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** A person who signed up, confirmed their address and is signed in, in `ctx`, on the account center's home page. */
export async function newPerson(stack: TestStack, ctx: BrowserContext, name: string, roles: StaffRole[] = []) {
  const who = {
    email: `${name}-${Date.now()}@example.com`,
    password: `a long passphrase for ${name}`,
    givenName: name[0]!.toUpperCase() + name.slice(1),
    familyName: 'Tester',
  };
  const page = await ctx.newPage();
  await signUp(stack, page, who);
  await confirmEmail(stack, page, who.email);
  // As `npm run role -- grant <role> --email <address>` does, before the sign-in that carries it.
  for (const role of roles) await changeStaffRole(stack.db, who.email, role, 'grant');
  await signIn(stack, page, who.email, who.password);
  await page.getByRole('heading', { name: 'Your account center' }).waitFor();
  return { ...who, page };
}

/**
 * `newPerson` in a browser context of their own, with what a test needs beside the page: their subject, their
 * account id and an access token for the API, once the account exists.
 */
export async function signedInPerson(stack: TestStack, browser: Browser, name: string, roles: StaffRole[] = []) {
  const context = await browser.newContext();
  const who = await newPerson(stack, context, name, roles);
  const user = await stack.db
    .collection<{ _id: string; email: string }>(collections.identityUsers)
    .findOne({ email: who.email });
  const subject = user!._id;
  const permissions = [...new Set(roles.flatMap((r) => staffRoles[r]))];
  const token = await tokenFor(stack, subject, { email: who.email, permissions });
  await eventually(
    async () => ((await call(stack, 'GET', '/v1/me', { token })).status === 200 ? true : undefined),
    `the account of ${name}`,
  );
  // The signup workflow goes on writing the account (role, consents) after it exists; on FerretDB two
  // writes to one document at once can lose one, so a test starts once signup is done, as a person would.
  await stack.temporal.workflow.getHandle(workflowIds.signup(subject)).result();
  return {
    email: who.email,
    password: who.password,
    subject,
    accountId: accountIdForSubject(subject),
    token,
    context,
    page: who.page,
  };
}
export type SignedInPerson = Awaited<ReturnType<typeof signedInPerson>>;
