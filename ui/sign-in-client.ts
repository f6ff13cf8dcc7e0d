/**
 * The account center as an OpenID Connect client (openid-client): authorization code + PKCE + nonce
 * against the embedded issuer, or Auth0 Universal Login when `AUTH0_*` is set. The issuer's metadata is
 * discovered on first use and kept.
 */
import * as oidc from 'openid-client';
import type { CraConfig } from '../domain/config.js';

export interface SignInIssuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Auth0 issues a JWT for the API only when the authorization request names its audience. */
  audience?: string;
  /** Auth0's logout endpoint when discovery names none (`/v2/logout`). */
  logoutUrl?: string;
  /** Ask for the issuer's session id in the id_token (the embedded issuer gives it only when asked). */
  requestSid?: boolean;
}

export const signInScopes = 'openid email profile offline_access';

/** Who the account center signs in with, from the configuration. */
export function signInIssuerOf(config: CraConfig, embedded?: { clientId: string; clientSecret: string }): SignInIssuer {
  if (config.identity.kind === 'auth0') {
    const login = config.identity.login ?? {
      clientId: config.identity.clientId,
      clientSecret: config.identity.clientSecret,
    };
    return {
      issuer: config.auth.issuer,
      clientId: login.clientId,
      clientSecret: login.clientSecret,
      audience: config.auth.audience,
      logoutUrl: `https://${config.identity.domain}/v2/logout`,
    };
  }
  if (!embedded) throw new Error('the embedded issuer is not running');
  return { issuer: config.auth.issuer, ...embedded, requestSid: true };
}

export class SignInClient {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(
    readonly issuer: SignInIssuer,
    private readonly redirectUri: string,
  ) {}

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= oidc
      .discovery(
        new URL(this.issuer.issuer),
        this.issuer.clientId,
        this.issuer.clientSecret,
        undefined,
        new URL(this.issuer.issuer).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        this.configuration = undefined;
        throw err;
      });
    return this.configuration;
  }

  /** A new authorization request: the values to keep for the callback, and where to send the browser. */
  async begin(
    opts: { loginHint?: string; prompt?: string } = {},
  ): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }> {
    const config = await this.config();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: signInScopes,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...(this.issuer.audience ? { audience: this.issuer.audience } : {}),
      ...(this.issuer.requestSid ? { claims: JSON.stringify({ id_token: { sid: null } }) } : {}),
      ...(opts.loginHint ? { login_hint: opts.loginHint } : {}),
      ...(opts.prompt ? { prompt: opts.prompt } : {}),
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /** Redeem the callback's code; checks state, PKCE, nonce and the id_token. */
  async finish(callbackUrl: URL, expected: { state: string; nonce: string; codeVerifier: string }) {
    const config = await this.config();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: expected.codeVerifier,
      expectedState: expected.state,
      expectedNonce: expected.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('the issuer returned no id_token');
    return { claims, accessToken: tokens.access_token, refreshToken: tokens.refresh_token, idToken: tokens.id_token };
  }

  /** Revoke a refresh token at the issuer (RFC 7009); an issuer without revocation is skipped. */
  async revoke(refreshToken: string): Promise<void> {
    const config = await this.config();
    if (!config.serverMetadata().revocation_endpoint) return;
    await oidc.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
  }

  /** Where to send the browser to sign out at the issuer too (RP-initiated logout), if it can. */
  async signOutUrl(idToken: string | undefined, postLogoutRedirectUri: string): Promise<string | undefined> {
    const config = await this.config();
    if (config.serverMetadata().end_session_endpoint) {
      return oidc.buildEndSessionUrl(config, {
        post_logout_redirect_uri: postLogoutRedirectUri,
        ...(idToken ? { id_token_hint: idToken } : {}),
      }).href;
    }
    if (!this.issuer.logoutUrl) return undefined;
    const url = new URL(this.issuer.logoutUrl);
    url.searchParams.set('client_id', this.issuer.clientId);
    url.searchParams.set('returnTo', postLogoutRedirectUri);
    return url.href;
  }
}
