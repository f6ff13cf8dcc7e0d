/**
 * What every provider's data API in the sandbox does the same way, so each provider's module
 * (`./<provider>.ts`) only says what is its own: its paths, the shape of its records and pages, its paging
 * parameters, its rate-limit headers and its error answers. Each API is served at
 * `/<provider>/api/<name><the provider's path>`, `<name>` being the API's name in the catalog's `dataApis`
 * (`/github/api/rest/user/repos` plays `https://api.github.com/user/repos`).
 *
 * For every request: the bearer token must be one this provider issued and still honours (else the
 * provider's own 401), the kind is counted, an injected fault fires in the provider's own format, the quota
 * window is counted (beyond it the provider's own rate-limit answer), and the answer carries the provider's
 * rate-limit headers.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isProviderId, providerCatalog } from '../../../domain/provider-catalog.js';
import type { ProviderId } from '../../../domain/providers.js';
import { usernameOfBearer } from '../access-tokens.js';
import type { DataStats } from '../data-stats.js';
import { SandboxDataError, type SandboxDatasets, type SandboxRecord } from '../datasets.js';
import type { SandboxFaults } from '../faults.js';
import type { OidcServer } from '../oidc-server.js';
import type { RouteParams, SandboxRouter } from '../router.js';
import type { QuotaWindow, SandboxQuotas } from './quotas.js';

export interface ApiAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string | undefined>;
  /** Records in the page, for the sandbox's counters. */
  records?: number;
}

export interface ApiRequest {
  url: URL;
  params: RouteParams;
  username: string;
  kind: string;
  /** The base this API was reached at (`<sandbox>/<provider>/api/<name>`): next-page links are made from it. */
  base: string;
  datasets: SandboxDatasets;
  /** The record as this provider serves it. */
  render(record: SandboxRecord): Record<string, unknown>;
}

export interface ApiRoute {
  /** The API's name in the catalog's `dataApis`. */
  api: string;
  /** The provider's path below the API's base, `:name` segments captured (`/users/:id/tweets`). */
  path: string;
  kind: string;
  /** The provider's documentation of the endpoint played. */
  docs: string;
  serve(request: ApiRequest): ApiAnswer;
}

export interface RenderContext {
  username: string;
  /** `<provider>.sandbox.test`, for links and addresses. */
  host: string;
  /** The record's 1-based position in its dataset (from its id). */
  index: number;
}

export interface SandboxProviderApi {
  provider: ProviderId;
  routes: ApiRoute[];
  /** The id the provider's answers give the record (what CRA stores as the record's external id). */
  externalId(kind: string, record: SandboxRecord): string;
  /** The record as the provider's API answers it. */
  render(kind: string, record: SandboxRecord, ctx: RenderContext): Record<string, unknown>;
  /** The provider's answer to a missing, expired or revoked token. */
  unauthorized(): ApiAnswer;
  /**
   * The provider's answer when it rate-limits: `quota` when the window's requests are used up (the answer
   * says when the window resets), `fault` for an injected 429 (a burst limit: the answer says to retry after
   * `retryAfterSeconds`, as `Retry-After` does).
   */
  rateLimited(window: QuotaWindow, retryAfterSeconds: number, cause: 'quota' | 'fault'): ApiAnswer;
  /** The provider's rate-limit headers on every answer; none for a provider that sends none. */
  rateHeaders(window: QuotaWindow): Record<string, string>;
  /** The provider's answer to an injected 500 or 503 (default: a JSON error). */
  serverError?(status: 500 | 503, retryAfterSeconds: number | undefined): ApiAnswer;
  /** Pages carry an `ETag`, and `If-None-Match` with the current one is answered `304 Not Modified` (GitHub). */
  conditional?: boolean;
}

export interface ProviderApiDeps {
  oidcServer(provider: string): OidcServer | undefined;
  datasets: SandboxDatasets;
  faults: SandboxFaults;
  stats: DataStats;
  quotas: SandboxQuotas;
  /** The sandbox's public URL, known once it listens. */
  publicUrl(): string;
  /** Waits for an injected delay; false when the sandbox closed first. */
  delay(ms: number): Promise<boolean>;
}

/** The 1-based index in a dataset id (`repo-000042` → 42). */
export function indexOfId(id: string): number {
  return Number(/-(\d+)$/.exec(id)?.[1] ?? 0);
}

export function renderContext(provider: string, username: string, record: SandboxRecord): RenderContext {
  return { username, host: `${provider}.sandbox.test`, index: indexOfId(record.id) };
}

/** Base64url of a text, for opaque page tokens made of a last id or an offset. */
export const token = {
  of: (text: string) => Buffer.from(text, 'utf8').toString('base64url'),
  read: (value: string | null): string | undefined => {
    if (value === null || value === '') return undefined;
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(value))
      throw new SandboxDataError(400, 'invalid_cursor', 'the page token is not one this API handed out');
    return Buffer.from(value, 'base64url').toString('utf8');
  },
};

/** A whole number query parameter between `min` and `max`, `fallback` when absent; else a 400. */
export function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max))
    throw new SandboxDataError(400, 'invalid_request', `${name} is a whole number from ${min} to ${max}`);
  return value;
}

/** The absolute URL of `path` under the API's base with `query`, for next-page links. */
export function linkTo(base: string, path: string, query: Record<string, string | number>): string {
  const url = new URL(`${base}${path}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
  return url.toString();
}

function send(res: ServerResponse, answer: ApiAnswer, extra: Record<string, string>): void {
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries({ ...extra, ...answer.headers }))
    if (value !== undefined) res.setHeader(name, value);
  if (answer.body === undefined) return void res.end();
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(answer.body));
}

/** Serves every route of `apis` for the providers the sandbox runs. */
export function addProviderApiRoutes(
  router: SandboxRouter,
  providers: readonly string[],
  apis: readonly SandboxProviderApi[],
  deps: ProviderApiDeps,
): void {
  for (const api of apis) {
    if (!providers.includes(api.provider) || !isProviderId(api.provider)) continue;
    const declared = providerCatalog[api.provider].endpoints.dataApis ?? {};
    for (const route of api.routes) {
      if (!(route.api in declared))
        throw new Error(`sandbox ${api.provider}: the catalog has no data API "${route.api}" (${route.path})`);
      router.add('GET', `/${api.provider}/api/${route.api}${route.path}`, async (req, res, params, url) => {
        try {
          await serveRoute(api, route, deps, req, res, params, url);
        } catch (err) {
          if (err instanceof SandboxDataError)
            return send(res, { status: err.status, body: { error: err.code, message: err.message } }, {});
          throw err;
        }
      });
    }
  }
}

async function serveRoute(
  api: SandboxProviderApi,
  route: ApiRoute,
  deps: ProviderApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  params: RouteParams,
  url: URL,
): Promise<void> {
  const provider = api.provider;
  const oidc = deps.oidcServer(provider);
  if (!oidc) throw new SandboxDataError(404, 'unknown_provider', `the sandbox serves no provider "${provider}"`);
  const username = await usernameOfBearer(oidc, req);
  if (username === undefined) {
    deps.stats.unauthorized(provider);
    return send(res, api.unauthorized(), {});
  }
  deps.datasets.checkKind(provider, route.kind);
  deps.stats.requested(provider, route.kind);
  const window = deps.quotas.take(provider, username);
  const headers = api.rateHeaders(window);
  if (window.exceeded) {
    const retryAfterSeconds = Math.max(1, Math.ceil((window.resetAtMs - Date.now()) / 1000));
    return send(res, api.rateLimited(window, retryAfterSeconds, 'quota'), headers);
  }
  const fault = deps.faults.take(provider, route.kind);
  if (fault) {
    deps.stats.faultFired(provider, fault.status);
    if (fault.delayMs > 0 && !(await deps.delay(fault.delayMs))) return void res.destroy();
    // A burst limit: the window's own count is as it is; the answer says how long to wait.
    if (fault.status === 429) return send(res, api.rateLimited(window, fault.retryAfterSeconds ?? 1, 'fault'), headers);
    if (fault.status !== undefined) {
      const answer = api.serverError?.(fault.status, fault.retryAfterSeconds) ?? {
        status: fault.status,
        body: { error: fault.status === 503 ? 'unavailable' : 'server_error', message: 'an injected fault' },
        ...(fault.retryAfterSeconds !== undefined
          ? { headers: { 'retry-after': String(fault.retryAfterSeconds) } }
          : {}),
      };
      return send(res, answer, headers);
    }
  }
  const base = `${deps.publicUrl()}/${provider}/api/${route.api}`;
  const answer = route.serve({
    url,
    params,
    username,
    kind: route.kind,
    base,
    datasets: deps.datasets,
    render: (record) => api.render(route.kind, record, renderContext(provider, username, record)),
  });
  if (api.conditional && answer.status === 200) {
    // A weak validator of what the page says: its records and where the next page is.
    const etag = `W/"${createHash('sha256')
      .update(JSON.stringify([answer.body, answer.headers?.link ?? null]))
      .digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      deps.stats.notModified(provider, route.kind);
      return send(res, { status: 304, body: undefined }, { ...headers, etag });
    }
    answer.headers = { ...answer.headers, etag };
  }
  if (answer.status === 200) deps.stats.served(provider, route.kind, answer.records ?? 0);
  send(res, answer, headers);
}
