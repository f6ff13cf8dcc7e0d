/**
 * Contract tests of the account center's sign-in through Auth0 Universal Login (`ui/sign-in-client.ts`
 * configured from `AUTH0_*`) against a stand-in of Auth0's Authentication API built from its public
 * documentation (`test/support/auth0-login-stand-in.ts` cites each page). The person logs in on the
 * stand-in's page in a real browser; everything after that is the same code the API runs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { loadConfig } from '../../domain/config.js';
import { SignInClient, signInIssuerOf } from '../../ui/sign-in-client.js';
import { startAuth0LoginStandIn, type Auth0LoginStandIn } from '../support/auth0-login-stand-in.js';
import { launchBrowser } from '../support/browser.js';

/** The account center's callback, played by a server that only records where the browser came back to. */
let redirectUri: string;
let accountCenter: Server;
const arrivals: URL[] = [];
const audience = 'https://api.cra.example';
const user = {
  sub: 'auth0|65a1b2c3',
  email: 'person@example.com',
  password: 'correct horse battery',
  permissions: ['support:read'],
};
let tenant: Auth0LoginStandIn;
let browser: Browser;
let client: SignInClient;

beforeAll(async () => {
  accountCenter = createServer((req, res) => {
    arrivals.push(new URL(req.url ?? '/', redirectUri));
    res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the account center');
  });
  await new Promise<void>((resolve) => accountCenter.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${(accountCenter.address() as AddressInfo).port}/account/callback`;
  tenant = await startAuth0LoginStandIn({
    clientId: 'cra-web-app',
    clientSecret: 'web-app-secret-do-not-log',
    redirectUri,
    audience,
    user,
  });
  const domain = new URL(tenant.issuer).host;
  const config = loadConfig({
    AUTH0_DOMAIN: domain,
    AUTH0_CLIENT_ID: 'cra-m2m',
    AUTH0_CLIENT_SECRET: 'm2m-secret',
    AUTH0_AUDIENCE: `https://${domain}/api/v2/`,
    AUTH0_LOGIN_CLIENT_ID: 'cra-web-app',
    AUTH0_LOGIN_CLIENT_SECRET: 'web-app-secret-do-not-log',
    // Auth0 is https only; the stand-in is plain http on loopback, so its issuer is named directly.
    AUTH_ISSUER: tenant.issuer,
    AUTH_JWKS_URL: `${tenant.issuer}.well-known/jwks.json`,
    AUTH_AUDIENCE: audience,
  });
  client = new SignInClient(signInIssuerOf(config), redirectUri);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await tenant?.close();
  await new Promise((resolve) => accountCenter?.close(resolve));
});

/** The browser's trip through Universal Login; returns the URL the tenant sent it back to. */
async function logInAtTenant(url: string, password = user.password): Promise<URL | undefined> {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const state = new URL(url).searchParams.get('state');
  await page.goto(url);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('back at the account center').waitFor();
  await ctx.close();
  return arrivals.find((u) => u.searchParams.get('state') === state);
}

describe('sign-in through Auth0 Universal Login', () => {
  it('asks /authorize for the API audience with PKCE S256, a state, a nonce and offline access', async () => {
    const begun = await client.begin();
    const url = new URL(begun.url);
    expect(`${url.origin}/`).toBe(tenant.issuer);
    expect(url.pathname).toBe('/authorize');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'cra-web-app',
      redirect_uri: redirectUri,
      audience,
      code_challenge_method: 'S256',
      state: begun.state,
      nonce: begun.nonce,
    });
    expect(url.searchParams.get('scope')!.split(' ')).toEqual(
      expect.arrayContaining(['openid', 'email', 'offline_access']),
    );
    // Auth0 gives no id_token `sid` unless asked differently; the embedded issuer's `claims` request is not sent.
    expect(url.searchParams.has('claims')).toBe(false);
  });

  it('redeems the code at /oauth/token: a verified id_token, an access token for the API with its permissions, a refresh token', async () => {
    const begun = await client.begin();
    const back = await logInAtTenant(begun.url);
    expect(back?.searchParams.get('state')).toBe(begun.state);
    const result = await client.finish(back!, begun);
    expect(result.claims).toMatchObject({ sub: user.sub, email: user.email, nonce: begun.nonce });
    expect(decodeJwt(result.accessToken)).toMatchObject({
      sub: user.sub,
      aud: audience,
      permissions: user.permissions,
    });
    expect(result.refreshToken).toBeTruthy();
    expect(tenant.requests.some((r) => r.method === 'POST' && r.path === '/oauth/token')).toBe(true);
  });

  it('refuses an answer whose state or nonce is not the one it asked with', async () => {
    const first = await client.begin();
    const back = await logInAtTenant(first.url);
    const other = await client.begin();
    const why = (err: unknown) =>
      `${(err as Error).message} ${String((err as { cause?: { message?: string } }).cause?.message)}`;
    expect(why(await client.finish(back!, { ...first, state: other.state }).catch((err: unknown) => err))).toMatch(
      /state/,
    );
    const again = await client.begin();
    const back2 = await logInAtTenant(again.url);
    expect(why(await client.finish(back2!, { ...again, nonce: other.nonce }).catch((err: unknown) => err))).toMatch(
      /nonce/,
    );
  });

  it('revokes the refresh token at /oauth/revoke when a session ends', async () => {
    const begun = await client.begin();
    const result = await client.finish((await logInAtTenant(begun.url))!, begun);
    await client.revoke(result.refreshToken!);
    expect(tenant.requests.some((r) => r.method === 'POST' && r.path === '/oauth/revoke')).toBe(true);
    const config = await oidc.discovery(new URL(tenant.issuer), 'cra-web-app', 'web-app-secret-do-not-log', undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    await expect(oidc.refreshTokenGrant(config, result.refreshToken!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('signs out at /v2/logout with client_id and returnTo (no end_session_endpoint in Auth0 discovery)', async () => {
    const url = new URL((await client.signOutUrl(undefined, 'https://cra.example/account/signed-out'))!);
    expect(url.host).toBe(new URL(tenant.issuer).host);
    expect(url.pathname).toBe('/v2/logout');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'cra-web-app',
      returnTo: 'https://cra.example/account/signed-out',
    });
  });
});
