/**
 * Contract tests of Auth0Directory against a local HTTP server playing the Auth0 tenant
 * (`test/support/auth0-management-stand-in.ts`, which cites the page each endpoint follows): the real
 * adapter and the real `auth0` SDK, only the network destination differs. Each contract cites the Auth0
 * documentation it was checked against, so a stand-in that drifts from Auth0 shows.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { Auth0Directory, type Auth0DirectoryOptions } from '../../activities/identity/auth0-directory.js';
import { IdentityError } from '../../activities/identity/port.js';
import {
  startAuth0ManagementStandIn,
  tenantFetch,
  type Auth0ManagementStandIn,
  type RecordedRequest,
  type TenantState,
} from '../support/auth0-management-stand-in.js';

const domain = 'cra-test.eu.auth0.com';
const clientId = 'cra-m2m-client';
const clientSecret = 'S3CRET-client-secret-do-not-log';
const memberRoleId = 'rol_member123';

let standIn: Auth0ManagementStandIn;
/** The tenant's state and everything it was asked (reset before each test). */
let tenant: TenantState;

function newDirectory(overrides: Partial<Auth0DirectoryOptions> = {}): Auth0Directory {
  return new Auth0Directory({
    domain,
    clientId,
    clientSecret,
    roleIds: { member: memberRoleId },
    fetch: tenantFetch(domain, standIn.url),
    ...overrides,
  });
}

const managementCalls = (): RecordedRequest[] => tenant.requests.filter((r) => r.path.startsWith('/api/v2/'));
const writes = (): RecordedRequest[] => managementCalls().filter((r) => r.method !== 'GET');

async function caught(promise: Promise<unknown>): Promise<IdentityError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof IdentityError) return err;
    throw err;
  }
  throw new Error('expected an IdentityError, got success');
}

/** What an operator would see in logs or Temporal history must hold no credential. */
function expectNoCredentials(err: IdentityError): void {
  const visible = [err.message, String(err), err.stack ?? '', JSON.stringify(err)].join('\n');
  expect(visible).not.toContain(clientSecret);
  for (const token of tenant.issuedTokens) expect(visible).not.toContain(token);
  expect(visible.toLowerCase()).not.toContain('bearer');
  expect(visible.toLowerCase()).not.toContain('authorization');
  expect(err.cause).toBeUndefined();
}

beforeAll(async () => {
  standIn = await startAuth0ManagementStandIn({ domain, clientId, clientSecret });
  tenant = standIn.state;
});

afterAll(async () => {
  await standIn?.close();
});

beforeEach(() => {
  standIn.reset();
  tenant.users.set('auth0|abc', {
    user_id: 'auth0|abc',
    email: 'ada@example.com',
    email_verified: true,
    given_name: 'Ada',
    family_name: 'Lovelace',
    app_metadata: { plan: 'gold' },
  });
});

describe('Auth0Directory against an Auth0 tenant stand-in', () => {
  // https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens/get-management-api-access-tokens-for-production
  // "POST https://{yourDomain}/oauth/token" with grant_type=client_credentials, client_id, client_secret,
  // audience=https://{yourDomain}/api/v2/; response { access_token, token_type: 'Bearer', expires_in }.
  it('gets its token with a client_credentials grant for the Management API audience', async () => {
    await newDirectory().getIdentity('auth0|abc');

    const tokenCalls = tenant.requests.filter((r) => r.path === '/oauth/token');
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0]?.method).toBe('POST');
    expect(tokenCalls[0]?.body).toEqual({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      audience: `https://${domain}/api/v2/`,
    });
  });

  it('asks for the configured audience when one is given', async () => {
    await newDirectory({ audience: 'https://cra-test.custom/api/v2/' }).getIdentity('auth0|abc');
    expect(tenant.requests.find((r) => r.path === '/oauth/token')?.body).toMatchObject({
      audience: 'https://cra-test.custom/api/v2/',
    });
  });

  // https://auth0.com/docs/api/management/v2/users/get-user-roles (and every Management API page):
  // "Authorization: Bearer <token>". The token is fetched once and reused.
  it('sends the issued token as a Bearer token on every management call, fetching it once', async () => {
    const directory = newDirectory();
    await directory.getIdentity('auth0|abc');
    await directory.ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' });
    await directory.assignRole('auth0|abc', 'member');

    expect(tenant.issuedTokens).toHaveLength(1);
    const calls = managementCalls();
    expect(calls.map((c) => c.method)).toEqual(['GET', 'GET', 'PATCH', 'POST']);
    for (const call of calls) expect(call.headers.authorization).toBe(`Bearer ${tenant.issuedTokens[0]}`);
  });

  // https://auth0.com/docs/manage-users/user-search/retrieve-users-with-get-users-by-id-endpoint
  // "GET /api/v2/users/{id}" — "The user ID should be URL encoded".
  it('reads a user by id with the | percent-encoded and maps the profile', async () => {
    const identity = await newDirectory().getIdentity('auth0|abc');

    expect(managementCalls()).toEqual([expect.objectContaining({ method: 'GET', path: '/api/v2/users/auth0%7Cabc' })]);
    expect(identity).toEqual({
      subject: 'auth0|abc',
      email: 'ada@example.com',
      emailVerified: true,
      givenName: 'Ada',
      familyName: 'Lovelace',
      roles: [],
    });
  });

  it('reads app_metadata.cra_account_id as the bound account id', async () => {
    tenant.users.set('auth0|abc', {
      user_id: 'auth0|abc',
      email_verified: false,
      app_metadata: { cra_account_id: 'acc-1' },
    });
    expect(await newDirectory().getIdentity('auth0|abc')).toEqual({
      subject: 'auth0|abc',
      emailVerified: false,
      accountId: 'acc-1',
      roles: [],
    });
  });

  it('answers undefined for a subject Auth0 does not know (404)', async () => {
    expect(await newDirectory().getIdentity('auth0|nobody')).toBeUndefined();
    expect(managementCalls()[0]?.path).toBe('/api/v2/users/auth0%7Cnobody');
  });

  // https://auth0.com/docs/api/management/v2/users/patch-users-by-id
  // "app_metadata ... merged instead of being replaced ... the merge only occurs on the first level."
  it('binds an unbound user with a PATCH whose body is exactly { app_metadata: { cra_account_id } }', async () => {
    const identity = await newDirectory().ensureRootIdentity({
      subject: 'auth0|abc',
      accountId: 'acc-1',
      // CRA's own view of the profile: must not be written to Auth0.
      email: 'other@example.com',
      emailVerified: false,
      givenName: 'Someone',
      familyName: 'Else',
    });

    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: 'PATCH', path: '/api/v2/users/auth0%7Cabc' });
    expect(writes()[0]?.body).toStrictEqual({ app_metadata: { cra_account_id: 'acc-1' } });
    expect(writes()[0]?.headers['content-type']).toContain('application/json');
    expect(identity).toMatchObject({
      subject: 'auth0|abc',
      accountId: 'acc-1',
      email: 'ada@example.com',
      givenName: 'Ada',
    });
    // Auth0's first-level merge kept the other app_metadata key.
    expect(tenant.users.get('auth0|abc')?.app_metadata).toEqual({ plan: 'gold', cra_account_id: 'acc-1' });
  });

  it('does not write when the user is already bound to the same account', async () => {
    tenant.users.set('auth0|abc', {
      user_id: 'auth0|abc',
      email_verified: true,
      app_metadata: { cra_account_id: 'acc-1' },
    });
    const identity = await newDirectory().ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' });

    expect(identity.accountId).toBe('acc-1');
    expect(writes()).toEqual([]);
  });

  it('is idempotent: a second ensure after a successful bind writes nothing', async () => {
    const directory = newDirectory();
    await directory.ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' });
    await directory.ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' });
    expect(writes().map((w) => w.method)).toEqual(['PATCH']);
  });

  it('rejects, without writing, a user already bound to another account', async () => {
    tenant.users.set('auth0|abc', {
      user_id: 'auth0|abc',
      email_verified: true,
      app_metadata: { cra_account_id: 'acc-OTHER' },
    });
    const err = await caught(newDirectory().ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' }));

    expect(err.type).toBe('IdentityRejected');
    expect(writes()).toEqual([]);
    expect(tenant.users.get('auth0|abc')?.app_metadata).toEqual({ cra_account_id: 'acc-OTHER' });
  });

  it('fails with IdentityNotFound, without writing, when Auth0 has no such user', async () => {
    const err = await caught(newDirectory().ensureRootIdentity({ subject: 'auth0|nobody', accountId: 'acc-1' }));

    expect(err.type).toBe('IdentityNotFound');
    expect(err.message).toContain('GET /api/v2/users/auth0%7Cnobody');
    expect(err.message).toContain('404');
    expect(writes()).toEqual([]);
  });

  // https://auth0.com/docs/api/management/v2/users/patch-users-by-id: `given_name` and `family_name` are root
  // attributes of the PATCH body ("update:users" scope); other attributes are left as they are.
  it('writes the names from the profile page with a PATCH whose body is exactly { given_name, family_name }', async () => {
    const result = await newDirectory().updateNames('auth0|abc', { givenName: 'Augusta', familyName: 'King' });

    expect(result).toEqual({ updated: true });
    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: 'PATCH', path: '/api/v2/users/auth0%7Cabc' });
    expect(writes()[0]?.body).toStrictEqual({ given_name: 'Augusta', family_name: 'King' });
    expect(tenant.users.get('auth0|abc')).toMatchObject({
      given_name: 'Augusta',
      family_name: 'King',
      email: 'ada@example.com',
      app_metadata: { plan: 'gold' },
    });
  });

  it('answers updated: false for names of a user Auth0 does not know (404), and maps a 503 to IdentityUnavailable', async () => {
    expect(await newDirectory().updateNames('auth0|nobody', { givenName: 'A', familyName: 'B' })).toEqual({
      updated: false,
    });
    tenant.canned.push({
      method: 'PATCH',
      path: '/api/v2/users/auth0%7Cabc',
      status: 503,
      body: { statusCode: 503, error: 'Service Unavailable', message: 'down' },
    });
    const err = await caught(newDirectory().updateNames('auth0|abc', { givenName: 'A', familyName: 'B' }));
    expect(err.type).toBe('IdentityUnavailable');
    expect(tenant.users.get('auth0|abc')?.given_name).toBe('Ada');
  });

  // https://auth0.com/docs/fr-ca/api/management/v2/users/post-user-roles (body section in English):
  // "POST /api/v2/users/{id}/roles", body "roles: string[] required — List of roles IDs".
  it('assigns a configured role with POST /users/{id}/roles and body { roles: [roleId] }', async () => {
    await newDirectory().assignRole('auth0|abc', 'member');

    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: 'POST', path: '/api/v2/users/auth0%7Cabc/roles' });
    expect(writes()[0]?.body).toStrictEqual({ roles: [memberRoleId] });
    expect([...(tenant.roles.get('auth0|abc') ?? [])]).toEqual([memberRoleId]);
  });

  it('makes no call at all for a role without a configured Auth0 role id', async () => {
    await newDirectory().assignRole('auth0|abc', 'admin');
    await newDirectory({ roleIds: undefined }).assignRole('auth0|abc', 'member');
    expect(tenant.requests).toEqual([]);
  });

  it('fails with IdentityNotFound when assigning a role to a user Auth0 does not know', async () => {
    const err = await caught(newDirectory().assignRole('auth0|nobody', 'member'));
    expect(err.type).toBe('IdentityNotFound');
    expect(err.message).toContain('POST /api/v2/users/auth0%7Cnobody/roles');
  });

  // Rate limit headers, https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy
  // ("Review HTTP response headers"); x-ratelimit-reset is "A UNIX timestamp of the expected time when the
  // rate limit will reset": https://community.auth0.com/t/how-to-tell-if-you-are-approaching-the-rate-limit/82103
  // (the Auth0 .NET SDK reads it the same way: https://auth0.github.io/auth0.net/api/Auth0.ManagementApi.RateLimit.html).
  it('maps a 429 to IdentityRateLimited, waiting until x-ratelimit-reset, without retrying inside the SDK', async () => {
    const resetAt = Math.floor(Date.now() / 1000) + 30;
    tenant.canned.push({
      method: 'GET',
      path: '/api/v2/users/auth0%7Cabc',
      status: 429,
      headers: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAt) },
      body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
    });
    const err = await caught(newDirectory().getIdentity('auth0|abc'));

    expect(err.type).toBe('IdentityRateLimited');
    expect(err.retryAfterMs).toBeGreaterThan(25_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(31_000);
    expect(err.message).toContain('429');
    // Temporal's retry policy owns the retry: the SDK must not quietly try again.
    expect(managementCalls()).toHaveLength(1);
    expectNoCredentials(err);
  });

  it('falls back to retry-after seconds, then to one second, when x-ratelimit-reset is absent', async () => {
    const path = '/api/v2/users/auth0%7Cabc';
    tenant.canned.push({
      method: 'PATCH',
      path,
      status: 429,
      headers: { 'retry-after': '7' },
      body: { statusCode: 429 },
    });
    const withRetryAfter = await caught(
      newDirectory().ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' }),
    );
    expect(withRetryAfter).toMatchObject({ type: 'IdentityRateLimited', retryAfterMs: 7000 });

    tenant.canned.push({ method: 'POST', path: `${path}/roles`, status: 429, body: { statusCode: 429 } });
    const bare = await caught(newDirectory().assignRole('auth0|abc', 'member'));
    expect(bare).toMatchObject({ type: 'IdentityRateLimited', retryAfterMs: 1000 });
  });

  it('maps a 503 to IdentityUnavailable, without retrying inside the SDK', async () => {
    tenant.canned.push({
      method: 'GET',
      path: '/api/v2/users/auth0%7Cabc',
      status: 503,
      body: { statusCode: 503, error: 'Service Unavailable' },
    });
    const err = await caught(newDirectory().getIdentity('auth0|abc'));

    expect(err.type).toBe('IdentityUnavailable');
    expect(err.message).toContain('GET /api/v2/users/auth0%7Cabc');
    expect(err.message).toContain('503');
    expect(managementCalls()).toHaveLength(1);
    expectNoCredentials(err);
  });

  it.each([
    [400, 'IdentityRejected'],
    [401, 'IdentityRejected'],
    [403, 'IdentityRejected'],
    [409, 'IdentityRejected'],
    [500, 'IdentityUnavailable'],
    [502, 'IdentityUnavailable'],
  ] as const)('maps a %i on the binding PATCH to %s', async (status, type) => {
    tenant.canned.push({
      method: 'PATCH',
      path: '/api/v2/users/auth0%7Cabc',
      status,
      body: { statusCode: status, error: 'x', message: 'x' },
    });
    const err = await caught(newDirectory().ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' }));

    expect(err.type).toBe(type);
    expect(err.message).toBe(`Auth0 PATCH /api/v2/users/auth0%7Cabc failed with status ${status}`);
    expectNoCredentials(err);
  });

  it('maps a refused token request (wrong client secret) to IdentityRejected naming /oauth/token, not the secret', async () => {
    const wrongSecret = 'WRONG-secret-value-must-not-leak';
    const err = await caught(newDirectory({ clientSecret: wrongSecret }).getIdentity('auth0|abc'));

    expect(err.type).toBe('IdentityRejected');
    expect(err.message).toBe('Auth0 POST /oauth/token failed with status 401');
    expect(err.message).not.toContain(wrongSecret);
    expect(managementCalls()).toEqual([]);
  });

  it('maps an unreachable tenant to IdentityUnavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const err = await caught(newDirectory({ fetch: tenantFetch(domain, deadUrl) }).getIdentity('auth0|abc'));
    expect(err.type).toBe('IdentityUnavailable');
    expectNoCredentials(err);
  });

  it('keeps the client secret and the access token out of every error message', async () => {
    const directory = newDirectory();
    await directory.getIdentity('auth0|abc'); // a token is now issued and cached
    expect(tenant.issuedTokens).toHaveLength(1);

    tenant.canned.push({
      method: 'POST',
      path: '/api/v2/users/auth0%7Cabc/roles',
      status: 403,
      body: {
        statusCode: 403,
        error: 'Forbidden',
        message: 'Insufficient scope, expected any of: create:role_members',
      },
    });
    tenant.canned.push({
      method: 'PATCH',
      path: '/api/v2/users/auth0%7Cabc',
      status: 500,
      body: { statusCode: 500, error: 'Internal Server Error' },
    });
    const errors = [
      await caught(directory.assignRole('auth0|abc', 'member')),
      await caught(directory.ensureRootIdentity({ subject: 'auth0|abc', accountId: 'acc-1' })),
      await caught(directory.ensureRootIdentity({ subject: 'auth0|nobody', accountId: 'acc-1' })),
    ];
    expect(errors.map((e) => e.type)).toEqual(['IdentityRejected', 'IdentityUnavailable', 'IdentityNotFound']);
    for (const err of errors) expectNoCredentials(err);
  });
});

// https://auth0.com/docs/api/management/v2/users/post-identities: with an API v2 token holding
// `update:users`, "POST /api/v2/users/PRIMARY_ACCOUNT_USER_ID/identities" with body
// { "provider": "SECONDARY_ACCOUNT_PROVIDER", "user_id": "SECONDARY_ACCOUNT_USER_ID" }; it answers with the
// primary account's new identities array.
describe('Auth0Directory.linkIdentity', () => {
  const identitiesPath = '/api/v2/users/auth0%7Cabc/identities';

  it('links a social identity with POST /users/{id}/identities and body { provider, user_id }', async () => {
    tenant.canned.push({
      method: 'POST',
      path: identitiesPath,
      status: 201,
      body: [{ connection: 'github', provider: 'github', user_id: '583231', isSocial: true }],
    });
    await expect(
      newDirectory().linkIdentity('auth0|abc', { provider: 'github', providerAccountId: '583231' }),
    ).resolves.toEqual({ linked: true });
    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: 'POST', path: identitiesPath });
    expect(writes()[0]?.body).toStrictEqual({ provider: 'github', user_id: '583231' });
    expect(writes()[0]?.headers.authorization).toMatch(/^Bearer at-/);
  });

  it('names Auth0’s strategy for each social provider and custom OAuth2 connections by provider', async () => {
    const cases: Array<[string, string, { provider: string; user_id: string }]> = [
      ['google', '1098', { provider: 'google-oauth2', user_id: '1098' }],
      ['microsoft', 'ms-1', { provider: 'windowslive', user_id: 'ms-1' }],
      ['x', '42', { provider: 'twitter', user_id: '42' }],
      ['coderabbit', 'cr-7', { provider: 'oauth2', user_id: 'coderabbit|cr-7' }],
    ];
    for (const [provider, id] of cases) {
      tenant.canned.push({ method: 'POST', path: identitiesPath, status: 201, body: [] });
      await newDirectory().linkIdentity('auth0|abc', { provider, providerAccountId: id });
    }
    expect(writes().map((w) => w.body)).toStrictEqual(cases.map(([, , body]) => body));
  });

  it('answers linked: false when Auth0 has no such secondary user, and fails on a server error', async () => {
    tenant.canned.push({
      method: 'POST',
      path: identitiesPath,
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: 'Secondary user not found' },
    });
    await expect(
      newDirectory().linkIdentity('auth0|abc', { provider: 'github', providerAccountId: '1' }),
    ).resolves.toEqual({ linked: false });
    tenant.canned.push({
      method: 'POST',
      path: identitiesPath,
      status: 503,
      body: { statusCode: 503, error: 'Service Unavailable' },
    });
    const err = await caught(newDirectory().linkIdentity('auth0|abc', { provider: 'github', providerAccountId: '1' }));
    expect(err.type).toBe('IdentityUnavailable');
    expect(err.message).toContain(`POST ${identitiesPath}`);
    expectNoCredentials(err);
  });
});

// https://auth0.com/docs/api/management/v2/users/delete-user-identity-by-user-id: with an API v2 token holding
// `update:users`, "DELETE /api/v2/users/{id}/identities/{provider}/{user_id}" — `id` the primary user, `provider`
// the secondary identity's provider name (e.g. google-oauth2), `user_id` its id (the part after the `|`); it
// answers 200 with the primary account's remaining identities.
describe('Auth0Directory.unlinkIdentity', () => {
  const identityPath = (provider: string, userId: string) =>
    `/api/v2/users/auth0%7Cabc/identities/${provider}/${userId}`;
  const remaining = [
    { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: 'abc', isSocial: false },
  ];

  it('unlinks with DELETE /users/{id}/identities/{provider}/{user_id} and no body', async () => {
    tenant.canned.push({ method: 'DELETE', path: identityPath('github', '583231'), status: 200, body: remaining });
    await expect(
      newDirectory().unlinkIdentity('auth0|abc', { provider: 'github', providerAccountId: '583231' }),
    ).resolves.toEqual({ unlinked: true });
    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: 'DELETE', path: identityPath('github', '583231'), body: undefined });
    expect(writes()[0]?.headers.authorization).toMatch(/^Bearer at-/);
  });

  it('names the identity as linkIdentity does: Auth0’s strategy for social providers, oauth2 with a prefixed, encoded id otherwise', async () => {
    const cases: Array<[string, string, string]> = [
      ['google', '1098', identityPath('google-oauth2', '1098')],
      ['microsoft', 'ms-1', identityPath('windowslive', 'ms-1')],
      ['x', '42', identityPath('twitter', '42')],
      ['coderabbit', 'cr-7', identityPath('oauth2', 'coderabbit%7Ccr-7')],
    ];
    for (const [provider, id, path] of cases) {
      tenant.canned.push({ method: 'DELETE', path, status: 200, body: remaining });
      await expect(newDirectory().unlinkIdentity('auth0|abc', { provider, providerAccountId: id })).resolves.toEqual({
        unlinked: true,
      });
    }
    expect(writes().map((w) => w.path)).toEqual(cases.map(([, , path]) => path));
  });

  it('answers unlinked: false when Auth0 has no such user or identity (a retry after success), and maps failures', async () => {
    // No canned answer: the stand-in has no route for it and answers 404, as Auth0 does for an unknown user.
    await expect(
      newDirectory().unlinkIdentity('auth0|abc', { provider: 'github', providerAccountId: '1' }),
    ).resolves.toEqual({ unlinked: false });

    tenant.canned.push({
      method: 'DELETE',
      path: identityPath('github', '1'),
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: 'Main identity cannot be removed' },
    });
    const rejected = await caught(
      newDirectory().unlinkIdentity('auth0|abc', { provider: 'github', providerAccountId: '1' }),
    );
    expect(rejected.type).toBe('IdentityRejected');
    expect(rejected.message).toBe(`Auth0 DELETE ${identityPath('github', '1')} failed with status 400`);
    expectNoCredentials(rejected);

    tenant.canned.push({
      method: 'DELETE',
      path: identityPath('github', '1'),
      status: 429,
      headers: { 'retry-after': '3' },
      body: { statusCode: 429 },
    });
    expect(
      await caught(newDirectory().unlinkIdentity('auth0|abc', { provider: 'github', providerAccountId: '1' })),
    ).toMatchObject({ type: 'IdentityRateLimited', retryAfterMs: 3000 });

    tenant.canned.push({
      method: 'DELETE',
      path: identityPath('github', '1'),
      status: 503,
      body: { statusCode: 503, error: 'Service Unavailable' },
    });
    const unavailable = await caught(
      newDirectory().unlinkIdentity('auth0|abc', { provider: 'github', providerAccountId: '1' }),
    );
    expect(unavailable.type).toBe('IdentityUnavailable');
    expectNoCredentials(unavailable);
  });
});

describe('Auth0Directory.resetCredentials (account recovery)', () => {
  const user = '/api/v2/users/auth0%7Cabc';

  // https://auth0.com/docs/api/management/v2/users/delete-authentication-methods — DELETE /api/v2/users/{id}/authentication-methods, 204
  // https://auth0.com/docs/api/management/v2/users/delete-refresh-tokens-for-user — DELETE /api/v2/users/{user_id}/refresh-tokens, 202
  // https://auth0.com/docs/api/management/v2/users/delete-sessions-for-user — DELETE /api/v2/users/{user_id}/sessions, 202
  // https://auth0.com/docs/api/management/v2/tickets/post-password-change — POST /api/v2/tickets/password-change
  //   { user_id, ttl_sec, mark_email_as_verified } → 201 { ticket }
  it('removes MFA, revokes refresh tokens and sessions, then asks for a short-lived password-change ticket', async () => {
    const result = await newDirectory().resetCredentials('auth0|abc', { ticketTtlSeconds: 900 });

    expect(writes().map((w) => `${w.method} ${w.path}`)).toEqual([
      `DELETE ${user}/authentication-methods`,
      `DELETE ${user}/refresh-tokens`,
      `DELETE ${user}/sessions`,
      'POST /api/v2/tickets/password-change',
    ]);
    expect(writes()[3]?.body).toStrictEqual({ user_id: 'auth0|abc', ttl_sec: 900, mark_email_as_verified: false });
    expect(writes()[3]?.headers['content-type']).toContain('application/json');
    for (const call of writes()) expect(call.headers.authorization).toBe(`Bearer ${tenant.issuedTokens[0]}`);
    expect(result.passwordChangeTicketUrl).toMatch(/^https:\/\/cra-test\.eu\.auth0\.com\/lo\/reset\?ticket=TICKET-/);
  });

  it('passes a result_url when one is given', async () => {
    await newDirectory().resetCredentials('auth0|abc', {
      ticketTtlSeconds: 300,
      resultUrl: 'https://cra.example/recovered',
    });
    expect(writes().at(-1)?.body).toStrictEqual({
      user_id: 'auth0|abc',
      ttl_sec: 300,
      mark_email_as_verified: false,
      result_url: 'https://cra.example/recovered',
    });
  });

  it('fails with IdentityNotFound, and makes no ticket, for a user Auth0 does not know', async () => {
    const err = await caught(newDirectory().resetCredentials('auth0|nobody', { ticketTtlSeconds: 900 }));
    expect(err.type).toBe('IdentityNotFound');
    expect(err.message).toBe('Auth0 DELETE /api/v2/users/auth0%7Cnobody/authentication-methods failed with status 404');
    expect(writes().some((w) => w.path === '/api/v2/tickets/password-change')).toBe(false);
  });

  // Session endpoints need an Enterprise plan and the delete:sessions scope; without them Auth0 answers 403.
  it('stops before the ticket when sessions cannot be revoked (403 → IdentityRejected)', async () => {
    tenant.canned.push({
      method: 'DELETE',
      path: `${user}/sessions`,
      status: 403,
      body: { statusCode: 403, error: 'Forbidden', message: 'Insufficient scope, expected any of: delete:sessions' },
    });
    const err = await caught(newDirectory().resetCredentials('auth0|abc', { ticketTtlSeconds: 900 }));
    expect(err.type).toBe('IdentityRejected');
    expect(err.message).toBe(`Auth0 DELETE ${user}/sessions failed with status 403`);
    expect(writes().some((w) => w.path === '/api/v2/tickets/password-change')).toBe(false);
    expectNoCredentials(err);
  });

  it('maps a rate-limited ticket request to IdentityRateLimited; a retry repeats the revocations and gets its ticket', async () => {
    tenant.canned.push({
      method: 'POST',
      path: '/api/v2/tickets/password-change',
      status: 429,
      headers: { 'retry-after': '3' },
      body: { statusCode: 429 },
    });
    const err = await caught(newDirectory().resetCredentials('auth0|abc', { ticketTtlSeconds: 900 }));
    expect(err).toMatchObject({ type: 'IdentityRateLimited', retryAfterMs: 3000 });
    // A retry repeats the (idempotent) revocations and then gets its ticket.
    expect(
      (await newDirectory().resetCredentials('auth0|abc', { ticketTtlSeconds: 900 })).passwordChangeTicketUrl,
    ).toBeDefined();
  });
});

// Erasure: https://auth0.com/docs/api/management/v2/users/get-users-by-id (the user and its `identities`, the
// primary first), https://auth0.com/docs/api/management/v2/users/delete-user-identity-by-user-id (unlink; the
// secondary becomes a user of its own, which
// https://auth0.com/docs/manage-users/user-accounts/user-account-linking/unlink-user-accounts says to delete too)
// and https://auth0.com/docs/api/management/v2/users/delete-users-by-id (DELETE /api/v2/users/{id}, 204).
describe('Auth0Directory.deleteIdentity (erasure)', () => {
  const user = '/api/v2/users/auth0%7Cabc';
  const primary = { provider: 'auth0', user_id: 'abc', connection: 'Username-Password-Authentication' };
  const github = { provider: 'github', user_id: '583231', connection: 'github', isSocial: true };
  const google = { provider: 'google-oauth2', user_id: '1098', connection: 'google-oauth2', isSocial: true };
  const calls = () => managementCalls().map((c) => `${c.method} ${c.path}`);
  const count = (call: string) => calls().filter((c) => c === call).length;

  beforeEach(() => {
    tenant.users.get('auth0|abc')!.identities = [primary, github, google];
  });

  it('unlinks every secondary identity, deletes the users they become, then deletes the user', async () => {
    await expect(newDirectory().deleteIdentity('auth0|abc')).resolves.toEqual({ deleted: true, unlinkedIdentities: 2 });

    expect(calls()).toEqual([
      `GET ${user}`,
      `PATCH ${user}`,
      `DELETE ${user}/identities/github/583231`,
      'DELETE /api/v2/users/github%7C583231',
      `DELETE ${user}/identities/google-oauth2/1098`,
      'DELETE /api/v2/users/google-oauth2%7C1098',
      `DELETE ${user}`,
    ]);
    // The secondaries were noted on the user first, so a retry after a crash still finds them once unlinked.
    expect(writes()[0]?.body).toStrictEqual({
      app_metadata: {
        cra_erasure_secondaries: [
          { provider: 'github', user_id: '583231' },
          { provider: 'google-oauth2', user_id: '1098' },
        ],
      },
    });
    for (const call of writes()) expect(call.headers.authorization).toBe(`Bearer ${tenant.issuedTokens[0]}`);
    // Nothing of the person is left at the tenant: neither the user nor the users its identities became.
    expect([...tenant.users.keys()]).toEqual([]);
  });

  it('deletes a user without linked identities with one read and one delete', async () => {
    tenant.users.get('auth0|abc')!.identities = [primary];
    await expect(newDirectory().deleteIdentity('auth0|abc')).resolves.toEqual({ deleted: true, unlinkedIdentities: 0 });
    expect(calls()).toEqual([`GET ${user}`, `DELETE ${user}`]);
    expect(tenant.users.has('auth0|abc')).toBe(false);
  });

  it('answers deleted: false for a user already gone, and a second erasure changes nothing', async () => {
    await newDirectory().deleteIdentity('auth0|abc');
    const before = managementCalls().length;
    await expect(newDirectory().deleteIdentity('auth0|abc')).resolves.toEqual({
      deleted: false,
      unlinkedIdentities: 0,
    });
    expect(calls().slice(before)).toEqual([`GET ${user}`]);
    await expect(newDirectory().deleteIdentity('auth0|nobody')).resolves.toEqual({
      deleted: false,
      unlinkedIdentities: 0,
    });
  });

  it('a retry after the unlinks but before the delete unlinks nothing again and deletes the user once', async () => {
    // The run stops after both unlinks, on the last secondary user's deletion (as a crash there would).
    tenant.canned.push({
      method: 'DELETE',
      path: '/api/v2/users/google-oauth2%7C1098',
      status: 503,
      body: { statusCode: 503, error: 'Service Unavailable' },
    });
    expect((await caught(newDirectory().deleteIdentity('auth0|abc'))).type).toBe('IdentityUnavailable');
    expect(count(`DELETE ${user}`)).toBe(0);

    await expect(newDirectory().deleteIdentity('auth0|abc')).resolves.toEqual({ deleted: true, unlinkedIdentities: 2 });
    expect(count(`DELETE ${user}`)).toBe(1);
    expect(count(`DELETE ${user}/identities/github/583231`)).toBe(1);
    expect(count(`DELETE ${user}/identities/google-oauth2/1098`)).toBe(1);
    expect(count(`PATCH ${user}`)).toBe(1);
    expect([...tenant.users.keys()]).toEqual([]);
  });

  it('a retry after the note but before any unlink notes nothing again and unlinks each identity once', async () => {
    tenant.canned.push({
      method: 'DELETE',
      path: `${user}/identities/github/583231`,
      status: 500,
      body: { statusCode: 500, error: 'Internal Server Error' },
    });
    expect((await caught(newDirectory().deleteIdentity('auth0|abc'))).type).toBe('IdentityUnavailable');
    await expect(newDirectory().deleteIdentity('auth0|abc')).resolves.toEqual({ deleted: true, unlinkedIdentities: 2 });
    expect(count(`PATCH ${user}`)).toBe(1);
    expect(count(`DELETE ${user}/identities/google-oauth2/1098`)).toBe(1);
    expect(count(`DELETE ${user}`)).toBe(1);
    expect([...tenant.users.keys()]).toEqual([]);
  });

  it('maps a 429 to IdentityRateLimited with the time the rate limit resets, at any call', async () => {
    const reset = Math.ceil(Date.now() / 1000) + 30;
    tenant.canned.push({
      method: 'GET',
      path: user,
      status: 429,
      headers: { 'x-ratelimit-reset': String(reset) },
      body: { statusCode: 429, error: 'Too Many Requests' },
    });
    const onRead = await caught(newDirectory().deleteIdentity('auth0|abc'));
    expect(onRead.type).toBe('IdentityRateLimited');
    expect(onRead.retryAfterMs).toBeGreaterThan(25_000);
    expect(onRead.retryAfterMs).toBeLessThanOrEqual(31_000);
    expect(onRead.message).toBe(`Auth0 GET ${user} failed with status 429`);
    expectNoCredentials(onRead);

    tenant.canned.push({
      method: 'DELETE',
      path: user,
      status: 429,
      headers: { 'retry-after': '2' },
      body: { statusCode: 429 },
    });
    expect(await caught(newDirectory().deleteIdentity('auth0|abc'))).toMatchObject({
      type: 'IdentityRateLimited',
      retryAfterMs: 2000,
      message: `Auth0 DELETE ${user} failed with status 429`,
    });
    // The retry finishes the job, deleting the user once.
    await expect(newDirectory().deleteIdentity('auth0|abc')).resolves.toEqual({ deleted: true, unlinkedIdentities: 2 });
    expect(calls().filter((c) => c === `DELETE ${user}`)).toHaveLength(2);
    expect(tenant.users.has('auth0|abc')).toBe(false);
  });

  it('fails with IdentityRejected, deleting nothing, when the client may not delete users (403)', async () => {
    tenant.canned.push({
      method: 'PATCH',
      path: user,
      status: 403,
      body: { statusCode: 403, error: 'Forbidden', message: 'Insufficient scope, expected any of: update:users' },
    });
    const err = await caught(newDirectory().deleteIdentity('auth0|abc'));
    expect(err.type).toBe('IdentityRejected');
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([]);
    expect(tenant.users.has('auth0|abc')).toBe(true);
    expectNoCredentials(err);
  });
});
