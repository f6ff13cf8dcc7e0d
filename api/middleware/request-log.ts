/**
 * One log line per request: method, path, status, duration and the request id. Headers and bodies are
 * never logged. The request id is the one Kong's correlation-id plugin set (`X-Request-Id`), or a new one
 * when absent or malformed; it is echoed on the answer so a client can quote it.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

/** The header Kong's correlation-id plugin sets (kong/kong.yaml). */
export const requestIdHeader = 'X-Request-Id';
/** `@hono/node-server`'s mark on `RESPONSE_ALREADY_SENT`. */
const alreadySentHeader = 'x-hono-already-sent';
/** Ids we accept from upstream: short, printable, no spaces (nothing to inject into a log line). */
const acceptable = /^[A-Za-z0-9._:#-]{1,128}$/;

export const requestLog: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const started = performance.now();
  const given = c.req.header(requestIdHeader);
  const requestId = given && acceptable.test(given) ? given : randomUUID();
  try {
    await next();
  } finally {
    // Not on an answer already written to the socket (the embedded OpenID provider writes its own): it is gone.
    if (!c.res.headers.has(alreadySentHeader)) c.header(requestIdHeader, requestId);
  }
  const ms = Math.round((performance.now() - started) * 10) / 10;
  const level = c.res.status >= 500 ? 'error' : 'info';
  c.get('deps').log[level](
    { method: c.req.method, path: loggedPath(c.req.path), status: c.res.status, ms, requestId },
    'request',
  );
};

/** The path as logged: the local codec endpoint's secret segment never reaches a log line. */
export function loggedPath(path: string): string {
  return path.replace(/^\/v1\/codec\/local\/[^/]+/, '/v1/codec/local/[redacted]');
}
