/**
 * A link completes only for a request authenticated as the account that started it (RFC 9700 §4.7, §2.1):
 * the browser callback with that account's session, or `link/complete` with that account's bearer token.
 * Both CSRF directions link nothing: Mallory's authorization URL approved by a victim, and a victim's
 * URL (say, read by an operator) approved and brought back by Mallory. Apps use their own registered
 * redirect URI (`LINK_CLIENT_REDIRECT_URIS`, exact match).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { browserSessionOf, deliverCallback, signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack } from '../support/stack.js';

const run = randomBytes(3).toString('hex');
const appRedirect = 'http://127.0.0.1:9/app/link-callback';
const otherAppRedirect = 'https://other-app.example/cb';

const stack = useTestStack({
  sandbox: true,
  env: { LINK_CLIENT_REDIRECT_URIS: JSON.stringify({ 'cra-cli': [appRedirect], 'other-app': [otherAppRedirect] }) },
});

interface LinkStarted {
  workflowId: string;
  authorizationUrl: string;
  expiresAt: string;
}
type Problem = { type: string; status: number; title: string; detail: string };

const startLink = (who: SignedUp, json: Record<string, unknown> = {}, token = who.token) =>
  call<LinkStarted & Problem>(stack, 'POST', '/v1/me/providers/github/link', { token, json });

const nodes = async (who: SignedUp) =>
  (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body.connected_providers.nodes;

/** Nothing of the provider account reached `who`: no connection, no tokens, no records, the workflow denied. */
async function nothingLinked(who: SignedUp, workflowId: string) {
  expect(await stack.temporal.workflow.getHandle(workflowId).result()).toMatchObject({ status: 'denied' });
  expect(await nodes(who)).toEqual([]);
  expect(await stack.db.collection(collections.providerTokens).countDocuments({ accountId: who.accountId })).toBe(0);
  expect(await stack.db.collection(collections.providerRecords).countDocuments({ accountId: who.accountId })).toBe(0);
  const data = await call<{ records?: unknown[] }>(stack, 'GET', '/v1/me/data', { token: who.token });
  expect(JSON.stringify(data.body)).not.toContain('github:');
  const audit = await stack.deps.auditLog.list({ accountId: who.accountId });
  expect(audit.find((e) => e.action === 'provider.link_actor_mismatch')).toMatchObject({
    details: { broughtBy: expect.stringMatching(/\S/) },
  });
  expect(audit.map((e) => e.action)).not.toContain('provider.linked');
}

describe('the browser callback', () => {
  it('links nothing into Mallory’s account when a victim approves Mallory’s authorization URL', async () => {
    const mallory = await signedUp(stack, `auth0|mallory-${run}`);
    const victim = await signedUp(stack, `auth0|victim-${run}`);
    const started = await startLink(mallory);
    expect(started.status).toBe(202);
    // Mallory sends her URL to the victim, who is signed in to the account center in their own browser.
    const callback = await completeConsent(started.body.authorizationUrl, { username: `victim-gh-${run}` });
    const victimJar = await browserSessionOf(stack, victim);
    const answered = await deliverCallback(stack, callback, { cookie: victimJar, accept: 'text/html' });
    expect(answered.status).toBe(403);
    expect(String(answered.body)).toContain('started from another account');
    await nothingLinked(mallory, started.body.workflowId);
    expect(await nodes(victim)).toEqual([]);
    // Spent: not even Mallory's own session can use the answer afterwards.
    const replay = await deliverCallback(stack, callback, { as: mallory });
    expect(replay.status).toBe(409);
    const attempt = await stack.db
      .collection(collections.linkAttempts)
      .findOne({ workflowId: started.body.workflowId }, { sort: { createdAt: -1 } });
    expect(attempt).toMatchObject({ status: 'discarded', code: null, codeVerifierCiphertext: null });
  });

  it('links nothing into the victim’s account when Mallory completes the victim’s authorization URL', async () => {
    const victim = await signedUp(stack, `auth0|victim2-${run}`);
    const mallory = await signedUp(stack, `auth0|mallory2-${run}`);
    const started = await startLink(victim);
    // Mallory got hold of the victim's URL (an operator, a log, a shoulder) and approves as herself.
    const callback = await completeConsent(started.body.authorizationUrl, { username: `mallory-gh-${run}` });
    const answered = await deliverCallback(stack, callback, { as: mallory });
    expect(answered.status).toBe(403);
    expect(answered.body).toMatchObject({ type: expect.stringContaining('link-actor-mismatch') });
    await nothingLinked(victim, started.body.workflowId);
    expect(await nodes(mallory)).toEqual([]);
  });

  it('asks a browser with no session to sign in, spends nothing, and completes once the right account is signed in', async () => {
    const who = await signedUp(stack, `auth0|later-${run}`);
    const started = await startLink(who);
    const callback = await completeConsent(started.body.authorizationUrl, { username: `later-gh-${run}` });
    const page = await fetch(`${stack.baseUrl}${callback.pathname}${callback.search}`, {
      headers: { accept: 'text/html' },
    });
    expect(page.status).toBe(401);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    const href = /href="(\/account\/sign-in\?returnTo=[^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    expect(href).toBeDefined();
    const returnTo = new URL(href!, stack.baseUrl).searchParams.get('returnTo')!;
    expect(returnTo).toBe(`${callback.pathname}${callback.search}`);
    const json = await deliverCallback(stack, callback);
    expect(json.status).toBe(401);
    expect(json.body).toMatchObject({ type: expect.stringContaining('link-sign-in-required') });
    expect(
      await stack.db
        .collection(collections.linkAttempts)
        .findOne({ workflowId: started.body.workflowId, status: 'pending' }),
    ).toMatchObject({ code: null, callbackAt: null });
    expect(await nodes(who)).toEqual([]);

    // After sign-in the sign-in route sends the browser back to returnTo, now with the person's session.
    const back = await call<{ status: string }>(stack, 'GET', returnTo, {
      headers: { accept: 'application/json', cookie: await browserSessionOf(stack, who) },
    });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ status: 'linked' });
    expect((await nodes(who)).map((n) => n.providerAccountId)).toEqual([`github:later-gh-${run}`]);
  });
});

describe('POST /v1/me/providers/{p}/link/complete', () => {
  it('links with the bearer token of the account that started it', async () => {
    const who = await signedUp(stack, `auth0|app-${run}`);
    const started = await startLink(who);
    const callback = await completeConsent(started.body.authorizationUrl, { username: `app-gh-${run}` });
    const done = await deliverCallback(stack, callback, { as: who, via: 'complete' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'linked' });
    expect((await nodes(who)).map((n) => n.providerAccountId)).toEqual([`github:app-gh-${run}`]);
  });

  it('answers 403 to another account’s token, links nothing and spends the attempt', async () => {
    const victim = await signedUp(stack, `auth0|app-victim-${run}`);
    const mallory = await signedUp(stack, `auth0|app-mallory-${run}`);
    const started = await startLink(victim);
    const callback = await completeConsent(started.body.authorizationUrl, { username: `app-mallory-gh-${run}` });
    const refused = await deliverCallback(stack, callback, { as: mallory, via: 'complete' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ type: expect.stringContaining('link-actor-mismatch') });
    await nothingLinked(victim, started.body.workflowId);
    expect(await nodes(mallory)).toEqual([]);
    expect((await deliverCallback(stack, callback, { as: victim, via: 'complete' })).status).toBe(409);
  });

  it('sends the provider to an app’s registered redirect URI, and the app finishes the link there', async () => {
    const who = await signedUp(stack, `auth0|native-${run}`);
    const started = await startLink(who, { redirectUri: appRedirect });
    expect(started.status).toBe(202);
    expect(new URL(started.body.authorizationUrl).searchParams.get('redirect_uri')).toBe(appRedirect);
    const atApp = await completeConsent(started.body.authorizationUrl, { username: `native-gh-${run}` });
    expect(`${atApp.origin}${atApp.pathname}`).toBe(appRedirect);
    // The account center's own callback does not take an app's answer, even with the right session.
    const notHere = await call(stack, 'GET', `/v1/oauth/github/callback${atApp.search}`, {
      headers: { accept: 'application/json', cookie: await browserSessionOf(stack, who) },
    });
    expect(notHere.status).toBe(400);
    const done = await call<{ status: string }>(stack, 'POST', '/v1/me/providers/github/link/complete', {
      token: who.token,
      json: { state: atApp.searchParams.get('state'), code: atApp.searchParams.get('code') },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'linked' });
  });

  it('answers 400 for a redirect URI not registered for the token’s client', async () => {
    const who = await signedUp(stack, `auth0|badredirect-${run}`);
    for (const redirectUri of [otherAppRedirect, `${appRedirect}/`, `${appRedirect}?x=1`, 'https://evil.example/cb']) {
      const res = await startLink(who, { redirectUri });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        type: expect.stringContaining('link-redirect-uri-invalid'),
        detail: expect.stringContaining('cra-cli'),
      });
    }
    // The other app's token may use its own URI.
    const otherAppToken = await stack.issuer.issue({ subject: who.subject, clientId: 'other-app' });
    expect((await startLink(who, { redirectUri: otherAppRedirect }, otherAppToken)).status).toBe(202);
    expect(
      await stack.db
        .collection(collections.linkAttempts)
        .countDocuments({ accountId: who.accountId, redirectUri: { $in: [appRedirect, 'https://evil.example/cb'] } }),
    ).toBe(0);
  });
});
