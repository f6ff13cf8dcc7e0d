/**
 * The cancel link of a recovery notice, in a real browser (headless Chromium): the link is read from the
 * outbox exactly as the notice carries it (what `npm run outbox` shows), opened with a GET like a person
 * (or a mail scanner) would, and the page's one button cancels. Real HTTP, the real workers on the Temporal
 * dev server, FerretDB.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { longStandingAccount } from '../support/accounts.js';
import { base32Decode, describeInstant, hotp, totpStep } from '../../domain/recovery.js';
import { launchBrowser } from '../support/browser.js';
import { noticesTo } from '../support/outbox.js';
import { checkPage } from '../support/pages.js';
import { call, eventually, useTestStack } from '../support/stack.js';

let browser: Browser;
const stack = useTestStack({
  env: {
    // Long enough that the recovery is still pending while the page is open.
    RECOVERY_COOLING_PERIOD: '1 hour',
    RECOVERY_NOTICE_INTERVAL: '2 hours',
    RECOVERY_RATE_LIMIT_PER_IP: '1000',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
  },
});
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

interface Person {
  email: string;
  accountId: string;
  totpSecret: string;
  backupCodes: string[];
}

/** An account with a verified email, an authenticator app and backup codes set up long ago. */
async function person(name: string): Promise<Person> {
  const { accountId, email, token, longAgo } = await longStandingAccount(stack, name);
  const totp = await call<{ secret: string }>(stack, 'POST', '/v1/me/recovery-factors/totp', { token });
  expect(totp.status).toBe(201);
  const confirm = await call(stack, 'POST', '/v1/me/recovery-factors/totp/confirm', {
    token,
    json: { code: hotp(base32Decode(totp.body.secret), totpStep(Date.now()), 8) },
  });
  expect(confirm.status).toBe(200);
  const backup = await call<{ codes: string[] }>(stack, 'POST', '/v1/me/recovery-factors/backup-codes', { token });
  expect(backup.status).toBe(201);
  await stack.db.collection(collections.recoveryFactors).updateMany({ accountId }, { $set: { enrolledAt: longAgo } });
  return { email, accountId, totpSecret: totp.body.secret, backupCodes: backup.body.codes };
}

interface Started {
  recoveryId: string;
  recoveryToken: string;
}

const as = (r: Started) => ({ 'x-recovery-token': r.recoveryToken });
const stageOf = async (r: Started) =>
  (await call<{ stage: string }>(stack, 'GET', `/v1/recoveries/${r.recoveryId}`, { headers: as(r) })).body.stage;

/** Start a recovery and prove three factors over two categories: email code, authenticator app, backup code. */
async function recoveryInCooling(p: Person): Promise<Started> {
  const started = await call<Started>(stack, 'POST', '/v1/recoveries', { json: { email: p.email } });
  expect(started.status).toBe(202);
  const r = started.body;
  const challenge = await call<{ challengeId: string }>(stack, 'POST', `/v1/recoveries/${r.recoveryId}/challenges`, {
    json: { factor: 'email_code' },
    headers: as(r),
  });
  expect(challenge.status).toBe(202);
  const mailed = await eventually(
    async () => (await noticesTo(stack, { to: p.email, template: 'recovery-code' }))[0],
    'the emailed code',
  );
  const submit = (json: Record<string, unknown>) =>
    call<{ accepted: boolean }>(stack, 'POST', `/v1/recoveries/${r.recoveryId}/factors`, { json, headers: as(r) });
  expect(
    (await submit({ factor: 'email_code', code: String(mailed.data?.code), challengeId: challenge.body.challengeId }))
      .body.accepted,
  ).toBe(true);
  expect(
    (await submit({ factor: 'totp', code: hotp(base32Decode(p.totpSecret), totpStep(Date.now()) + 1, 8) })).body
      .accepted,
  ).toBe(true);
  expect((await submit({ factor: 'backup_code', code: p.backupCodes[0] })).body.accepted).toBe(true);
  await eventually(async () => ((await stageOf(r)) === 'cooling' ? true : undefined), 'the cooling period');
  return r;
}

/** The cancel link as the person receives it: the URL in the text of the notice in their mailbox (the outbox). */
async function cancelLinkFromOutbox(p: Person): Promise<{ link: URL; body: string }> {
  const notice = await eventually(
    async () => (await noticesTo(stack, { to: p.email, template: 'recovery-started' }))[0],
    'the recovery notice',
  );
  const found = /https?:\/\/\S+\/cancel\?token=\S+/.exec(notice.body);
  expect(found, notice.body).not.toBeNull();
  return { link: new URL(found![0]), body: notice.body };
}

/** Content-Security-Policy violations the page reports (there must be none: the one stylesheet comes from this origin). */
function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) seen.push(m.text());
  });
  return seen;
}

describe('the cancel link of a recovery notice', () => {
  it('opens a page that says what would be cancelled and changes nothing; its one button cancels; the link then tells it is used', async () => {
    const p = await person('cancel-page-owner');
    const r = await recoveryInCooling(p);
    const { link, body } = await cancelLinkFromOutbox(p);
    // The notice says what happened, until when nothing changes, and what to do if it was not the person.
    const status = await call<{ coolingEndsAt: string }>(stack, 'GET', `/v1/recoveries/${r.recoveryId}`, {
      headers: as(r),
    });
    expect(body).toContain(describeInstant(status.body.coolingEndsAt));
    expect(body).toContain('If this was not you: open this link and press "Cancel this recovery"');
    expect(link.origin).toBe(stack.baseUrl);

    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = cspViolations(page);
    const opened = await page.goto(link.toString());
    expect(opened?.status()).toBe(200);
    const headers = opened!.headers();
    expect(headers['content-type']).toContain('text/html');
    expect(headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(headers['content-security-policy']).toMatch(/form-action 'self'/);
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['content-security-policy']).toMatch(/base-uri 'none'/);
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(await page.locator('h1').textContent()).toBe('Cancel the recovery of your account?');
    await checkPage(page, 'security-recovery-cancel-link');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('c•••@e•••.com');
    expect(text).not.toContain(p.email);
    expect(text).toContain(
      describeInstant(
        (await stack.db.collection(collections.recoveries).findOne({ _id: r.recoveryId as never }))!.createdAt,
      ),
    );
    expect(text).toContain(`Nothing changes before ${describeInstant(status.body.coolingEndsAt)}`);
    const buttons = page.locator('button');
    expect(await buttons.count()).toBe(1);
    expect(await buttons.textContent()).toBe('Cancel this recovery');
    // The account center's stylesheet applies (the button is in its warning colour), and nothing was blocked.
    const styleOf = (b: unknown) =>
      (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b)
        .backgroundColor;
    expect(await buttons.evaluate(styleOf)).toBe('rgb(179, 38, 30)');
    expect(violations).toEqual([]);

    // Opening the link (again, like a mail scanner that prefetches it) changed nothing.
    const prefetched = await fetch(link, { redirect: 'manual' });
    expect(prefetched.status).toBe(200);
    expect(await stageOf(r)).toBe('cooling');
    expect((await stack.temporal.workflow.getHandle(`recovery/${r.recoveryId}`).describe()).status.name).toBe(
      'RUNNING',
    );

    const [answer] = await Promise.all([page.waitForNavigation(), buttons.click()]);
    expect(answer?.status()).toBe(200);
    expect(answer?.request().method()).toBe('POST');
    // The token travelled in the form's body, not in the URL.
    expect(page.url()).toBe(`${stack.baseUrl}/v1/recoveries/${r.recoveryId}/cancel`);
    expect(answer?.request().postData()).toContain(`token=${link.searchParams.get('token')}`);
    expect(await page.locator('h1').textContent()).toBe('The recovery is cancelled');
    expect(await page.locator('main').textContent()).toContain('change your password');
    expect(await stageOf(r)).toBe('cancelled');
    const ended = await stack.temporal.workflow.getHandle(`recovery/${r.recoveryId}`).result();
    expect(ended).toMatchObject({ outcome: 'cancelled' });
    const audit = await eventually(
      async () =>
        (await stack.deps.auditLog.list({ accountId: p.accountId })).find((e) => e.action === 'recovery.cancelled'),
      'the audit event',
    );
    expect(audit?.details).toMatchObject({ by: 'link' });
    expect(violations).toEqual([]);
    await context.close();

    // Someone else, in another browser: a wrong token, the used link, a link cut short.
    const other = await browser.newContext();
    const stranger = await other.newPage();
    const wrong = new URL(link);
    wrong.searchParams.set('token', 'x'.repeat(43));
    const wrongAnswer = await stranger.goto(wrong.toString());
    expect(wrongAnswer?.status()).toBe(404);
    expect(wrongAnswer?.headers()['content-type']).toContain('text/html');
    expect(wrongAnswer?.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    expect(await stranger.locator('h1').textContent()).toBe('This cancel link does not work');
    expect(await stranger.locator('main').textContent()).toContain('Nothing was cancelled and nothing was changed');
    expect(await stranger.locator('button').count()).toBe(0);

    const used = await stranger.goto(link.toString());
    expect(used?.status()).toBe(410);
    expect(await stranger.locator('h1').textContent()).toBe('This recovery is already cancelled');
    expect(await stranger.locator('button').count()).toBe(0);

    const cut = await stranger.goto(`${stack.baseUrl}${link.pathname}`);
    expect(cut?.status()).toBe(404);
    expect(await stranger.locator('h1').textContent()).toBe('This cancel link does not work');
    const badId = await stranger.goto(
      `${stack.baseUrl}/v1/recoveries/not-a-recovery/cancel?token=${link.searchParams.get('token')}`,
    );
    expect(badId?.status()).toBe(404);
    expect(await stranger.locator('h1').textContent()).toBe('This cancel link does not work');
    await other.close();
  });

  it('a form posted with a wrong token is a page that cancels nothing; the JSON API answers as before', async () => {
    const p = await person('cancel-page-forged');
    const r = await recoveryInCooling(p);
    const { link } = await cancelLinkFromOutbox(p);
    const forged = await fetch(`${stack.baseUrl}/v1/recoveries/${r.recoveryId}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${'y'.repeat(43)}`,
    });
    expect(forged.status).toBe(404);
    expect(forged.headers.get('content-type')).toContain('text/html');
    expect(await forged.text()).toContain('This cancel link does not work');
    expect(await stageOf(r)).toBe('cooling');
    // Form bodies are accepted on the cancel path only.
    const elsewhere = await fetch(`${stack.baseUrl}/v1/recoveries/${r.recoveryId}/factors`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...as(r) },
      body: 'factor=totp&code=12345678',
    });
    expect(elsewhere.status).toBe(415);

    const json = await call(stack, 'POST', `${link.pathname}${link.search}`);
    expect(json.status).toBe(200);
    expect(json.body).toEqual({ stage: 'cancelled' });
    const again = await call(stack, 'POST', `${link.pathname}${link.search}`);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
  });
});
