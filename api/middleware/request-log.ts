/** One log line per request: method, path, status, duration. Headers and bodies are never logged. */
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

export const requestLog: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const started = performance.now();
  await next();
  const ms = Math.round((performance.now() - started) * 10) / 10;
  const level = c.res.status >= 500 ? 'error' : 'info';
  c.get('deps').log[level]({ method: c.req.method, path: c.req.path, status: c.res.status, ms }, 'request');
};
