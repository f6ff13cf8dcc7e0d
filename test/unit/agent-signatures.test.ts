/**
 * The RFC 9421 subset agents sign with: the RFC's own Ed25519 test vector (B.2.6) byte for byte, an
 * independent implementation (`http-message-signatures`) as the signer, and every way a signature fails.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { httpbis } from 'http-message-signatures';
import { describe, expect, it } from 'vitest';
import {
  contentDigest,
  parseDictionary,
  serializeSignatureParams,
  signatureBase,
  signRequest,
  verifyRequestSignature,
  type SignedRequest,
} from '../../api/auth/http-signatures.js';

/** RFC 9421 Appendix B.1.4 test-key-ed25519, as JWK (private seed `d`, public `x`). */
const rfcKey = {
  kty: 'OKP',
  crv: 'Ed25519',
  d: 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU',
  x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs',
};
const rfcSignatureInput =
  'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
const rfcSignature = 'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==';

describe('RFC 9421 B.2.6 (Ed25519)', () => {
  const member = parseDictionary(rfcSignatureInput).get('sig-b26')!;
  const components = (member.value as Array<{ item: string }>).map((c) => c.item);
  const values = new Map([
    ['date', 'Tue, 20 Apr 2021 02:07:55 GMT'],
    ['@method', 'POST'],
    ['@path', '/foo'],
    ['@authority', 'example.com'],
    ['content-type', 'application/json'],
    ['content-length', '18'],
  ]);
  const base = signatureBase(components, values, serializeSignatureParams(components, member.params));

  it('re-serializes the Signature-Input member exactly', () => {
    expect(`sig-b26=${serializeSignatureParams(components, member.params)}`).toBe(rfcSignatureInput);
  });

  it('builds the RFC signature base and, with the RFC key, the RFC signature', () => {
    expect(base).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      ].join('\n'),
    );
    const signature = sign(null, Buffer.from(base), createPrivateKey({ key: rfcKey, format: 'jwk' }));
    expect(signature.toString('base64')).toBe(rfcSignature);
  });

  it('parses the Signature dictionary into the signature bytes', () => {
    const parsed = parseDictionary(`sig-b26=:${rfcSignature}:`).get('sig-b26')?.value;
    expect(Buffer.isBuffer(parsed) && parsed.toString('base64')).toBe(rfcSignature);
  });
});

/** RFC 9530 B.1: `{"hello": "world"}` → sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=: */
it('computes the RFC 9530 Content-Digest', () => {
  expect(contentDigest('{"hello": "world"}')).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
});

describe('verifyRequestSignature', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const now = 1_900_000_000;
  const body = JSON.stringify({ email: 'ada@example.com' });
  const keyFor = async (id: string) => (id === 'agent-1' ? publicKey : undefined);
  const requestWith = (headers: Record<string, string>, overrides: Partial<SignedRequest> = {}): SignedRequest => ({
    method: 'POST',
    path: '/v1/agents/recoveries',
    body,
    header: (name) => headers[name.toLowerCase()],
    ...overrides,
  });
  const signed = (opts: Partial<Parameters<typeof signRequest>[0]> = {}) =>
    signRequest({
      method: 'POST',
      path: '/v1/agents/recoveries',
      body,
      keyId: 'agent-1',
      privateKey,
      created: now,
      ...opts,
    });
  const check = (headers: Record<string, string>, overrides: Partial<SignedRequest> = {}) =>
    verifyRequestSignature(requestWith(headers, overrides), keyFor, { windowSeconds: 300, nowSeconds: now });

  it('accepts a good signature', async () => {
    expect(await check(signed())).toMatchObject({ ok: true, keyId: 'agent-1', created: now });
  });

  it('accepts a signature made by an independent implementation (http-message-signatures)', async () => {
    const date = new Date(now * 1000).toUTCString();
    const digest = contentDigest(body);
    const message = await httpbis.signMessage(
      {
        key: { id: 'agent-1', alg: 'ed25519', sign: async (data: Buffer) => sign(null, data, privateKey) },
        fields: ['@method', '@path', 'date', 'content-digest'],
        params: ['created', 'keyid', 'alg'],
        paramValues: { created: new Date(now * 1000) },
      },
      { method: 'POST', url: 'https://cra.example/v1/agents/recoveries', headers: { date, 'content-digest': digest } },
    );
    const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    expect(await check(headers)).toMatchObject({ ok: true });
  });

  it.each([
    ['created too long ago', () => signed({ created: now - 301 }), 'created more than 300 s ago'],
    ['created in the future', () => signed({ created: now + 120 }), 'in the future'],
    ['signed with another key', () => signed({ privateKey: other.privateKey }), 'does not verify'],
    ['an unknown keyid', () => signed({ keyId: 'agent-2' }), 'no registered agent key'],
  ])('refuses %s', async (_what, headers, reason) => {
    const result = await check(headers());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('refuses a changed body, method or path', async () => {
    const headers = signed();
    expect(await check(headers, { body: JSON.stringify({ email: 'eve@example.com' }) })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Content-Digest'),
    });
    expect(await check(headers, { method: 'PUT' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not verify'),
    });
    expect(await check(headers, { path: '/v1/recoveries' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not verify'),
    });
  });

  it('refuses a signature that does not cover the four components, or none at all', async () => {
    const headers = signed();
    const partial = { ...headers, 'signature-input': headers['signature-input'].replace(' "content-digest"', '') };
    expect(await check(partial)).toMatchObject({ ok: false });
    expect(await check({})).toMatchObject({ ok: false, reason: expect.stringContaining('not signed') });
    expect(await check({ ...headers, signature: 'sig1=:AAAA:' })).toMatchObject({ ok: false });
    expect(await check({ ...headers, 'signature-input': 'sig1=(' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('malformed'),
    });
  });

  it('refuses a Date header outside the window even when created is fresh', async () => {
    expect(await check(signed({ date: new Date((now - 600) * 1000) }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Date'),
    });
  });

  it('reads the Ed25519 public key the agent registered', () => {
    const jwk = publicKey.export({ format: 'jwk' });
    expect(createPublicKey({ key: jwk, format: 'jwk' }).asymmetricKeyType).toBe('ed25519');
  });
});
