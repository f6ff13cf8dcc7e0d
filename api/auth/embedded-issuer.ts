/**
 * The embedded token issuer for development and tests: an RS256 key pair created on first start under
 * the data folder, its public half served as JWKS, and access tokens shaped like Auth0's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

export interface IssueTokenInput {
  subject: string;
  email?: string;
  emailVerified?: boolean;
  permissions?: string[];
  /** Lifetime in seconds. */
  ttlSeconds?: number;
  /** The OAuth client the token was issued to (`client_id`, RFC 9068); the command-line default is `cra-cli`. */
  clientId?: string;
}

export class EmbeddedIssuer {
  private constructor(
    private readonly privateJwk: JWK & { kid: string },
    readonly issuer: string,
    readonly audience: string,
  ) {}

  /** Load the key pair from `<dataDir>/keys/issuer-rs256.json`, creating it the first time. */
  static async load(opts: { dataDir: string; issuer: string; audience: string }): Promise<EmbeddedIssuer> {
    const file = join(opts.dataDir, 'keys', 'issuer-rs256.json');
    let jwk: (JWK & { kid: string }) | undefined;
    try {
      jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid: string };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!jwk) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
      const exported = await exportJWK(privateKey);
      const created = { ...exported, kid: await calculateJwkThumbprint(exported), alg: 'RS256', use: 'sig' };
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      try {
        // `wx`: when the API and `npm run token` start together, the first writer wins and both use its key.
        writeFileSync(file, JSON.stringify(created), { flag: 'wx', mode: 0o600 });
        jwk = created;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid: string };
      }
    }
    return new EmbeddedIssuer(jwk, opts.issuer, opts.audience);
  }

  /** The private signing key, for the embedded OpenID provider (which signs with the same key). */
  signingJwk(): JWK {
    return { ...this.privateJwk };
  }

  /** The public key set, as served at `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] } {
    const { kty, n, e, kid, alg, use } = this.privateJwk;
    return { keys: [{ kty, n, e, kid, alg, use }] };
  }

  /** A signed access token with iss, aud, sub, iat, exp and the Auth0-style `permissions` claim. */
  async issue(input: IssueTokenInput): Promise<string> {
    const key = await importJWK(this.privateJwk, 'RS256');
    const claims: Record<string, unknown> = {
      permissions: input.permissions ?? [],
      client_id: input.clientId ?? 'cra-cli',
    };
    if (input.email) {
      claims.email = input.email;
      claims.email_verified = input.emailVerified ?? true;
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: this.privateJwk.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(input.subject)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${input.ttlSeconds ?? 3600}s`)
      .sign(key);
  }
}
