/**
 * Which methods a path has, from the app's own route table (`app.routes`), so a known path with another
 * method answers 405 with `Allow` instead of 404. Built once, on the first miss, after every mount.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { PatternRouter } from 'hono/router/pattern-router';

/** Methods that Hono serves without a route of their own: HEAD with every GET. */
const implied: Record<string, string[]> = { GET: ['HEAD'] };

/** `routes` as Hono lists them; middleware (`use`, method `ALL`) says nothing about the methods of a path. */
export function allowedMethods(routes: ReadonlyArray<{ method: string; path: string }>): (path: string) => string[] {
  let router: PatternRouter<string> | undefined;
  const statics = new Map<string, string[]>();
  return (path) => {
    if (!router) {
      router = new PatternRouter<string>();
      for (const r of routes) {
        if (r.method === 'ALL') continue;
        for (const m of [r.method, ...(implied[r.method] ?? [])]) {
          router.add('ALL', r.path, m);
          if (!/[:*]/.test(r.path)) statics.set(r.path, [...(statics.get(r.path) ?? []), m]);
        }
      }
    }
    const [matches] = router.match('ALL', path);
    // A path that is a route of its own (`…/passkeys/options`) is that resource, not a value of a sibling's
    // parameter (`…/passkeys/{factorId}`): its methods are its own routes'.
    const own = statics.get(path);
    return [...new Set(own ?? matches.map(([method]) => method))].sort();
  };
}

/**
 * Middleware: a request to a path that is a route of its own (`…/passkeys/options`) with a method that path
 * lacks is a 405 naming its methods, even where a sibling's parameter (`DELETE …/passkeys/{factorId}`) would
 * take it and answer about an id nobody sent. Reads `routes` on the first request, after every mount.
 */
export function ownMethodsOnly(
  routes: ReadonlyArray<{ method: string; path: string }>,
  refuse: (c: Context, allow: string[]) => Response,
): MiddlewareHandler {
  let statics: Map<string, Set<string>> | undefined;
  return async (c, next) => {
    if (!statics) {
      statics = new Map();
      for (const r of routes) {
        if (r.method === 'ALL' || /[:*]/.test(r.path)) continue;
        const methods = statics.get(r.path) ?? new Set<string>();
        for (const m of [r.method, ...(implied[r.method] ?? [])]) methods.add(m);
        statics.set(r.path, methods);
      }
    }
    const own = statics.get(c.req.path);
    if (own && !own.has(c.req.method)) return refuse(c, [...own].sort());
    await next();
  };
}
