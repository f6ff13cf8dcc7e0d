/**
 * The sandbox's own routes (consent pages, admin hooks, provider data pages and fault injection),
 * matched before a request is handed to the OpenID server mounted at its provider's path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RouteParams = Record<string, string>;
export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: RouteParams,
  url: URL,
) => Promise<void> | void;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

/** Patterns are paths whose `:name` segments capture one decoded path segment, e.g. `/:provider/interaction/:uid`. */
export class SandboxRouter {
  readonly #routes: Route[] = [];

  add(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', pattern: string, handler: RouteHandler): this {
    this.#routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, pathname: string): { handler: RouteHandler; params: RouteParams } | undefined {
    let parts: string[];
    try {
      parts = pathname
        .split('/')
        .filter(Boolean)
        .map((part) => decodeURIComponent(part));
    } catch {
      return undefined;
    }
    for (const route of this.#routes) {
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params = matchSegments(route.segments, parts);
      if (params) return { handler: route.handler, params };
    }
    return undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): RouteParams | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: RouteParams = {};
  for (const [i, segment] of pattern.entries()) {
    const part = parts[i]!;
    if (segment.startsWith(':')) params[segment.slice(1)] = part;
    else if (segment !== part) return undefined;
  }
  return params;
}
