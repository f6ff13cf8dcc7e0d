/**
 * Connecting a provider the way a person does, in a real browser: sign in to the account center, press
 * "Connect GitHub", approve at the (sandbox) provider, come back connected. And the attacks of the security
 * probe, each from a second browser: Mallory's authorization URL approved by a signed-in victim, and the
 * same URL opened by a browser with no session (asked to sign in; completes only for Mallory).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { openedAccountByEmail } from '../support/account-documents.js';
import { launchBrowser } from '../support/browser.js';
import { newPerson } from '../support/people.js';
import { eventually, useTestStack } from '../support/stack.js';

const stack = useTestStack({ sandbox: true });
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function accountOf(email: string): Promise<AccountDocument> {
  return eventually(
    async () => {
      const account = await openedAccountByEmail(stack, email);
      return account?.status === 'active' ? account : undefined;
    },
    `the account of ${email}`,
    60_000,
  );
}

const githubOf = async (email: string) =>
  (await accountOf(email)).connected_providers.nodes.filter((n) => n.provider === 'github');

/** Press "Connect GitHub" on the account page; returns the authorization URL the browser was sent to. */
async function startConnect(page: Page): Promise<string> {
  await page.goto(`${stack.baseUrl}/account`);
  const [started] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/account/providers/github/connect')),
    page.getByRole('button', { name: 'Connect GitHub' }).click(),
  ]);
  await page.getByRole('button', { name: 'Approve' }).waitFor();
  return started.headers().location!;
}

async function approveAs(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.locator('h1').waitFor();
}

async function ready(ctx: BrowserContext, name: string) {
  const person = await newPerson(stack, ctx, name);
  await accountOf(person.email);
  return person;
}

describe('connecting a provider from the account center', () => {
  it('signs in, connects GitHub through its consent page, and shows it connected', async () => {
    const ctx = await browser.newContext();
    const ada = await ready(ctx, 'ada');
    await startConnect(ada.page);
    await approveAs(ada.page, 'ada-gh');
    expect(await ada.page.locator('h1').textContent()).toBe('Connected: GitHub');
    expect((await githubOf(ada.email)).map((n) => n.status)).toEqual(['active']);
    await ada.page.getByRole('link', { name: 'Back to your account center' }).click();
    await ada.page.getByRole('heading', { name: 'Your account center' }).waitFor();
    expect(await ada.page.locator('li', { hasText: 'GitHub' }).textContent()).toContain('Connected');
    await ctx.close();
  });

  it("links nothing when a signed-in victim approves Mallory's authorization URL", async () => {
    const malloryCtx = await browser.newContext();
    const mallory = await ready(malloryCtx, 'mallory');
    const lure = await startConnect(mallory.page);
    await malloryCtx.close();

    const victimCtx = await browser.newContext();
    const victim = await ready(victimCtx, 'victim');
    await victim.page.goto(lure);
    await approveAs(victim.page, 'victim-gh');
    expect(await victim.page.locator('h1').textContent()).toMatch(/^This connection was started from another account/);
    expect(await githubOf(mallory.email)).toEqual([]);
    expect(await githubOf(victim.email)).toEqual([]);
    // Mallory's attempt is spent: approving it again (as anyone) links nothing either.
    await victim.page.goto(lure);
    const answer = await victim.page.locator('h1').textContent();
    expect(answer).not.toMatch(/^Connected/);
    expect(await githubOf(mallory.email)).toEqual([]);
    await victimCtx.close();
  });

  it('asks a browser with no session to sign in, and completes only for the account that started the link', async () => {
    const ownerCtx = await browser.newContext();
    const owner = await ready(ownerCtx, 'owner');
    const url = await startConnect(owner.page);
    await ownerCtx.close();

    // A browser with no account-center session approves: it is asked to sign in, and nothing is linked yet.
    const strangerCtx = await browser.newContext();
    const page = await strangerCtx.newPage();
    await page.goto(url);
    await approveAs(page, 'owner-gh');
    expect(await page.locator('h1').textContent()).toMatch(/Sign in/);
    expect(await githubOf(owner.email)).toEqual([]);
    // Signing in as the owner comes back to the callback, which now completes.
    await page.getByRole('link', { name: /sign in/i }).click();
    await page.getByLabel('Email address').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('h1', { hasText: 'GitHub' }).waitFor();
    expect(await page.locator('h1').textContent()).toBe('Connected: GitHub');
    expect((await githubOf(owner.email)).map((n) => n.status)).toEqual(['active']);
    await strangerCtx.close();
  });

  it('refuses the Connect button without its CSRF token', async () => {
    const ctx = await browser.newContext();
    const eve = await ready(ctx, 'eve');
    const forged = await eve.page.request.post(`${stack.baseUrl}/account/providers/github/connect`, {
      form: {},
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await githubOf(eve.email)).toEqual([]);
    expect(
      await stack.db
        .collection(collections.linkAttempts)
        .countDocuments({ accountId: (await accountOf(eve.email))._id }),
    ).toBe(0);
    await ctx.close();
  });
});
