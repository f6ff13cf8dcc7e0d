/**
 * Bearer-token authentication for `/v1`: RS256 access tokens verified against the issuer's JWKS (the
 * embedded issuer's keys, or Auth0's JWKS URL), with `iss`, `aud`, `exp`/`nbf`, an `iat` not in the future
 * and a small leeway.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { MiddlewareHandler } from 'hono';
import { accountIdOf } from '../../activities/erasure/subject-accounts.js';
import { vaultOf } from '../adapters.js';
import { respondProblem } from '../problem.js';
import type { ApiDeps, ApiEnv, Principal } from '../context.js';
import { sharedReadsPer } from './shared-reads.js';

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

/** The subject's account id (`accountIdOf`: read every time), one read shared by its concurrent requests. */
const accountIdReadsOf = sharedReadsPer(
  (deps: ApiDeps) => async (subject: string) => accountIdOf({ db: deps.db, vault: await vaultOf(deps) }, subject),
);

/**
 * A token whose signature and claims checked out is not verified again for 30 s (RS256 verification is the
 * largest CPU cost of a bearer request): the exact same string, never past its `exp`. The keys it was checked
 * against do not change meanwhile (the embedded issuer's are fixed; Auth0's key set is cached for 10 minutes
 * by the resolver anyway). The revocation and account checks below still run on every request.
 */
const verifiedTokenMs = 30_000;
/** At most this many tokens remembered per process (the oldest go first): a few MiB. */
const verifiedTokenEntries = 5_000;

export function bearerAuth(opts: BearerOptions): MiddlewareHandler<ApiEnv> {
  const getKey = keyResolver(opts.jwks);
  const recent = new Map<string, { payload: JWTPayload; until: number }>();
  /** The token's claims once its signature and claims check out; a token seen recently is not verified again. */
  const verified = async (token: string): Promise<JWTPayload> => {
    const now = Date.now();
    const hit = recent.get(token);
    if (hit && now < hit.until) return hit.payload;
    if (hit) recent.delete(token);
    const { payload } = await jwtVerify(token, getKey, {
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
    if (payload.iat! > Math.floor(now / 1000) + opts.clockToleranceSeconds) {
      throw new errors.JWTClaimValidationFailed(
        '"iat" claim timestamp lies in the future',
        payload,
        'iat',
        'in_the_future',
      );
    }
    // Until jose would call it expired (`exp` plus the tolerance), and no longer than `verifiedTokenMs`.
    recent.set(token, {
      payload,
      until: Math.min(now + verifiedTokenMs, (payload.exp! + opts.clockToleranceSeconds) * 1000),
    });
    if (recent.size > verifiedTokenEntries) recent.delete(recent.keys().next().value!);
    return payload;
  };
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header?.match(/^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i);
    if (!match) {
      return respondProblem(c, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.', {
        'www-authenticate': challenge(),
      });
    }
    try {
      const payload = await verified(match[1]!);
      const subject = payload.sub!;
      // Both reads at once, each shared with the subject's concurrent requests (never older than this request).
      const [revoked, account] = await Promise.allSettled([
        opts.sessionsRevokedAt?.(subject),
        accountIdReadsOf(c.get('deps')).get(subject),
      ]);
      if (revoked.status === 'rejected')
        return respondProblem(
          c,
          'unavailable',
          'The identity directory could not be reached to check the token; try again shortly.',
          { 'retry-after': '5' },
        );
      const revokedAt = revoked.value;
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
      if (account.status === 'rejected')
        return respondProblem(c, 'unavailable', 'The account directory could not be reached; try again shortly.', {
          'retry-after': '5',
        });
      const accountId = account.value;
      const permissions = Array.isArray(payload.permissions)
        ? payload.permissions.filter((p): p is string => typeof p === 'string')
        : [];
      const principal: Principal = {
        subject,
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
