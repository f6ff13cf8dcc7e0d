/**
 * The support console's per-account tools in a real browser: a support lead who is also the DPO finds an
 * account by its id, overrides a provider flag and places a legal hold, both seen through the API; an
 * agent without those permissions sees no such form, and a POST of theirs is refused with the 403 page. A
 * provider link that conflicts with another account waits in the queue with its evidence until denied.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { linkThroughSandbox, signedUp } from '../support/accounts.js';
import { signedInPerson } from '../support/people.js';
import { call, useTestStack } from '../support/stack.js';

let browser: Browser;
const stack = useTestStack({ sandbox: true });
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

interface AccountView {
  legalHold: { active: boolean };
  flags: Array<{ flag: string; enabled: boolean; reason: string; override?: { enabled: boolean; reason: string } }>;
  auditEvents: Array<{ action: string }>;
}

describe('the support console’s account tools', () => {
  it('overrides a flag and places a legal hold from the account page, as the API then shows', async () => {
    const staff = await signedInPerson(stack, browser, 'tools', ['support-lead', 'dpo']);
    const owner = await signedInPerson(stack, browser, 'owner');
    const page = staff.page;
    const answer = await page.goto(`${stack.baseUrl}/console`);
    const csp = answer!.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // The console's own script and stylesheet, from this origin.
    for (const [asset, type] of [
      ['/assets/console-refresh.js', 'text/javascript'],
      ['/assets/console-pages.css', 'text/css'],
    ] as const) {
      const res = await page.request.get(`${stack.baseUrl}${asset}`);
      expect(res.status()).toBe(200);
      expect(res.headers()['content-type']).toContain(type);
    }
    await page.getByRole('navigation', { name: 'Support console' }).getByRole('link', { name: 'Accounts' }).click();
    await page.getByRole('heading', { name: 'Accounts', level: 1 }).waitFor();
    await checkPage(page, 'console-accounts');

    // A mistyped id is said to be one; nothing is looked up.
    await page.getByLabel('Account id').fill('not-an-id');
    await page.getByRole('button', { name: 'Open' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('An account id looks like');

    await page.getByLabel('Account id').fill(owner.accountId);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('heading', { name: `Account ${owner.accountId}`, level: 1 }).waitFor();
    expect(await page.locator('#hold-state').textContent()).toBe('No legal hold is in force.');
    expect(await page.locator('main').textContent()).toContain('ENABLE_GITHUB_LOGIN');
    await checkPage(page, 'console-account');

    // An override needs a reason.
    await page.getByLabel('Flag', { exact: true }).selectOption('ENABLE_GITHUB_LOGIN');
    await page.getByLabel('Setting').selectOption('off');
    await page.getByRole('button', { name: 'Save the override' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Write a reason');

    await page.getByLabel('Flag', { exact: true }).selectOption('ENABLE_GITHUB_LOGIN');
    await page.getByLabel('Setting').selectOption('off');
    await page
      .getByRole('group', { name: 'Override a flag' })
      .getByLabel(/^Reason \(kept with the override/)
      .fill('Paused while the GitHub sync issue is looked into');
    await page.getByRole('button', { name: 'Save the override' }).click();
    expect(await page.getByRole('status').textContent()).toBe('Flag override saved.');
    const githubRow = page.getByRole('row').filter({ hasText: 'ENABLE_GITHUB_LOGIN' });
    expect(await githubRow.textContent()).toContain('Override set by support');
    expect(await githubRow.textContent()).toContain('Paused while the GitHub sync issue is looked into');

    await page.getByLabel('Reason for the hold (kept with it)').fill('Litigation hold, case 2026-114');
    await page.getByRole('button', { name: 'Place a legal hold' }).click();
    expect(await page.getByRole('status').textContent()).toBe('Legal hold saved.');
    expect(await page.locator('#hold-state').textContent()).toContain('A legal hold is in force');
    await checkPage(page, 'console-account-held');

    const view = await call<AccountView>(stack, 'GET', `/v1/support/accounts/${owner.accountId}`, {
      token: staff.token,
    });
    expect(view.status).toBe(200);
    expect(view.body.legalHold.active).toBe(true);
    expect(view.body.flags.find((f) => f.flag === 'ENABLE_GITHUB_LOGIN')).toMatchObject({
      enabled: false,
      reason: 'override',
      override: { enabled: false, reason: 'Paused while the GitHub sync issue is looked into' },
    });
    // Back to the rule, then the hold released.
    await page.getByLabel('Flag', { exact: true }).selectOption('ENABLE_GITHUB_LOGIN');
    await page.getByLabel('Setting').selectOption('rule');
    await page.getByRole('button', { name: 'Save the override' }).click();
    expect(await page.getByRole('status').textContent()).toBe('Flag override saved.');
    await page.getByLabel('Reason for the release (kept with it)').fill('Case closed');
    await page.getByRole('button', { name: 'Release the legal hold' }).click();
    expect(await page.locator('#hold-state').textContent()).toBe('No legal hold is in force.');
    const after = await call<AccountView>(stack, 'GET', `/v1/support/accounts/${owner.accountId}`, {
      token: staff.token,
    });
    expect(after.body.legalHold.active).toBe(false);
    expect(after.body.flags.find((f) => f.flag === 'ENABLE_GITHUB_LOGIN')?.override).toBeUndefined();
    await owner.context.close();
    await staff.context.close();
  });

  it('shows an agent without flags:write or legal:hold no such form, and refuses their POST', async () => {
    const agent = await signedInPerson(stack, browser, 'agent', ['support']);
    const owner = await signedInPerson(stack, browser, 'held');
    const page = agent.page;
    const answer = await page.goto(`${stack.baseUrl}/console/accounts/${owner.accountId}`);
    expect(answer?.status()).toBe(200);
    expect(await page.getByRole('button', { name: 'Save the override' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Place a legal hold' }).count()).toBe(0);
    await checkPage(page, 'console-account-read-only');
    await page.goto(`${stack.baseUrl}/console`);
    await checkPage(page, 'console-queue-agent');
    const csrf = await page.locator('input[name=csrf]').count();
    expect(csrf).toBe(0);
    await page.goto(`${stack.baseUrl}/account`);
    const own = await page.locator('input[name=csrf]').first().inputValue();
    for (const [path, form] of [
      ['legal-hold', { csrf: own, hold: 'true', reason: 'not allowed' }],
      ['flags', { csrf: own, flag: 'ENABLE_GITHUB_LOGIN', setting: 'on', reason: 'not allowed' }],
    ] as const) {
      const res = await agent.context.request.post(`${stack.baseUrl}/console/accounts/${owner.accountId}/${path}`, {
        form,
        maxRedirects: 0,
      });
      expect(res.status()).toBe(403);
      expect(await res.text()).toContain('You cannot open this page');
    }
    const view = await call<AccountView>(stack, 'GET', `/v1/support/accounts/${owner.accountId}`, {
      token: agent.token,
    });
    expect(view.body.legalHold.active).toBe(false);
    expect(view.body.flags.find((f) => f.flag === 'ENABLE_GITHUB_LOGIN')?.override).toBeUndefined();
    await agent.context.close();
    await owner.context.close();
  });

  it('shows a provider link waiting for support with its evidence, and records a denial with its reason', async () => {
    const agent = await signedInPerson(stack, browser, 'linker', ['support']);
    const run = randomBytes(3).toString('hex');
    const first = await signedUp(stack, `auth0|first-${run}`);
    const second = await signedUp(stack, `auth0|second-${run}`);
    expect((await linkThroughSandbox(stack, first, 'github', `shared-${run}`)).answer.body).toMatchObject({
      status: 'linked',
    });
    const conflict = await linkThroughSandbox(stack, second, 'github', `shared-${run}`);
    expect(conflict.answer.body).toMatchObject({ status: 'pending_review' });
    const page = agent.page;
    await expect
      .poll(
        async () => {
          await page.goto(`${stack.baseUrl}/console?process=link`);
          return page.getByRole('row').filter({ hasText: second.accountId }).count();
        },
        { timeout: 30_000, message: 'the link in the queue' },
      )
      .toBe(1);
    await checkPage(page, 'console-queue-links');
    await page
      .getByRole('row')
      .filter({ hasText: second.accountId })
      .getByRole('link', { name: 'Provider link' })
      .click();
    await page.getByRole('heading', { name: 'Provider link under review', level: 1 }).waitFor();
    const main = page.locator('main');
    expect(await page.locator('#stage').textContent()).toContain('Waiting for support');
    expect(await main.textContent()).toContain('The provider account is connected to another account');
    expect(await main.textContent()).toContain(first.accountId);
    await checkPage(page, 'console-link');

    // The DPO reads the same evidence, but has no say in a link: no decision form.
    const dpo = await signedInPerson(stack, browser, 'reader', ['dpo']);
    const read = await dpo.page.goto(page.url());
    expect(read?.status()).toBe(200);
    expect(await dpo.page.locator('main').textContent()).toContain(
      'The provider account is connected to another account',
    );
    expect(await dpo.page.getByRole('button', { name: 'Deny' }).count()).toBe(0);
    await dpo.context.close();

    await page.getByLabel('Reason (kept with the decision)').fill('The other account holder confirmed it is theirs');
    await page.getByRole('button', { name: 'Deny' }).click();
    expect(await page.getByRole('status').first().textContent()).toBe('Decision recorded.');
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('#stage').textContent();
        },
        { timeout: 30_000 },
      )
      .toBe('Denied by support');
    expect(await main.textContent()).toContain('The other account holder confirmed it is theirs');
    await checkPage(page, 'console-link-denied');
    const state = await call<{ stage: string }>(
      stack,
      'GET',
      `/v1/support/links/${encodeURIComponent(conflict.workflowId)}`,
      { token: agent.token },
    );
    expect(state.body.stage).toBe('conflict_denied');
    await agent.context.close();
  });
});
