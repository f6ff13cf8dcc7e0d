/**
 * Which methods a path has, from the app's own route table (`app.routes`), so a known path with another
 * method answers 405 with `Allow` instead of 404. Built once, on the first miss, after every mount.
 */
import { PatternRouter } from 'hono/router/pattern-router';

/** Methods that Hono serves without a route of their own: HEAD with every GET. */
const implied: Record<string, string[]> = { GET: ['HEAD'] };

/** `routes` as Hono lists them; middleware (`use`, method `ALL`) says nothing about the methods of a path. */
export function allowedMethods(routes: ReadonlyArray<{ method: string; path: string }>): (path: string) => string[] {
  let router: PatternRouter<string> | undefined;
  return (path) => {
    if (!router) {
      router = new PatternRouter<string>();
      for (const r of routes) {
        if (r.method === 'ALL') continue;
        for (const m of [r.method, ...(implied[r.method] ?? [])]) router.add('ALL', r.path, m);
      }
    }
    const [matches] = router.match('ALL', path);
    return [...new Set(matches.map(([method]) => method))].sort();
  };
}
