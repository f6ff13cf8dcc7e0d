/**
 * Attacks on provider linking, over real HTTP against the real sandbox provider: a callback with no,
 * a forged or a spent `state`; a state issued to one account brought back by another's session; a code
 * injected under another attempt's state (PKCE: the sandbox checks the verifier, so it cannot be
 * exchanged); cookie abuse — the session cookie's flags in production, a session cookie after sign-out.
 * Each: a clear problem, and no connection, token or record added anywhere.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { setBrowserSessionCookie } from '../../api/session/browser-session.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { browserSessionOf, deliverCallback, signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack } from '../support/stack.js';

const stack = useTestStack({ sandbox: true });
const run = randomBytes(3).toString('hex');

interface LinkStarted {
  workflowId: string;
  authorizationUrl: string;
}

const startLink = async (who: SignedUp) => {
  const res = await call<LinkStarted>(stack, 'POST', '/v1/me/providers/github/link', { token: who.token, json: {} });
  expect(res.status).toBe(202);
  return res.body;
};

const nodes = async (who: SignedUp) =>
  (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body.connected_providers.nodes;

/** Nothing of any provider account reached `who`. */
async function nothingLinked(who: SignedUp) {
  expect(await nodes(who)).toEqual([]);
  expect(await stack.db.collection(collections.providerTokens).countDocuments({ accountId: who.accountId })).toBe(0);
  expect(await stack.db.collection(collections.providerRecords).countDocuments({ accountId: who.accountId })).toBe(0);
}

function expectProblem(res: { status: number; headers: Headers; body: unknown }, status: number, kind: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.stringMatching(kind), status, detail: expect.any(String) });
}

describe('state', () => {
  it('missing or forged: 400, and a pending attempt stays untouched', async () => {
    const who = await signedUp(stack, `auth0|oauth-forged-${run}`);
    const cookie = await browserSessionOf(stack, who);
    const started = await startLink(who);
    const callback = await completeConsent(started.authorizationUrl, { username: `forged-gh-${run}` });
    const code = callback.searchParams.get('code')!;
    const headers = { accept: 'application/json', cookie };
    expectProblem(
      await call(stack, 'GET', `/v1/oauth/github/callback?code=${encodeURIComponent(code)}`, { headers }),
      400,
      /link-state-invalid/,
    );
    for (const state of [randomBytes(32).toString('base64url'), `${callback.searchParams.get('state')!}x`]) {
      const res = await call(
        stack,
        'GET',
        `/v1/oauth/github/callback?state=${state}&code=${encodeURIComponent(code)}`,
        {
          headers,
        },
      );
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    await nothingLinked(who);
    // The real answer still links: the forgeries spent nothing.
    const real = await deliverCallback(stack, callback, { as: who });
    expect(real.status).toBe(200);
    expect(real.body).toMatchObject({ status: 'linked' });
  });

  it('spent: the same callback again is 409 and adds nothing', async () => {
    const who = await signedUp(stack, `auth0|oauth-reused-${run}`);
    const started = await startLink(who);
    const callback = await completeConsent(started.authorizationUrl, { username: `reused-gh-${run}` });
    expect((await deliverCallback(stack, callback, { as: who })).body).toMatchObject({ status: 'linked' });
    const again = await deliverCallback(stack, callback, { as: who });
    expectProblem(again, 409, /link-/);
    expect(await nodes(who)).toHaveLength(1);
  });

  it('issued to A, brought back by B’s session: 403, nothing linked to either, the attempt spent', async () => {
    const alice = await signedUp(stack, `auth0|oauth-alice-${run}`);
    const bob = await signedUp(stack, `auth0|oauth-bob-${run}`);
    const started = await startLink(alice);
    const callback = await completeConsent(started.authorizationUrl, { username: `bob-gh-${run}` });
    const answered = await deliverCallback(stack, callback, { as: bob });
    expectProblem(answered, 403, /link-actor-mismatch/);
    await nothingLinked(alice);
    await nothingLinked(bob);
    expectProblem(await deliverCallback(stack, callback, { as: alice }), 409, /link-/);
    await nothingLinked(alice);
  });
});

describe('PKCE', () => {
  it('a code injected under another attempt’s state cannot be exchanged (its verifier is not the one)', async () => {
    const mallory = await signedUp(stack, `auth0|oauth-mallory-${run}`);
    const victim = await signedUp(stack, `auth0|oauth-victim-${run}`);
    // Mallory starts her own attempt (her state, her verifier) and stops at the provider.
    const hers = await startLink(mallory);
    const herState = new URL(hers.authorizationUrl).searchParams.get('state')!;
    // She obtains a code issued for the victim's attempt (the victim's code challenge) ...
    const theirs = await startLink(victim);
    const victimCallback = await completeConsent(theirs.authorizationUrl, { username: `victim-gh-${run}` });
    const stolenCode = victimCallback.searchParams.get('code')!;
    // ... and injects it into her own callback, with her own session.
    const injected = new URL(victimCallback);
    injected.searchParams.set('state', herState);
    injected.searchParams.set('code', stolenCode);
    const res = await deliverCallback(stack, injected, { as: mallory });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await nothingLinked(mallory);
    // The attempt's verifier is discarded with it, not left behind.
    const attempt = await stack.db
      .collection(collections.linkAttempts)
      .findOne({ workflowId: hers.workflowId }, { sort: { createdAt: -1 } });
    expect(attempt).toMatchObject({ code: null, codeVerifierCiphertext: null });
    await nothingLinked(victim);
  });
});

describe('cookies', () => {
  it('the session cookie in production: __Host- prefixed, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', async () => {
    const app = new Hono().get('/', (c) => {
      setBrowserSessionCookie(c, 'https://cra.example.com', 'cookie-value');
      return c.text('ok');
    });
    const setCookie = (await app.request('https://cra.example.com/')).headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^__Host-cra_session=cookie-value;/);
    const flags = setCookie.split(';').map((f) => f.trim().toLowerCase());
    expect(flags).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=lax', 'path=/']));
    expect(flags.some((f) => f.startsWith('domain='))).toBe(false);
  });

  it('the sign-in transaction cookie over the loopback: HttpOnly, SameSite=Lax, scoped to /account', async () => {
    const res = await fetch(`${stack.baseUrl}/account/sign-in`, { redirect: 'manual' });
    await res.body?.cancel();
    expect(res.status).toBe(303);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('cra_signin='))!;
    const flags = cookie.split(';').map((f) => f.trim().toLowerCase());
    expect(flags).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/account']));
  });

  it('a session cookie from before sign-out links nothing and reads nothing', async () => {
    const who = await signedUp(stack, `auth0|oauth-signedout-${run}`);
    const cookie = await browserSessionOf(stack, who);
    const started = await startLink(who);
    const callback = await completeConsent(started.authorizationUrl, { username: `signedout-gh-${run}` });
    const [name, value] = cookie.split('=') as [string, string];
    const session = await stack.db
      .collection<{ subject: string; csrfToken: string; _id: string }>(collections.browserSessions)
      .findOne({ subject: who.subject });
    expect(session).not.toBeNull();
    const signOut = await fetch(`${stack.baseUrl}/account/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: stack.baseUrl },
      body: new URLSearchParams({ csrf: session!.csrfToken }).toString(),
    });
    await signOut.body?.cancel();
    expect(signOut.status).toBe(303);
    expect(signOut.headers.getSetCookie().join('\n')).toMatch(new RegExp(`${name}=;`));
    // The old cookie, kept by an attacker (or a browser that ignored the clearing), is no session any more.
    const page = await fetch(`${stack.baseUrl}/account`, {
      redirect: 'manual',
      headers: { cookie: `${name}=${value}` },
    });
    await page.body?.cancel();
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/account\/sign-in/);
    const answered = await deliverCallback(stack, callback, { cookie: `${name}=${value}` });
    expectProblem(answered, 401, /link-sign-in-required/);
    await nothingLinked(who);
  });
});
