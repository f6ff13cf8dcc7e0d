/**
 * Linking providers end to end: the real API over HTTP, the link and token-custody workflows on the
 * Temporal dev server, and the sandbox OAuth/OpenID server (oidc-provider) as the provider, with PKCE.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { syncScheduleId } from '../../api/processes/sync.js';
import { openProviderToken, providerTokens, vaultKeys } from '../../activities/providers/stores.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { custodyStateQuery } from '../../workflows/tokens/messages.js';
import { deliverCallback, linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack } from '../support/stack.js';
import { noticesTo } from '../support/outbox.js';
import { decodedPayloads } from '../support/history.js';

const run = randomBytes(3).toString('hex');

const stack = useTestStack({ sandbox: true });

interface LinkStarted {
  workflowId: string;
  authorizationUrl: string;
  expiresAt: string;
}

async function startLink(token: string, provider: string) {
  return call<LinkStarted>(stack, 'POST', `/v1/me/providers/${provider}/link`, { token, json: {} });
}

/** Follow the provider's redirect back to CRA's callback, as the person's signed-in browser would, asking for JSON. */
async function deliver(callbackUrl: URL, who: SignedUp) {
  return deliverCallback(stack, callbackUrl, { as: who });
}

/**
 * The one-time values of an attempt, from its authorization URL and its record: the state, the PKCE
 * challenge and verifier, the nonce. None may appear in any workflow history.
 */
async function attemptSecrets(authorizationUrl: string): Promise<string[]> {
  const url = new URL(authorizationUrl);
  const state = url.searchParams.get('state')!;
  const attempt = await stack.db
    .collection(collections.linkAttempts)
    .findOne({ _id: createHash('sha256').update(state).digest('hex') as never });
  expect(attempt).toMatchObject({ status: 'pending' });
  const verifier = await stack.deps.vault.decrypt(vaultKeys.linkSecrets, attempt!.codeVerifierCiphertext);
  const secrets = [
    state,
    url.searchParams.get('code_challenge')!,
    verifier,
    ...(url.searchParams.get('nonce') ? [url.searchParams.get('nonce')!] : []),
  ];
  for (const s of secrets) expect(s.length).toBeGreaterThanOrEqual(32);
  return secrets;
}

/** Every payload of these workflows' histories, decoded, plus the raw JSON and the API log. */
async function historiesAndLog(workflowIds: string[]): Promise<string[]> {
  const haystacks: string[] = [...stack.apiLog];
  for (const id of workflowIds) {
    const history = await stack.temporal.workflow.getHandle(id).fetchHistory();
    haystacks.push(...decodedPayloads(history, stack.codec), JSON.stringify(history));
  }
  return haystacks;
}

describe('GET /v1/providers', () => {
  it('lists the catalog with the default flags evaluated for the caller', async () => {
    const person = await signedUp(stack, `auth0|catalog-${run}`);
    const res = await call<{
      providers: Array<{
        id: string;
        enabled: boolean;
        flag: string;
        defaultScopes: string[];
        extendedScopes: string[];
      }>;
    }>(stack, 'GET', '/v1/providers', { token: person.token });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.providers.map((p) => [p.id, p]));
    expect(Object.keys(byId)).toHaveLength(13);
    for (const id of ['google', 'apple', 'facebook', 'microsoft', 'linkedin', 'github'])
      expect(byId[id]?.enabled).toBe(true);
    for (const id of ['x', 'reddit', 'discord', 'amazon', 'spotify', 'slack', 'coderabbit'])
      expect(byId[id]?.enabled).toBe(false);
    expect(byId.coderabbit).toMatchObject({
      flag: 'ENABLE_CODERABBIT_LOGIN',
      defaultScopes: ['profile:read'],
      extendedScopes: ['repositories:read', 'reviews:read', 'reviews:write', 'analytics:read', 'organizations:read'],
    });
    // Providers with no data API a person can use say so, and why.
    for (const id of ['apple', 'amazon', 'linkedin', 'coderabbit'])
      expect(byId[id]).toMatchObject({
        sync: 'profile_only',
        dataKinds: [],
        dataNote: expect.stringContaining('https://'),
      });
    expect(byId.github).toMatchObject({ sync: 'data', dataKinds: ['repositories', 'organizations', 'starred'] });
    expect(byId.google).toMatchObject({ sync: 'data', dataKinds: ['contacts', 'calendar_events', 'drive_files'] });
  });

  it('links a profile-only provider without a sync or a schedule', async () => {
    const person = await signedUp(stack, `auth0|profile-only-${run}`);
    const linked = await linkThroughSandbox(stack, person, 'linkedin', `profile-only-${run}`);
    expect(linked.answer.body).toMatchObject({ status: 'linked' });
    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: person.token });
    expect(me.body.connected_providers.nodes.find((n) => n.provider === 'linkedin')).toMatchObject({
      status: 'active',
    });
    const schedule = stack.temporal.schedule.getHandle(
      syncScheduleId({ accountId: person.accountId, provider: 'linkedin' }),
    );
    await expect(schedule.describe()).rejects.toThrow(ScheduleNotFoundError);
    await expect(stack.temporal.workflow.getHandle(`sync/${person.accountId}/linkedin`).describe()).rejects.toThrow(
      WorkflowNotFoundError,
    );
  });
});

describe('linking a provider', () => {
  it('links GitHub through the authorization-code flow with PKCE, stores tokens encrypted and starts token custody', async () => {
    const person = await signedUp(stack, `auth0|linker-${run}`, { email: `linker-${run}@example.com` });
    const started = await startLink(person.token, 'github');
    expect(started.status).toBe(202);
    expect(started.body.workflowId).toBe(`link/${person.accountId}/github`);
    const url = new URL(started.body.authorizationUrl);
    expect(url.origin + url.pathname).toBe(stack.sandbox!.endpoints('github').authorize);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe(`${stack.baseUrl}/v1/oauth/github/callback`);
    // GitHub's own scopes (the sandbox adds `openid` so its userinfo can stand in for GitHub's /user).
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['read:user', 'user:email']));
    const firstAttempt = await attemptSecrets(started.body.authorizationUrl);

    const callback = await completeConsent(started.body.authorizationUrl, {
      username: `ada-${run}`,
      email: `ada-${run}@github.sandbox.test`,
    });
    expect(callback.searchParams.get('state')).toBe(url.searchParams.get('state'));
    const answered = await deliver(callback, person);
    expect(answered.body).toMatchObject({ status: 'linked' });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ status: 'linked' });

    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: person.token });
    const node = me.body.connected_providers.nodes.find((n) => n.provider === 'github');
    expect(node).toMatchObject({
      provider: 'github',
      providerAccountId: `github:ada-${run}`,
      status: 'active',
      email: `ada-${run}@github.sandbox.test`,
      scopes: expect.arrayContaining(['read:user', 'user:email']),
      directoryLinked: true,
      linkOrigin: { workflowId: started.body.workflowId, requestedBy: person.subject },
    });

    // Tokens are sealed at rest with the account's data key and open to what the provider issued.
    const stored = await providerTokens(stack.db).findOne({ _id: node!.connectionId });
    expect(stored).toMatchObject({ status: 'active', accountId: person.accountId, provider: 'github' });
    expect(stored!.accessTokenCiphertext).toMatch(/^acct:1:/);
    expect(stored!.refreshTokenCiphertext).toMatch(/^acct:1:/);
    const open = (which: 'access' | 'refresh', sealed: string) =>
      openProviderToken(stack.deps.accountKeys, stack.deps.vault, stored!, which, sealed);
    const accessToken = await open('access', stored!.accessTokenCiphertext);
    const refreshToken = await open('refresh', stored!.refreshTokenCiphertext!);
    const userinfo = await fetch(stack.sandbox!.endpoints('github').userinfo, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(await userinfo.json()).toMatchObject({ sub: `github:ada-${run}` });

    // One custodian per connection, running.
    const custody = stack.temporal.workflow.getHandle(`tokens/${person.accountId}/github`);
    expect((await custody.describe()).status.name).toBe('RUNNING');
    expect(await custody.query(custodyStateQuery)).toMatchObject({
      connectionId: node!.connectionId,
      status: 'active',
    });

    const audit = await stack.deps.auditLog.list({ accountId: person.accountId });
    expect(audit.map((e) => e.action)).toContain('provider.linked');
    const notices = await noticesTo(stack, { to: `linker-${run}@example.com`, template: 'provider-linked' });
    expect(notices).toHaveLength(1);

    // Linking the same provider account again is a no-op.
    const again = await startLink(person.token, 'github');
    const secondAttempt = await attemptSecrets(again.body.authorizationUrl);
    const secondCallback = await completeConsent(again.body.authorizationUrl, { username: `ada-${run}` });
    expect((await deliver(secondCallback, person)).body).toMatchObject({ status: 'already_linked' });
    const after = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: person.token });
    expect(after.body.connected_providers.nodes.filter((n) => n.provider === 'github')).toHaveLength(1);

    // Nothing secret in any workflow history or API log line: tokens, codes, and no state, PKCE value or nonce.
    const secrets = [
      accessToken,
      refreshToken,
      callback.searchParams.get('code')!,
      secondCallback.searchParams.get('code')!,
      ...firstAttempt,
      ...secondAttempt,
    ];
    const haystacks = await historiesAndLog([started.body.workflowId, `tokens/${person.accountId}/github`]);
    expect(haystacks.some((h) => h.includes(node!.connectionId))).toBe(true);
    for (const secret of secrets) expect(haystacks.filter((h) => h.includes(secret))).toEqual([]);
    // The provider account's address reached the account (above), and the notice names the account, but the
    // histories carry them only sealed with the account's key.
    expect(haystacks.some((h) => h.includes('acct:1:'))).toBe(true);
    expect(haystacks.filter((h) => h.includes(`ada-${run}@github.sandbox.test`))).toEqual([]);
    expect((notices[0] as unknown as { body: string }).body).toContain(`ada-${run}`);
    // The attempt record held the URL (encrypted) only until the API answered with it.
    expect(
      await stack.db
        .collection(collections.linkAttempts)
        .countDocuments({ accountId: person.accountId, authorizationUrlCiphertext: { $ne: null } }),
    ).toBe(0);
  });

  it('sends a nonce to OpenID providers and checks it in the id_token', async () => {
    const person = await signedUp(stack, `auth0|oidc-${run}`);
    const started = await startLink(person.token, 'google');
    const url = new URL(started.body.authorizationUrl);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(url.searchParams.get('scope')).toBe('openid email profile');
    const secrets = await attemptSecrets(started.body.authorizationUrl);
    const answered = await deliver(
      await completeConsent(started.body.authorizationUrl, { username: `grace-${run}` }),
      person,
    );
    expect(answered.body).toMatchObject({ status: 'linked' });
    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: person.token });
    expect(me.body.connected_providers.nodes.find((n) => n.provider === 'google')).toMatchObject({
      providerAccountId: `google:grace-${run}`,
      status: 'active',
    });
    // The state, challenge, verifier and nonce never entered the link workflow's history.
    const haystacks = await historiesAndLog([started.body.workflowId]);
    expect(haystacks.some((h) => h.includes(createHash('sha256').update(secrets[0]!).digest('hex')))).toBe(true);
    for (const secret of secrets) expect(haystacks.filter((h) => h.includes(secret))).toEqual([]);
  });
});
