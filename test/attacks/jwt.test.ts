/**
 * Attacks on bearer tokens, over real HTTP against the API as `api/main.ts` serves it: every forged,
 * stale, misdirected or oversized token gets one and the same 401 problem (nothing tells the attacker
 * which check failed), never a 5xx and never the resource; header tricks that point the verifier at
 * other keys (`jku`, `x5u`, `jwk`, `x5c`) fetch nothing. A valid token still works, as the control.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  type JWTHeaderParameters,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountIdForSubject } from '../../domain/account-id.js';
import { insertExistingPerson } from '../support/account-documents.js';
import { listen, useAppWithoutServer } from '../support/app.js';
import { call, tokenFor, type JsonResponse } from '../support/stack.js';

const app = useAppWithoutServer();
let api: { baseUrl: string; close(): Promise<void> };
let issuerJwk: JWK & { kid: string };
let issuerKey: CryptoKey;
let rsaForeign: { privateKey: CryptoKey; publicJwk: JWK };
let ecForeign: { privateKey: CryptoKey; publicJwk: JWK };

/** A server an attacker would point `jku`/`x5u` at: it serves the attacker's key set and counts requests. */
let lure: Server;
let lureUrl: string;
const lureRequests: string[] = [];

const tag = randomBytes(3).toString('hex');
const victim = `auth0|jwt-attack-${tag}-victim`;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  issuerJwk = JSON.parse(readFileSync(join(app.env.CRA_DATA_DIR!, 'keys', 'issuer-rs256.json'), 'utf8')) as JWK & {
    kid: string;
  };
  issuerKey = (await importJWK(issuerJwk, 'RS256')) as CryptoKey;
  for (const [alg, set] of [
    ['RS256', (k: typeof rsaForeign) => (rsaForeign = k)],
    ['ES256', (k: typeof ecForeign) => (ecForeign = k)],
  ] as const) {
    const pair = await generateKeyPair(alg, { extractable: true });
    set({ privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), alg } });
  }
  lure = createServer((req, res) => {
    lureRequests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [{ ...rsaForeign.publicJwk, kid: issuerJwk.kid, use: 'sig' }] }));
  });
  await new Promise<void>((resolve) => lure.listen(0, '127.0.0.1', resolve));
  lureUrl = `http://127.0.0.1:${(lure.address() as AddressInfo).port}`;
  // The victim has an account: a token that got through would read it.
  await insertExistingPerson(app.db, {
    subject: victim,
    accountId: accountIdForSubject(victim),
    email: `jwt-attack-${tag}@example.com`,
    at: new Date().toISOString(),
    profile: { givenName: 'Victim' },
  });
  api = await listen(app);
});

afterAll(async () => {
  await api?.close();
  await new Promise<void>((resolve) => (lure ? lure.close(() => resolve()) : resolve()));
});

/** The issuer's claims for the victim, changed as asked (undefined removes one). */
function claims(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const t = now();
  const payload: Record<string, unknown> = {
    iss: app.config.auth.issuer,
    aud: app.config.auth.audience,
    sub: victim,
    iat: t,
    exp: t + 600,
    permissions: [],
    ...changes,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return payload;
}

async function sign(
  payload: Record<string, unknown>,
  key: CryptoKey | Uint8Array,
  header: Partial<JWTHeaderParameters> & { alg: string },
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ typ: 'at+jwt', ...header }).sign(key);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** What a reader of the response could tell apart: everything but the request-specific `instance`. */
function fingerprint(res: JsonResponse): string {
  const { instance: _instance, ...body } = res.body as Record<string, unknown>;
  return JSON.stringify({
    status: res.status,
    contentType: res.headers.get('content-type'),
    challenge: res.headers.get('www-authenticate'),
    body,
  });
}

/** The resources a token would reach: the victim's account and the support queue. */
const targets = [
  { path: '/v1/me', leak: 'Victim' },
  { path: '/v1/support/queue', leak: '"items"' },
] as const;

async function refusedAlike(token: string): Promise<string> {
  const prints: string[] = [];
  for (const { path, leak } of targets) {
    const res = await call(api, 'GET', path, { token });
    expect(res.status, `${path} answered ${res.status}: ${JSON.stringify(res.body)}`).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: 'https://cra.dev/problems/unauthenticated',
      status: 401,
      title: 'Authentication required',
    });
    const text = JSON.stringify(res.body) + JSON.stringify([...res.headers.entries()]);
    expect(text).not.toContain(leak);
    for (const part of token.split('.')) if (part.length > 16) expect(text).not.toContain(part);
    prints.push(fingerprint(res));
  }
  expect(prints[0]).toBe(prints[1]);
  return prints[0]!;
}

/** Every attack below, by name: a token to send. */
const attacks: Array<[string, () => Promise<string>]> = [
  ['alg none', async () => new UnsecuredJWT(claims({ permissions: ['support:read'] })).encode() satisfies string],
  [
    'alg none claiming the issuer kid',
    async () => `${b64url({ alg: 'none', kid: issuerJwk.kid })}.${b64url(claims())}.`,
  ],
  [
    'alg "None" with a signature segment',
    async () => `${b64url({ alg: 'None', kid: issuerJwk.kid })}.${b64url(claims())}.${b64url('x')}`,
  ],
  [
    'HS256 keyed with the issuer public key as PEM',
    async () => {
      const publicKey = await importJWK({ kty: 'RSA', n: issuerJwk.n, e: issuerJwk.e }, 'RS256', { extractable: true });
      const pem = await exportSPKI(publicKey as CryptoKey);
      return sign(claims({ permissions: ['support:read'] }), new TextEncoder().encode(pem), {
        alg: 'HS256',
        kid: issuerJwk.kid,
      });
    },
  ],
  [
    'HS256 keyed with the issuer public key as JWK JSON',
    async () => {
      const { kty, n, e, kid, alg, use } = issuerJwk;
      return sign(claims(), new TextEncoder().encode(JSON.stringify({ kty, n, e, kid, alg, use })), {
        alg: 'HS256',
        kid: issuerJwk.kid,
      });
    },
  ],
  [
    'expired',
    () => sign(claims({ iat: now() - 7200, exp: now() - 3600 }), issuerKey, { alg: 'RS256', kid: issuerJwk.kid }),
  ],
  [
    'not valid before a future time',
    () => sign(claims({ nbf: now() + 600 }), issuerKey, { alg: 'RS256', kid: issuerJwk.kid }),
  ],
  [
    'issued in the future',
    () => sign(claims({ iat: now() + 3600, exp: now() + 7200 }), issuerKey, { alg: 'RS256', kid: issuerJwk.kid }),
  ],
  [
    'another audience',
    () => sign(claims({ aud: 'https://other-api.example' }), issuerKey, { alg: 'RS256', kid: issuerJwk.kid }),
  ],
  [
    'another issuer',
    () => sign(claims({ iss: 'https://evil.example/' }), issuerKey, { alg: 'RS256', kid: issuerJwk.kid }),
  ],
  ['an unknown kid', () => sign(claims(), rsaForeign.privateKey, { alg: 'RS256', kid: `unknown-${tag}` })],
  [
    'a foreign RSA key with the issuer kid',
    () => sign(claims(), rsaForeign.privateKey, { alg: 'RS256', kid: issuerJwk.kid }),
  ],
  [
    'a foreign EC key with the issuer kid',
    () => sign(claims(), ecForeign.privateKey, { alg: 'ES256', kid: issuerJwk.kid }),
  ],
  [
    'jku pointing at the attacker’s key set',
    () => sign(claims(), rsaForeign.privateKey, { alg: 'RS256', kid: issuerJwk.kid, jku: `${lureUrl}/jwks.json` }),
  ],
  [
    'x5u pointing at the attacker’s certificate',
    () =>
      sign(claims(), rsaForeign.privateKey, { alg: 'RS256', kid: issuerJwk.kid, x5u: `${lureUrl}/cert.pem` } as never),
  ],
  [
    'an embedded jwk of the attacker’s key',
    () =>
      sign(claims(), rsaForeign.privateKey, {
        alg: 'RS256',
        kid: issuerJwk.kid,
        jwk: { kty: 'RSA', n: rsaForeign.publicJwk.n!, e: rsaForeign.publicJwk.e! },
      }),
  ],
  [
    'forged permissions signed by a foreign key',
    () =>
      sign(
        claims({ permissions: ['support:read', 'support:write', 'recovery:approve'], roles: ['admin'] }),
        rsaForeign.privateKey,
        {
          alg: 'RS256',
          kid: issuerJwk.kid,
        },
      ),
  ],
  [
    'forged permissions spliced under the issuer’s signature',
    async () => {
      const real = await tokenFor(app, victim);
      const [head, , signature] = real.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      return `${head}.${b64url({ ...payload, permissions: ['support:read', 'support:write'] })}.${signature}`;
    },
  ],
  [
    'a 64 KiB claim set',
    () => sign(claims({ padding: 'A'.repeat(64 * 1024) }), issuerKey, { alg: 'RS256', kid: issuerJwk.kid }),
  ],
];

describe('a forged, stale or misdirected token', () => {
  it.each(attacks)('%s: the one generic 401 problem, nothing of the resource', async (_name, make) => {
    const token = await make();
    if (token.length > 8 * 1024) {
      // Too large to be a token: refused before any verification, as 431 (or 413), still problem+json.
      for (const { path } of targets) {
        const res = await call(api, 'GET', path, { token });
        expect([401, 413, 431]).toContain(res.status);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(JSON.stringify(res.body)).not.toContain('Victim');
      }
      return;
    }
    await refusedAlike(token);
  });

  it('gets the same answer whichever check failed (no oracle)', async () => {
    const prints = new Map<string, string[]>();
    for (const [name, make] of attacks) {
      const token = await make();
      if (token.length > 8 * 1024) continue;
      const print = await refusedAlike(token);
      prints.set(print, [...(prints.get(print) ?? []), name]);
    }
    expect([...prints.values()], 'refusals that can be told apart').toHaveLength(1);
    // A garbage token and a missing header differ only in RFC 6750's `error` code (no token, no error).
    const garbage = await call(api, 'GET', '/v1/me', { token: 'not.a.jwt' });
    expect(fingerprint(garbage)).toBe([...prints.keys()][0]);
    const challenge = garbage.headers.get('www-authenticate');
    expect(challenge).toBe('Bearer realm="cra", error="invalid_token"');
  });

  it('fetched nothing from a URL in a token header', () => {
    expect(lureRequests).toEqual([]);
  });

  it('a 64 KiB Authorization header: 431 problem+json, never 5xx', async () => {
    const res = await fetch(`${api.baseUrl}/v1/me`, {
      headers: { authorization: `Bearer ${'A'.repeat(64 * 1024)}` },
    });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 431 });
  });
});

describe('the control', () => {
  it('a valid token reads the account; it grants no permission it does not carry', async () => {
    const token = await tokenFor(app, victim);
    const me = await call<{ accountId: string }>(api, 'GET', '/v1/me', { token });
    expect(me.status).toBe(200);
    expect(me.body.accountId).toBe(accountIdForSubject(victim));
    const queue = await call(api, 'GET', '/v1/support/queue', { token });
    expect(queue.status).toBe(403);
    const support = await tokenFor(app, `auth0|jwt-attack-${tag}-support`, { permissions: ['support:read'] });
    expect((await call(api, 'GET', '/v1/support/queue', { token: support })).status).toBe(200);
  });
});

describe('a token the API has verified before', () => {
  it('is refused once it expires, although its signature is not checked again', async () => {
    // Valid for two or three more seconds: `exp` lies in the past, within the clock tolerance.
    const tolerance = app.config.auth.clockToleranceSeconds;
    const t = now();
    const token = await sign(claims({ iat: t - 120, exp: t - tolerance + 3 }), issuerKey, {
      alg: 'RS256',
      kid: issuerJwk.kid,
    });
    expect((await call(api, 'GET', '/v1/me', { token })).status).toBe(200);
    expect((await call(api, 'GET', '/v1/me', { token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 4_100));
    const refused = await call(api, 'GET', '/v1/me', { token });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('with one character changed is verified anew and refused', async () => {
    const token = await tokenFor(app, victim);
    expect((await call(api, 'GET', '/v1/me', { token })).status).toBe(200);
    const [header, payload, signature] = token.split('.');
    const flipped = `${header}.${payload}.${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await call(api, 'GET', '/v1/me', { token: flipped })).status).toBe(401);
  });
});
