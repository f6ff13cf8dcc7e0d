/**
 * Bearer-token authentication for `/v1`: RS256 access tokens verified against the issuer's JWKS (the
 * embedded issuer's keys, or Auth0's JWKS URL), with `iss`, `aud`, `exp`/`nbf`, an `iat` not in the future
 * and a small leeway.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type JWK } from 'jose';
import type { MiddlewareHandler } from 'hono';
import { accountIdOf } from '../../activities/erasure/subject-accounts.js';
import { vaultOf } from '../adapters.js';
import { respondProblem } from '../problem.js';
import type { ApiEnv, Principal } from '../context.js';

export interface BearerOptions {
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  /** Remote JWKS (Auth0) or a local key set (embedded issuer). */
  jwks: { url: string } | { keys: JWK[] };
  /**
   * When the subject's sessions were last revoked (ms since the epoch), for issuers that cannot revoke
   * their own tokens (the embedded one). Tokens issued before it are refused.
   */
  sessionsRevokedAt?: (subject: string) => Promise<number | undefined>;
}

export function keyResolver(jwks: BearerOptions['jwks']): JWTVerifyGetKey {
  return 'url' in jwks
    ? createRemoteJWKSet(new URL(jwks.url), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
    : createLocalJWKSet({ keys: jwks.keys });
}

/** RFC 6750 §3: the challenge a client gets with a 401 (no `error_description`: it would say which check failed). */
function challenge(error?: string): string {
  const parts = ['realm="cra"'];
  if (error) parts.push(`error="${error}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** What every refused token is told, whichever check failed (RFC 6750 §3.1 `invalid_token`). */
export const refusedDetail =
  'The access token was refused: it is malformed, expired, not yet valid, revoked, or not issued for this API. Get a new one.';

/** Why a token was refused, for the log (never the token itself, never sent back). */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'iat' && err.reason === 'in_the_future')
    return 'the token\'s "iat" (issued at) lies in the future, beyond the clock tolerance';
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'iat' && err.reason === 'check_failed')
    return "the token was issued before this account's sessions were revoked";
  if (err instanceof errors.JWTClaimValidationFailed) return `the token's "${err.claim}" claim is not accepted`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is not signed with RS256';
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token is signed with an unknown key';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'the token is malformed';
  return 'the token could not be verified';
}

export function bearerAuth(opts: BearerOptions): MiddlewareHandler<ApiEnv> {
  const getKey = keyResolver(opts.jwks);
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header?.match(/^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i);
    if (!match) {
      return respondProblem(c, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.', {
        'www-authenticate': challenge(),
      });
    }
    try {
      const { payload } = await jwtVerify(match[1]!, getKey, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: ['RS256'],
        clockTolerance: opts.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      // `requiredClaims` only checks presence: an empty subject would name no one (and one shared account).
      if (!payload.sub?.trim())
        throw new errors.JWTClaimValidationFailed('"sub" claim must not be empty', payload, 'sub', 'check_failed');
      // jose checks `iat` only against a maxTokenAge: a token dated ahead would also outlive a revocation below.
      if (payload.iat! > Math.floor(Date.now() / 1000) + opts.clockToleranceSeconds) {
        throw new errors.JWTClaimValidationFailed(
          '"iat" claim timestamp lies in the future',
          payload,
          'iat',
          'in_the_future',
        );
      }
      let revokedAt: number | undefined;
      try {
        revokedAt = await opts.sessionsRevokedAt?.(payload.sub);
      } catch {
        return respondProblem(
          c,
          'unavailable',
          'The identity directory could not be reached to check the token; try again shortly.',
          { 'retry-after': '5' },
        );
      }
      // Whole seconds, as `iat` is: a token issued in the same second as the revocation still counts.
      if (revokedAt !== undefined && payload.iat! < Math.floor(revokedAt / 1000)) {
        throw new errors.JWTClaimValidationFailed(
          "the token was issued before this account's sessions were revoked",
          payload,
          'iat',
          'check_failed',
        );
      }
      // The subject's account: derived from it, unless an erasure retired that id (then a new, empty one).
      let accountId: string;
      try {
        const deps = c.get('deps');
        accountId = await accountIdOf({ db: deps.db, vault: await vaultOf(deps) }, payload.sub);
      } catch {
        return respondProblem(c, 'unavailable', 'The account directory could not be reached; try again shortly.', {
          'retry-after': '5',
        });
      }
      const permissions = Array.isArray(payload.permissions)
        ? payload.permissions.filter((p): p is string => typeof p === 'string')
        : [];
      const principal: Principal = {
        subject: payload.sub!,
        accountId,
        permissions,
        ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
        emailVerified: payload.email_verified === true,
        ...(typeof payload.client_id === 'string'
          ? { clientId: payload.client_id }
          : typeof payload.azp === 'string'
            ? { clientId: payload.azp }
            : {}),
      };
      c.set('principal', principal);
    } catch (err) {
      // The issuer's key set could not be fetched: our dependency is down, the token may be fine.
      if (err instanceof errors.JWKSTimeout || (err instanceof TypeError && /fetch/i.test(err.message))) {
        return respondProblem(c, 'unavailable', 'The token issuer’s keys could not be fetched; try again shortly.', {
          'retry-after': '5',
        });
      }
      // One answer for every refusal, so a forger learns nothing of which check failed; the log says which.
      c.get('deps').log.info({ reason: reason(err), path: c.req.path }, 'access token refused');
      return respondProblem(c, 'unauthenticated', refusedDetail, {
        'www-authenticate': challenge('invalid_token'),
      });
    }
    return next();
  };
}
