/**
 * Apple's client secret (https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret):
 * an ES256 JWT with `kid` the key id, `iss` the team id, `sub` the client id, `aud` https://appleid.apple.com
 * and a short expiry, signed with the key held in the SecretVault's `providers/apple`, and what resolving the
 * provider sends as `client_secret`. Checked with jose against the public half of the key, as Apple would.
 */
import { exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { appleClientSecret, appleSigningKeyOf } from '../../activities/providers/client-auth.js';
import { credentialPaths, resolveProvider } from '../../activities/providers/resolve.js';
import type { SecretVault } from '../../activities/secrets/port.js';
import { parseProviderConfig } from '../../domain/provider-config.js';

async function appleKey() {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey: await exportPKCS8(privateKey), publicKey: await exportSPKI(publicKey) };
}

describe("Apple's client secret", () => {
  it('is an ES256 JWT for Apple with the team, key and client ids, expiring within minutes', async () => {
    const key = await appleKey();
    const now = new Date();
    const secret = await appleClientSecret(
      { teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: key.privateKey },
      'com.example.cra.signin',
      now,
    );
    expect(decodeProtectedHeader(secret)).toEqual({ alg: 'ES256', kid: 'KEY1234567' });
    const { payload } = await jwtVerify(secret, await importSPKI(key.publicKey, 'ES256'), {
      issuer: 'TEAM123456',
      subject: 'com.example.cra.signin',
      audience: 'https://appleid.apple.com',
      algorithms: ['ES256'],
    });
    expect(payload.iat).toBe(Math.floor(now.getTime() / 1000));
    expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(10 * 60);
  });

  it('does not verify with another key', async () => {
    const [key, other] = [await appleKey(), await appleKey()];
    const secret = await appleClientSecret({ teamId: 'T', keyId: 'K', privateKey: key.privateKey }, 'client');
    await expect(jwtVerify(secret, await importSPKI(other.publicKey, 'ES256'))).rejects.toThrow();
  });

  it('is made from the SecretVault secret providers/apple (teamId, keyId, privateKey) when the provider is resolved', async () => {
    const key = await appleKey();
    const secrets: Record<string, Record<string, string>> = {
      [credentialPaths.real('apple')]: {
        clientId: 'com.example.cra.signin',
        teamId: 'TEAM123456',
        keyId: 'KEY1234567',
        privateKey: key.privateKey,
      },
    };
    const vault = { readSecret: async (path: string) => secrets[path] } as unknown as SecretVault;
    const { config } = parseProviderConfig({}, false);
    const resolved = await resolveProvider('apple', config, vault);
    expect(resolved.sandbox).toBe(false);
    expect(resolved.credentials).toMatchObject({ clientId: 'com.example.cra.signin', method: 'client_secret_post' });
    const { payload } = await jwtVerify(resolved.credentials.clientSecret, await importSPKI(key.publicKey, 'ES256'), {
      issuer: 'TEAM123456',
      subject: 'com.example.cra.signin',
      audience: 'https://appleid.apple.com',
    });
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('needs all three of team id, key id and private key', () => {
    expect(appleSigningKeyOf({ teamId: 'T', keyId: 'K' })).toBeUndefined();
    expect(appleSigningKeyOf(undefined)).toBeUndefined();
    expect(appleSigningKeyOf({ teamId: 'T', keyId: 'K', privateKey: 'P' })).toEqual({
      teamId: 'T',
      keyId: 'K',
      privateKey: 'P',
    });
  });
});
