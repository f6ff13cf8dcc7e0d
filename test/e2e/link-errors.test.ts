/**
 * Bad input on the linking path: each answer is a clear problem (or page), and nothing is stored.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { browserSessionOf, deliverCallback, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack, tokenFor, type JsonResponse } from '../support/stack.js';

// Short attempts, so expiry can be seen in a test.
const stack = useTestStack({ sandbox: true, env: { LINK_ATTEMPT_TTL: '8 seconds' } });
const run = randomBytes(3).toString('hex');

interface LinkStarted {
  workflowId: string;
  authorizationUrl: string;
}
type Problem = { type: string; status: number; title: string; detail: string };

const startLink = (who: SignedUp, provider: string) =>
  call<LinkStarted>(stack, 'POST', `/v1/me/providers/${provider}/link`, { token: who.token, json: {} });
/** The provider's answer, brought back by `who`'s signed-in browser. */
const deliver = async (url: URL, who: SignedUp, accept = 'application/json') =>
  (await deliverCallback(stack, url, { as: who, accept })) as JsonResponse<Problem & { status: string | number }>;

/** Nothing of the attempt is kept: no connection on the account, no tokens, the workflow ended without linking. */
async function expectNothingStored(who: SignedUp, workflowId: string) {
  const result = await stack.temporal.workflow.getHandle(workflowId).result();
  expect(result.status).not.toBe('linked');
  const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token });
  expect(me.body.connected_providers.nodes).toEqual([]);
  expect(await stack.db.collection(collections.providerTokens).countDocuments({ accountId: who.accountId })).toBe(0);
  const attempts = await stack.db.collection(collections.linkAttempts).find({ accountId: who.accountId }).toArray();
  for (const a of attempts) {
    expect(a.code).toBeNull();
    expect(a.codeVerifierCiphertext).toBeNull();
  }
}

describe('starting a link', () => {
  it('answers 404 for an unknown provider', async () => {
    const who = await signedUp(stack, `auth0|unknown-${run}`);
    const res = await startLink(who, 'myspace');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: expect.stringContaining('provider-not-found') });
  });

  it('answers 403 naming the flag for a disabled provider, and lets a support override turn it on', async () => {
    const who = await signedUp(stack, `auth0|flags-${run}`);
    const refused = await startLink(who, 'x');
    expect(refused.status).toBe(403);
    expect((refused.body as unknown as Problem).detail).toContain('ENABLE_X_LOGIN');
    expect(await stack.db.collection(collections.linkAttempts).countDocuments({ accountId: who.accountId })).toBe(0);

    const path = `/v1/support/feature-flags/ENABLE_X_LOGIN/accounts/${who.accountId}`;
    const notSupport = await call(stack, 'PUT', path, {
      token: who.token,
      json: { enabled: true, reason: 'beta tester' },
    });
    expect(notSupport.status).toBe(403);
    const agent = await tokenFor(stack, `auth0|support-${run}`, { permissions: ['flags:write'] });
    expect(
      (await call(stack, 'PUT', path, { token: agent, json: { enabled: true, reason: 'beta tester' } })).status,
    ).toBe(200);
    const providers = await call<{ providers: Array<{ id: string; enabled: boolean }> }>(
      stack,
      'GET',
      '/v1/providers',
      { token: who.token },
    );
    expect(providers.body.providers.find((p) => p.id === 'x')?.enabled).toBe(true);
    const allowed = await startLink(who, 'x');
    expect(allowed.status).toBe(202);
    expect((await call(stack, 'DELETE', path, { token: agent })).status).toBe(204);
    expect((await startLink(who, 'x')).status).toBe(403);
  });

  it('needs an account first', async () => {
    const token = await tokenFor(stack, `auth0|no-account-${run}`);
    const res = await call(stack, 'POST', '/v1/me/providers/github/link', { token, json: {} });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: expect.stringContaining('account-not-found') });
  });
});

describe('the callback', () => {
  it('refuses an unknown state, and a state used for another provider', async () => {
    const who = await signedUp(stack, `auth0|state-${run}`);
    const started = await startLink(who, 'github');
    const callback = await completeConsent(started.body.authorizationUrl, { username: `s-${run}` });
    const forged = new URL(callback);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const unknown = await deliver(forged, who);
    expect(unknown.status).toBe(400);
    expect(unknown.body.type).toContain('link-state-invalid');
    const wrongProvider = new URL(callback.toString().replace('/oauth/github/', '/oauth/google/'));
    expect((await deliver(wrongProvider, who)).status).toBe(400);
    // The real answer still works afterwards: the refusals consumed nothing.
    expect((await deliver(callback, who)).body).toMatchObject({ status: 'linked' });
  });

  it('refuses a replayed callback: the state is single-use', async () => {
    const who = await signedUp(stack, `auth0|replay-${run}`);
    const started = await startLink(who, 'github');
    const callback = await completeConsent(started.body.authorizationUrl, { username: `r-${run}` });
    expect((await deliver(callback, who)).body).toMatchObject({ status: 'linked' });
    const replay = await deliver(callback, who);
    expect(replay.status).toBe(409);
    expect(replay.body.type).toContain('link-state-used');
  });

  it('shows a page to a browser', async () => {
    const who = await signedUp(stack, `auth0|page-${run}`);
    const started = await startLink(who, 'github');
    const callback = await completeConsent(started.body.authorizationUrl, { username: `p-${run}` });
    const res = await fetch(`${stack.baseUrl}${callback.pathname}${callback.search}`, {
      headers: { accept: 'text/html', cookie: await browserSessionOf(stack, who) },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Connected: GitHub');
  });

  it('stores nothing when the person denies access at the provider', async () => {
    const who = await signedUp(stack, `auth0|deny-${run}`);
    const started = await startLink(who, 'github');
    const callback = await completeConsent(started.body.authorizationUrl, { approve: false });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const res = await deliver(callback, who);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      type: expect.stringContaining('link-denied'),
      detail: expect.stringContaining('access_denied'),
    });
    await expectNothingStored(who, started.body.workflowId);
  });

  it('stores nothing when a code is injected into another attempt (PKCE verifier mismatch)', async () => {
    const victim = await signedUp(stack, `auth0|victim-${run}`);
    const attacker = await signedUp(stack, `auth0|attacker-${run}`);
    const victimLink = await startLink(victim, 'github');
    const attackerLink = await startLink(attacker, 'github');
    const victimCallback = await completeConsent(victimLink.body.authorizationUrl, { username: `victim-${run}` });
    const attackerCallback = await completeConsent(attackerLink.body.authorizationUrl, { username: `attacker-${run}` });
    // The attacker's code with the victim's state: the victim's PKCE verifier does not match the code.
    const injected = new URL(victimCallback);
    injected.searchParams.set('code', attackerCallback.searchParams.get('code')!);
    const res = await deliver(injected, victim);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      type: expect.stringContaining('link-failed'),
      detail: expect.stringContaining('invalid_grant'),
    });
    await expectNothingStored(victim, victimLink.body.workflowId);
  });

  it('stores nothing when a code is used twice', async () => {
    const who = await signedUp(stack, `auth0|twice-${run}`);
    const first = await startLink(who, 'github');
    const firstCallback = await completeConsent(first.body.authorizationUrl, { username: `twice-${run}` });
    expect((await deliver(firstCallback, who)).body).toMatchObject({ status: 'linked' });
    const other = await signedUp(stack, `auth0|twice-other-${run}`);
    const second = await startLink(other, 'github');
    const secondCallback = await completeConsent(second.body.authorizationUrl, { username: `twice-other-${run}` });
    const reused = new URL(secondCallback);
    reused.searchParams.set('code', firstCallback.searchParams.get('code')!);
    const res = await deliver(reused, other);
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain('invalid_grant');
    await expectNothingStored(other, second.body.workflowId);
  });

  it('expires an attempt whose callback never comes, and refuses it afterwards', async () => {
    const who = await signedUp(stack, `auth0|expire-${run}`);
    const started = await startLink(who, 'github');
    const callback = await completeConsent(started.body.authorizationUrl, { username: `late-${run}` });
    const result = await stack.temporal.workflow.getHandle(started.body.workflowId).result();
    expect(result).toMatchObject({ status: 'expired' });
    const late = await deliver(callback, who);
    expect([409, 410]).toContain(late.status);
    await expectNothingStored(who, started.body.workflowId);
    const status = await eventually(async () => {
      const s = await call<{ stage: string }>(
        stack,
        'GET',
        `/v1/workflows/${encodeURIComponent(started.body.workflowId)}`,
        { token: who.token },
      );
      return s.body.stage === 'expired' ? s.body : undefined;
    }, 'stage expired');
    expect(status).toMatchObject({ process: 'link', status: 'completed', stage: 'expired' });
  });
});
