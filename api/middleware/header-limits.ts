/**
 * The Authorization header is capped below the parser's limit on all headers (`api/server.ts`): an access
 * token of a few KiB is normal, a longer one only costs us parsing and signature work.
 */
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';
import { respondProblem } from '../problem.js';

/**
 * All request headers together, as Node's parser counts them (enforced there, `api/server.ts`). 16 KiB is
 * Node's default and within what common gateways pass (nginx/Kong: 4 × 8 KiB buffers).
 */
export const maxHeaderBytes = 16 * 1024;
/** The `Authorization` header alone: an access token is a few KiB; anything longer is refused as 431. */
export const maxAuthorizationBytes = 8 * 1024;

export const authorizationLimit: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined && Buffer.byteLength(authorization) > maxAuthorizationBytes) {
    return respondProblem(
      c,
      'headers-too-large',
      `The Authorization header is larger than ${maxAuthorizationBytes / 1024} KiB.`,
      { connection: 'close' },
    );
  }
  return next();
};
