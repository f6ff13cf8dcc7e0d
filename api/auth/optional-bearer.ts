/**
 * The signed-in caller on a route that is public for other callers (a recovery's cancel: the owner may
 * use their session instead of the link). The same verifier as `auth.bearer`, revocation check included.
 */
import type { Context } from 'hono';
import type { ApiEnv, Principal } from '../context.js';
import { inProcessPrincipalOf } from './in-process.js';
import { bearerVerifierOf } from './route-auth.js';

/** The principal, or the 401 problem the bearer check answered with. */
export async function signedInCaller(c: Context<ApiEnv>): Promise<Principal | Response> {
  const inProcess = inProcessPrincipalOf(c.env);
  if (inProcess) return inProcess;
  let principal: Principal | undefined;
  const refused = await bearerVerifierOf(c.get('deps'))(c, async () => {
    principal = c.get('principal');
  });
  return principal ?? (refused as Response);
}
