/**
 * One sandbox provider: an oidc-provider instance with the issuer `<publicUrl>/<provider>`, set up the
 * way CRA uses real providers — authorization code with PKCE S256 only, confidential clients
 * (client_secret_basic or client_secret_post), rotating refresh tokens, RFC 7009 revocation, userinfo.
 */
import { generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import {
  interactionPolicy,
  Provider,
  type ClientMetadata,
  type Configuration,
  type JWK,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { SandboxAccounts } from './accounts.js';
import { GrantStore } from './grant-store.js';
import { scopeLearner, type LearnScopes } from './scope-names.js';
import { escapeHtml, page } from './html.js';

export interface SandboxClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface OidcServerOptions {
  id: string;
  issuer: string;
  client: SandboxClient;
  accounts: SandboxAccounts;
  /** Signs oidc-provider's cookies; one per sandbox run. */
  cookieKey: string;
  /** Signs id_tokens: a private RS256 JWK (see `rsaSigningKey`). */
  signingKey: JWK;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export interface OidcServer {
  id: string;
  issuer: string;
  /** The issuer's path, where this server is mounted: `/<provider>`. */
  mountPath: string;
  /** Where authorization requests arrive, to learn their scope names first. */
  authorizationPath: string;
  provider: Provider;
  /** The one registered client's id: the only client whose tokens the data API accepts. */
  clientId: string;
  store: GrantStore;
  learnScopes: LearnScopes;
}

/** Every claim comes with `openid`, whatever the provider calls its scopes, so each provider's userinfo shows who signed in. */
const identityClaims = ['sub', 'email', 'email_verified', 'name', 'preferred_username'];
const day = 24 * 60 * 60;

export function createOidcServer(opts: OidcServerOptions): OidcServer {
  const mountPath = new URL(opts.issuer).pathname.replace(/\/$/, '');
  const store = new GrantStore();
  const client: ClientMetadata = {
    client_id: opts.client.clientId,
    client_secret: opts.client.clientSecret,
    redirect_uris: opts.client.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // Either method works for a secret-holding client; this is only what discovery calls its default.
    token_endpoint_auth_method: 'client_secret_basic',
  };

  const policy = interactionPolicy.base();
  // A newcomer may want another username on every link: the consent page is shown each time, never skipped by a session.
  policy
    .get('login')
    ?.checks.add(
      new interactionPolicy.Check(
        'sandbox_consent_page',
        'the sandbox shows its consent page on every authorization',
        'login_required',
        (ctx) =>
          ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
      ),
    );

  const configuration: Configuration = {
    adapter: (model: string) => store.adapterFor(model),
    clients: [client],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    // More scopes arrive at run time (scope-names.ts); these are the OpenID ones.
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    claims: { openid: identityClaims, email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
    // Real providers (Google, Microsoft) put the profile in the id_token too; CRA may read it from there.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const account = opts.accounts.find(sub);
      if (!account) return undefined;
      return {
        accountId: account.accountId,
        claims: () => ({
          sub: account.accountId,
          email: account.email,
          email_verified: account.emailVerified,
          name: account.username,
          preferred_username: account.username,
        }),
      };
    },
    // Every confidential client gets a refresh token without asking for offline_access (which oidc-provider
    // only honours with prompt=consent): CRA's minimal provider scopes don't ask for it either.
    issueRefreshToken: (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Tokens outlive the consent page's short browser session, as at a real provider.
    expiresWithSession: () => false,
    allowOmittingSingleRegisteredRedirectUri: false,
    // One machine, one clock: expiry is exact, so tests of short TTLs need not wait out a tolerance.
    clockTolerance: 0,
    ttl: {
      AccessToken: opts.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: opts.refreshTokenTtlSeconds,
      // A grant must outlive every refresh token issued under it, rotated ones included.
      Grant: Math.max(opts.refreshTokenTtlSeconds, 365 * day),
      Interaction: 60 * 60,
      Session: day,
    },
    features: {
      devInteractions: { enabled: false },
      // A client revokes only its own tokens; anything else is answered 200 and left alone (RFC 7009 §2.2).
      revocation: { enabled: true, allowedPolicy: (_ctx, c, token) => token.clientId === c.clientId },
      userinfo: { enabled: true },
      // Scope names are learned from the authorization request's query (scope-names.ts), which PAR would bypass.
      pushedAuthorizationRequests: { enabled: false },
      rpInitiatedLogout: { enabled: false },
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'], userinfoSigningAlgValues: ['RS256'] },
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}`, policy },
    // Every provider shares one host: its own cookie names keep one provider's session from replacing another's.
    cookies: {
      keys: [opts.cookieKey],
      names: {
        session: `_sandbox_${opts.id}_session`,
        interaction: `_sandbox_${opts.id}_interaction`,
        resume: `_sandbox_${opts.id}_resume`,
      },
    },
    jwks: { keys: [opts.signingKey] },
    renderError: (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'html';
      ctx.body = page(
        `${opts.id} sandbox: ${out.error}`,
        `<h1>${escapeHtml(opts.id)} sandbox</h1>
<p class="error"><strong>${escapeHtml(out.error)}</strong>${out.error_description ? `: ${escapeHtml(out.error_description)}` : ''}</p>
<p>The request was not sent back to the application.</p>`,
      );
    },
  };

  const provider = new Provider(opts.issuer, configuration);
  return {
    id: opts.id,
    issuer: opts.issuer,
    mountPath,
    authorizationPath: provider.pathFor('authorization'),
    provider,
    clientId: opts.client.clientId,
    store,
    learnScopes: scopeLearner(provider),
  };
}

/**
 * A fresh RS256 key per sandbox run, shared by its providers (each issuer publishes it): generating
 * 2048-bit RSA keys takes a few hundred milliseconds each, thirteen of them would hold up every start.
 */
export async function rsaSigningKey(): Promise<JWK> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' };
}
