/**
 * The `provider_reauth` recovery factor end to end: the sandbox OAuth provider, real HTTP into the API, the
 * real workers. The person links GitHub first (through the sandbox's consent page), then proves the factor
 * by signing in there again during a recovery. A small recording proxy in front of the sandbox's token and
 * revocation endpoints shows what tokens the API obtained, so the test can check they were revoked and
 * appear in no workflow history, audit event or log line.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { collections } from '../../domain/collections.js';
import { base32Decode, hotp, totpStep } from '../../domain/recovery.js';
import { openedAccount } from '../support/account-documents.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack, tokenFor, type JsonResponse } from '../support/stack.js';
import { decodedPayloads } from '../support/history.js';
import { startSandboxProxy, type SandboxProxy } from '../support/sandbox-proxy.js';

let proxy: SandboxProxy | undefined;
/** What passed through the proxy: every token the sandbox issued, and every token CRA revoked. */
const issued = new Set<string>();
const revoked: string[] = [];
/** Everything secret this file saw (codes, states, tokens), and the recoveries it started: the last test scans for them. */
const secrets = new Set<string>();
const recoveryIds = new Set<string>();

// Registered before the stack, so it runs after the stack has stopped (afterAll hooks run in reverse).
afterAll(async () => {
  await proxy?.close();
});
// The proxy comes first: its address goes into the stack's environment.
const stack = useTestStack(async () => {
  proxy = await startSandboxProxy(
    () => stack,
    ({ kind, token, ok, answer }) => {
      if (kind === 'token' && ok) {
        const set = JSON.parse(answer) as Record<string, unknown>;
        for (const key of ['access_token', 'refresh_token', 'id_token'])
          if (typeof set[key] === 'string') issued.add(set[key]);
      }
      if (kind === 'revocation' && ok) revoked.push(token ?? '');
    },
  );
  const proxyUrl = proxy.url;
  const env: Record<string, string> = {
    RECOVERY_COOLING_PERIOD: '2s',
    RECOVERY_NOTICE_INTERVAL: '1 hour',
    RECOVERY_CODE_TTL: '10s',
    RECOVERY_RATE_LIMIT_PER_IP: '1000',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
  };
  for (const provider of ['github', 'google']) {
    env[`PROVIDER_${provider.toUpperCase()}_TOKEN_URL`] = `${proxyUrl}/${provider}/token`;
    env[`PROVIDER_${provider.toUpperCase()}_REVOCATION_URL`] = `${proxyUrl}/${provider}/revocation`;
  }
  return { sandbox: true, env };
});

interface Person {
  who: SignedUp;
  email: string;
  accountId: string;
  totpSecret: string;
  backupCodes: string[];
}

const dayMs = 24 * 3600_000;

/** Pretend the account's connections were made `days` ago (a connection younger than RECOVERY_MIN_CONNECTION_AGE is no factor). */
async function ageConnections(accountId: string, days: number): Promise<string> {
  const accounts = stack.db.collection(collections.accounts);
  const account = await accounts.findOne({ _id: accountId as never });
  const connectedAt = new Date(Date.now() - days * dayMs).toISOString();
  const nodes = (account!.connected_providers.nodes as Array<Record<string, unknown>>).map((n) => ({
    ...n,
    connectedAt,
  }));
  await accounts.updateOne({ _id: accountId as never }, { $set: { 'connected_providers.nodes': nodes } });
  return connectedAt;
}

/**
 * A signed-up person who linked GitHub as `githubUser` (unless undefined) `linkedDaysAgo` days ago (90 by
 * default), and set up an authenticator app and backup codes.
 */
async function person(name: string, githubUser: string | undefined, linkedDaysAgo = 90): Promise<Person> {
  const who = await signedUp(stack, `auth0|${name}`);
  if (githubUser) {
    const linked = await linkThroughSandbox(stack, who, 'github', githubUser);
    expect(linked.answer.body.status).toBe('linked');
    await ageConnections(who.accountId, linkedDaysAgo);
  }
  const totp = await call<{ secret: string }>(stack, 'POST', '/v1/me/recovery-factors/totp', { token: who.token });
  const confirm = await call(stack, 'POST', '/v1/me/recovery-factors/totp/confirm', {
    token: who.token,
    json: { code: hotp(base32Decode(totp.body.secret), totpStep(Date.now()), 8) },
  });
  expect(confirm.status).toBe(200);
  const backup = await call<{ codes: string[] }>(stack, 'POST', '/v1/me/recovery-factors/backup-codes', {
    token: who.token,
  });
  secrets.add(totp.body.secret);
  for (const code of backup.body.codes) secrets.add(code);
  const account = await openedAccount(stack, who.accountId);
  return {
    who,
    email: String(account!.rootIdentity.email),
    accountId: who.accountId,
    totpSecret: totp.body.secret,
    backupCodes: backup.body.codes,
  };
}

interface Started {
  recoveryId: string;
  recoveryToken: string;
}

async function startFor(email: string): Promise<Started> {
  const res = await call<Started>(stack, 'POST', '/v1/recoveries', { json: { email } });
  expect(res.status).toBe(202);
  recoveryIds.add(res.body.recoveryId);
  secrets.add(res.body.recoveryToken);
  return res.body;
}

const as = (r: Started) => ({ 'x-recovery-token': r.recoveryToken });
type Challenge = { challengeId: string; factor: string; expiresAt: string; authorizationUrl: string };
type Outcome = { recoveryId: string; factor: string; accepted: boolean; satisfied: string[]; remaining: number };

async function challenge(r: Started, provider: string): Promise<JsonResponse<Challenge>> {
  const res = await call<Challenge>(stack, 'POST', `/v1/recoveries/${r.recoveryId}/challenges`, {
    json: { factor: 'provider_reauth', provider },
    headers: as(r),
  });
  // The URL carries the state, the PKCE challenge and the nonce: none of them may reach a history.
  if (res.body.authorizationUrl) {
    const url = new URL(res.body.authorizationUrl);
    for (const key of ['state', 'code_challenge', 'nonce'])
      if (url.searchParams.get(key)) secrets.add(url.searchParams.get(key)!);
  }
  return res;
}

/** At the provider: sign in as `username`; returns where the provider sends the browser back (code and state recorded as secrets). */
async function signIn(authorizationUrl: string, username: string): Promise<URL> {
  const back = await completeConsent(authorizationUrl, { username });
  for (const key of ['code', 'state']) if (back.searchParams.get(key)) secrets.add(back.searchParams.get(key)!);
  return back;
}
const deliver = <T = Outcome>(back: URL) =>
  call<T>(stack, 'GET', `${back.pathname}${back.search}`, { headers: { accept: 'application/json' } });

const submit = (r: Started, body: Record<string, unknown>) =>
  call<{ accepted: boolean; satisfied: string[]; remaining: number }>(
    stack,
    'POST',
    `/v1/recoveries/${r.recoveryId}/factors`,
    { json: body, headers: as(r) },
  );
const totpCode = (p: Person) => {
  const code = hotp(base32Decode(p.totpSecret), totpStep(Date.now()) + 1, 8);
  secrets.add(code);
  return code;
};

function shapeOf(res: JsonResponse<Challenge>) {
  const url = new URL(res.body.authorizationUrl);
  return {
    status: res.status,
    keys: Object.keys(res.body).sort(),
    origin: url.origin,
    path: url.pathname,
    params: [...url.searchParams.keys()].sort(),
    lengths: [...url.searchParams.entries()]
      .map(([k, v]) => `${k}:${k === 'state' || k === 'code_challenge' ? v.length : v}`)
      .sort(),
  };
}

describe('provider_reauth', () => {
  it('proves the factor when the person signs in as the GitHub account the account has linked; with two more factors the recovery proceeds', async () => {
    const p = await person('reauth-owner', 'ada-gh');
    const tokensBefore = await stack.db.collection(collections.providerTokens).countDocuments({});
    const r = await startFor(p.email);
    const started = await challenge(r, 'github');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      factor: 'provider_reauth',
      challengeId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(Date.parse(started.body.expiresAt) - Date.now()).toBeLessThanOrEqual(10_000);
    const url = new URL(started.body.authorizationUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe(`${stack.baseUrl}/v1/oauth/github/callback`);

    const back = await signIn(started.body.authorizationUrl, 'ada-gh');
    const answer = await deliver(back);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      recoveryId: r.recoveryId,
      factor: 'provider_reauth',
      accepted: true,
      satisfied: ['provider_reauth'],
      remaining: 2,
    });
    // The state is spent, its verifier wiped; the tokens were revoked at the provider and never stored.
    const stored = await stack.db
      .collection(collections.recoveryChallenges)
      .findOne({ _id: started.body.challengeId as never });
    expect(stored).toMatchObject({ consumedAt: expect.any(String), codeVerifierCiphertext: null, nonce: null });
    expect(JSON.stringify(stored)).not.toContain(back.searchParams.get('state'));
    expect(JSON.stringify(stored)).not.toContain(back.searchParams.get('code'));
    expect(revoked.length).toBeGreaterThan(0);
    for (const token of revoked) expect(issued.has(token)).toBe(true);
    expect(await stack.db.collection(collections.providerTokens).countDocuments({})).toBe(tokensBefore);

    expect((await submit(r, { factor: 'totp', code: totpCode(p) })).body).toMatchObject({
      accepted: true,
      remaining: 1,
    });
    expect((await submit(r, { factor: 'backup_code', code: p.backupCodes[0] })).body).toMatchObject({
      accepted: true,
      satisfied: ['provider_reauth', 'totp', 'backup_code'],
      remaining: 0,
    });
    await eventually(async () => {
      const res = await call<{ stage: string }>(stack, 'GET', `/v1/recoveries/${r.recoveryId}`, { headers: as(r) });
      return res.body.stage === 'cooling' ? true : undefined;
    }, 'the cooling period');
    const audit = await eventually(
      async () =>
        (await stack.deps.auditLog.list({ accountId: p.accountId })).find(
          (e) => e.action === 'recovery.factor_accepted' && e.details?.factor === 'provider_reauth',
        ),
      'the audit event',
    );
    expect(audit?.details).toMatchObject({ provider: 'github', challengeId: started.body.challengeId });
    await call(stack, 'POST', `/v1/recoveries/${r.recoveryId}/cancel`, { headers: as(r) });
  });

  it('rejects another provider account, an unlinked provider and an unknown address alike, and counts each as a failure', async () => {
    const p = await person('reauth-victim', 'bob-gh');
    const r = await startFor(p.email);
    const unknown = await startFor('nobody-reauth@example.com');
    const [known, stranger] = [await challenge(r, 'github'), await challenge(unknown, 'github')];
    // The same answer whether or not the address has an account.
    expect(shapeOf(known)).toEqual(shapeOf(stranger));

    const wrongAccount = await deliver(await signIn(known.body.authorizationUrl, 'mallory-gh'));
    const noAccount = await deliver(await signIn(stranger.body.authorizationUrl, 'bob-gh'));
    expect(wrongAccount.body).toEqual({
      recoveryId: r.recoveryId,
      factor: 'provider_reauth',
      accepted: false,
      satisfied: [],
      remaining: 3,
    });
    expect(noAccount.body).toEqual({
      recoveryId: unknown.recoveryId,
      factor: 'provider_reauth',
      accepted: false,
      satisfied: [],
      remaining: 3,
    });

    // Google (an OpenID provider: nonce, id_token checked) is not linked to this account.
    const google = await challenge(r, 'google');
    const googleUrl = new URL(google.body.authorizationUrl);
    expect(googleUrl.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(googleUrl.searchParams.get('prompt')).toBe('login');
    const unlinked = await deliver(await signIn(google.body.authorizationUrl, 'bob-gh'));
    expect(unlinked.body).toMatchObject({ accepted: false, satisfied: [] });

    const request = await stack.db.collection(collections.recoveries).findOne({ _id: r.recoveryId as never });
    expect(request?.failures).toMatchObject({ provider_reauth: 2 });
    const rejected = await eventually(async () => {
      const events = (await stack.deps.auditLog.list({ accountId: p.accountId })).filter(
        (e) => e.action === 'recovery.factor_rejected' && e.details?.factor === 'provider_reauth',
      );
      return events.length === 2 ? events : undefined;
    }, 'the two rejections in the audit log');
    expect(rejected.map((e) => e.details?.reason)).toEqual(['provider_account_mismatch', 'provider_account_mismatch']);
    // Bad input changes nothing: no provider named, a provider for another factor, an unknown provider.
    for (const json of [
      { factor: 'provider_reauth' },
      { factor: 'email_code', provider: 'github' },
      { factor: 'provider_reauth', provider: 'myspace' },
    ]) {
      const res = await call(stack, 'POST', `/v1/recoveries/${r.recoveryId}/challenges`, { json, headers: as(r) });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    for (const started of [r, unknown])
      await call(stack, 'POST', `/v1/recoveries/${started.recoveryId}/cancel`, { headers: as(started) });
  });

  it('refuses a state used twice, an expired one and one that matches nothing', async () => {
    const p = await person('reauth-replay', 'carol-gh');
    const r = await startFor(p.email);
    const back = await signIn((await challenge(r, 'github')).body.authorizationUrl, 'carol-gh');
    expect((await deliver(back)).body).toMatchObject({ accepted: true });
    const again = await deliver(back);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body).toMatchObject({ type: expect.stringContaining('link-state-used') });

    const slow = await startFor(p.email);
    const late = await signIn((await challenge(slow, 'github')).body.authorizationUrl, 'carol-gh');
    await new Promise((resolve) => setTimeout(resolve, 10_500)); // past RECOVERY_CODE_TTL
    const expired = await deliver(late);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ type: expect.stringContaining('link-expired') });
    const forged = new URL(late);
    forged.searchParams.set('state', 'A'.repeat(43));
    expect((await deliver(forged)).status).toBe(400);
    const status = await call<{ satisfied: string[] }>(stack, 'GET', `/v1/recoveries/${slow.recoveryId}`, {
      headers: as(slow),
    });
    expect(status.body.satisfied).toEqual([]);
    for (const started of [r, slow])
      await call(stack, 'POST', `/v1/recoveries/${started.recoveryId}/cancel`, { headers: as(started) });
  });

  it('does not count a link younger than RECOVERY_MIN_CONNECTION_AGE (3 days), answering as for another account; once old enough it counts', async () => {
    const p = await person('reauth-fresh', 'dora-gh', 3);
    const r = await startFor(p.email);
    const refused = await deliver(await signIn((await challenge(r, 'github')).body.authorizationUrl, 'dora-gh'));
    // The same answer as a sign-in with another provider account: nothing tells the requester why.
    expect(refused.status).toBe(200);
    expect(refused.body).toEqual({
      recoveryId: r.recoveryId,
      factor: 'provider_reauth',
      accepted: false,
      satisfied: [],
      remaining: 3,
    });
    const request = await stack.db.collection(collections.recoveries).findOne({ _id: r.recoveryId as never });
    expect(request?.failures).toMatchObject({ provider_reauth: 1 });
    const rejected = await eventually(
      async () =>
        (await stack.deps.auditLog.list({ accountId: p.accountId })).find(
          (e) => e.action === 'recovery.factor_rejected' && e.details?.factor === 'provider_reauth',
        ),
      'the rejection in the audit log',
    );
    expect(rejected?.details).toMatchObject({ reason: 'connection_too_new', provider: 'github', failures: 1 });

    // Eight days old: above the default of 7 days. (A connection made after the recovery started never counts: a new recovery.)
    await ageConnections(p.accountId, 8);
    const later = await startFor(p.email);
    const accepted = await deliver(await signIn((await challenge(later, 'github')).body.authorizationUrl, 'dora-gh'));
    expect(accepted.body).toEqual({
      recoveryId: later.recoveryId,
      factor: 'provider_reauth',
      accepted: true,
      satisfied: ['provider_reauth'],
      remaining: 2,
    });
    for (const started of [r, later])
      await call(stack, 'POST', `/v1/recoveries/${started.recoveryId}/cancel`, { headers: as(started) });
  });

  it('flags a provider linked while the recovery is pending, with its evidence for support, and does not count it as a factor', async () => {
    const p = await person('reauth-linked-meanwhile', 'erin-gh');
    const r = await startFor(p.email);
    const startedAt = String(
      (await stack.db.collection(collections.recoveries).findOne({ _id: r.recoveryId as never }))!.createdAt,
    );
    // Whoever holds a session of the account links another provider during the recovery.
    const linked = await linkThroughSandbox(stack, p.who, 'google', 'mallory-google');
    expect(linked.answer.body.status).toBe('linked');
    const account = await stack.db.collection(collections.accounts).findOne({ _id: p.accountId as never });
    const google = (
      account!.connected_providers.nodes as Array<{ provider: string; connectionId: string; connectedAt: string }>
    ).find((n) => n.provider === 'google')!;
    expect(google.connectedAt >= startedAt).toBe(true);
    // Even with the minimum age out of the way, a connection made since the recovery started is no factor.
    const viaGoogle = await deliver(
      await signIn((await challenge(r, 'google')).body.authorizationUrl, 'mallory-google'),
    );
    expect(viaGoogle.body).toMatchObject({ accepted: false, satisfied: [] });

    expect(
      (await deliver(await signIn((await challenge(r, 'github')).body.authorizationUrl, 'erin-gh'))).body,
    ).toMatchObject({ accepted: true });
    expect((await submit(r, { factor: 'totp', code: totpCode(p) })).body).toMatchObject({ accepted: true });
    expect((await submit(r, { factor: 'backup_code', code: p.backupCodes[0] })).body).toMatchObject({
      accepted: true,
      remaining: 0,
    });

    const reader = await tokenFor(stack, 'auth0|support-link-reader', { permissions: ['support:read'] });
    type View = {
      stage: string;
      approvalsRequired: number;
      riskFlags: Array<{ flag: string; evidence: Record<string, unknown>; at: string }>;
    };
    const view = await eventually(async () => {
      const res = await call<View>(stack, 'GET', `/v1/support/recoveries/${r.recoveryId}`, { token: reader });
      return res.body.riskFlags?.some((f) => f.flag === 'linked_during_recovery') ? res : undefined;
    }, 'the linked_during_recovery flag');
    expect(view.status).toBe(200);
    expect(view.body.stage).toBe('cooling');
    expect(view.body.riskFlags.find((f) => f.flag === 'linked_during_recovery')?.evidence).toEqual({
      provider: 'google',
      connectionId: google.connectionId,
      connectedAt: google.connectedAt,
      recoveryStartedAt: startedAt,
      links: 1,
      providers: 'google',
    });
    // High risk: two different people must approve.
    expect(view.body.approvalsRequired).toBe(2);
    const flagged = await eventually(
      async () =>
        (await stack.deps.auditLog.list({ accountId: p.accountId })).find(
          (e) => e.action === 'recovery.risk_flagged' && e.details?.flag === 'linked_during_recovery',
        ),
      'the flag in the audit log',
    );
    expect(JSON.parse(String(flagged?.details?.evidence))).toMatchObject({
      provider: 'google',
      connectionId: google.connectionId,
    });
    await call(stack, 'POST', `/v1/recoveries/${r.recoveryId}/cancel`, { headers: as(r) });
  });

  it('keeps provider codes, states and tokens out of workflow history, the audit log and the API log', async () => {
    expect(recoveryIds.size).toBeGreaterThanOrEqual(5);
    expect(issued.size).toBeGreaterThanOrEqual(4);
    const haystacks: string[] = [...stack.apiLog];
    const activities = new Set<string>();
    for (const id of recoveryIds) {
      const handle = stack.temporal.workflow.getHandle(`recovery/${id}`);
      await handle.result();
      const history = await handle.fetchHistory();
      const decoded = decodedPayloads(history, stack.codec);
      expect(decoded.some((d) => d.includes(id))).toBe(true); // the scan does read payloads
      haystacks.push(JSON.stringify(history), ...decoded);
      for (const e of history.events ?? [])
        if (e.activityTaskScheduledEventAttributes?.activityType?.name)
          activities.add(e.activityTaskScheduledEventAttributes.activityType.name);
    }
    // The workflow's activities made the requests and redeemed the answers (the API calls no provider), and
    // the ended recoveries hold no provider secret any more.
    expect([...activities]).toEqual(
      expect.arrayContaining(['beginProviderReauth', 'redeemProviderAnswer', 'releaseProviderChallenges']),
    );
    const leftovers = await stack.db
      .collection(collections.recoveryChallenges)
      .find({
        recoveryId: { $in: [...recoveryIds] },
        factor: 'provider_reauth',
        $or: [
          { codeCiphertext: { $type: 'string' } },
          { codeVerifierCiphertext: { $type: 'string' } },
          { authorizationUrlCiphertext: { $type: 'string' } },
          { nonce: { $type: 'string' } },
        ],
      })
      .toArray();
    expect(leftovers.map((c) => c._id)).toEqual([]);
    haystacks.push(JSON.stringify(await stack.db.collection(collections.auditEvents).find({}).toArray()));
    haystacks.push(JSON.stringify(await stack.db.collection(collections.recoveryChallenges).find({}).toArray()));
    const all = [...secrets, ...issued];
    expect(all.length).toBeGreaterThan(20);
    for (const secret of all) {
      expect(
        haystacks.filter((h) => h.includes(secret)),
        `secret ${secret.slice(0, 4)}… found`,
      ).toEqual([]);
    }
    // The support view (the workflow's state) names the provider, never a token.
    const view = await call(stack, 'GET', `/v1/support/recoveries/${[...recoveryIds][0]}`, {
      token: await tokenFor(stack, 'auth0|support-reader', { permissions: ['support:read'] }),
    });
    expect(view.status).toBe(200);
  });
});
