/**
 * The frame of the account center's pages in a real browser (headless Chromium): the menu, the skip link,
 * the policy every page is served with, accessibility (axe-core), and the pages' API client working as the
 * signed-in person (the home page reads the account through `hc<AppType>` in process).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { signedInPerson } from '../support/people.js';
import { useTestStack } from '../support/stack.js';

let browser: Browser;
const stack = useTestStack();
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('the account center’s frame', () => {
  it('shows the person’s name read through the API, a menu of every section, and passes axe', async () => {
    const person = await signedInPerson(stack, browser, 'frame');
    const page = person.page;
    const answer = await page.goto(`${stack.baseUrl}/account`);
    expect(answer?.status()).toBe(200);
    const csp = answer!.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    await expect.poll(() => page.locator('main').textContent()).toContain('Frame Tester');
    const menu = page.getByRole('navigation', { name: 'Account center' });
    expect(await menu.getByRole('link').allTextContents()).toEqual([
      'Overview',
      'Profile',
      'Connected providers',
      'Imported data',
      'Security',
      'Activity',
      'Privacy',
      'Processes',
    ]);
    expect(await menu.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    // The first Tab reaches the skip link, which leads past the menu.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await checkPage(page, 'account-overview');

    // The pages call the API in process as the session's person; over HTTP the API still takes only a
    // bearer token, so the session cookie alone (a script on another site riding it) opens nothing.
    const fromPage = await page.evaluate<number>(`fetch('/v1/me', { credentials: 'include' }).then((r) => r.status)`);
    expect(fromPage).toBe(401);
  });

  it('sends a browser that is not signed in to sign in, and back to the page it asked for', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.baseUrl}/account`);
    expect(new URL(page.url()).pathname).toMatch(/\/(interaction|oidc|auth)/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    await checkPage(page, 'sign-in');
    await context.close();
  });
});
