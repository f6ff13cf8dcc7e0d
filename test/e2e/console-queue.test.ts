/**
 * The support console's queue and decisions in a real browser (headless Chromium) on the real stack: a
 * support lead finds a pending recovery in the queue (Temporal visibility, `CraNeedsApproval = true`),
 * opens it, approves it with a reason and watches it complete; a high-risk one needs a second approver
 * and refuses the same one twice. People without `support:read` get the 403 page, and a decision posted
 * without its session's CSRF token decides nothing.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import { insertExistingPerson } from '../support/account-documents.js';
import { launchBrowser } from '../support/browser.js';
import { checkPage } from '../support/pages.js';
import { noticesTo, signedInPerson, type SignedInPerson } from '../support/people.js';
import { call, eventually, tokenFor, useTestStack } from '../support/stack.js';

const stack = useTestStack({
  env: {
    RECOVERY_COOLING_PERIOD: '2s',
    RECOVERY_NOTICE_INTERVAL: '1 hour',
    RECOVERY_EXPIRY: '10 minutes',
    RECOVERY_RATE_LIMIT_PER_IP: '1000',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
    TRUSTED_PROXY_HOPS: '1',
  },
});

let browser: Browser;
let lead: SignedInPerson;
beforeAll(async () => {
  browser = await launchBrowser();
  lead = await signedInPerson(stack, browser, 'lead', ['support-lead']);
});
afterAll(async () => {
  await browser?.close();
});

let network = 0;

interface PendingRecovery {
  recoveryId: string;
  accountId: string;
}

/**
 * A person's account recovery that has proven its factors (email code, backup code, and support's identity
 * document check) and waits for support. `highRisk`: asked from a network the account never used, with a
 * factor enrolled today (two risk flags: two approvers); otherwise from the network the owner enrolled from
 * months ago (no flag: one approver).
 */
async function pendingRecovery(name: string, opts: { highRisk?: boolean } = {}): Promise<PendingRecovery> {
  const subject = `auth0|${name}-${Date.now()}`;
  const accountId = accountIdForSubject(subject);
  const email = `${name}-${Date.now()}@example.com`;
  const longAgo = new Date(Date.now() - 90 * 24 * 3600_000).toISOString();
  await insertExistingPerson(stack.db, { subject, accountId, email, at: longAgo });
  const token = await tokenFor(stack, subject, { email });
  const home = `198.20.${++network}.1`;
  const backup = await call<{ codes: string[] }>(stack, 'POST', '/v1/me/recovery-factors/backup-codes', {
    token,
    headers: { 'x-forwarded-for': home },
  });
  expect(backup.status).toBe(201);
  if (!opts.highRisk)
    await stack.db.collection(collections.recoveryFactors).updateMany({ accountId }, { $set: { enrolledAt: longAgo } });
  const from = { 'x-forwarded-for': opts.highRisk ? `198.21.${network}.1` : home };
  const started = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
    json: { email },
    headers: from,
  });
  expect(started.status).toBe(202);
  const { recoveryId, recoveryToken } = started.body;
  const headers = { ...from, 'x-recovery-token': recoveryToken };
  const challenge = await call<{ challengeId: string }>(stack, 'POST', `/v1/recoveries/${recoveryId}/challenges`, {
    json: { factor: 'email_code' },
    headers,
  });
  expect(challenge.status).toBe(202);
  const notice = await eventually(
    async () => (await noticesTo(stack, { to: email, template: 'recovery-code' }))[0],
    'the recovery code',
  );
  for (const body of [
    { factor: 'email_code', code: String(notice.data?.code), challengeId: challenge.body.challengeId },
    { factor: 'backup_code', code: backup.body.codes[0] },
  ]) {
    const res = await call<{ accepted: boolean }>(stack, 'POST', `/v1/recoveries/${recoveryId}/factors`, {
      json: body,
      headers,
    });
    expect(res.body.accepted).toBe(true);
  }
  const documents = await call<{ remaining: number }>(
    stack,
    'POST',
    `/v1/support/recoveries/${recoveryId}/document-check`,
    {
      token: await tokenFor(stack, 'auth0|support-documents', { permissions: ['recovery:approve'] }),
      json: { verified: true, reason: 'passport checked on a video call' },
    },
  );
  expect(documents.body.remaining).toBe(0);
  return { recoveryId, accountId };
}

/** The queue, reloaded until the recovery's account is listed (visibility is eventually consistent). */
async function queueRowOf(page: Page, accountId: string, path = '/console') {
  await expect
    .poll(
      async () => {
        await page.goto(`${stack.baseUrl}${path}`);
        return page.getByRole('row').filter({ hasText: accountId }).count();
      },
      { timeout: 30_000, message: `the queue to list ${accountId}` },
    )
    .toBe(1);
  return page.getByRole('row').filter({ hasText: accountId });
}

const stageOnPage = (page: Page) => page.locator('#stage').textContent();
const apiStage = async (recoveryId: string) =>
  (await call<{ stage: string }>(stack, 'GET', `/v1/support/recoveries/${recoveryId}`, { token: lead.token })).body
    .stage;

describe('the support console’s queue', () => {
  it('lists a pending recovery; the lead opens it, approves it with a reason, and it completes', async () => {
    const pending = await pendingRecovery('ordinary');
    const page = lead.page;
    const row = await queueRowOf(page, pending.accountId);
    expect(await row.textContent()).toContain('Low');
    await checkPage(page, 'console-queue');
    const api = await call<{ items: Array<{ workflowId: string; process: string; risk: string; deadline: unknown }> }>(
      stack,
      'GET',
      '/v1/support/queue?process=recovery',
      { token: lead.token },
    );
    expect(api.body.items.find((i) => i.workflowId === `recovery/${pending.recoveryId}`)).toMatchObject({
      process: 'recovery',
      risk: 'low',
    });

    await row.getByRole('link', { name: 'Account recovery' }).click();
    await page.getByRole('heading', { name: 'Account recovery', level: 1 }).waitFor();
    expect(await page.locator('main').textContent()).toContain(pending.accountId);
    expect(await page.getByRole('link', { name: 'Open this workflow in Temporal Web' }).getAttribute('href')).toBe(
      `http://localhost:8233/namespaces/${stack.config.temporal.namespace}/workflows/${encodeURIComponent(`recovery/${pending.recoveryId}`)}`,
    );
    expect(await page.locator('time').count()).toBeGreaterThan(0);
    await checkPage(page, 'console-recovery');

    // A reason of blanks is no reason: the page says so and nothing is decided.
    await page.getByLabel('Reason (kept with the decision)').fill('   ');
    const blank = page.waitForResponse((r) => r.url().endsWith('/decision'));
    await page.getByRole('button', { name: 'Approve' }).click();
    expect((await blank).status()).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('Write a reason');
    expect(await page.locator('#approvals').textContent()).toBe('0 of 1');
    await checkPage(page, 'console-recovery-no-reason');

    await page.getByLabel('Reason (kept with the decision)').fill('The owner confirmed the request on a phone call');
    await page.getByRole('button', { name: 'Approve' }).click();
    expect(await page.getByRole('status').first().textContent()).toBe('Decision recorded.');
    await expect
      .poll(
        async () => {
          await page.reload();
          return stageOnPage(page);
        },
        { timeout: 30_000 },
      )
      .toBe('Completed: the sign-in methods were reset');
    expect(await apiStage(pending.recoveryId)).toBe('completed');
    expect(await page.locator('main').textContent()).toContain('The owner confirmed the request on a phone call');
    expect(await page.locator('main').textContent()).toContain('recovery.approved');
    await checkPage(page, 'console-recovery-completed');
  });

  it('needs a second approver for a high-risk recovery, and refuses the same one twice', async () => {
    const pending = await pendingRecovery('risky', { highRisk: true });
    const second = await signedInPerson(stack, browser, 'second', ['support-lead']);
    const page = lead.page;
    // The risk filter, as a person sets it.
    await queueRowOf(page, pending.accountId);
    await page.getByLabel('Risk').selectOption('high');
    await page.getByRole('button', { name: 'Apply' }).click();
    expect(new URL(page.url()).search).toContain('risk=high');
    const row = page.getByRole('row').filter({ hasText: pending.accountId });
    expect(await row.textContent()).toContain('High');
    await page.getByLabel('Risk').selectOption('low');
    await page.getByRole('button', { name: 'Apply' }).click();
    expect(await page.getByRole('row').filter({ hasText: pending.accountId }).count()).toBe(0);
    await page.goto(`${stack.baseUrl}/console?risk=high`);
    await page.getByRole('row').filter({ hasText: pending.accountId }).getByRole('link').click();
    await page.getByRole('heading', { name: 'Account recovery', level: 1 }).waitFor();
    expect(await page.locator('main').textContent()).toContain('A device or network the account never used');
    expect(await page.locator('main').textContent()).toContain('A sign-in factor changed recently');

    await page.getByLabel('Reason (kept with the decision)').fill('Documents and a phone call check out');
    await page.getByRole('button', { name: 'Approve' }).click();
    expect(await page.getByRole('status').first().textContent()).toBe(
      'Decision recorded. Waiting for a second approver.',
    );
    expect(await page.locator('main').textContent()).toContain('Waiting for a second approver');
    expect(await page.locator('#approvals').textContent()).toBe('1 of 2');
    await checkPage(page, 'console-recovery-waiting');

    // The same agent again: the workflow refuses, and the page says why.
    await page.getByLabel('Reason (kept with the decision)').fill('Approving once more');
    const again = page.waitForResponse((r) => r.url().endsWith('/decision'));
    await page.getByRole('button', { name: 'Approve' }).click();
    expect((await again).status()).toBe(409);
    expect(await page.getByRole('alert').textContent()).toContain('this person approved already');
    expect(await page.locator('#approvals').textContent()).toBe('1 of 2');
    await checkPage(page, 'console-recovery-refused');

    await second.page.goto(`${stack.baseUrl}/console/recoveries/${pending.recoveryId}`);
    await second.page.getByLabel('Reason (kept with the decision)').fill('Second look: the evidence holds');
    await second.page.getByRole('button', { name: 'Approve' }).click();
    expect(await second.page.getByRole('status').first().textContent()).toBe('Decision recorded.');
    await expect
      .poll(
        async () => {
          await second.page.reload();
          return stageOnPage(second.page);
        },
        { timeout: 30_000 },
      )
      .toBe('Completed: the sign-in methods were reset');
    expect(await apiStage(pending.recoveryId)).toBe('completed');
    await second.context.close();
  });

  it('refreshes the queue by itself, and refuses a decision posted without its session’s CSRF token', async () => {
    // The queue's page stays open while the recovery starts: its script brings the new row without a reload.
    await lead.page.goto(`${stack.baseUrl}/console`);
    const pending = await pendingRecovery('forged');
    await expect
      .poll(() => lead.page.getByRole('row').filter({ hasText: pending.accountId }).count(), { timeout: 45_000 })
      .toBe(1);
    const other = await signedInPerson(stack, browser, 'other', ['support-lead']);
    await lead.page.goto(`${stack.baseUrl}/console/recoveries/${pending.recoveryId}`);
    const leadToken = await lead.page.locator('input[name=csrf]').first().inputValue();
    const url = `${stack.baseUrl}/console/recoveries/${pending.recoveryId}/decision`;
    const without = await other.context.request.post(url, {
      form: { decision: 'approve', reason: 'forged approval' },
      maxRedirects: 0,
    });
    expect(without.status()).toBe(403);
    const borrowed = await other.context.request.post(url, {
      form: { csrf: leadToken, decision: 'approve', reason: 'forged approval' },
      maxRedirects: 0,
    });
    expect(borrowed.status()).toBe(403);
    expect(await borrowed.text()).toContain('This form has expired');
    const view = await call<{ approvals: unknown[]; stage: string }>(
      stack,
      'GET',
      `/v1/support/recoveries/${pending.recoveryId}`,
      { token: lead.token },
    );
    expect(view.body.approvals).toEqual([]);
    await other.page.goto(url.replace('/decision', ''));
    expect(await other.page.locator('#approvals').textContent()).toBe('0 of 1');
    await other.context.close();
  });

  it('shows a person without support:read the 403 page and none of the data; sends a stranger to sign in', async () => {
    const pending = await pendingRecovery('private');
    const member = await signedInPerson(stack, browser, 'member');
    for (const path of [
      '/console',
      `/console/recoveries/${pending.recoveryId}`,
      `/console/accounts/${pending.accountId}`,
    ]) {
      const answer = await member.page.goto(`${stack.baseUrl}${path}`);
      expect(answer?.status()).toBe(403);
      expect(await member.page.getByRole('heading', { level: 1 }).textContent()).toBe('You cannot open this page');
      const body = (await member.page.content()) ?? '';
      expect(body).toContain('support:read');
      expect(body).not.toContain(pending.accountId);
      expect(body).not.toContain(pending.recoveryId);
    }
    await checkPage(member.page, 'console-forbidden');
    // Their own session's valid token does not make up for the permission.
    await member.page.goto(`${stack.baseUrl}/account`);
    const own = await member.page.locator('input[name=csrf]').first().inputValue();
    const posted = await member.context.request.post(
      `${stack.baseUrl}/console/recoveries/${pending.recoveryId}/decision`,
      { form: { csrf: own, decision: 'approve', reason: 'not mine to approve' }, maxRedirects: 0 },
    );
    expect(posted.status()).toBe(403);
    expect(await posted.text()).toContain('You cannot open this page');
    expect(
      (
        await call<{ approvals: unknown[] }>(stack, 'GET', `/v1/support/recoveries/${pending.recoveryId}`, {
          token: lead.token,
        })
      ).body.approvals,
    ).toEqual([]);
    await member.context.close();

    const stranger = await browser.newContext();
    const page = await stranger.newPage();
    await page.goto(`${stack.baseUrl}/console/recoveries/${pending.recoveryId}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    expect(await page.content()).not.toContain(pending.accountId);
    const signedOut = await stranger.request.post(
      `${stack.baseUrl}/console/recoveries/${pending.recoveryId}/decision`,
      {
        form: { decision: 'approve', reason: 'no session' },
        maxRedirects: 0,
      },
    );
    expect(signedOut.status()).toBe(303);
    expect(signedOut.headers()['location']).toBe(
      `/account/sign-in?returnTo=${encodeURIComponent(`/console/recoveries/${pending.recoveryId}`)}`,
    );
    await stranger.close();
  });
});
