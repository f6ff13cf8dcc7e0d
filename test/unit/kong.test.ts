/** kong/render.ts: the Auth0 JWKS becomes the `auth0` consumer's RS256 jwt_secrets (one per kid). */
import { createPublicKey, createVerify, generateKeyPairSync, createSign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { jwtSecretsOf, render } from '../../kong/render.js';
import { isTrustedPeer } from '../../api/middleware/rate-limit.js';

const source = readFileSync(new URL('../../kong/kong.yaml', import.meta.url), 'utf8');
const rsaJwk = (kid: string) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }, privateKey };
};

describe('kong/render.ts', () => {
  it('writes one RS256 credential per signing key, whose PEM verifies that key’s signatures', () => {
    const current = rsaJwk('current-kid');
    const next = rsaJwk('next-kid');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const out = parse(
      render(source, {
        jwks: { keys: [current.jwk, next.jwk, { ...ec, kid: 'ec-kid' }] },
        upstream: 'http://cra-api.prod.svc:3000/',
        origin: 'https://account.cra.dev/anything',
      }),
    ) as {
      services: { name: string; url: string }[];
      consumers: { username: string; jwt_secrets: { key: string; algorithm: string; rsa_public_key: string }[] }[];
      plugins: { name: string; config: { origins?: string[] } }[];
    };
    const secrets = out.consumers.find((c) => c.username === 'auth0')?.jwt_secrets ?? [];
    expect(secrets.map((s) => [s.key, s.algorithm])).toEqual([
      ['current-kid', 'RS256'],
      ['next-kid', 'RS256'],
    ]);
    for (const [i, k] of [current, next].entries()) {
      const signature = createSign('sha256').update('header.payload').sign(k.privateKey);
      const pem = secrets[i]?.rsa_public_key ?? '';
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      expect(createVerify('sha256').update('header.payload').verify(createPublicKey(pem), signature)).toBe(true);
    }
    expect(out.services.find((s) => s.name === 'cra-api')?.url).toBe('http://cra-api.prod.svc:3000');
    expect(out.plugins.find((p) => p.name === 'cors')?.config.origins).toEqual(['https://account.cra.dev']);
  });

  it('refuses a JWKS without an RS256 signing key', () => {
    expect(() => jwtSecretsOf({ keys: [] })).toThrow(/no RS256 signing key/);
    expect(() => render(source, { jwks: { keys: [] }, upstream: 'http://cra-api:3000' })).toThrow(/no RS256/);
  });

  it('runs as a command over a saved JWKS file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kong-render-'));
    try {
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [rsaJwk('file-kid').jwk] }));
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'kong/render.ts',
          '--jwks',
          join(dir, 'jwks.json'),
          '--upstream',
          'http://api:3000',
          '--out',
          join(dir, 'out.yaml'),
        ],
        { stdio: 'pipe' },
      );
      const out = parse(readFileSync(join(dir, 'out.yaml'), 'utf8')) as {
        consumers: { jwt_secrets: { key: string }[] }[];
      };
      expect(out.consumers[0]?.jwt_secrets.map((s) => s.key)).toEqual(['file-kid']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** TRUSTED_PROXIES (Kong's addresses) as the API matches socket peers against it (node:net BlockList). */
describe('isTrustedPeer', () => {
  const proxies = ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'];
  it('matches addresses and CIDR ranges of both families, IPv4-mapped peers as IPv4', () => {
    expect(isTrustedPeer('10.42.0.9', proxies)).toBe(true);
    expect(isTrustedPeer('::ffff:10.42.0.9', proxies)).toBe(true);
    expect(isTrustedPeer('192.168.1.7', proxies)).toBe(true);
    expect(isTrustedPeer('fd00::1', proxies)).toBe(true);
  });
  it('refuses every other peer, and none at all', () => {
    expect(isTrustedPeer('11.0.0.1', proxies)).toBe(false);
    expect(isTrustedPeer('192.168.1.8', proxies)).toBe(false);
    expect(isTrustedPeer('::1', proxies)).toBe(false);
    expect(isTrustedPeer(undefined, proxies)).toBe(false);
    expect(isTrustedPeer('not-an-ip', proxies)).toBe(false);
  });
});
