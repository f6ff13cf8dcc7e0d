/**
 * Client authentication at a provider's token and revocation endpoints: `client_secret_post` (the secret in
 * the form) or `client_secret_basic` (RFC 6749 §2.3.1, HTTP Basic over the form-encoded id and secret), and
 * Apple's client secret, which is not a stored string but an ES256 JWT we sign with a key Apple issued.
 */
import { importPKCS8, SignJWT } from 'jose';
import type { ClientAuthMethod } from '../../domain/provider-catalog.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** How the token endpoint wants them; `client_secret_post` when unset. */
  method?: ClientAuthMethod;
}

/** The headers and form fields that carry the credentials by `method`; `none` sends nothing. */
export function clientAuthentication(
  credentials: ClientCredentials,
  method: ClientAuthMethod | 'none' = credentials.method ?? 'client_secret_post',
): { headers: Record<string, string>; form: Record<string, string> } {
  if (method === 'none') return { headers: {}, form: {} };
  if (method === 'client_secret_post')
    return { headers: {}, form: { client_id: credentials.clientId, client_secret: credentials.clientSecret } };
  // RFC 6749 §2.3.1: each part is form-urlencoded before joining, so a ':' in the id cannot split it wrongly.
  const basic = Buffer.from(
    `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
  ).toString('base64');
  return { headers: { authorization: `Basic ${basic}` }, form: {} };
}

/** The SecretVault secret `providers/apple` holds these instead of a client secret. */
export interface AppleSigningKey {
  teamId: string;
  keyId: string;
  /** The PKCS #8 PEM of the .p8 key Apple's developer portal issued. */
  privateKey: string;
}

export const appleAudience = 'https://appleid.apple.com';
/** Apple accepts up to six months; minutes are enough for the one call each secret is made for. */
const appleSecretTtlSeconds = 5 * 60;

/**
 * Apple's client secret, as "Creating a client secret" says
 * (https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret):
 * header `alg` ES256 and `kid` the key id; claims `iss` the team id, `iat`, `exp`, `aud`
 * https://appleid.apple.com and `sub` the client id (the Services ID).
 */
export async function appleClientSecret(
  key: AppleSigningKey,
  clientId: string,
  now: Date = new Date(),
  ttlSeconds = appleSecretTtlSeconds,
): Promise<string> {
  const signingKey = await importPKCS8(key.privateKey, 'ES256');
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.keyId })
    .setIssuer(key.teamId)
    .setSubject(clientId)
    .setAudience(appleAudience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(signingKey);
}

/** The Apple key in a SecretVault secret, when it holds one. */
export function appleSigningKeyOf(secret: Record<string, string> | undefined): AppleSigningKey | undefined {
  return secret?.teamId && secret.keyId && secret.privateKey
    ? { teamId: secret.teamId, keyId: secret.keyId, privateKey: secret.privateKey }
    : undefined;
}
