/**
 * The account center's profile and overview in a real browser: names edited on the page land in the account
 * (read back through `GET /v1/me`) and in the directory, a name that signup would refuse is refused with a
 * message and changes nothing, the overview links to every section, and a profile form without its CSRF token
 * is refused.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { signedInPerson } from '../support/people.js';
import { call, useTestStack } from '../support/stack.js';

const stack = useTestStack();
let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

interface Me {
  profile: { givenName?: string; familyName?: string };
}

describe('the profile page', () => {
  it('saves new names to the account and the directory, and refuses a bad name with a message', async () => {
    const grace = await signedInPerson(stack, browser, 'grace');
    const page = grace.page;
    await page.goto(`${stack.baseUrl}/account`);
    await page.getByRole('link', { name: 'Profile', exact: true }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
    expect(await page.getByLabel('First name').inputValue()).toBe('Grace');
    await checkPage(page, 'account-profile');

    await page.getByLabel('First name').fill('Grace Brewster');
    await page.getByLabel('Last name').fill('Hopper');
    await page.getByRole('button', { name: 'Save names' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Your names are saved.');
    expect(await page.getByLabel('Last name').inputValue()).toBe('Hopper');
    await checkPage(page, 'account-profile-saved');
    const me = await call<Me>(stack, 'GET', '/v1/me', { token: grace.token });
    expect(me.body.profile).toMatchObject({ givenName: 'Grace Brewster', familyName: 'Hopper' });
    const user = await stack.db
      .collection<{ _id: string; given_name?: string; family_name?: string }>(collections.identityUsers)
      .findOne({ _id: grace.subject });
    expect(user).toMatchObject({ given_name: 'Grace Brewster', family_name: 'Hopper' });
    // The audit event says which names changed, never what they are.
    const audit = await stack.db
      .collection<{ action: string; accountId: string; details?: Record<string, unknown> }>(collections.auditEvents)
      .findOne({ accountId: grace.accountId, action: 'profile.updated' });
    expect(audit?.details).toMatchObject({ fields: 'givenName,familyName' });
    expect(JSON.stringify(audit)).not.toContain('Hopper');

    // A right-to-left override (a name that would read differently than it is): refused, nothing changes.
    await page.getByLabel('Last name').fill('Hop\u202Eper');
    await page.getByRole('button', { name: 'Save names' }).click();
    await page.getByRole('alert').waitFor();
    const refusal = await page.getByRole('alert').textContent();
    expect(refusal).toContain('Enter your first and last name as you write them');
    expect(refusal).toContain('Last name: The name must not contain bidirectional override or isolate characters');
    await checkPage(page, 'account-profile-refused');
    const after = await call<Me>(stack, 'GET', '/v1/me', { token: grace.token });
    expect(after.body.profile.familyName).toBe('Hopper');
  });

  it('links every section from the overview, and refuses a profile form without its CSRF token', async () => {
    const alan = await signedInPerson(stack, browser, 'alan');
    const page = alan.page;
    await page.goto(`${stack.baseUrl}/account`);
    const sections = page.getByRole('region', { name: 'Sections' });
    expect(await sections.getByRole('link').allTextContents()).toEqual([
      'Profile',
      'Connected providers',
      'Imported data',
      'Security',
      'Activity',
      'Privacy',
      'Processes',
    ]);
    expect(await page.getByRole('region', { name: 'At a glance' }).textContent()).toContain('0 connected providers');
    // The Connect buttons of the overview say what connecting asks for, before anything is pressed.
    await page.getByText('What connecting GitHub lets CRA see or do').click();
    expect(await page.getByRole('group').filter({ hasText: 'GitHub' }).textContent()).toContain(
      'See your email addresses.',
    );
    await checkPage(page, 'account-overview-sections');
    await page.getByRole('link', { name: '0 connected providers' }).click();
    await page.getByRole('heading', { level: 1, name: 'Connected providers' }).waitFor();

    const forged = await page.request.post(`${stack.baseUrl}/account/profile`, {
      form: { givenName: 'Mallory', familyName: 'Forged' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    const me = await call<Me>(stack, 'GET', '/v1/me', { token: alan.token });
    expect(me.body.profile.givenName).toBe('Alan');
  });
});
