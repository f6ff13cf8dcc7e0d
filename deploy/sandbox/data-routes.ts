/**
 * The provider data API, `GET /<provider>/data/<kind>?cursor=&limit=` with a bearer access token, and
 * its admin routes under `/_admin` (record counts, changes, removals, faults, counters); the README lists them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { usernameOfBearer } from './access-tokens.js';
import type { AdminOnly } from './admin-auth.js';
import type { DataStats } from './data-stats.js';
import { defaultPageSize, maxPageSize, SandboxDataError, type RecordFields, type SandboxDatasets } from './datasets.js';
import type { FiredFault, SandboxFault, SandboxFaults } from './faults.js';
import { readJson, RequestNotJson, sendJson, sendNoContent } from './http-io.js';
import type { OidcServer } from './oidc-server.js';
import type { RouteHandler, RouteParams, SandboxRouter } from './router.js';

export interface DataRouteDeps {
  oidcServer(provider: string): OidcServer | undefined;
  datasets: SandboxDatasets;
  faults: SandboxFaults;
  stats: DataStats;
  /** Aborted when the sandbox closes, so that an injected delay does not outlive it. */
  closing: AbortSignal;
}

export function addDataRoutes(router: SandboxRouter, deps: DataRouteDeps): void {
  router.add(
    'GET',
    '/:provider/data/:kind',
    answersErrors((req, res, params, url) => servePage(deps, req, res, params, url)),
  );
}

export function addDataAdminRoutes(router: SandboxRouter, deps: DataRouteDeps, admin: AdminOnly): void {
  const { datasets, faults } = deps;
  const dataset = '/_admin/:provider/users/:username/data/:kind';
  const route = (handler: RouteHandler) => admin(answersErrors(handler));
  router
    .add(
      'GET',
      dataset,
      route((_req, res, { provider, username, kind }) => {
        const ids = datasets.ids(provider!, username!, kind!);
        sendJson(res, 200, { provider, username, kind, count: ids.length, ids });
      }),
    )
    .add(
      'PUT',
      dataset,
      route(async (req, res, { provider, username, kind }) => {
        const body = await readJson(req);
        const count = typeof body === 'object' && body !== null ? (body as { count?: unknown }).count : undefined;
        if (typeof count !== 'number')
          throw new SandboxDataError(400, 'invalid_request', 'the body is {"count": <0 to 999999>}');
        datasets.setCount(provider!, username!, kind!, count);
        sendJson(res, 200, { provider, username, kind, count: datasets.count(provider!, username!, kind!) });
      }),
    )
    .add(
      'PATCH',
      `${dataset}/:id`,
      route(async (req, res, { provider, username, kind, id }) => {
        const fields = await readJson(req);
        sendJson(res, 200, datasets.change(provider!, username!, kind!, id!, fields as RecordFields | undefined));
      }),
    )
    .add(
      'DELETE',
      `${dataset}/:id`,
      route((_req, res, { provider, username, kind, id }) => {
        datasets.remove(provider!, username!, kind!, id!);
        sendNoContent(res);
      }),
    )
    .add(
      'POST',
      '/_admin/:provider/faults',
      route(async (req, res, { provider }) => {
        // Checked field by field in inject, as a fault given in code is.
        faults.inject(provider!, (await readJson(req)) as SandboxFault);
        sendNoContent(res);
      }),
    )
    .add(
      'DELETE',
      '/_admin/faults',
      route((_req, res) => {
        faults.clear();
        sendNoContent(res);
      }),
    )
    .add(
      'GET',
      '/_admin/stats',
      route((_req, res) => sendJson(res, 200, deps.stats.snapshot())),
    );
}

async function servePage(
  deps: DataRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  params: RouteParams,
  url: URL,
): Promise<void> {
  const oidc = deps.oidcServer(params.provider!);
  if (!oidc) throw new SandboxDataError(404, 'unknown_provider', `the sandbox serves no provider "${params.provider}"`);
  const username = await usernameOfBearer(oidc, req);
  if (username === undefined) {
    deps.stats.unauthorized(oidc.id);
    res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
    return sendJson(res, 401, { error: 'invalid_token' });
  }
  const kind = params.kind!;
  deps.datasets.checkKind(oidc.id, kind);
  deps.stats.requested(oidc.id, kind);
  const limit = pageSize(url.searchParams.get('limit'));
  const cursor = url.searchParams.get('cursor') || undefined;
  deps.datasets.checkCursor(oidc.id, kind, cursor);

  // Only a request that would have been served takes a fault, so a malformed one does not use it up.
  const fault = deps.faults.take(oidc.id, kind);
  if (fault) {
    deps.stats.faultFired(oidc.id, fault.status);
    if (fault.delayMs > 0 && !(await delay(fault.delayMs, deps.closing))) return void res.destroy();
    if (fault.status !== undefined) return sendFault(res, fault);
  }
  const page = deps.datasets.page(oidc.id, username, kind, cursor, limit);
  deps.stats.served(oidc.id, kind, page.items.length);
  sendJson(res, 200, { kind, items: page.items, nextCursor: page.nextCursor });
}

function pageSize(raw: string | null): number {
  if (raw === null || raw === '') return defaultPageSize;
  const limit = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= maxPageSize))
    throw new SandboxDataError(400, 'invalid_request', `limit is a whole number from 1 to ${maxPageSize}`);
  return limit;
}

function sendFault(res: ServerResponse, fault: FiredFault): void {
  if (fault.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(fault.retryAfterSeconds));
  if (fault.status === 429)
    return sendJson(res, 429, {
      error: 'rate_limited',
      message: `too many requests: retry after ${fault.retryAfterSeconds ?? 1} s`,
    });
  if (fault.status === 503)
    return sendJson(res, 503, { error: 'unavailable', message: 'the service is unavailable (an injected fault)' });
  sendJson(res, 500, { error: 'server_error', message: 'internal server error (an injected fault)' });
}

/** False when the sandbox closed first. */
async function delay(ms: number, closing: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: closing });
    return true;
  } catch {
    return false;
  }
}

/** Known failures become JSON answers; anything else goes to the sandbox's own error handling (logged, 500). */
function answersErrors(handler: RouteHandler): RouteHandler {
  return async (req, res, params, url) => {
    try {
      await handler(req, res, params, url);
    } catch (err) {
      if (err instanceof SandboxDataError) return sendJson(res, err.status, { error: err.code, message: err.message });
      if (err instanceof RequestNotJson) return sendJson(res, 400, { error: 'invalid_request', message: err.message });
      throw err;
    }
  };
}
