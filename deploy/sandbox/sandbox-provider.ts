/**
 * The built-in sandbox OAuth 2.0 / OpenID Connect provider: one real OpenID server (oidc-provider) per
 * provider id, mounted at `/<provider>` on one HTTP server, with a plain consent page. CRA points every
 * provider without real credentials at it (`npm start`), and the tests link against it. A small router
 * sits in front of the mounts for the sandbox's own pages, the provider data API and its fault injection.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import { accountIdFor, SandboxAccounts } from './accounts.js';
import { adminOnly } from './admin-auth.js';
import { showConsent, submitConsent } from './consent-page.js';
import { addProviderApiRoutes, renderContext } from './apis/kit.js';
import { sandboxProviderApis } from './apis/index.js';
import { SandboxQuotas, type SandboxQuotaControl } from './apis/quotas.js';
import { addDataAdminRoutes, addDataRoutes } from './data-routes.js';
import { DataStats, type SandboxDataStats } from './data-stats.js';
import { SandboxDatasets, type SandboxData } from './datasets.js';
import { SandboxFaults, type SandboxFaultControl } from './faults.js';
import { escapeHtml, page } from './html.js';
import { readJson, RequestNotJson, RequestTooLarge, sendHtml, sendJson, sendText } from './http-io.js';
import { createOidcServer, rsaSigningKey, type OidcServer, type SandboxClient } from './oidc-server.js';
import { addRevocationRoutes, type SandboxRevocationCall } from './revocation-routes.js';
import { checkTokenClientAuth, type SandboxTokenRequest } from './token-client-auth.js';
import { SandboxRouter, type RouteParams } from './router.js';

export type { SandboxClient } from './oidc-server.js';
export type { SandboxDataStats } from './data-stats.js';
export { SandboxDataError, type RecordFields, type SandboxData, type SandboxRecord } from './datasets.js';
export type { FaultStatus, SandboxFault, SandboxFaultControl } from './faults.js';
export type { SandboxRevocationCall } from './revocation-routes.js';
export type { QuotaRule, SandboxQuotaControl } from './apis/quotas.js';
export type { SandboxTokenRequest } from './token-client-auth.js';

export interface SandboxProviderOptions {
  /** 0 picks any free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where clients reach the sandbox; issuers are `<publicUrl>/<provider>`. Default `http://localhost:<port>`. */
  publicUrl?: string;
  /** Provider ids to serve, e.g. `providerIds`; each needs a client. */
  providers: readonly string[];
  /** The one registered client per provider id. */
  clients: Record<string, SandboxClient>;
  /** Default 3600; tests use short ones to exercise refresh. */
  accessTokenTtlSeconds?: number;
  /** Default 14 days. */
  refreshTokenTtlSeconds?: number;
  /**
   * Serves the admin routes (`POST /_admin/<provider>/users/<username>/revoke-grants`, the data and fault
   * routes in the README) to holders of this bearer token; unset, no admin route exists.
   */
  adminToken?: string;
  /** Where unexpected server errors are reported; default stderr. */
  log?: (line: string) => void;
}

export interface SandboxEndpoints {
  issuer: string;
  authorize: string;
  token: string;
  revocation: string;
  userinfo: string;
  jwks: string;
  discovery: string;
}

export interface SandboxProvider {
  /** The public base URL, without a trailing slash. */
  url: string;
  providers: readonly string[];
  endpoints(provider: string): SandboxEndpoints;
  /**
   * What a person revoking the application's access at the provider does: every grant of
   * `<provider>:<username>` goes, with its codes and tokens, so the next refresh gets `invalid_grant`.
   * Returns how many grants were revoked.
   */
  revokeAllFor(provider: string, username: string): Promise<number>;
  /**
   * What each provider's data API serves to each user, and changes to it: the provider's own API
   * (`<url>/<provider>/api/<name>/…`, deploy/sandbox/apis/) and the generic `GET <url>/<provider>/data/<kind>`.
   */
  data: SandboxData;
  /** Errors and slow answers injected into the data API. */
  faults: SandboxFaultControl;
  /** Each provider's request quota per user, as its data API enforces it (`x-ratelimit-*` and the like). */
  quotas: SandboxQuotaControl;
  /**
   * A dataset record as the provider's data API serves it, and the id the provider gives it (what CRA
   * stores as the record's external id); undefined when it does not exist or was removed.
   */
  providerItem(
    provider: string,
    username: string,
    kind: string,
    id: string,
  ): { externalId: string; item: Record<string, unknown> } | undefined;
  /** The dataset id of the record the provider knows as `externalId` (the inverse of `providerItem`). */
  datasetIdOf(provider: string, username: string, kind: string, externalId: string): string | undefined;
  /** Counters of the data API since the sandbox started. */
  stats(): SandboxDataStats;
  /** Every call to a provider's own revocation endpoint (`revocation-routes.ts`) since start, oldest first. */
  revocations(): SandboxRevocationCall[];
  /** How each token request (code exchange, refresh) authenticated the client, oldest first. */
  tokenRequests(): SandboxTokenRequest[];
  close(): Promise<void>;
}

const providerIdPattern = /^[a-z0-9][a-z0-9-]{0,39}$/;
const sweepEveryMs = 60_000;

export async function startSandboxProvider(opts: SandboxProviderOptions): Promise<SandboxProvider> {
  const providers = [...new Set(opts.providers)];
  const problems = providers.flatMap((id) => [
    ...(providerIdPattern.test(id) ? [] : [`"${id}" is not a provider id (lower-case letters, digits and dashes)`]),
    ...(opts.clients[id] ? [] : [`no client for provider "${id}"`]),
  ]);
  if (problems.length > 0) throw new Error(`sandbox provider: ${problems.join('; ')}`);
  const log = opts.log ?? ((line: string) => process.stderr.write(`[sandbox] ${line}\n`));

  const accounts = new SandboxAccounts();
  const servers = new Map<
    string,
    { oidc: OidcServer; handle: (req: IncomingMessage, res: ServerResponse) => unknown }
  >();
  const router = new SandboxRouter();
  // A provider outside CRA's catalog is served (for tests) but has no data kinds.
  const datasets = new SandboxDatasets((provider) =>
    providers.includes(provider) ? (isProviderId(provider) ? providerCatalog[provider].dataKinds : []) : undefined,
  );
  const faults = new SandboxFaults((provider) => datasets.kinds(provider));
  const stats = new DataStats();
  const closing = new AbortController();
  const dataDeps = {
    oidcServer: (provider: string) => servers.get(provider)?.oidc,
    datasets,
    faults,
    stats,
    closing: closing.signal,
  };

  const inProvider =
    (handler: (oidc: OidcServer, req: IncomingMessage, res: ServerResponse, params: RouteParams) => Promise<void>) =>
    async (req: IncomingMessage, res: ServerResponse, params: RouteParams) => {
      const server = servers.get(params.provider ?? '');
      if (!server) return sendText(res, 404, 'no such sandbox provider');
      await handler(server.oidc, req, res, params);
    };
  router
    .add('GET', '/', (_req, res) =>
      sendHtml(
        res,
        200,
        indexPage(url, providers, (id) => datasets.kinds(id)),
      ),
    )
    .add(
      'GET',
      '/:provider/interaction/:uid',
      inProvider((oidc, req, res, p) => showConsent(oidc, req, res, p.uid!)),
    )
    .add(
      'POST',
      '/:provider/interaction/:uid',
      inProvider((oidc, req, res, p) => submitConsent(oidc, accounts, req, res, p.uid!)),
    );
  addDataRoutes(router, dataDeps);
  const quotas = new SandboxQuotas();
  addProviderApiRoutes(router, providers, sandboxProviderApis, {
    ...dataDeps,
    quotas,
    publicUrl: () => url,
    delay: (ms) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), ms);
        closing.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve(false);
        });
      }),
  });
  const apiOf = (provider: string) => sandboxProviderApis.find((api) => api.provider === provider);
  const revocationCalls: SandboxRevocationCall[] = [];
  const tokenRequests: SandboxTokenRequest[] = [];
  addRevocationRoutes(router, providers, {
    oidcServer: (provider) => servers.get(provider)?.oidc,
    clientOf: (provider) => opts.clients[provider],
    record: (call) => void revocationCalls.push(call),
  });
  if (opts.adminToken) {
    const admin = adminOnly(opts.adminToken);
    router.add(
      'POST',
      '/_admin/:provider/users/:username/revoke-grants',
      admin(
        inProvider(async (oidc, _req, res, p) => {
          const revokedGrants = oidc.store.revokeGrantsOf(accountIdFor(oidc.id, p.username!));
          sendJson(res, 200, { provider: oidc.id, username: p.username, revokedGrants });
        }),
      ),
    );
    addDataAdminRoutes(router, dataDeps, admin);
    router.add(
      'PUT',
      '/_admin/:provider/quota',
      admin(
        inProvider(async (oidc, req, res) => {
          const body = (await readJson(req)) as { limit?: unknown; windowSeconds?: unknown } | undefined;
          try {
            quotas.set(oidc.id, { limit: Number(body?.limit), windowSeconds: Number(body?.windowSeconds) });
          } catch (err) {
            return sendJson(res, 400, { error: 'invalid_request', message: (err as Error).message });
          }
          sendJson(res, 200, {
            provider: oidc.id,
            limit: Number(body?.limit),
            windowSeconds: Number(body?.windowSeconds),
          });
        }),
      ),
    );
  }

  const dispatch = async (req: IncomingMessage, res: ServerResponse) => {
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://sandbox.invalid');
    const route = router.match(req.method ?? 'GET', url.pathname);
    if (route) return route.handler(req, res, route.params, url);

    const server = servers.get(url.pathname.split('/')[1] ?? '');
    if (!server) return sendText(res, 404, 'no such sandbox provider: the paths are /<provider>/…');
    if (req.method === 'POST' && url.pathname === `${server.oidc.mountPath}/token`) {
      if (checkTokenClientAuth(server.oidc.id, req, res, (r) => void tokenRequests.push(r))) return;
    }
    const normalizedUrl = `${url.pathname}${url.search}`;
    const forwardedUrl =
      url.pathname === server.oidc.authorizationPath
        ? (prepareAuthorization(server.oidc, url) ?? normalizedUrl)
        : normalizedUrl;
    // Mounted the way Express mounts it: oidc-provider reads its mount path from originalUrl.
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = forwardedUrl;
    const rest = forwardedUrl.slice(server.oidc.mountPath.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    await server.handle(req, res);
  };

  // Before listening, so that the servers are all mounted by the time the port accepts a request.
  const signingKey = await rsaSigningKey();
  const http = createServer((req, res) => {
    dispatch(req, res).catch((err: unknown) => {
      if (err instanceof RequestTooLarge) return sendText(res, 413, err.message);
      if (err instanceof RequestNotJson) return sendText(res, 400, err.message);
      log(`${req.method} ${req.url?.split('?')[0]}: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendText(res, 500, 'sandbox provider error (see its log)');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const url = (opts.publicUrl ?? `http://localhost:${port}`).replace(/\/$/, '');

  const sweeper = setInterval(() => servers.forEach(({ oidc }) => oidc.store.sweep()), sweepEveryMs);
  sweeper.unref();
  const close = async () => {
    clearInterval(sweeper);
    closing.abort();
    if (!http.listening) return;
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  };

  try {
    const cookieKey = randomBytes(32).toString('base64url');
    for (const id of providers) {
      const oidc = createOidcServer({
        id,
        issuer: `${url}/${id}`,
        client: opts.clients[id]!,
        accounts,
        cookieKey,
        signingKey,
        accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
        refreshTokenTtlSeconds: opts.refreshTokenTtlSeconds ?? 14 * 24 * 60 * 60,
      });
      oidc.provider.on('server_error', (_ctx: unknown, err: Error) => log(`${oidc.id}: ${err.stack ?? err.message}`));
      servers.set(oidc.id, { oidc, handle: oidc.provider.callback() });
    }
  } catch (err) {
    await close();
    throw err;
  }

  const serverFor = (provider: string): OidcServer => {
    const server = servers.get(provider)?.oidc;
    if (!server) throw new Error(`the sandbox serves no provider "${provider}" (it serves ${providers.join(', ')})`);
    return server;
  };
  return {
    url,
    providers,
    endpoints(provider) {
      const { provider: oidc, issuer } = serverFor(provider);
      return {
        issuer,
        authorize: oidc.urlFor('authorization'),
        token: oidc.urlFor('token'),
        revocation: oidc.urlFor('revocation'),
        userinfo: oidc.urlFor('userinfo'),
        jwks: oidc.urlFor('jwks'),
        // oidc-provider names its RFC 8414 path 'discovery'; OpenID clients look here.
        discovery: `${issuer}/.well-known/openid-configuration`,
      };
    },
    async revokeAllFor(provider, username) {
      return serverFor(provider).store.revokeGrantsOf(accountIdFor(provider, username));
    },
    data: datasets,
    faults,
    quotas,
    providerItem(provider, username, kind, id) {
      const api = apiOf(provider);
      const record = datasets.record(provider, username, kind, id);
      if (!api || !record) return undefined;
      return {
        externalId: api.externalId(kind, record),
        item: api.render(kind, record, renderContext(provider, username, record)),
      };
    },
    datasetIdOf(provider, username, kind, externalId) {
      const api = apiOf(provider);
      if (!api) return undefined;
      return datasets.ids(provider, username, kind).find((id) => {
        const record = datasets.record(provider, username, kind, id);
        return record !== undefined && api.externalId(kind, record) === externalId;
      });
    },
    stats: () => stats.snapshot(),
    revocations: () => [...revocationCalls],
    tokenRequests: () => [...tokenRequests],
    close,
  };
}

/**
 * Before oidc-provider sees an authorization request: learn its scope names (scope-names.ts), and mark
 * an `offline_access` request as prompting for consent, which oidc-provider requires to keep that scope
 * and which is true here (the consent page is always shown). Returns the rewritten path, if any.
 */
function prepareAuthorization(oidc: OidcServer, url: URL): string | undefined {
  let scope = url.searchParams.get('scope');
  if (!scope) return undefined;
  // Facebook takes comma-separated scope lists (the catalog's scopeSeparator): read them as the RFC 6749 list they mean.
  if (scope.includes(',')) {
    scope = scope
      .split(/[\s,]+/)
      .filter(Boolean)
      .join(' ');
    url.searchParams.set('scope', scope);
    oidc.learnScopes(scope);
    return prepareAuthorization(oidc, url) ?? `${url.pathname}${url.search}`;
  }
  oidc.learnScopes(scope);
  const prompt = url.searchParams.get('prompt')?.split(' ').filter(Boolean) ?? [];
  if (!scope.split(' ').includes('offline_access') || prompt.includes('consent') || prompt.includes('none'))
    return undefined;
  url.searchParams.set('prompt', [...prompt, 'consent'].join(' '));
  return `${url.pathname}${url.search}`;
}

function indexPage(
  url: string,
  providers: readonly string[],
  kindsOf: (provider: string) => readonly string[],
): string {
  const rows = providers
    .map((id) => {
      const kinds = kindsOf(id);
      return (
        `<li><code>${escapeHtml(id)}</code>: <a href="${escapeHtml(`${url}/${id}/.well-known/openid-configuration`)}">discovery</a>` +
        `${kinds.length > 0 ? `; data: ${kinds.map((kind) => `<code>${escapeHtml(kind)}</code>`).join(', ')}` : ''}</li>`
      );
    })
    .join('');
  return page(
    'CRA sandbox provider',
    `<h1>CRA sandbox provider</h1>
<p>A local OpenID Connect server for each provider, for development and tests only. Issuers are <code>${escapeHtml(url)}/&lt;provider&gt;</code>;
each provider's data is at <code>GET ${escapeHtml(url)}/&lt;provider&gt;/data/&lt;kind&gt;</code> with one of its access tokens.</p>
<ul>${rows}</ul>`,
  );
}
