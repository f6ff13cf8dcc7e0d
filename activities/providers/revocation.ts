/**
 * Revoking CRA's grant at a provider, the way each one documents it (the catalog's `revocation`
 * descriptor says which): RFC 7009 (Google, Apple, X, Discord, Reddit, LinkedIn, CodeRabbit), GitHub's
 * "delete an app authorization", Facebook's `DELETE /me/permissions` and Slack's `auth.revoke`. A grant that
 * is already gone there (each provider's own "not found" or invalid-token answer) counts as revoked: the
 * call is idempotent, and a retry after a lost answer converges. Messages never hold a token or a secret.
 */
import type { ProviderDefinition, RevocationDescriptor } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import { clientAuthentication, type ClientCredentials } from './client-auth.js';
import { failure, post, ProviderError, retryAfter, where } from './oauth-client.js';

const timeoutMs = 15_000;

/** The tokens a connection holds; which one is sent depends on the style. */
export interface GrantTokens {
  accessToken: string;
  refreshToken?: string;
}

export interface RevocationTarget {
  provider: ProviderId;
  definition: Pick<ProviderDefinition, 'revocation'>;
  credentials: ClientCredentials;
  /** True when the provider is played by the built-in sandbox (`resolveProvider`). */
  sandbox: boolean;
}

/**
 * Where the call goes: a configured `PROVIDER_<ID>_REVOCATION_URL` first; then, for the sandbox, the
 * provider's own path under `<sandbox>/<provider>` (the sandbox serves each one there); else the provider's URL.
 */
export function revocationUrl(
  target: RevocationTarget,
  opts: { override?: string; sandboxUrl?: string } = {},
): string | undefined {
  const descriptor = target.definition.revocation;
  if (!descriptor) return undefined;
  const template =
    opts.override ??
    (target.sandbox && opts.sandboxUrl
      ? `${opts.sandboxUrl.replace(/\/$/, '')}/${target.provider}${descriptor.url.replace(/^https:\/\/[^/]+/, '')}`
      : descriptor.url);
  return template.replace('{client_id}', encodeURIComponent(target.credentials.clientId));
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new ProviderError('ProviderUnavailable', `${init.method} ${where(url)} failed: ${(err as Error).name}`);
  }
}

/** Rate limits and outages are retried as everywhere; anything else the provider refused is permanent. */
function refused(res: Response, method: string, url: string, code = ''): ProviderError {
  const what = `${method} ${where(url)} answered ${res.status}${code ? ` (${code})` : ''}`;
  if (res.status === 429) return new ProviderError('ProviderRateLimited', what, retryAfter(res) ?? 1000);
  if (res.status >= 500) return new ProviderError('ProviderUnavailable', what);
  if (res.status === 401 || code === 'invalid_client') return new ProviderError('InvalidClient', what);
  return new ProviderError('ProviderRejected', what);
}

async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  try {
    const body = (await res.json()) as unknown;
    return body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Revoke the grant at the provider. Returns false when the provider has no way to (Spotify, Microsoft,
 * Amazon: the grant stays there until the person removes it), true when it is revoked or already gone.
 */
export async function revokeGrant(
  target: RevocationTarget,
  tokens: GrantTokens,
  opts: { override?: string; sandboxUrl?: string } = {},
): Promise<boolean> {
  const descriptor = target.definition.revocation;
  const url = revocationUrl(target, opts);
  if (!descriptor || !url) return false;
  switch (descriptor.style) {
    case 'rfc7009':
      return revokeRfc7009(descriptor, url, target.credentials, tokens);
    case 'github-grant':
      return revokeGithubGrant(descriptor, url, target.credentials, tokens);
    case 'facebook-permissions':
      return revokeFacebookPermissions(url, tokens);
    case 'slack-auth-revoke':
      return revokeSlackToken(url, tokens);
  }
}

/**
 * RFC 7009 §2.1: the refresh token (revoking it ends the grant's access tokens too, §2.1), else the access
 * token, with the provider's client authentication. §2.2: 200 also for a token already invalid; Google
 * answers 400 `invalid_token` for one (https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke),
 * Reddit 204 (https://github.com/reddit-archive/reddit/wiki/OAuth2).
 */
async function revokeRfc7009(
  descriptor: RevocationDescriptor,
  url: string,
  credentials: ClientCredentials,
  tokens: GrantTokens,
): Promise<boolean> {
  const [token, hint] = tokens.refreshToken
    ? [tokens.refreshToken, 'refresh_token']
    : [tokens.accessToken, 'access_token'];
  const res = await post(url, { token, token_type_hint: hint }, credentials, descriptor.clientAuth);
  if (res.ok) return true;
  if (res.status === 400) {
    const code = (await jsonOf(res.clone())).error;
    if (code === 'invalid_token' || code === 'invalid_grant') return true;
  }
  throw await failure(res, url);
}

/**
 * GitHub (https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization):
 * `DELETE /applications/{client_id}/grant`, Basic client_id:client_secret, body `{"access_token"}`; 204 deleted,
 * 404 when the token is unknown (the grant was deleted already, or the person removed the app).
 */
async function revokeGithubGrant(
  descriptor: RevocationDescriptor,
  url: string,
  credentials: ClientCredentials,
  tokens: GrantTokens,
): Promise<boolean> {
  const auth = clientAuthentication(credentials, descriptor.clientAuth);
  const res = await send(url, {
    method: 'DELETE',
    headers: {
      ...auth.headers,
      accept: 'application/vnd.github+json',
      // https://docs.github.com/en/rest/about-the-rest-api/api-versions
      'x-github-api-version': '2022-11-28',
      'content-type': 'application/json',
    },
    body: JSON.stringify({ access_token: tokens.accessToken }),
  });
  if (res.ok || res.status === 404) return true;
  throw refused(res, 'DELETE', url);
}

/**
 * Facebook (https://developers.facebook.com/docs/graph-api/reference/user/permissions/): `DELETE
 * /me/permissions` with the user's token removes every permission, the app's login with them; `{"success": true}`.
 * An invalid or expired token is OAuthException code 190
 * (https://developers.facebook.com/docs/graph-api/guides/error-handling): the login is gone already.
 */
async function revokeFacebookPermissions(url: string, tokens: GrantTokens): Promise<boolean> {
  const res = await send(url, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${tokens.accessToken}`, accept: 'application/json' },
  });
  if (res.ok) return true;
  const error = (await jsonOf(res.clone())).error as { code?: unknown } | undefined;
  if (error?.code === 190) return true;
  throw refused(res, 'DELETE', url, error?.code !== undefined ? `code ${String(error.code)}` : '');
}

/** Slack's answers that say the token no longer works (https://api.slack.com/methods/auth.revoke#errors). */
const slackTokenGone = new Set(['invalid_auth', 'token_revoked', 'account_inactive', 'token_expired']);

/**
 * Slack (https://api.slack.com/methods/auth.revoke): the token to revoke is the call's credential
 * (`Authorization: Bearer`); errors come as HTTP 200 `{"ok": false, "error"}`.
 */
async function revokeSlackToken(url: string, tokens: GrantTokens): Promise<boolean> {
  const res = await send(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tokens.accessToken}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: '',
  });
  if (!res.ok) throw refused(res, 'POST', url);
  const body = await jsonOf(res);
  if (body.ok === true) return true;
  const code = typeof body.error === 'string' ? body.error : '';
  if (slackTokenGone.has(code)) return true;
  throw refused(res, 'POST', url, code);
}
