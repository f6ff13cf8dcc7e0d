/**
 * Bearer-token authentication end to end, through the real API called in-process (the JWKS test over real
 * HTTP): every way a token can be wrong gets a 401 problem with a `WWW-Authenticate` challenge and never
 * the token back; a valid one gets through; permissions give 403 (or 404 for another person's workflow);
 * the public routes need no token at all.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { refusedDetail } from '../../api/auth/bearer.js';
import { collections } from '../../domain/collections.js';
import { listen, useAppWithoutServer } from '../support/app.js';
import { call, tokenFor, type JsonResponse } from '../support/stack.js';

const stack = useAppWithoutServer();
let issuerJwk: JWK & { kid: string };
let issuerKey: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  issuerJwk = JSON.parse(readFileSync(join(stack.env.CRA_DATA_DIR!, 'keys', 'issuer-rs256.json'), 'utf8')) as JWK & {
    kid: string;
  };
  issuerKey = (await importJWK(issuerJwk, 'RS256')) as CryptoKey;
  ({ privateKey: otherKey } = await generateKeyPair('RS256'));
});

const now = () => Math.floor(Date.now() / 1000);

/** Subjects of this file's run: workflow ids are shared by every stack on the run's Temporal namespace. */
const tag = randomBytes(3).toString('hex');
const sub = (name: string) => `auth0|auth-${tag}-${name}`;

const signupBody = {
  givenName: 'Alan',
  familyName: 'Turing',
  consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
};

/** A token like the issuer's, signed with its key, with the claims changed as asked (undefined removes one). */
async function craft(
  claims: Partial<Record<keyof JWTPayload | 'permissions', unknown>> = {},
  opts: { key?: CryptoKey; kid?: string | null; alg?: string } = {},
): Promise<string> {
  const t = now();
  const payload: Record<string, unknown> = {
    iss: stack.config.auth.issuer,
    aud: stack.config.auth.audience,
    sub: sub('crafted'),
    iat: t,
    exp: t + 600,
    permissions: [],
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const kid = opts.kid === undefined ? issuerJwk.kid : opts.kid;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', typ: 'at+jwt', ...(kid === null ? {} : { kid }) })
    .sign(opts.key ?? issuerKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Every route a bearer token guards, as a user would call it. */
const guarded = [
  { method: 'GET', path: '/v1/me' },
  { method: 'POST', path: '/v1/signup', json: signupBody },
] as const;

function send(route: (typeof guarded)[number], headers: Record<string, string>): Promise<JsonResponse> {
  return call(stack, route.method, route.path, { headers, ...('json' in route ? { json: route.json } : {}) });
}

/** Why the last token was refused, as the API logged it (the answer itself names no check). */
function lastRefusalReason(): string | undefined {
  const lines = stack.apiLog.map((l) => JSON.parse(l) as { msg?: string; reason?: string });
  return lines.filter((l) => l.msg === 'access token refused').at(-1)?.reason;
}

/** A 401 problem with a Bearer challenge, that does not repeat `secret` anywhere. */
function expectRefused(res: JsonResponse, secret?: string, error?: 'invalid_token') {
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: 'https://cra.dev/problems/unauthenticated',
    status: 401,
    title: 'Authentication required',
    detail: expect.any(String),
  });
  const challenge = res.headers.get('www-authenticate');
  expect(challenge).toMatch(/^Bearer realm="cra"/);
  if (error) {
    expect(challenge).toBe(`Bearer realm="cra", error="${error}"`);
    expect(res.body).toMatchObject({ detail: refusedDetail });
  }
  if (secret) {
    const everything = JSON.stringify(res.body) + JSON.stringify([...res.headers.entries()]);
    expect(everything).not.toContain(secret);
    // Not even the signature or the claims segment.
    for (const part of secret.split('.')) if (part.length > 16) expect(everything).not.toContain(part);
  }
}

/** No signup workflow and no account for the subject: the refused call changed nothing. */
async function expectNothingStarted(subject: string) {
  await expect(stack.temporal.workflow.getHandle(`signup/${subject}`).describe()).rejects.toMatchObject({
    name: 'WorkflowNotFoundError',
  });
  expect(await stack.db.collection(collections.accounts).countDocuments({ 'rootIdentity.subject': subject })).toBe(0);
}

describe.each(guarded)('$method $path refuses', (route) => {
  it('a call without a token', async () => {
    const res = await send(route, {});
    expectRefused(res);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="cra"');
    expect(res.body).toMatchObject({ instance: route.path });
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['two tokens', 'Bearer abc.def.ghi jkl.mno.pqr'],
    ['the token without a scheme', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
    ['a token with characters a token cannot hold', 'Bearer abc.d"ef.ghi'],
  ])('a malformed Authorization header: %s', async (_name, authorization) => {
    expectRefused(await send(route, { authorization }));
  });

  it('a token that is not a JWT', async () => {
    const token = 'not-a-jwt-at-all-0123456789abcdefghijklmnopqrstuvwxyz';
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('malformed');
  });

  it('an expired token', async () => {
    const token = await craft({ sub: sub('expired'), iat: now() - 7200, exp: now() - 3600 });
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('expired');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="cra", error="invalid_token"');
  });

  it('a token expired by more than the leeway', async () => {
    const token = await craft({
      sub: sub('expired-past-leeway'),
      iat: now() - 600,
      exp: now() - stack.config.auth.clockToleranceSeconds - 15,
    });
    expectRefused(await send(route, { authorization: `Bearer ${token}` }), token, 'invalid_token');
  });

  it('a token not valid before a time in the future', async () => {
    const token = await craft({ sub: sub('not-yet'), nbf: now() + 300 });
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('"nbf"');
  });

  it('a token for another audience', async () => {
    const token = await craft({ sub: sub('wrong-aud'), aud: 'https://other-api.example.com' });
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('"aud"');
  });

  it('a token from another issuer', async () => {
    const token = await craft({ sub: sub('wrong-iss'), iss: 'https://evil.example.com/' });
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('"iss"');
  });

  it('an unsigned token (alg: none)', async () => {
    const t = now();
    const token = new UnsecuredJWT({ permissions: ['support:read'] })
      .setIssuer(stack.config.auth.issuer)
      .setAudience(stack.config.auth.audience)
      .setSubject(sub('alg-none'))
      .setIssuedAt(t)
      .setExpirationTime(t + 600)
      .encode();
    expect(token.endsWith('.')).toBe(true);
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('RS256');
    // The same, claiming the issuer's kid.
    const withKid = `${b64url({ alg: 'none', typ: 'JWT', kid: issuerJwk.kid })}.${token.split('.')[1]}.`;
    expectRefused(await send(route, { authorization: `Bearer ${withKid}` }), withKid, 'invalid_token');
  });

  it('an HS256 token signed with the issuer public key as the secret (key confusion)', async () => {
    const publicKey = await importJWK({ kty: issuerJwk.kty, n: issuerJwk.n, e: issuerJwk.e }, 'RS256', {
      extractable: true,
    });
    const pem = await exportSPKI(publicKey as CryptoKey);
    const publicJwk = JSON.stringify(await exportJWK(publicKey));
    for (const secret of [pem, pem.trim(), publicJwk, issuerJwk.n!]) {
      const t = now();
      const token = await new SignJWT({ permissions: ['support:read'] })
        .setProtectedHeader({ alg: 'HS256', kid: issuerJwk.kid })
        .setIssuer(stack.config.auth.issuer)
        .setAudience(stack.config.auth.audience)
        .setSubject(sub('key-confusion'))
        .setIssuedAt(t)
        .setExpirationTime(t + 600)
        .sign(new TextEncoder().encode(secret));
      const res = await send(route, { authorization: `Bearer ${token}` });
      expectRefused(res, token, 'invalid_token');
      expect(lastRefusalReason()).toContain('RS256');
    }
  });

  it('a token signed by another key with an unknown kid', async () => {
    const token = await craft({ sub: sub('unknown-kid') }, { key: otherKey, kid: 'someone-elses-key' });
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('unknown key');
  });

  it('a token signed by another key that claims the issuer kid, or no kid', async () => {
    for (const kid of [issuerJwk.kid, null]) {
      const token = await craft({ sub: sub('stolen-kid') }, { key: otherKey, kid });
      expectRefused(await send(route, { authorization: `Bearer ${token}` }), token, 'invalid_token');
    }
  });

  it('a valid token with a bad signature', async () => {
    const token = await craft({ sub: sub('bad-signature') });
    const [head, body, sig] = token.split('.') as [string, string, string];
    const bytes = Buffer.from(sig, 'base64url');
    for (const at of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[at] = flipped[at]! ^ 0xff;
      const forged = `${head}.${body}.${flipped.toString('base64url')}`;
      const res = await send(route, { authorization: `Bearer ${forged}` });
      expectRefused(res, forged, 'invalid_token');
      expect(lastRefusalReason()).toContain('signature');
    }
    // A valid signature over other claims.
    const other = (await craft({ sub: sub('someone-else'), permissions: ['support:read'] })).split('.')[1];
    const spliced = `${head}.${other}.${sig}`;
    expectRefused(await send(route, { authorization: `Bearer ${spliced}` }), spliced, 'invalid_token');
  });

  it('a token without a subject', async () => {
    const token = await craft({ sub: undefined });
    const res = await send(route, { authorization: `Bearer ${token}` });
    expectRefused(res, token, 'invalid_token');
    expect(lastRefusalReason()).toContain('"sub"');
  });

  it('a token with an empty subject', async () => {
    for (const sub of ['', '   ']) {
      const token = await craft({ sub });
      const res = await send(route, { authorization: `Bearer ${token}` });
      expectRefused(res, token, 'invalid_token');
      expect(lastRefusalReason()).toContain('"sub"');
    }
  });

  it('a token without an expiry', async () => {
    const token = await craft({ sub: sub('no-exp'), exp: undefined });
    expectRefused(await send(route, { authorization: `Bearer ${token}` }), token, 'invalid_token');
  });
});

describe('refused signups write nothing', () => {
  it('starts no workflow and creates no account for any refused token', async () => {
    const subjects = [
      sub('crafted'),
      sub('expired'),
      sub('expired-past-leeway'),
      sub('not-yet'),
      sub('wrong-aud'),
      sub('wrong-iss'),
      sub('alg-none'),
      sub('key-confusion'),
      sub('unknown-kid'),
      sub('stolen-kid'),
      sub('bad-signature'),
      sub('someone-else'),
      sub('no-exp'),
      '',
      '   ',
    ];
    for (const subject of subjects) await expectNothingStarted(subject);
    expect(await stack.db.collection(collections.accounts).countDocuments()).toBe(0);
  });
});

describe('valid tokens', () => {
  it('get through: /v1/me answers 404 before signup, signup answers 202', async () => {
    const token = await tokenFor(stack, sub('valid-caller'));
    const me = await call(stack, 'GET', '/v1/me', { token });
    expect(me.status).toBe(404);
    expect(me.body).toMatchObject({ type: 'https://cra.dev/problems/account-not-found', status: 404 });
    expect(JSON.stringify(me.body)).not.toContain(token);

    const signup = await call(stack, 'POST', '/v1/signup', { token, json: signupBody });
    expect(signup.status).toBe(202);
    expect(signup.body).toMatchObject({ workflowId: `signup/${sub('valid-caller')}` });
  });

  it('are accepted with the scheme in any case and a trailing space', async () => {
    const token = await tokenFor(stack, sub('scheme-case'));
    for (const authorization of [`bearer ${token}`, `BEARER ${token}`, `Bearer  ${token} `]) {
      expect((await call(stack, 'GET', '/v1/me', { headers: { authorization } })).status).toBe(404);
    }
  });

  it('are accepted when expired by less than the leeway, or valid from within the leeway', async () => {
    const leeway = stack.config.auth.clockToleranceSeconds;
    expect(leeway).toBe(30);
    const justExpired = await craft({ sub: sub('just-expired'), iat: now() - 600, exp: now() - 10 });
    const res = await call(stack, 'GET', '/v1/me', { headers: { authorization: `Bearer ${justExpired}` } });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'https://cra.dev/problems/account-not-found' });

    const almostValid = await craft({ sub: sub('almost-valid'), nbf: now() + 10 });
    expect((await call(stack, 'GET', '/v1/me', { headers: { authorization: `Bearer ${almostValid}` } })).status).toBe(
      404,
    );
  });

  it('signed by the issuer key (crafted here) are accepted', async () => {
    const token = await craft({ sub: sub('crafted-ok') });
    expect((await call(stack, 'GET', '/v1/me', { token })).status).toBe(404);
  });
});

describe('permissions', () => {
  it("hides someone else's workflow without support:read (404, as if missing), and shows it with", async () => {
    const owner = await tokenFor(stack, sub('perm-owner'));
    const started = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', { token: owner, json: signupBody });
    expect(started.status).toBe(202);
    const path = `/v1/workflows/${encodeURIComponent(started.body.workflowId)}`;

    expect((await call(stack, 'GET', path, { token: owner })).status).toBe(200);

    for (const permissions of [[], ['support:write', 'support:read:all'], ['SUPPORT:READ']]) {
      const res = await call(stack, 'GET', path, {
        token: await tokenFor(stack, sub('perm-stranger'), { permissions }),
      });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        type: 'https://cra.dev/problems/workflow-not-found',
        status: 404,
        title: 'No such workflow',
      });
    }

    // A permissions claim that is not a list of strings grants nothing.
    const odd = await craft({ sub: sub('perm-odd'), permissions: 'support:read' });
    expect((await call(stack, 'GET', path, { headers: { authorization: `Bearer ${odd}` } })).status).toBe(404);

    const support = await call(stack, 'GET', path, {
      token: await tokenFor(stack, sub('perm-agent'), { permissions: ['support:read'] }),
    });
    expect(support.status).toBe(200);
    expect(support.body).toMatchObject({ workflowId: started.body.workflowId, process: 'signup' });
  });

  it('asks for a token before saying whether a workflow exists', async () => {
    const res = await call(stack, 'GET', `/v1/workflows/${encodeURIComponent(`signup/${sub('perm-owner')}`)}`);
    expectRefused(res);
  });
});

describe('public routes need no token', () => {
  it('GET /v1/schema/account-center.json is the JSON Schema of the account center', async () => {
    const res = await call<Record<string, unknown>>(stack, 'GET', '/v1/schema/account-center.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/schema\+json/);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(res.body.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const root = res.body as {
      $ref?: string;
      type?: string;
      properties?: Record<string, unknown>;
      required?: string[];
    };
    expect(root.$ref).toBeUndefined();
    expect(root.type).toBe('object');
    expect(Object.keys(root.properties ?? {})).toEqual(
      expect.arrayContaining(['accountId', 'rootIdentity', 'connected_providers', 'consents', 'status']),
    );
    expect(root.required).toContain('connected_providers');
  });

  it('GET /v1/schema/account-center.json ignores a bad token rather than refusing it', async () => {
    const res = await call(stack, 'GET', '/v1/schema/account-center.json', {
      headers: { authorization: 'Bearer garbage' },
    });
    expect(res.status).toBe(200);
  });

  it('GET /healthz', async () => {
    const res = await call(stack, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz reports Temporal and MongoDB ready', async () => {
    const res = await call(stack, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { temporal: { ok: true }, mongodb: { ok: true } } });
  });

  it('GET /openapi.json describes the API and its bearer scheme', async () => {
    const res = await call<{
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>(stack, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.1/);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/signup',
        '/v1/me',
        '/v1/workflows/{workflowId}',
        '/v1/hooks/auth0/post-registration',
      ]),
    );
    expect(res.body.components.securitySchemes.bearerAuth).toEqual({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(res.body.paths['/v1/me']?.get?.security).toEqual([{ bearerAuth: [] }]);
    expect(res.body.paths['/v1/signup']?.post?.security).toEqual([{ bearerAuth: [] }]);
  });

  it('GET /.well-known/jwks.json serves the RS256 public key only', async () => {
    const server = await listen(stack);
    const res = await call<{ keys: Array<Record<string, unknown>> }>(server, 'GET', '/.well-known/jwks.json').finally(
      () => server.close(),
    );
    expect(res.status).toBe(200);
    expect(res.body.keys).toHaveLength(1);
    const [key] = res.body.keys;
    expect(key).toMatchObject({
      kty: 'RSA',
      alg: 'RS256',
      use: 'sig',
      kid: issuerJwk.kid,
      n: issuerJwk.n,
      e: issuerJwk.e,
    });
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) expect(key).not.toHaveProperty(secret);
    expect(JSON.stringify(res.body)).not.toContain(issuerJwk.d!);
  });
});
