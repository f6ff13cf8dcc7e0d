/** The sandbox's admin routes answer only to `Authorization: Bearer <adminToken>`; they exist only when one is configured. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { sendJson } from './http-io.js';
import type { RouteHandler } from './router.js';

export type AdminOnly = (handler: RouteHandler) => RouteHandler;

export function adminOnly(adminToken: string): AdminOnly {
  // Compared as digests: equal lengths for timingSafeEqual, and the token's length does not leak.
  const expected = digest(adminToken);
  return (handler) => (req, res, params, url) => {
    const presented = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      res.setHeader('www-authenticate', 'Bearer realm="sandbox-admin"');
      return sendJson(res, 401, { error: 'invalid_token' });
    }
    return handler(req, res, params, url);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
