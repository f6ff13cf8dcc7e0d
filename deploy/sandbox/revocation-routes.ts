/**
 * Each provider's own revocation endpoint, at its own path under `/<provider>` and with its own client
 * authentication and answers (the catalog's `revocation` descriptor says which), so CRA's per-provider
 * revocation code (`activities/providers/revocation.ts`) runs unchanged against the sandbox. A revoked token
 * takes its whole grant with it, as at the providers: the grant's other tokens stop working too. Every call is
 * recorded (never the token) so tests can see what CRA sent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isProviderId, providerCatalog, type RevocationDescriptor } from '../../domain/provider-catalog.js';
import { readForm, readJson, sendJson, sendNoContent } from './http-io.js';
import type { OidcServer, SandboxClient } from './oidc-server.js';
import type { SandboxRouter } from './router.js';

/** How the call authenticated the client, as the sandbox saw it. */
export type PresentedClientAuth = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface SandboxRevocationCall {
  provider: string;
  method: string;
  /** The request path, as the provider documents it (`/github/applications/cra-github/grant`). */
  path: string;
  clientAuth: PresentedClientAuth;
  /** How the token to revoke came: in the form or JSON body, or as the bearer credential itself. */
  tokenIn: 'body' | 'bearer' | 'query' | 'none';
  /** The token was live and its grant is revoked now. */
  revoked: boolean;
  status: number;
}

export interface RevocationRouteDeps {
  oidcServer(provider: string): OidcServer | undefined;
  clientOf(provider: string): SandboxClient | undefined;
  record(call: SandboxRevocationCall): void;
}

/** The sandbox path of a catalog URL: its path under `/<provider>`, `{client_id}` a parameter. */
export function sandboxRevocationPath(provider: string, descriptor: RevocationDescriptor): string {
  return `/${provider}${descriptor.url.replace(/^https:\/\/[^/]+/, '').replace('{client_id}', ':client_id')}`;
}

export function addRevocationRoutes(router: SandboxRouter, providers: readonly string[], deps: RevocationRouteDeps) {
  for (const provider of providers) {
    if (!isProviderId(provider)) continue;
    const descriptor = providerCatalog[provider].revocation;
    if (!descriptor) continue;
    const path = sandboxRevocationPath(provider, descriptor);
    const handle =
      (method: string, serve: Serve) =>
      async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL): Promise<void> => {
        const oidc = deps.oidcServer(provider);
        const client = deps.clientOf(provider);
        if (!oidc || !client) return sendJson(res, 404, { error: 'not_found' });
        const answer = await serve({ oidc, client, descriptor, req, params, url });
        deps.record({
          provider,
          method,
          path: url.pathname,
          clientAuth: answer.clientAuth,
          tokenIn: answer.tokenIn,
          revoked: answer.revoked,
          status: answer.status,
        });
        if (answer.body === undefined) {
          res.statusCode = answer.status;
          if (answer.status === 204) return sendNoContent(res);
          res.setHeader('cache-control', 'no-store');
          res.end();
          return;
        }
        sendJson(res, answer.status, answer.body);
      };
    switch (descriptor.style) {
      case 'rfc7009':
        router.add('POST', path, handle('POST', rfc7009));
        break;
      case 'github-grant':
        router.add('DELETE', path, handle('DELETE', githubGrant));
        break;
      case 'facebook-permissions':
        router.add('DELETE', path, handle('DELETE', facebookPermissions));
        break;
      case 'slack-auth-revoke':
        router.add('POST', path, handle('POST', slackAuthRevoke)).add('GET', path, handle('GET', slackAuthRevoke));
        break;
    }
  }
}

interface Request {
  oidc: OidcServer;
  client: SandboxClient;
  descriptor: RevocationDescriptor;
  req: IncomingMessage;
  params: Record<string, string>;
  url: URL;
}
interface Answer {
  status: number;
  body?: unknown;
  clientAuth: PresentedClientAuth;
  tokenIn: SandboxRevocationCall['tokenIn'];
  revoked: boolean;
}
type Serve = (r: Request) => Promise<Answer>;

function basicCredentials(req: IncomingMessage): { id: string; secret: string } | undefined {
  const value = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!value) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined;
  }
}

function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** What the request presented, and whether it is the method the provider requires with the right secret. */
function checkClient(r: Request, form: URLSearchParams | undefined): { presented: PresentedClientAuth; ok: boolean } {
  const basic = basicCredentials(r.req);
  const posted = form?.get('client_secret')
    ? { id: form.get('client_id'), secret: form.get('client_secret') }
    : undefined;
  const presented: PresentedClientAuth = basic ? 'client_secret_basic' : posted ? 'client_secret_post' : 'none';
  const creds = basic ?? posted;
  const right = creds?.id === r.client.clientId && creds.secret === r.client.clientSecret;
  if (r.descriptor.clientAuth === 'none') return { presented, ok: true };
  return { presented, ok: presented === r.descriptor.clientAuth && right };
}

/** Revoke the grant of a live token this provider issued to its client; false when there is none. */
async function revokeGrantOf(oidc: OidcServer, value: string | undefined, kinds: Array<'access' | 'refresh'>) {
  if (!value || value.length > 512) return false;
  for (const kind of kinds) {
    const token =
      kind === 'access' ? await oidc.provider.AccessToken.find(value) : await oidc.provider.RefreshToken.find(value);
    if (!token || token.isExpired || token.clientId !== oidc.clientId || !token.grantId) continue;
    const grants = oidc.store.adapterFor('Grant');
    await grants.destroy(token.grantId);
    await grants.revokeByGrantId!(token.grantId);
    return true;
  }
  return false;
}

/**
 * RFC 7009 §2.1 with the provider's client authentication; §2.2: 200 also for a token already invalid.
 * Quirks as documented: Google answers 400 `invalid_token` for one, Reddit 204 for every answer.
 */
const rfc7009: Serve = async (r) => {
  const form = await readForm(r.req);
  const { presented, ok } = checkClient(r, form);
  const tokenIn = form.get('token') ? 'body' : 'none';
  if (!ok) return { status: 401, body: { error: 'invalid_client' }, clientAuth: presented, tokenIn, revoked: false };
  if (!form.get('token'))
    return { status: 400, body: { error: 'invalid_request' }, clientAuth: presented, tokenIn, revoked: false };
  const hint = form.get('token_type_hint');
  const revoked = await revokeGrantOf(
    r.oidc,
    form.get('token') ?? undefined,
    hint === 'access_token' ? ['access', 'refresh'] : ['refresh', 'access'],
  );
  const provider = r.oidc.id;
  if (!revoked && provider === 'google')
    return { status: 400, body: { error: 'invalid_token' }, clientAuth: presented, tokenIn, revoked };
  return { status: provider === 'reddit' ? 204 : 200, clientAuth: presented, tokenIn, revoked };
};

/** GitHub: Basic client_id:client_secret, the path's client id ours, `{"access_token"}`; 204, 404, 422. */
const githubGrant: Serve = async (r) => {
  const { presented, ok } = checkClient(r, undefined);
  const body = (await readJson(r.req)) as { access_token?: unknown } | undefined;
  const token = typeof body?.access_token === 'string' ? body.access_token : undefined;
  const tokenIn = token ? 'body' : 'none';
  if (!ok || r.params.client_id !== r.client.clientId)
    return {
      status: ok ? 404 : 401,
      body: { message: ok ? 'Not Found' : 'Requires authentication' },
      clientAuth: presented,
      tokenIn,
      revoked: false,
    };
  if (!token)
    return { status: 422, body: { message: 'Validation Failed' }, clientAuth: presented, tokenIn, revoked: false };
  const revoked = await revokeGrantOf(r.oidc, token, ['access']);
  return revoked
    ? { status: 204, clientAuth: presented, tokenIn, revoked }
    : { status: 404, body: { message: 'Not Found' }, clientAuth: presented, tokenIn, revoked };
};

/** Facebook: the user's token (bearer or `access_token`); `{"success": true}`, or OAuthException 190. */
const facebookPermissions: Serve = async (r) => {
  const bearer = bearerOf(r.req);
  const query = r.url.searchParams.get('access_token') ?? undefined;
  const tokenIn = bearer ? 'bearer' : query ? 'query' : 'none';
  const revoked = await revokeGrantOf(r.oidc, bearer ?? query, ['access']);
  return revoked
    ? { status: 200, body: { success: true }, clientAuth: 'none', tokenIn, revoked }
    : {
        status: 400,
        body: { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } },
        clientAuth: 'none',
        tokenIn,
        revoked,
      };
};

/** Slack: the token is the call's credential (bearer, or `token` in the form); errors are 200 `{ok: false}`. */
const slackAuthRevoke: Serve = async (r) => {
  const bearer = bearerOf(r.req);
  const form = r.req.method === 'POST' ? await readForm(r.req) : r.url.searchParams;
  const token = bearer ?? form.get('token') ?? undefined;
  const tokenIn = bearer ? 'bearer' : token ? 'body' : 'none';
  if (!token)
    return { status: 200, body: { ok: false, error: 'not_authed' }, clientAuth: 'none', tokenIn, revoked: false };
  const revoked = await revokeGrantOf(r.oidc, token, ['access']);
  return revoked
    ? { status: 200, body: { ok: true, revoked: true }, clientAuth: 'none', tokenIn, revoked }
    : { status: 200, body: { ok: false, error: 'invalid_auth' }, clientAuth: 'none', tokenIn, revoked };
};
