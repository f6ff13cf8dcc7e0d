/**
 * Signing in beyond the password form, in a real browser: a passkey (Chromium's virtual authenticator,
 * registered through the API and used on the sign-in page), and an app (a public client with PKCE,
 * registered in EMBEDDED_OIDC_CLIENTS) that gets 15-minute access tokens the API accepts and refresh
 * tokens that rotate. On localhost: WebAuthn refuses IP addresses as relying-party ids.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { collections } from '../../domain/collections.js';
import { freePort } from '../../deploy/local/services.js';
import { openedAccountByEmail } from '../support/account-documents.js';
import { addVirtualAuthenticator, launchBrowser } from '../support/browser.js';
import { newPerson, signIn } from '../support/people.js';
import { call, eventually, useTestStack } from '../support/stack.js';

let browser: Browser;
let app: Server;
let appPort: number;
let appRedirect: string;
const appArrivals: URL[] = [];

const stack = useTestStack(async () => {
  const apiPort = await freePort();
  appPort = await freePort();
  appRedirect = `http://127.0.0.1:${appPort}/callback`;
  return {
    env: {
      PORT: String(apiPort),
      CRA_PUBLIC_URL: `http://localhost:${apiPort}`,
      EMBEDDED_OIDC_CLIENTS: JSON.stringify({ 'test-app': [appRedirect] }),
    },
  };
});

beforeAll(async () => {
  // The app's own redirect endpoint: it only records what the issuer sent back.
  app = createServer((req, res) => {
    appArrivals.push(new URL(req.url ?? '/', appRedirect));
    res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in: you can close this window');
  });
  await new Promise<void>((resolve) => app.listen(appPort, '127.0.0.1', resolve));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => app?.close(resolve));
});

async function accountOf(email: string): Promise<{ subject: string; accountId: string }> {
  return eventually(
    async () => {
      const account = await openedAccountByEmail(stack, email);
      return account?.status === 'active'
        ? { subject: account.rootIdentity.subject, accountId: account._id }
        : undefined;
    },
    `the account of ${email}`,
    60_000,
  );
}

describe('passkey sign-in', () => {
  it('signs in with a passkey registered in the browser, with no password typed', async () => {
    const ctx = await browser.newContext();
    const person = await newPerson(stack, ctx, 'paula');
    const { page } = person;
    await addVirtualAuthenticator(ctx, page);

    // Add a passkey: options from the API, the browser's authenticator creates it, the API verifies the attestation.
    const { subject } = await accountOf(person.email);
    const token = await stack.issuer.issue({ subject });
    const options = await call<{ enrolmentId: string; publicKey: Record<string, unknown> }>(
      stack,
      'POST',
      '/v1/me/recovery-factors/passkeys/options',
      { token },
    );
    expect(options.status).toBe(201);
    const credential = await page.evaluate(async (publicKey: Record<string, unknown>) => {
      const from = (s: string) =>
        Uint8Array.from(
          atob(
            s
              .replace(/-/g, '+')
              .replace(/_/g, '/')
              .padEnd(Math.ceil(s.length / 4) * 4, '='),
          ),
          (ch) => ch.charCodeAt(0),
        );
      const to = (b: ArrayBuffer) =>
        btoa(String.fromCharCode(...new Uint8Array(b)))
          .replace(/\+/g, '-')
          .replace(/\//g, '_')
          .replace(/=+$/, '');
      const pk = publicKey as {
        challenge: string;
        user: { id: string; name: string; displayName: string };
        rp: { id: string; name: string };
        pubKeyCredParams: Array<{ type: 'public-key'; alg: number }>;
        authenticatorSelection: Record<string, string>;
      };
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const nav = (globalThis as any).navigator;
      const made = await nav.credentials.create({
        publicKey: {
          ...pk,
          challenge: from(pk.challenge),
          user: { ...pk.user, id: from(pk.user.id) },
          excludeCredentials: [],
        },
      });
      return {
        id: made.id,
        rawId: to(made.rawId),
        type: made.type,
        response: {
          clientDataJSON: to(made.response.clientDataJSON),
          attestationObject: to(made.response.attestationObject),
          transports: made.response.getTransports(),
        },
      };
    }, options.body.publicKey);
    const registered = await call(stack, 'POST', '/v1/me/recovery-factors/passkeys', {
      token,
      json: { enrolmentId: options.body.enrolmentId, name: 'This laptop', credential },
    });
    expect(registered.status).toBe(201);

    // Sign out, then sign in with the passkey alone.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await page.goto(`${stack.baseUrl}/account`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('heading', { name: 'Your account center' }).waitFor();
    expect(await page.textContent('main')).toContain('passkey');
    const sessions = await stack.db
      .collection<{ subject: string; method: string }>(collections.browserSessions)
      .find({ subject })
      .toArray();
    expect(sessions.map((s) => s.method)).toEqual(['passkey']);

    // A passkey nobody registered is refused with words, and signs no one in.
    const stranger = await browser.newContext();
    const strangerPage = await stranger.newPage();
    const { cdp: strangerCdp, authenticatorId } = await addVirtualAuthenticator(stranger, strangerPage);
    await strangerPage.goto(`${stack.baseUrl}/account`);
    await strangerPage.evaluate(async () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const nav = (globalThis as any).navigator;
      await nav.credentials.create({
        publicKey: {
          challenge: new Uint8Array(32),
          rp: { name: 'CRA', id: 'localhost' },
          user: { id: new Uint8Array(16), name: 'x', displayName: 'x' },
          pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
          authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        },
      });
    });
    expect((await strangerCdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);
    await strangerPage.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await strangerPage.getByText('That passkey was not accepted').waitFor();
    expect((await stranger.cookies(stack.baseUrl)).find((c) => c.name === 'cra_session')).toBeUndefined();
    await stranger.close();
    await ctx.close();
  });
});

describe('apps', () => {
  it('signs an app in with code + PKCE: a 15-minute access token the API accepts, refresh tokens that rotate', async () => {
    const ctx = await browser.newContext();
    const person = await newPerson(stack, ctx, 'appuser');
    await accountOf(person.email);
    const config = await oidc.discovery(new URL(stack.config.auth.issuer), 'test-app', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: appRedirect,
      scope: 'openid email offline_access',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      prompt: 'consent',
    });
    // The person is signed in at the issuer already: the app's request comes straight back with a code.
    await person.page.goto(url.href);
    const arrival = await eventually(
      async () => appArrivals.find((u) => u.searchParams.get('state') === state),
      'the app redirect',
    );
    expect(arrival.searchParams.get('code')).toBeTruthy();
    const tokens = await oidc.authorizationCodeGrant(config, arrival, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
    });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ aud: stack.config.auth.audience, client_id: 'test-app', email: person.email });
    expect(claims.exp! - claims.iat!).toBe(900);
    const me = await call<{ rootIdentity: { email: string } }>(stack, 'GET', '/v1/me', { token: tokens.access_token });
    expect(me.status).toBe(200);
    expect(me.body.rootIdentity.email).toBe(person.email);

    // Refresh: a new refresh token each time; the old one is spent.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await call(stack, 'GET', '/v1/me', { token: refreshed.access_token })).status).toBe(200);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });

    // Without PKCE, or to a redirect URI it did not register, the issuer refuses the app.
    const noPkce = new URL(url);
    noPkce.searchParams.delete('code_challenge');
    noPkce.searchParams.set('state', 'no-pkce-state');
    await person.page.goto(noPkce.href);
    const refused = await eventually(
      async () => appArrivals.find((u) => u.searchParams.get('state') === 'no-pkce-state'),
      'the refusal at the app',
    );
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('code')).toBeNull();
    const elsewhere = new URL(url);
    elsewhere.searchParams.set('redirect_uri', 'http://127.0.0.1:1/steal');
    expect((await person.page.goto(elsewhere.href))?.status()).toBe(400);
    expect(await person.page.textContent('main')).toContain('Sign-in could not continue');

    // An app that signs the person out at the issuer (RP-initiated logout) gets a page that asks first.
    await person.page.goto(`${stack.baseUrl}/oidc/session/end?client_id=test-app`);
    await person.page.getByRole('heading', { name: 'Sign out' }).waitFor();
    await person.page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await person.page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    const again = oidc.buildAuthorizationUrl(config, {
      redirect_uri: appRedirect,
      scope: 'openid',
      state: 'after-logout',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    await person.page.goto(again.href);
    await person.page.getByLabel('Password').waitFor();

    // Signing out everywhere ends the app's grant and refuses its access tokens (iat is in whole seconds:
    // a token from the very second of the sign-out still counts, so this one is a second older).
    await new Promise((r) => setTimeout(r, 1100));
    const ended = await call<{ ended: number }>(stack, 'DELETE', '/v1/me/sessions', { token: refreshed.access_token });
    expect(ended.status).toBe(200);
    expect((await call(stack, 'GET', '/v1/me', { token: refreshed.access_token })).status).toBe(401);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await signIn(stack, person.page, person.email, person.password);
    await person.page.getByRole('heading', { name: 'Your account center' }).waitFor();
    await ctx.close();
  });
});
