/**
 * A local HTTP server playing an Auth0 tenant's Management API for the contract tests of `Auth0Directory`
 * (the real adapter and the real `auth0` SDK, only the network destination differs, through the SDK's
 * documented `fetch` option). Each endpoint answers as the page beside it says:
 * - `POST /oauth/token`, client_credentials for the Management API audience
 *   (https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens/get-management-api-access-tokens-for-production)
 * - `GET /api/v2/users/{id}` (https://auth0.com/docs/manage-users/user-search/retrieve-users-with-get-users-by-id-endpoint)
 * - `PATCH /api/v2/users/{id}`, `app_metadata` merged at the first level
 *   (https://auth0.com/docs/api/management/v2/users/patch-users-by-id)
 * - `POST /api/v2/users/{id}/roles` (https://auth0.com/docs/api/management/v2/users/post-user-roles)
 * - `DELETE /api/v2/users/{id}/authentication-methods` (https://auth0.com/docs/api/management/v2/users/delete-authentication-methods),
 *   `/refresh-tokens` (https://auth0.com/docs/api/management/v2/users/delete-refresh-tokens-for-user) and
 *   `/sessions` (https://auth0.com/docs/api/management/v2/users/delete-sessions-for-user)
 * - `POST /api/v2/tickets/password-change` (https://auth0.com/docs/api/management/v2/tickets/post-password-change)
 * - `DELETE /api/v2/users/{id}/identities/{provider}/{user_id}`: 200 with the primary's remaining identities; the
 *   unlinked identity becomes a user of its own, `<provider>|<user_id>`
 *   (https://auth0.com/docs/api/management/v2/users/delete-user-identity-by-user-id,
 *   https://auth0.com/docs/manage-users/user-accounts/user-account-linking/unlink-user-accounts); an identity the
 *   user does not hold is 404
 * - `DELETE /api/v2/users/{id}`: 204, also for a user already deleted
 *   (https://auth0.com/docs/api/management/v2/users/delete-users-by-id)
 * - a missing or unknown bearer token is 401, an unknown user 404 `inexistent_user`; anything else a test
 *   needs (identities, rate limits, server errors) it cans per request (`state.canned`).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The path as it came over the wire, percent-encoding intact. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Auth0Identity {
  provider: string;
  user_id: string;
  connection?: string;
  isSocial?: boolean;
}

export interface Auth0User {
  user_id: string;
  /** The primary identity first, then the linked (secondary) ones, as Auth0 lists them. */
  identities?: Auth0Identity[];
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  family_name?: string;
  app_metadata?: Record<string, unknown>;
}

export interface CannedResponse {
  method: string;
  path: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** The tenant's state and everything it was asked. */
export interface TenantState {
  users: Map<string, Auth0User>;
  /** Role ids assigned, per user id. */
  roles: Map<string, Set<string>>;
  requests: RecordedRequest[];
  /** Every Management API access token it issued (none may appear in an error). */
  issuedTokens: string[];
  /** Answered once, instead of the normal behaviour, for the next matching request. */
  canned: CannedResponse[];
}

export interface Auth0ManagementStandIn {
  /** Where it listens; the SDK reaches it through `tenantFetch(domain, url)`. */
  url: string;
  state: TenantState;
  /** Forget every user, role, request, token and canned answer. */
  reset(): void;
  close(): Promise<void>;
}

export interface Auth0ManagementStandInOptions {
  /** The tenant's domain, as the SDK is configured with it (`cra-test.eu.auth0.com`). */
  domain: string;
  /** The one machine-to-machine client allowed the client_credentials grant. */
  clientId: string;
  clientSecret: string;
}

/** The SDK's documented `fetch` option, aimed at the stand-in; refuses anything not for the tenant. */
export function tenantFetch(domain: string, target: string): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const origin = `https://${domain}/`;
    if (!url.startsWith(origin)) throw new Error(`unexpected request to ${url}`);
    return fetch(`${target}/${url.slice(origin.length)}`, init);
  };
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

/** A Management API error body (shape as Auth0 sends it; the adapter reads only the status). */
export const auth0NotFound = {
  statusCode: 404,
  error: 'Not Found',
  message: 'The user does not exist.',
  errorCode: 'inexistent_user',
};

export async function startAuth0ManagementStandIn(
  opts: Auth0ManagementStandInOptions,
): Promise<Auth0ManagementStandIn> {
  const state: TenantState = { users: new Map(), roles: new Map(), requests: [], issuedTokens: [], canned: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const type = req.headers['content-type'] ?? '';
      const body: unknown =
        raw === ''
          ? undefined
          : type.includes('application/x-www-form-urlencoded')
            ? Object.fromEntries(new URLSearchParams(raw))
            : JSON.parse(raw);
      // `url.pathname` keeps percent-encoding as sent, which is what the encoding contract checks.
      const path = url.pathname;
      const method = req.method ?? 'GET';
      state.requests.push({ method, path, query: Object.fromEntries(url.searchParams), headers: req.headers, body });

      const cannedAt = state.canned.findIndex((c) => c.method === method && c.path === path);
      if (cannedAt >= 0) {
        const [c] = state.canned.splice(cannedAt, 1);
        if (c) send(res, c.status, c.body, c.headers);
        return;
      }

      if (method === 'POST' && path === '/oauth/token') {
        const form = body as Record<string, string> | undefined;
        if (
          form?.grant_type !== 'client_credentials' ||
          form.client_id !== opts.clientId ||
          form.client_secret !== opts.clientSecret
        ) {
          send(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
          return;
        }
        const token = `at-${state.issuedTokens.length + 1}-${Math.random().toString(36).slice(2)}`;
        state.issuedTokens.push(token);
        send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 86400 });
        return;
      }

      // Recovery reset: MFA removal, refresh-token and session revocation, password-change ticket (contracts below).
      const resetRoute = /^\/api\/v2\/users\/([^/]+)\/(authentication-methods|refresh-tokens|sessions)$/.exec(path);
      if (resetRoute || path === '/api/v2/tickets/password-change') {
        if (!state.issuedTokens.some((t) => req.headers.authorization === `Bearer ${t}`)) {
          send(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' });
          return;
        }
        const id = resetRoute
          ? decodeURIComponent(resetRoute[1] ?? '')
          : String((body as { user_id?: string } | undefined)?.user_id ?? '');
        if (!state.users.has(id)) {
          send(res, 404, auth0NotFound);
          return;
        }
        if (resetRoute && method === 'DELETE') {
          send(res, resetRoute[2] === 'authentication-methods' ? 204 : 202);
          return;
        }
        if (!resetRoute && method === 'POST') {
          send(res, 201, {
            ticket: `https://${opts.domain}/lo/reset?ticket=TICKET-${Math.random().toString(36).slice(2)}#`,
          });
          return;
        }
        send(res, 405, { statusCode: 405, error: 'Method Not Allowed' });
        return;
      }

      // Erasure: unlinking an identity, deleting a user.
      const identityRoute = /^\/api\/v2\/users\/([^/]+)\/identities\/([^/]+)\/([^/]+)$/.exec(path);
      const deleteUser = method === 'DELETE' ? /^\/api\/v2\/users\/([^/]+)$/.exec(path) : null;
      if (identityRoute || deleteUser) {
        if (!state.issuedTokens.some((t) => req.headers.authorization === `Bearer ${t}`)) {
          send(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' });
          return;
        }
        if (deleteUser) {
          const id = decodeURIComponent(deleteUser[1] ?? '');
          state.users.delete(id);
          state.roles.delete(id);
          send(res, 204);
          return;
        }
        const id = decodeURIComponent(identityRoute![1] ?? '');
        const provider = decodeURIComponent(identityRoute![2] ?? '');
        const secondaryId = decodeURIComponent(identityRoute![3] ?? '');
        const primary = state.users.get(id);
        const identities = primary?.identities ?? [];
        const at = identities.findIndex((i, n) => n > 0 && i.provider === provider && i.user_id === secondaryId);
        if (method !== 'DELETE' || !primary || at < 0) {
          send(res, method !== 'DELETE' ? 405 : 404, method !== 'DELETE' ? { statusCode: 405 } : auth0NotFound);
          return;
        }
        const [unlinked] = identities.splice(at, 1);
        state.users.set(`${provider}|${secondaryId}`, {
          user_id: `${provider}|${secondaryId}`,
          identities: [unlinked!],
        });
        send(res, 200, identities);
        return;
      }

      const userRoute = /^\/api\/v2\/users\/([^/]+)(\/roles)?$/.exec(path);
      if (!userRoute) {
        send(res, 404, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
        return;
      }
      const auth = req.headers.authorization ?? '';
      if (!state.issuedTokens.some((t) => auth === `Bearer ${t}`)) {
        send(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'Invalid token' });
        return;
      }
      const id = decodeURIComponent(userRoute[1] ?? '');
      const user = state.users.get(id);
      if (!user) {
        send(res, 404, auth0NotFound);
        return;
      }
      if (userRoute[2]) {
        if (method === 'POST') {
          const roles = (body as { roles: string[] }).roles;
          const set = state.roles.get(id) ?? new Set<string>();
          for (const r of roles) set.add(r);
          state.roles.set(id, set);
          send(res, 200);
          return;
        }
        send(res, 405, { statusCode: 405, error: 'Method Not Allowed' });
        return;
      }
      if (method === 'GET') {
        send(res, 200, user);
        return;
      }
      if (method === 'PATCH') {
        // Auth0 merges app_metadata at the first level on PATCH (patch-users-by-id, "Some considerations").
        const patch = body as Partial<Auth0User>;
        const updated: Auth0User = {
          ...user,
          ...patch,
          user_id: user.user_id,
          app_metadata: { ...user.app_metadata, ...patch.app_metadata },
        };
        state.users.set(id, updated);
        send(res, 200, updated);
        return;
      }
      send(res, 405, { statusCode: 405, error: 'Method Not Allowed' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    reset() {
      state.users.clear();
      state.roles.clear();
      state.requests.length = 0;
      state.issuedTokens.length = 0;
      state.canned.length = 0;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
