/**
 * The signed-in caller on a route that is public for other callers (a recovery's cancel: the owner may
 * use their session instead of the link). Same checks as the `/v1` bearer middleware.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiDeps, ApiEnv, Principal } from '../context.js';
import { bearerAuth } from './bearer.js';

const verifiers = new WeakMap<ApiDeps, MiddlewareHandler<ApiEnv>>();

/** The principal, or the 401 problem the bearer middleware answered with. */
export async function signedInCaller(c: Context<ApiEnv>): Promise<Principal | Response> {
  const deps = c.get('deps');
  let verifier = verifiers.get(deps);
  if (!verifier) {
    verifier = bearerAuth({
      issuer: deps.config.auth.issuer,
      audience: deps.config.auth.audience,
      clockToleranceSeconds: deps.config.auth.clockToleranceSeconds,
      jwks: deps.config.auth.jwksUrl ? { url: deps.config.auth.jwksUrl } : { keys: (deps.jwks?.keys ?? []) as never[] },
    }, () => false);
    verifiers.set(deps, verifier);
  }
  let principal: Principal | undefined;
  const refused = await verifier(c, async () => {
    principal = c.get('principal');
  });
  return principal ?? (refused as Response);
}
