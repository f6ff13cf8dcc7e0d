/**
 * A stand-in for Auth0's Authentication API as a Regular Web Application sees it, built from Auth0's
 * public documentation (oidc-provider plays the OpenID parts, on Auth0's paths):
 * - `GET /authorize` with `audience` (https://auth0.com/docs/api/authentication/authorization-code-flow/authorize-application)
 * - `POST /oauth/token`, code + PKCE and refresh (https://auth0.com/docs/api/authentication/authorization-code-flow-with-pkce/get-token-pkce)
 * - `POST /oauth/revoke` (https://auth0.com/docs/api/authentication/revoke-refresh-token/revoke-refresh-token)
 * - `GET /v2/logout?client_id&returnTo`, with no `end_session_endpoint` in discovery unless RP-initiated
 *   logout is turned on (https://auth0.com/docs/api/authentication/logout/auth-0-logout)
 * - `/.well-known/openid-configuration` and `/.well-known/jwks.json` (https://auth0.com/docs/get-started/applications/configure-applications-with-oidc-discovery)
 * - access tokens for an API are RS256 JWTs with `aud` = the audience and RBAC `permissions`
 *   (https://auth0.com/docs/manage-users/access-control/enable-role-based-access-control-for-apis)
 * Universal Login's page is a plain form at `/u/login/<uid>`.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type JWK } from 'oidc-provider';

export interface Auth0LoginStandIn {
  issuer: string;
  /** Everything the tenant was asked (path and form), for the contract assertions. */
  requests: Array<{ method: string; path: string; query: URLSearchParams; form?: URLSearchParams }>;
  close(): Promise<void>;
}

export interface StandInOptions {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  audience: string;
  user: { sub: string; email: string; password: string; permissions: string[] };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAuth0LoginStandIn(opts: StandInOptions): Promise<Auth0LoginStandIn> {
  const requests: Auth0LoginStandIn['requests'] = [];
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        redirect_uris: [opts.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    routes: {
      authorization: '/authorize',
      token: '/oauth/token',
      userinfo: '/userinfo',
      jwks: '/.well-known/jwks.json',
      revocation: '/oauth/revoke',
    },
    jwks: { keys: [signingKey] },
    pkce: { required: () => false },
    extraParams: ['audience'],
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: (_ctx, sub) =>
      sub === opts.user.sub
        ? {
            accountId: sub,
            claims: () => ({ sub, email: opts.user.email, email_verified: true, name: 'Auth0 Person' }),
          }
        : undefined,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx) => (ctx.oidc.params?.audience as string | undefined) ?? opts.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: '',
          audience: opts.audience,
          accessTokenTTL: 86_400,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (_ctx, token) =>
      'accountId' in token && token.accountId === opts.user.sub ? { permissions: opts.user.permissions } : undefined,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: { url: (_ctx, interaction) => `/u/login/${interaction.uid}` },
    cookies: { keys: ['stand-in-cookie-key'] },
  });
  const handle = provider.callback();

  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', issuer);
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams });
      const login = url.pathname.match(/^\/u\/login\/([\w-]+)$/);
      if (login && req.method === 'GET') {
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            `<!doctype html><title>Log in</title><form method="post"><label>Email <input name="username"></label><label>Password <input name="password" type="password"></label><button>Continue</button></form>`,
          );
        return;
      }
      if (login && req.method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        requests.at(-1)!.form = form;
        if (form.get('username') !== opts.user.email || form.get('password') !== opts.user.password) {
          res
            .writeHead(400, { 'content-type': 'text/html' })
            .end('<!doctype html><title>Log in</title><p>Wrong email or password.</p>');
          return;
        }
        const details = await provider.interactionDetails(req, res);
        const grant = new provider.Grant({ accountId: opts.user.sub, clientId: String(details.params.client_id) });
        grant.addOIDCScope(String(details.params.scope));
        grant.addResourceScope(opts.audience, '');
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: opts.user.sub }, consent: { grantId: await grant.save() } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      if (url.pathname === '/v2/logout') {
        res.writeHead(302, { location: url.searchParams.get('returnTo') ?? '/' }).end();
        return;
      }
      handle(req, res);
    })();
  });

  return { issuer, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
