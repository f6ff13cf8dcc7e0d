/**
 * The embedded OpenID Connect provider: the local default in place of Auth0. oidc-provider (a certified
 * OpenID provider) serves discovery, JWKS, authorization code + PKCE, JWT access tokens for the API
 * (15 minutes), rotating refresh tokens, revocation and RP-initiated sign-out; CRA adds the sign-in pages
 * (`interactions.tsx`) and stores everything in MongoDB. It is loaded only when the embedded directory is
 * in use (never with Auth0, never in production).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from 'mongodb';
import type { Configuration, JWK, KoaContextWithOIDC, Provider } from 'oidc-provider';
import { collections } from '../../../domain/collections.js';
import { mongoAdapterFactory } from './mongo-adapter.js';
import type { PasswordUser } from './accounts.js';
import { issuerErrorPage, signOutConfirmPage } from '../../../ui/pages/sign-in.js';

/** The account center's own client at the embedded issuer. */
export const accountCenterClientId = 'cra-account-center';
/** The scope the API's access tokens carry (the resource server's only scope). */
export const apiScope = 'account';
export const accessTokenTtlSeconds = 15 * 60;
export const refreshTokenTtlSeconds = 7 * 24 * 60 * 60;

/** Paths oidc-provider answers (everything else under `/oidc` is CRA's sign-in pages). */
export const oidcRoutes = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/.well-known/jwks.json',
  revocation: '/oidc/token/revocation',
  end_session: '/oidc/session/end',
  code_verification: '/oidc/device',
  device_authorization: '/oidc/device/auth',
  pushed_authorization_request: '/oidc/request',
  introspection: '/oidc/token/introspection',
  registration: '/oidc/reg',
  backchannel_authentication: '/oidc/backchannel',
  challenge: '/oidc/challenge',
} as const;

export interface EmbeddedOidc {
  provider: Provider;
  issuer: string;
  clientId: string;
  /** The account center's client secret (derived from the signing key; never leaves the process). */
  clientSecret: string;
  /** Hand a request to oidc-provider (Node's req/res, as @hono/node-server gives them). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Is this path one oidc-provider answers? */
  owns(path: string): boolean;
}

/** A secret derived from the issuer's private key: stable across restarts, unknown outside the process. */
function derive(jwk: JWK, label: string): string {
  return createHash('sha256')
    .update(`${label}\0${String(jwk.d)}`)
    .digest('base64url');
}

/**
 * `appClients`: the family's own apps (mobile, single-page, command line) as public clients with PKCE, by
 * client id and exact redirect URIs (`EMBEDDED_OIDC_CLIENTS`). They are first-party: no consent page.
 */
export async function createEmbeddedOidc(opts: {
  db: Db;
  issuer: string;
  publicUrl: string;
  audience: string;
  signingKey: JWK;
  trustProxy: boolean;
  appClients?: Record<string, string[]>;
}): Promise<EmbeddedOidc> {
  // A development dependency: loaded only for the embedded issuer.
  const { default: ProviderClass, interactionPolicy } = await import('oidc-provider');
  const users = opts.db.collection<PasswordUser>(collections.identityUsers);
  const clientSecret = derive(opts.signingKey, 'account-center-client');
  const secure = new URL(opts.publicUrl).protocol === 'https:';

  const configuration: Configuration = {
    adapter: mongoAdapterFactory(opts.db),
    clients: [
      {
        client_id: accountCenterClientId,
        client_secret: clientSecret,
        redirect_uris: [`${opts.publicUrl}/account/callback`],
        post_logout_redirect_uris: [`${opts.publicUrl}/account/signed-out`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      ...Object.entries(opts.appClients ?? {}).map(([clientId, redirectUris]) => ({
        client_id: clientId,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code' as const],
        token_endpoint_auth_method: 'none' as const,
      })),
    ],
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'email', 'profile', apiScope],
    claims: {
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    findAccount: async (_ctx, sub) => {
      const user = await users.findOne({ _id: sub });
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: user.email,
          email_verified: user.email_verified,
          ...(user.given_name ? { given_name: user.given_name } : {}),
          ...(user.family_name ? { family_name: user.family_name } : {}),
          name: [user.given_name, user.family_name].filter(Boolean).join(' ') || user.email,
        }),
      };
    },
    // The API's access tokens: JWTs for AUTH_AUDIENCE, signed with the issuer's RS256 key, 15 minutes.
    features: {
      devInteractions: { enabled: false },
      // The account center asks for `sid` in its id_token, to end this issuer's session when one is signed out remotely.
      claimsParameter: { enabled: true },
      // A client revokes only its own tokens; anything else is answered 200 and left alone (RFC 7009 §2.2).
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: KoaContextWithOIDC, form: string) => {
          ctx.type = 'html';
          ctx.set(
            'content-security-policy',
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
          );
          ctx.body = signOutConfirmPage(form);
        },
        postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => {
          ctx.redirect('/account/signed-out');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => opts.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== opts.audience) throw new Error(`unknown resource ${resource}`);
          return {
            scope: apiScope,
            audience: opts.audience,
            accessTokenTTL: accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // Auth0-shaped claims, so the API treats both issuers alike: email and RBAC permissions.
    extraTokenClaims: async (_ctx, token) => {
      const sub = 'accountId' in token ? token.accountId : undefined;
      if (!sub) return undefined;
      const user = await users.findOne({ _id: sub }, { projection: { email: 1, email_verified: 1, permissions: 1 } });
      return {
        permissions: user?.permissions ?? [],
        ...(user?.email ? { email: user.email, email_verified: user.email_verified } : {}),
      };
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: refreshTokenTtlSeconds,
      Grant: refreshTokenTtlSeconds,
      Interaction: 30 * 60,
      Session: refreshTokenTtlSeconds,
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'], userinfoSigningAlgValues: ['RS256'] },
    interactions: {
      url: (_ctx, interaction) => `/oidc/interaction/${interaction.uid}`,
      policy: interactionPolicy.base(),
    },
    routes: oidcRoutes,
    cookies: {
      keys: [derive(opts.signingKey, 'cookie-key')],
      long: { httpOnly: true, sameSite: 'lax', secure },
      short: { httpOnly: true, sameSite: 'lax', secure },
      names: { session: 'cra_issuer_session', interaction: 'cra_issuer_interaction', resume: 'cra_issuer_resume' },
    },
    jwks: { keys: [opts.signingKey] },
    renderError: (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'html';
      ctx.set(
        'content-security-policy',
        "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      ctx.body = issuerErrorPage(String(out.error), out.error_description ? String(out.error_description) : undefined);
    },
  };

  const provider = new ProviderClass(opts.issuer, configuration);
  // Behind Kong the API sees X-Forwarded-Proto/Host; oidc-provider must too, to build its own URLs.
  provider.proxy = opts.trustProxy;
  const callback = provider.callback();
  const paths = new Set<string>(Object.values(oidcRoutes));
  return {
    provider,
    issuer: opts.issuer,
    clientId: accountCenterClientId,
    clientSecret,
    handle: (req, res) =>
      new Promise<void>((resolve) => {
        res.once('finish', () => resolve());
        res.once('close', () => resolve());
        void callback(req, res);
      }),
    owns: (path) =>
      paths.has(path) || path === '/.well-known/openid-configuration' || /^\/oidc\/(auth|session\/end)\//.test(path),
  };
}
