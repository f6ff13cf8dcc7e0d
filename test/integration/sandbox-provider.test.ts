/**
 * The sandbox provider seen from a client: a real OpenID server per provider, driven over HTTP with
 * PKCE S256, state and nonce, the way CRA links a provider; refresh, revocation and every invalid_grant
 * a client must handle. The consent page is filled in by the driver, as a person would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeConsent, type ConsentChoice } from '../../deploy/sandbox/driver.js';
import {
  startSandboxProvider,
  type SandboxClient,
  type SandboxProvider,
} from '../../deploy/sandbox/sandbox-provider.js';

type ProviderName = 'github' | 'google';

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  revocation_endpoint: string;
  jwks_uri: string;
  response_types_supported: string[];
  grant_types_supported: string[];
  code_challenge_methods_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  id_token_signing_alg_values_supported: string[];
}

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
  scope: string;
}

const redirectUri = (provider: ProviderName) => `http://localhost:3000/v1/oauth/${provider}/callback`;
const clients: Record<ProviderName, SandboxClient> = {
  github: {
    clientId: 'cra-github',
    clientSecret: `github-${randomBytes(8).toString('hex')}`,
    redirectUris: [redirectUri('github')],
  },
  google: {
    clientId: 'cra-google',
    clientSecret: `google-${randomBytes(8).toString('hex')}`,
    redirectUris: [redirectUri('google')],
  },
};
const adminToken = randomBytes(16).toString('hex');

let sandbox: SandboxProvider;
const discovered = new Map<string, Discovery>();

beforeAll(async () => {
  sandbox = await startSandboxProvider({
    port: 0,
    providers: ['github', 'google'],
    clients,
    adminToken,
    log: (line) => process.stderr.write(`[sandbox] ${line}\n`),
  });
});
afterAll(async () => {
  await sandbox?.close();
});

/** What a client knows: the discovery document, fetched once per sandbox and provider. */
async function discover(server: SandboxProvider, provider: ProviderName): Promise<Discovery> {
  const url = server.endpoints(provider).discovery;
  let doc = discovered.get(url);
  if (!doc) {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Discovery;
    discovered.set(url, doc);
  }
  return doc;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  verifier: string;
}

/** `overrides` replace (or, when undefined, remove) parameters of a correct request. */
async function authorizationRequest(
  provider: ProviderName,
  scope: string,
  overrides: Record<string, string | undefined> = {},
  server = sandbox,
): Promise<AuthorizationRequest> {
  const doc = await discover(server, provider);
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: clients[provider].clientId,
    redirect_uri: redirectUri(provider),
    scope,
    state,
    ...(scope.split(' ').includes('openid') ? { nonce } : {}),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const url = new URL(doc.authorization_endpoint);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return { url: url.href, state, nonce, verifier };
}

async function tokenRequest(
  provider: ProviderName,
  params: Record<string, string>,
  opts: { auth?: 'basic' | 'post'; secret?: string; server?: SandboxProvider } = {},
) {
  const doc = await discover(opts.server ?? sandbox, provider);
  const { clientId } = clients[provider];
  const secret = opts.secret ?? clients[provider].clientSecret;
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.auth === 'post') {
    body.set('client_id', clientId);
    body.set('client_secret', secret);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  }
  const res = await fetch(doc.token_endpoint, { method: 'POST', headers, body });
  return {
    status: res.status,
    body: (await res.json()) as TokenResponse & { error?: string; error_description?: string },
  };
}

const exchangeCode = (
  provider: ProviderName,
  code: string,
  verifier: string,
  opts: Parameters<typeof tokenRequest>[2] = {},
) =>
  tokenRequest(
    provider,
    { grant_type: 'authorization_code', code, redirect_uri: redirectUri(provider), code_verifier: verifier },
    opts,
  );

const refresh = (provider: ProviderName, refreshToken: string, opts: Parameters<typeof tokenRequest>[2] = {}) =>
  tokenRequest(provider, { grant_type: 'refresh_token', refresh_token: refreshToken }, opts);

async function userinfo(provider: ProviderName, accessToken: string | undefined, server = sandbox) {
  const doc = await discover(server, provider);
  const res = await fetch(doc.userinfo_endpoint, {
    headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    challenge: res.headers.get('www-authenticate'),
  };
}

/** The whole link: authorization request, consent, callback checks, code exchange. */
async function link(provider: ProviderName, scope: string, choice: ConsentChoice = {}, server = sandbox) {
  const request = await authorizationRequest(provider, scope, {}, server);
  const callback = await completeConsent(request.url, choice);
  expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri(provider));
  expect(callback.searchParams.get('state')).toBe(request.state);
  const code = callback.searchParams.get('code');
  expect(code).toBeTruthy();
  const tokens = await exchangeCode(provider, code!, request.verifier, { server });
  expect(tokens.status).toBe(200);
  return { request, callback, code: code!, tokens: tokens.body };
}

const scopesOf = (scope: string) => new Set(scope.split(' '));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sandbox provider', () => {
  it('publishes an OpenID discovery document and key set per provider', async () => {
    for (const provider of ['github', 'google'] as const) {
      const doc = await discover(sandbox, provider);
      const expected = sandbox.endpoints(provider);
      expect(doc.issuer).toBe(`${sandbox.url}/${provider}`);
      expect(doc.issuer).toBe(expected.issuer);
      expect(doc.authorization_endpoint).toBe(expected.authorize);
      expect(doc.token_endpoint).toBe(expected.token);
      expect(doc.userinfo_endpoint).toBe(expected.userinfo);
      expect(doc.revocation_endpoint).toBe(expected.revocation);
      expect(doc.jwks_uri).toBe(expected.jwks);
      expect(doc.response_types_supported).toEqual(['code']);
      expect(doc.code_challenge_methods_supported).toEqual(['S256']);
      expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
      expect(doc.token_endpoint_auth_methods_supported).toEqual(
        expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
      );
      expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256']);

      const jwks = (await (await fetch(doc.jwks_uri)).json()) as { keys: Array<Record<string, unknown>> };
      expect(jwks.keys.length).toBeGreaterThan(0);
      for (const key of jwks.keys) {
        expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
        expect(key).not.toHaveProperty('d');
      }
    }
  });

  it('shows a plain consent page: provider, client, requested scopes and a form without JavaScript', async () => {
    const request = await authorizationRequest('github', 'openid read:user repo');
    const started = await fetch(request.url, { redirect: 'manual' });
    expect(started.status).toBe(303);
    const pageUrl = new URL(started.headers.get('location')!, request.url);
    expect(pageUrl.pathname).toMatch(/^\/github\/interaction\/[\w-]+$/);
    const cookie = started.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');

    const res = await fetch(pageUrl, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('github');
    expect(html).toContain('cra-github');
    for (const scope of ['openid', 'read:user', 'repo']) expect(html).toContain(`<code>${scope}</code>`);
    expect(html).toContain(`action="${pageUrl.pathname}"`);
    expect(html).toMatch(/<form id="sandbox-consent" method="post"/);
    expect(html).toMatch(/name="username" value="sandbox-user"/);
    expect(html).toMatch(/name="email" value="sandbox-user@github\.sandbox\.test"/);
    expect(html).toMatch(/name="email_verified" value="true" checked/);
    expect(html).toMatch(/name="decision" value="approve"/);
    expect(html).toMatch(/name="decision" value="deny"/);
    expect(html).not.toContain('<script');

    // Without the interaction cookie the page is not shown: it belongs to the browser that started the flow.
    const stranger = await fetch(pageUrl);
    expect(stranger.status).toBe(400);
  });

  it('links two providers with PKCE S256, state and nonce: separate issuers, a subject per provider and username', async () => {
    const github = await link('github', 'openid read:user repo', { username: 'ada' });
    const google = await link('google', 'openid email profile https://www.googleapis.com/auth/calendar.readonly', {
      username: 'ada',
    });

    // RFC 9207: the authorization response names its issuer, so a client can tell the providers apart.
    expect(github.callback.searchParams.get('iss')).toBe(`${sandbox.url}/github`);
    expect(google.callback.searchParams.get('iss')).toBe(`${sandbox.url}/google`);

    const subjects: string[] = [];
    for (const [provider, { tokens, request }, requested] of [
      ['github', github, 'openid read:user repo'],
      ['google', google, 'openid email profile https://www.googleapis.com/auth/calendar.readonly'],
    ] as const) {
      expect(tokens.token_type).toBe('Bearer');
      expect(tokens.access_token).toEqual(expect.any(String));
      expect(tokens.refresh_token).toEqual(expect.any(String));
      expect(tokens.id_token).toEqual(expect.any(String));
      expect(tokens.expires_in).toBeGreaterThan(3500);
      expect(tokens.expires_in).toBeLessThanOrEqual(3600);
      expect(scopesOf(tokens.scope)).toEqual(scopesOf(requested));

      const doc = await discover(sandbox, provider);
      const { payload, protectedHeader } = await jwtVerify(
        tokens.id_token!,
        createRemoteJWKSet(new URL(doc.jwks_uri)),
        {
          issuer: doc.issuer,
          audience: clients[provider].clientId,
          algorithms: ['RS256'],
        },
      );
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload.nonce).toBe(request.nonce);
      expect(payload.sub).toBe(`${provider}:ada`);
      subjects.push(payload.sub!);
    }
    expect(new Set(subjects).size).toBe(2);

    // An id_token from one provider does not pass as the other's.
    const googleDoc = await discover(sandbox, 'google');
    await expect(
      jwtVerify(github.tokens.id_token!, createRemoteJWKSet(new URL(googleDoc.jwks_uri)), {
        issuer: googleDoc.issuer,
        audience: clients.google.clientId,
      }),
    ).rejects.toThrow();
  });

  it('grants offline_access as asked, like any other scope, since the consent page is always shown', async () => {
    const { tokens } = await link('google', 'openid email offline_access');
    expect(scopesOf(tokens.scope)).toEqual(scopesOf('openid email offline_access'));
    expect(tokens.refresh_token).toEqual(expect.any(String));
  });

  it('userinfo returns the identity entered on the consent page', async () => {
    const { tokens } = await link('github', 'openid read:user', {
      username: 'grace',
      email: 'grace@example.test',
      emailVerified: false,
    });
    const info = await userinfo('github', tokens.access_token);
    expect(info.status).toBe(200);
    expect(info.body).toEqual({
      sub: 'github:grace',
      email: 'grace@example.test',
      email_verified: false,
      name: 'grace',
      preferred_username: 'grace',
    });

    const defaults = await link('google', 'openid email', { username: 'linus' });
    expect((await userinfo('google', defaults.tokens.access_token)).body).toMatchObject({
      sub: 'google:linus',
      email: 'linus@google.sandbox.test',
      email_verified: true,
    });

    const anonymous = await userinfo('github', undefined);
    expect(anonymous.status).toBe(401);
    const forged = await userinfo('github', 'not-a-token');
    expect(forged.status).toBe(401);
    expect(forged.challenge).toMatch(/invalid_token/);
  });

  it('refresh returns fresh tokens and rotates the refresh token; the replaced one is invalid_grant', async () => {
    // CRA's minimal GitHub scopes: no openid, no offline_access, and still a refresh token.
    const { tokens } = await link('github', 'read:user user:email', { username: 'ada' });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.id_token).toBeUndefined();
    expect(scopesOf(tokens.scope)).toEqual(scopesOf('read:user user:email'));

    const first = await refresh('github', tokens.refresh_token!);
    expect(first.status).toBe(200);
    expect(first.body.access_token).not.toBe(tokens.access_token);
    expect(first.body.refresh_token).toEqual(expect.any(String));
    expect(first.body.refresh_token).not.toBe(tokens.refresh_token);
    expect(scopesOf(first.body.scope)).toEqual(scopesOf('read:user user:email'));

    const second = await refresh('github', first.body.refresh_token!, { auth: 'post' });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);

    const replayed = await refresh('github', tokens.refresh_token!);
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe('invalid_grant');
  });

  it('an authorization code works once: a second exchange is invalid_grant and revokes what the first issued', async () => {
    const { code, request, tokens } = await link('google', 'openid email', { username: 'ada' });
    expect((await userinfo('google', tokens.access_token)).status).toBe(200);

    const again = await exchangeCode('google', code, request.verifier);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    expect((await userinfo('google', tokens.access_token)).status).toBe(401);
    expect((await refresh('google', tokens.refresh_token!)).body.error).toBe('invalid_grant');
  });

  it('a wrong code_verifier is invalid_grant', async () => {
    const request = await authorizationRequest('github', 'read:user');
    const callback = await completeConsent(request.url, {});
    const wrong = await exchangeCode('github', callback.searchParams.get('code')!, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    const missing = await tokenRequest('github', {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: redirectUri('github'),
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_grant');
  });

  it('PKCE is required, S256 only: a plain challenge or none is refused back at the redirect_uri', async () => {
    const verifier = randomBytes(32).toString('base64url');
    for (const overrides of [
      { code_challenge: verifier, code_challenge_method: 'plain' },
      { code_challenge: undefined, code_challenge_method: undefined },
    ]) {
      const request = await authorizationRequest('github', 'read:user', overrides);
      const res = await fetch(request.url, { redirect: 'manual' });
      expect(res.status).toBe(303);
      const back = new URL(res.headers.get('location')!);
      expect(`${back.origin}${back.pathname}`).toBe(redirectUri('github'));
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('state')).toBe(request.state);
      expect(back.searchParams.has('code')).toBe(false);
    }
  });

  it('deny sends the person back with error=access_denied and the same state', async () => {
    const request = await authorizationRequest('google', 'openid email');
    const callback = await completeConsent(request.url, { approve: false });
    expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri('google'));
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.has('code')).toBe(false);
  });

  it('revoking the refresh token (RFC 7009) makes the next refresh invalid_grant', async () => {
    const { tokens } = await link('google', 'openid email', { username: 'ada' });
    const doc = await discover(sandbox, 'google');
    const revoked = await fetch(doc.revocation_endpoint, {
      method: 'POST',
      body: new URLSearchParams({
        token: tokens.refresh_token!,
        token_type_hint: 'refresh_token',
        client_id: clients.google.clientId,
        client_secret: clients.google.clientSecret,
      }),
    });
    expect(revoked.status).toBe(200);
    const next = await refresh('google', tokens.refresh_token!);
    expect(next.status).toBe(400);
    expect(next.body.error).toBe('invalid_grant');
  });

  it("revoke-grants, as a method and as the admin route, ends one user's grants: their next refresh is invalid_grant", async () => {
    const ada = await link('github', 'read:user', { username: 'ada-revoked' });
    const bob = await link('github', 'read:user', { username: 'bob-revoked' });
    const other = await link('google', 'openid', { username: 'ada-revoked' });

    expect(await sandbox.revokeAllFor('github', 'ada-revoked')).toBe(1);
    expect((await refresh('github', ada.tokens.refresh_token!)).body.error).toBe('invalid_grant');
    expect((await userinfo('google', other.tokens.access_token)).status).toBe(200);
    const bobStillLinked = await refresh('github', bob.tokens.refresh_token!);
    expect(bobStillLinked.status).toBe(200);

    const route = `${sandbox.url}/_admin/github/users/bob-revoked/revoke-grants`;
    expect((await fetch(route, { method: 'POST' })).status).toBe(401);
    expect((await fetch(route, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const res = await fetch(route, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ provider: 'github', username: 'bob-revoked', revokedGrants: 1 });
    const bobAfter = await refresh('github', bobStillLinked.body.refresh_token!);
    expect(bobAfter.status).toBe(400);
    expect(bobAfter.body.error).toBe('invalid_grant');
    expect((await refresh('google', other.tokens.refresh_token!)).status).toBe(200);
  });

  it('a wrong client secret is invalid_client, in the Authorization header or in the body', async () => {
    const { tokens } = await link('github', 'read:user');
    for (const auth of ['basic', 'post'] as const) {
      const res = await refresh('github', tokens.refresh_token!, { auth, secret: 'not-the-secret' });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
    // Each provider is its own server: GitHub's refresh token means nothing to Google.
    const elsewhere = await tokenRequest('google', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error).toBe('invalid_grant');
  });

  it('a redirect_uri not registered exactly gets an error page, never a redirect to it', async () => {
    const registered = redirectUri('github');
    for (const redirect of [
      `${registered}/`,
      `${registered}?next=/admin`,
      registered.replace('localhost:3000', 'localhost:3001'),
      registered.replace('http://localhost', 'http://evil.example'),
      undefined,
    ]) {
      const request = await authorizationRequest('github', 'read:user', { redirect_uri: redirect });
      const res = await fetch(request.url, { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toMatch(/redirect_uri/);
      await expect(completeConsent(request.url, {})).rejects.toThrow(/400/);
    }
  });
});

describe('sandbox provider with short token lifetimes', () => {
  let shortLived: SandboxProvider;
  beforeAll(async () => {
    shortLived = await startSandboxProvider({
      port: 0,
      providers: ['github'],
      clients: { github: clients.github },
      accessTokenTtlSeconds: 2,
      refreshTokenTtlSeconds: 5,
    });
  });
  afterAll(async () => {
    await shortLived?.close();
  });

  it('an expired access token is refused at userinfo, and a refresh brings a working one', async () => {
    const { tokens } = await link('github', 'openid read:user', { username: 'ada' }, shortLived);
    expect(tokens.expires_in).toBeLessThanOrEqual(2);
    await sleep(2_100);
    const expired = await userinfo('github', tokens.access_token, shortLived);
    expect(expired.status).toBe(401);
    expect(expired.challenge).toMatch(/invalid_token/);

    const refreshed = await refresh('github', tokens.refresh_token!, { server: shortLived });
    expect(refreshed.status).toBe(200);
    expect((await userinfo('github', refreshed.body.access_token, shortLived)).body).toMatchObject({
      sub: 'github:ada',
    });
  });

  it('an expired refresh token is invalid_grant', async () => {
    const { tokens } = await link('github', 'read:user', { username: 'ada' }, shortLived);
    await sleep(5_100);
    const res = await refresh('github', tokens.refresh_token!, { server: shortLived });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('serves no admin route when no admin token is configured', async () => {
    const res = await fetch(`${shortLived.url}/_admin/github/users/ada/revoke-grants`, {
      method: 'POST',
      headers: { authorization: 'Bearer anything' },
    });
    expect(res.status).toBe(404);
  });
});
