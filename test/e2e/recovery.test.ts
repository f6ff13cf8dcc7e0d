/**
 * Account recovery end to end: real HTTP into the API, the real workers on the Temporal dev server,
 * FerretDB, with a 3-second cooling period. Codes are read from the outbox (the stand-in for the person's
 * mailbox and phone); passkeys are answered by a software authenticator.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { longStandingAccount } from '../support/accounts.js';
import { noticesTo } from '../support/outbox.js';
import { base32Decode, hotp, totpStep } from '../../domain/recovery.js';
import { call, eventually, useTestStack, tokenFor, type JsonResponse } from '../support/stack.js';
import { SoftwareAuthenticator } from '../support/webauthn.js';
import { decodedPayloads } from '../support/history.js';

const stack = useTestStack({
  env: {
    RECOVERY_COOLING_PERIOD: '3s',
    // Reminders are covered on the time-skipping server; here they would only append to the audit log behind the tests' backs.
    RECOVERY_NOTICE_INTERVAL: '1 hour',
    RECOVERY_EXPIRY: '10 minutes',
    RECOVERY_CODE_TTL: '6s',
    RECOVERY_RATE_LIMIT_PER_IP: '1000',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
    TRUSTED_PROXY_HOPS: '1',
    CLIENT_COUNTRY_HEADER: 'x-client-country',
    WEBAUTHN_RP_ID: 'cra.test',
    WEBAUTHN_ORIGINS: 'https://cra.test',
  },
});

/** Every secret this file handles, and every recovery it starts: the last test looks for them in history and logs. */
const secrets = new Set<string>();
const recoveryIds = new Set<string>();

let networkSeq = 0;
/** A client address on a network of its own (the API trusts one proxy hop: X-Forwarded-For). */
const newIp = () => `198.18.${++networkSeq}.10`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Person {
  subject: string;
  accountId: string;
  email: string;
  ip: string;
  token: string;
  totpSecret: string;
  backupCodes: string[];
  phone?: string;
  pushDeviceId?: string;
}

/**
 * A person with an account who set up an authenticator app and backup codes (through the API, from their
 * usual network) months ago — and, with `phone`, a phone number confirmed with the texted code; with
 * `push`, a push device.
 */
async function person(
  name: string,
  opts: { phone?: boolean; push?: boolean; recentlyEnrolled?: boolean } = {},
): Promise<Person> {
  const { subject, accountId, email, token, longAgo } = await longStandingAccount(stack, name);
  const ip = newIp();
  const headers = { 'x-forwarded-for': ip };
  const totp = await call<{ secret: string; otpauthUri: string }>(stack, 'POST', '/v1/me/recovery-factors/totp', {
    token,
    headers,
  });
  expect(totp.status).toBe(201);
  const confirm = await call(stack, 'POST', '/v1/me/recovery-factors/totp/confirm', {
    token,
    headers,
    json: { code: hotp(base32Decode(totp.body.secret), totpStep(Date.now()), 8) },
  });
  expect(confirm.status).toBe(200);
  const backup = await call<{ codes: string[] }>(stack, 'POST', '/v1/me/recovery-factors/backup-codes', {
    token,
    headers,
  });
  expect(backup.status).toBe(201);
  let phone: string | undefined;
  if (opts.phone) {
    phone = `+1555${String(networkSeq).padStart(7, '0')}`;
    const added = await call<{ phoneId: string }>(stack, 'POST', '/v1/me/recovery-factors/phones', {
      token,
      headers,
      json: { number: phone },
    });
    expect(added.status).toBe(202);
    const texted = await eventually(
      async () => (await noticesTo(stack, { to: phone, template: 'recovery-phone-confirm' }))[0],
      'the confirmation text',
    );
    secrets.add(String(texted.data?.code));
    const confirmed = await call(stack, 'POST', `/v1/me/recovery-factors/phones/${added.body.phoneId}/confirm`, {
      token,
      headers,
      json: { code: String(texted.data?.code) },
    });
    expect(confirmed.body).toMatchObject({ verified: true, number: phone });
  }
  let pushDeviceId: string | undefined;
  if (opts.push) {
    const device = await call<{ deviceId: string }>(stack, 'POST', '/v1/me/recovery-factors/push-devices', {
      token,
      headers,
      json: { name: `${name}'s phone`, endpoint: `https://push.example.com/send/${name}` },
    });
    expect(device.status).toBe(201);
    pushDeviceId = device.body.deviceId;
  }
  if (!opts.recentlyEnrolled)
    await stack.db.collection(collections.recoveryFactors).updateMany({ accountId }, { $set: { enrolledAt: longAgo } });
  secrets.add(totp.body.secret);
  for (const code of backup.body.codes) secrets.add(code);
  return {
    subject,
    accountId,
    email,
    ip,
    token,
    totpSecret: totp.body.secret,
    backupCodes: backup.body.codes,
    ...(phone ? { phone } : {}),
    ...(pushDeviceId ? { pushDeviceId } : {}),
  };
}

interface Started {
  recoveryId: string;
  recoveryToken: string;
  ip: string;
}

async function startFor(email: string, ip: string, headers: Record<string, string> = {}): Promise<Started> {
  const res = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
    json: { email },
    headers: { 'x-forwarded-for': ip, ...headers },
  });
  expect(res.status).toBe(202);
  recoveryIds.add(res.body.recoveryId);
  secrets.add(res.body.recoveryToken);
  return { ...res.body, ip };
}

const as = (r: Started, extra: Record<string, string> = {}) => ({
  'x-recovery-token': r.recoveryToken,
  'x-forwarded-for': r.ip,
  ...extra,
});
const path = (r: Started, rest = '') => `/v1/recoveries/${r.recoveryId}${rest}`;

type Outcome = { accepted: boolean; satisfied: string[]; remaining: number };
const submit = (r: Started, body: Record<string, unknown>, extra: Record<string, string> = {}) =>
  call<Outcome>(stack, 'POST', path(r, '/factors'), { json: body, headers: as(r, extra) });
const status = (r: Started) =>
  call<{ stage: string; satisfied: string[]; coolingEndsAt: string | null; approvalsNeeded: number }>(
    stack,
    'GET',
    path(r),
    { headers: as(r) },
  );

/** Ask for a code and read it where the person would: their mailbox (or phone) in the outbox. */
async function deliveredCode(
  r: Started,
  factor: 'email_code' | 'sms_code',
  to: string,
): Promise<{ challengeId: string; code: string }> {
  const res = await call<{ challengeId: string }>(stack, 'POST', path(r, '/challenges'), {
    json: { factor },
    headers: as(r),
  });
  expect(res.status).toBe(202);
  const notice = await eventually(async () => {
    const found = await noticesTo(stack, { to, template: 'recovery-code' });
    return found.find((n) => n.idempotencyKey.includes(res.body.challengeId));
  }, `the ${factor} for ${to}`);
  const code = String(notice.data?.code);
  secrets.add(code);
  return { challengeId: res.body.challengeId, code };
}

/** A TOTP code one step ahead: the step of the confirmation has been used already. */
function totpCode(p: Person): string {
  const code = hotp(base32Decode(p.totpSecret), totpStep(Date.now()) + 1, 8);
  secrets.add(code);
  return code;
}

/** Email code, authenticator app and a backup code: three factors, two categories. */
async function proveEnough(r: Started, p: Person, country?: string[]): Promise<Outcome> {
  const extra = (i: number): Record<string, string> => (country?.[i] ? { 'x-client-country': country[i]! } : {});
  const { code, challengeId } = await deliveredCode(r, 'email_code', p.email);
  expect((await submit(r, { factor: 'email_code', code, challengeId }, extra(0))).body.accepted).toBe(true);
  expect((await submit(r, { factor: 'totp', code: totpCode(p) }, extra(1))).body.accepted).toBe(true);
  const last = await submit(r, { factor: 'backup_code', code: p.backupCodes[0] }, extra(2));
  expect(last.status).toBe(200);
  return last.body;
}

async function support(name: string, permissions = ['recovery:approve', 'support:read']): Promise<string> {
  return tokenFor(stack, `auth0|support-${name}`, { permissions });
}
const decide = (r: Started, token: string, decision: 'approve' | 'deny', reason = 'factors and documents check out') =>
  call<{ stage: string; approvals: number; approvalsNeeded: number }>(
    stack,
    'POST',
    `/v1/support/recoveries/${r.recoveryId}/decision`,
    { token, json: { decision, reason } },
  );

async function stageBecomes(r: Started, stage: string, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const res = await status(r);
      return res.body.stage === stage ? res.body : undefined;
    },
    `recovery ${r.recoveryId} to reach ${stage}`,
    timeoutMs,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function shapeOf(res: JsonResponse): unknown {
  const body = res.body as Record<string, unknown>;
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    keys: Object.keys(body).sort(),
    types: Object.fromEntries(
      Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v]),
    ),
  };
}

describe('anti-enumeration', () => {
  it('answers a known and an unknown address alike: status, shape, timing, and every step after', async () => {
    const known = await person('known-person');
    await startFor('warm-up@example.com', newIp());
    const timings = { known: [] as number[], unknown: [] as number[] };
    const started: Record<'known' | 'unknown', Array<JsonResponse<{ recoveryId: string; recoveryToken: string }>>> = {
      known: [],
      unknown: [],
    };
    for (let i = 0; i < 8; i++) {
      for (const kind of (i % 2 ? ['known', 'unknown'] : ['unknown', 'known']) as Array<'known' | 'unknown'>) {
        const email = kind === 'known' ? known.email : `nobody-${i}@example.com`;
        const t0 = performance.now();
        const res = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
          json: { email },
          headers: { 'x-forwarded-for': newIp() },
        });
        timings[kind].push(performance.now() - t0);
        started[kind].push(res);
        recoveryIds.add(res.body.recoveryId);
        secrets.add(res.body.recoveryToken);
      }
    }
    for (const res of [...started.known, ...started.unknown]) {
      expect(res.status).toBe(202);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(Object.keys(res.body).sort()).toEqual(['recoveryId', 'recoveryToken']);
      expect(res.body.recoveryId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.recoveryToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    // Same work either way: the medians of the same run differ by little (generous, for a busy 2-core machine).
    const [mk, mu] = [median(timings.known), median(timings.unknown)];
    expect(Math.abs(mk - mu)).toBeLessThan(Math.max(50, 0.5 * Math.max(mk, mu)));

    // Everything after the start looks the same too.
    const k: Started = { ...started.known[0]!.body, ip: newIp() };
    const u: Started = { ...started.unknown[0]!.body, ip: newIp() };
    const [sk, su] = [await status(k), await status(u)];
    expect(sk.body).toEqual(su.body);
    expect(sk.body).toEqual({ stage: 'verifying', satisfied: [], coolingEndsAt: null, approvalsNeeded: 1 });
    for (const factor of ['email_code', 'sms_code', 'passkey']) {
      const [ck, cu] = [
        await call(stack, 'POST', path(k, '/challenges'), { json: { factor }, headers: as(k) }),
        await call(stack, 'POST', path(u, '/challenges'), { json: { factor }, headers: as(u) }),
      ];
      expect(shapeOf(ck)).toEqual(shapeOf(cu));
      expect(ck.status).toBe(202);
    }
    for (const factor of ['email_code', 'totp', 'backup_code']) {
      const [fk, fu] = [await submit(k, { factor, code: '12345678' }), await submit(u, { factor, code: '12345678' })];
      expect(fk.status).toBe(200);
      expect(fk.body).toEqual(fu.body);
      expect(fk.body).toEqual({ accepted: false, satisfied: [], remaining: 3 });
    }
    // The known owner got a code; nothing was sent anywhere for the unknown address.
    await eventually(
      async () => (await noticesTo(stack, { to: known.email, template: 'recovery-code' })).length > 0 || undefined,
      'the code mail',
    );
    const unknownRequests = await stack.db
      .collection(collections.recoveries)
      .find({ _id: { $in: started.unknown.map((r) => r.body.recoveryId) } as never })
      .toArray();
    expect(unknownRequests.every((r) => r.accountId === undefined && r.email === undefined)).toBe(true);
    for (let i = 0; i < 8; i++) expect(await noticesTo(stack, { to: `nobody-${i}@example.com` })).toEqual([]);
  });

  it('refuses a wrong recovery token and an unknown id alike, and asks for a token when none is sent', async () => {
    const p = await person('token-check');
    const r = await startFor(p.email, p.ip);
    const wrong = await call(stack, 'GET', path(r), { headers: { 'x-recovery-token': 'A'.repeat(43) } });
    const unknown = await call(stack, 'GET', `/v1/recoveries/${randomUUID()}`, {
      headers: { 'x-recovery-token': r.recoveryToken },
    });
    expect(wrong.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(wrong.body).toMatchObject({
      type: expect.stringContaining('not-found'),
      detail: (unknown.body as { detail: string }).detail,
    });
    const none = await call(stack, 'GET', path(r));
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('codes', () => {
  it('takes a code once: in parallel only one use wins, and a backup code never works twice', async () => {
    const p = await person('code-reuse');
    const r = await startFor(p.email, p.ip);
    const { code, challengeId } = await deliveredCode(r, 'email_code', p.email);
    const both = await Promise.all([
      submit(r, { factor: 'email_code', code, challengeId }),
      submit(r, { factor: 'email_code', code, challengeId }),
    ]);
    expect(both.filter((res) => res.status === 200 && res.body.accepted)).toHaveLength(1);
    const challenge = await stack.db.collection(collections.recoveryChallenges).findOne({ _id: challengeId as never });
    expect(typeof challenge?.consumedAt).toBe('string');
    expect(JSON.stringify(challenge)).not.toContain(code);

    expect((await submit(r, { factor: 'backup_code', code: p.backupCodes[3] })).body.accepted).toBe(true);
    const again = await startFor(p.email, p.ip);
    expect((await submit(again, { factor: 'backup_code', code: p.backupCodes[3] })).body).toMatchObject({
      accepted: false,
    });
    expect((await submit(again, { factor: 'backup_code', code: p.backupCodes[4] })).body).toMatchObject({
      accepted: true,
    });
    // The same TOTP code (the same time step) is refused the second time, in another recovery too.
    const totp = totpCode(p);
    expect((await submit(r, { factor: 'totp', code: totp })).body.accepted).toBe(true);
    expect((await submit(again, { factor: 'totp', code: totp })).body.accepted).toBe(false);
    for (const started of [r, again]) await call(stack, 'POST', path(started, '/cancel'), { headers: as(started) });
  });

  it('refuses a code after its time is up, and accepts a fresh one', async () => {
    const p = await person('code-expiry');
    const r = await startFor(p.email, p.ip);
    const old = await deliveredCode(r, 'email_code', p.email);
    await sleep(6_500);
    expect((await submit(r, { factor: 'email_code', ...old })).body).toEqual({
      accepted: false,
      satisfied: [],
      remaining: 3,
    });
    const fresh = await deliveredCode(r, 'email_code', p.email);
    expect((await submit(r, { factor: 'email_code', ...fresh })).body).toMatchObject({
      accepted: true,
      satisfied: ['email_code'],
    });
  });

  it('locks a factor after five failures, even against the right code', async () => {
    const p = await person('five-failures', { phone: true });
    const r = await startFor(p.email, p.ip);
    const { code, challengeId } = await deliveredCode(r, 'sms_code', p.phone!);
    const wrong = String((Number(code) + 1) % 10 ** 8).padStart(8, '0');
    for (let i = 0; i < 5; i++)
      expect((await submit(r, { factor: 'sms_code', code: wrong, challengeId })).body.accepted).toBe(false);
    const locked = await submit(r, { factor: 'sms_code', code, challengeId });
    expect(locked.status).toBe(409);
    expect(locked.body).toMatchObject({
      type: expect.stringContaining('conflict'),
      detail: expect.stringContaining('locked'),
    });
    expect(
      (await call(stack, 'POST', path(r, '/challenges'), { json: { factor: 'sms_code' }, headers: as(r) })).status,
    ).toBe(409);
    // Other factors still work.
    expect((await submit(r, { factor: 'totp', code: totpCode(p) })).body).toMatchObject({
      accepted: true,
      satisfied: ['totp'],
    });
    const audit = await eventually(async () => {
      const events = await stack.deps.auditLog.list({ accountId: p.accountId });
      return events.some((e) => e.action === 'recovery.factor_accepted') ? events : undefined;
    }, 'the audit trail');
    expect(
      audit.filter((e) => e.action === 'recovery.factor_rejected' && e.details?.factor === 'sms_code'),
    ).toHaveLength(5);
    expect(audit.some((e) => e.action === 'recovery.factor_locked')).toBe(true);
  });
});

describe('authenticator seed', () => {
  it('is stored only as SecretVault ciphertext, bound to its account, and the authenticator still proves the factor', async () => {
    const p = await person('totp-at-rest');
    const stored = await stack.db
      .collection(collections.recoveryFactors)
      .findOne({ accountId: p.accountId, kind: 'totp' });
    expect(stored).toMatchObject({ confirmed: true, secretCiphertext: expect.stringMatching(/^cra:v\d+:/) });
    expect(stored).not.toHaveProperty('secret');
    const raw = JSON.stringify(stored);
    const seed = base32Decode(p.totpSecret);
    for (const clear of [
      p.totpSecret,
      p.totpSecret.toLowerCase(),
      seed.toString('hex'),
      seed.toString('base64'),
      seed.toString('base64url'),
    ])
      expect(raw).not.toContain(clear);
    expect(await stack.deps.vault.decrypt('recovery-factors', String(stored!.secretCiphertext))).toBe(
      `cra-totp|${p.accountId}|${p.totpSecret}`,
    );

    const r = await startFor(p.email, p.ip);
    expect((await submit(r, { factor: 'totp', code: totpCode(p) })).body).toMatchObject({
      accepted: true,
      satisfied: ['totp'],
    });
    // Copied onto another account's document, the ciphertext proves nothing there.
    const other = await person('totp-swapped');
    await stack.db
      .collection(collections.recoveryFactors)
      .updateOne(
        { accountId: other.accountId, kind: 'totp' },
        { $set: { secretCiphertext: stored!.secretCiphertext } },
      );
    const r2 = await startFor(other.email, other.ip);
    const code = hotp(seed, totpStep(Date.now()), 8);
    secrets.add(code);
    expect((await submit(r2, { factor: 'totp', code })).body).toMatchObject({ accepted: false, satisfied: [] });
    for (const started of [r, r2]) await call(stack, 'POST', path(started, '/cancel'), { headers: as(started) });
  });
});

describe('policy', () => {
  it('never proceeds on fewer than three factors, nor on three of one category', async () => {
    const p = await person('not-enough', { phone: true });
    const r = await startFor(p.email, p.ip);
    const email = await deliveredCode(r, 'email_code', p.email);
    expect((await submit(r, { factor: 'email_code', ...email })).body.remaining).toBe(2);
    const sms = await deliveredCode(r, 'sms_code', p.phone!);
    expect((await submit(r, { factor: 'sms_code', ...sms })).body.remaining).toBe(1);
    // Three possession factors: still one short of a second category.
    expect((await submit(r, { factor: 'totp', code: totpCode(p) })).body).toEqual({
      accepted: true,
      satisfied: ['email_code', 'sms_code', 'totp'],
      remaining: 1,
    });
    await sleep(4_000); // longer than the cooling period
    expect((await status(r)).body).toMatchObject({ stage: 'verifying', coolingEndsAt: null });
    expect(await noticesTo(stack, { accountId: p.accountId, template: 'recovery-started' })).toEqual([]);
    expect((await decide(r, await support('early'), 'approve')).status).toBe(409);
    const documentsBySelf = await call(stack, 'POST', path(r, '/factors'), {
      json: { factor: 'document_check', code: 'x' },
      headers: as(r),
    });
    expect(documentsBySelf.status).toBe(403);
    // A provider sign-in is proven at the OAuth callback (recovery-provider.test.ts), never submitted here.
    const provider = await submit(r, { factor: 'provider_reauth', code: 'x' });
    expect(provider.status).toBe(400);
    expect(provider.headers.get('content-type')).toContain('application/problem+json');
    // A verified identity document (support) adds the second category.
    const doc = await call<Outcome>(stack, 'POST', `/v1/support/recoveries/${r.recoveryId}/document-check`, {
      token: await support('documents'),
      json: { verified: true, reason: 'passport matches, liveness check passed' },
    });
    expect(doc.body).toMatchObject({ accepted: true, remaining: 0 });
    await stageBecomes(r, 'cooling');
    await call(stack, 'POST', path(r, '/cancel'), { headers: as(r) });
  });
});

describe('the whole path', () => {
  it('factors, notices on every channel, 3 s cooling, one human approval, reset, audit trail', async () => {
    const p = await person('whole-path', { phone: true, push: true });
    const r = await startFor(p.email, p.ip);
    expect(await proveEnough(r, p)).toEqual({
      accepted: true,
      satisfied: ['email_code', 'totp', 'backup_code'],
      remaining: 0,
    });
    const cooling = await stageBecomes(r, 'cooling');
    expect(cooling.approvalsNeeded).toBe(1);
    expect(Date.parse(cooling.coolingEndsAt!)).toBeGreaterThan(Date.now());
    const started = await eventually(async () => {
      const started = await noticesTo(stack, { accountId: p.accountId, template: 'recovery-started' });
      return started.length === 3 ? started : undefined;
    }, 'the notices to email, phone and push device');
    expect(started.map((n) => `${n.channel}:${n.to}`).sort()).toEqual([
      `email:${p.email}`,
      `push:device:${p.pushDeviceId}`,
      `sms:${p.phone}`,
    ]);

    const noPermission = await decide(
      r,
      await tokenFor(stack, 'auth0|curious', { permissions: ['support:read'] }),
      'approve',
    );
    expect(noPermission.status).toBe(403);
    const ownerAsSupport = await decide(
      r,
      await tokenFor(stack, p.subject, { permissions: ['recovery:approve'] }),
      'approve',
    );
    expect(ownerAsSupport.status).toBe(409);
    expect(ownerAsSupport.body).toMatchObject({ detail: expect.stringContaining('own account') });
    const ada = await support('ada');
    expect((await decide(r, ada, 'approve')).body).toMatchObject({ approvals: 1, approvalsNeeded: 0 });
    expect((await decide(r, ada, 'approve')).status).toBe(409);

    const done = await stageBecomes(r, 'completed');
    expect(done).toMatchObject({ satisfied: ['email_code', 'totp', 'backup_code'], approvalsNeeded: 0 });
    const user = await stack.db.collection(collections.identityUsers).findOne({ _id: p.subject as never });
    expect(user).toMatchObject({ password_reset_required: true, mfa_enrollments: [] });
    const told = await eventually(async () => {
      const n = await noticesTo(stack, { accountId: p.accountId, template: 'recovery-completed' });
      return n.length === 3 ? n : undefined;
    }, 'the completion notices');
    expect(told.map((n) => n.channel).sort()).toEqual(['email', 'push', 'sms']);
    const audit = await eventually(async () => {
      const events = await stack.deps.auditLog.list({ accountId: p.accountId });
      return events.some((e) => e.action === 'recovery.closed') ? events : undefined;
    }, 'the complete audit trail');
    const approved = audit.find((e) => e.action === 'recovery.approved');
    expect(approved).toMatchObject({
      actor: { type: 'support', id: 'auth0|support-ada' },
      details: { reason: 'factors and documents check out' },
    });
    for (const action of [
      'recovery.started',
      'recovery.factor_accepted',
      'recovery.cooling_started',
      'recovery.notice_queued',
      'recovery.credentials_reset',
      'recovery.closed',
    ]) {
      expect(audit.map((e) => e.action)).toContain(action);
    }
    const verified = await stack.deps.auditLog.verify();
    expect(verified, JSON.stringify(verified)).toMatchObject({ ok: true });
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of stack.temporal.workflow.list({
        query: `CraProcess = "recovery" AND CraAccountId = "${p.accountId}" AND CraStage = "completed" AND CraNeedsApproval = false`,
      }))
        ids.push(wf.workflowId);
      return ids.length > 0 ? ids : undefined;
    }, 'Temporal visibility to index the recovery');
    expect(found).toContain(`recovery/${r.recoveryId}`);
  });

  it('needs two different people when the risk is high (a new network, two countries)', async () => {
    const p = await person('high-risk');
    const r = await startFor(p.email, newIp(), { 'x-client-country': 'DE' });
    await proveEnough(r, p, ['DE', 'BR', 'DE']);
    const cooling = await stageBecomes(r, 'cooling');
    expect(cooling.approvalsNeeded).toBe(2);
    const view = await call<{ riskFlags: Array<{ flag: string; evidence: Record<string, unknown> }> }>(
      stack,
      'GET',
      `/v1/support/recoveries/${r.recoveryId}`,
      { token: await support('reader', ['support:read']) },
    );
    expect(view.body.riskFlags.map((f) => f.flag).sort()).toEqual(['countries_differ', 'new_device_or_network']);
    expect(view.body.riskFlags.find((f) => f.flag === 'countries_differ')?.evidence).toEqual({ countries: 'BR,DE' });
    expect(view.body.riskFlags.find((f) => f.flag === 'new_device_or_network')?.evidence).toMatchObject({
      knownNetworks: 1,
    });
    const first = await support('first');
    expect((await decide(r, first, 'approve')).body).toMatchObject({ approvals: 1, approvalsNeeded: 1 });
    expect((await decide(r, first, 'approve', 'asking again')).status).toBe(409);
    expect((await stageBecomes(r, 'awaiting_approval')).approvalsNeeded).toBe(1);
    expect((await decide(r, await support('second'), 'approve')).body).toMatchObject({
      approvals: 2,
      approvalsNeeded: 0,
    });
    await stageBecomes(r, 'completed');
  });

  it('stops when the owner follows the cancel link, or cancels from a signed-in session; support can deny', async () => {
    const p = await person('cancelling', { recentlyEnrolled: true });
    const r = await startFor(p.email, p.ip);
    await proveEnough(r, p);
    await stageBecomes(r, 'cooling');
    const notice = await eventually(
      async () => (await noticesTo(stack, { to: p.email, template: 'recovery-started' }))[0],
      'the notice',
    );
    const link = new URL(/https?:\/\/\S+\/cancel\?token=\S+/.exec(String(notice.body))![0]);
    secrets.add(link.searchParams.get('token')!);
    expect((await call(stack, 'POST', `${link.pathname}?token=${'x'.repeat(43)}`)).status).toBe(404);
    const cancelled = await call(stack, 'POST', `${link.pathname}${link.search}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ stage: 'cancelled' });
    expect((await stageBecomes(r, 'cancelled')).stage).toBe('cancelled');
    expect((await call(stack, 'POST', `${link.pathname}${link.search}`)).status).toBe(409);
    const user = await stack.db.collection(collections.identityUsers).findOne({ _id: p.subject as never });
    expect(user?.password_reset_required).toBeUndefined();

    const second = await startFor(p.email, p.ip);
    await sleep(500);
    const stranger = await call(stack, 'POST', path(second, '/cancel'), {
      token: await tokenFor(stack, 'auth0|stranger'),
    });
    expect(stranger.status).toBe(404);
    const byOwner = await call(stack, 'POST', path(second, '/cancel'), { token: p.token });
    expect(byOwner.status).toBe(200);

    const third = await startFor(p.email, p.ip);
    const email = await deliveredCode(third, 'email_code', p.email);
    await submit(third, { factor: 'email_code', ...email });
    await submit(third, { factor: 'backup_code', code: p.backupCodes[5] });
    await submit(third, { factor: 'backup_code', code: p.backupCodes[6] }); // already satisfied: refused, harmless
    const doc = await call<Outcome>(stack, 'POST', `/v1/support/recoveries/${third.recoveryId}/document-check`, {
      token: await support('docs'),
      json: { verified: true, reason: 'id card verified' },
    });
    expect(doc.body.remaining).toBe(0);
    // Recently enrolled factors raise a flag the support agent sees with its evidence.
    const view = await call<{ riskFlags: Array<{ flag: string; evidence: Record<string, unknown> }> }>(
      stack,
      'GET',
      `/v1/support/recoveries/${third.recoveryId}`,
      { token: await support('reader2', ['support:read']) },
    );
    expect(view.body.riskFlags.find((f) => f.flag === 'recent_factor_change')?.evidence).toMatchObject({
      change: expect.stringMatching(/^enrolled:/),
    });
    expect(
      (await decide(third, await support('denier'), 'deny', 'the caller could not describe recent activity')).status,
    ).toBe(200);
    await stageBecomes(third, 'denied');
    // The stage answers at once; the audit trail follows as the workflow appends it.
    const denied = await eventually(
      async () =>
        (await stack.deps.auditLog.list({ accountId: p.accountId })).find((e) => e.action === 'recovery.denied'),
      'the denial in the audit log',
    );
    expect(denied).toMatchObject({
      actor: { type: 'support', id: 'auth0|support-denier' },
      details: { reason: 'the caller could not describe recent activity' },
    });
  });
});

describe('passkey', () => {
  it('accepts a real WebAuthn assertion once, for the right origin only', async () => {
    const p = await person('passkey-owner');
    const authenticator = new SoftwareAuthenticator();
    // Registered through the API, with a real attestation, from the person's usual network.
    const options = await call<{ enrolmentId: string; publicKey: { challenge: string; rp: { id: string } } }>(
      stack,
      'POST',
      '/v1/me/recovery-factors/passkeys/options',
      { token: p.token, headers: { 'x-forwarded-for': p.ip } },
    );
    expect(options.status).toBe(201);
    const registered = await call(stack, 'POST', '/v1/me/recovery-factors/passkeys', {
      token: p.token,
      headers: { 'x-forwarded-for': p.ip },
      json: {
        enrolmentId: options.body.enrolmentId,
        credential: authenticator.attest(options.body.publicKey.challenge, {
          rpId: options.body.publicKey.rp.id,
          origin: 'https://cra.test',
        }),
      },
    });
    expect(registered.status).toBe(201);
    const challengeFor = async (r: Started) => {
      const res = await call<{
        challengeId: string;
        publicKey: { challenge: string; rpId: string; allowCredentials: unknown[]; userVerification: string };
      }>(stack, 'POST', path(r, '/challenges'), { json: { factor: 'passkey' }, headers: as(r) });
      expect(res.status).toBe(202);
      expect(res.body.publicKey).toMatchObject({
        rpId: 'cra.test',
        allowCredentials: [],
        userVerification: 'required',
      });
      return res.body;
    };
    const r = await startFor(p.email, p.ip);
    const first = await challengeFor(r);
    const wrongOrigin = authenticator.assert(first.publicKey.challenge, {
      rpId: 'cra.test',
      origin: 'https://evil.test',
    });
    expect(
      (await submit(r, { factor: 'passkey', challengeId: first.challengeId, assertion: wrongOrigin })).body.accepted,
    ).toBe(false);

    const second = await challengeFor(r);
    const good = authenticator.assert(second.publicKey.challenge, { rpId: 'cra.test', origin: 'https://cra.test' });
    expect(
      (await submit(r, { factor: 'passkey', challengeId: second.challengeId, assertion: good })).body,
    ).toMatchObject({ accepted: true, satisfied: ['passkey'] });

    // Replayed in another recovery, against a fresh challenge: refused.
    const other = await startFor(p.email, p.ip);
    const third = await challengeFor(other);
    expect(
      (await submit(other, { factor: 'passkey', challengeId: third.challengeId, assertion: good })).body.accepted,
    ).toBe(false);
    const stored = await stack.db
      .collection(collections.recoveryFactors)
      .findOne({ accountId: p.accountId, kind: 'passkey' });
    expect(stored?.counter).toBe(2);
  });
});

describe('secrets', () => {
  it('keeps codes, tokens, cancel links and backup codes out of workflow history and API logs', async () => {
    expect(recoveryIds.size).toBeGreaterThan(10);
    const haystacks: string[] = [...stack.apiLog];
    for (const id of recoveryIds) {
      const history = await stack.temporal.workflow.getHandle(`recovery/${id}`).fetchHistory();
      const decoded = decodedPayloads(history, stack.codec);
      expect(decoded.some((d) => d.includes(id))).toBe(true); // the scan does read payloads
      haystacks.push(JSON.stringify(history), ...decoded);
    }
    expect(secrets.size).toBeGreaterThan(40);
    for (const secret of secrets) {
      expect(
        haystacks.filter((h) => h.includes(secret)),
        `secret ${secret.slice(0, 4)}… found`,
      ).toEqual([]);
    }
  });
});
