/**
 * OAuth 2.0 calls to a provider: code exchange (with the PKCE verifier), refresh, RFC 7009 revocation
 * and the profile read; each provider's own revocation call is in `revocation.ts`. Errors are mapped once, here; their messages name the endpoint and the OAuth
 * error code, never a token, a code or a secret.
 */
import { createRemoteJWKSet, jwtVerify, decodeJwt, type JWTVerifyGetKey } from 'jose';
import type { ClientAuthMethod, ProviderEndpoints } from '../../domain/provider-catalog.js';
import { clientAuthentication, type ClientCredentials } from './client-auth.js';

export type { ClientCredentials } from './client-auth.js';

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** Absolute expiry of the access token, when the provider says. */
  expiresAt?: string;
  scopes: string[];
  tokenType: string;
}

export type ProviderErrorType =
  | 'InvalidGrant'
  | 'InvalidClient'
  | 'ProviderRejected'
  | 'ProviderRateLimited'
  | 'ProviderUnavailable'
  | 'IdTokenInvalid';

export class ProviderError extends Error {
  constructor(
    readonly type: ProviderErrorType,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

const timeoutMs = 15_000;

export function retryAfter(res: Response): number | undefined {
  const header = res.headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** Where a request went, for error messages: origin and path only, never the query. */
export function where(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export async function post(
  url: string,
  form: Record<string, string>,
  credentials: ClientCredentials,
  method?: ClientAuthMethod | 'none',
): Promise<Response> {
  // The provider's own method (catalog `clientAuth`): Reddit and X refuse a secret in the form.
  const auth = clientAuthentication(credentials, method);
  try {
    return await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...auth.headers },
      body: new URLSearchParams({ ...form, ...auth.form }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new ProviderError('ProviderUnavailable', `POST ${where(url)} failed: ${(err as Error).name}`);
  }
}

export async function failure(res: Response, url: string): Promise<ProviderError> {
  let code = '';
  try {
    const body = (await res.json()) as { error?: unknown };
    code = typeof body.error === 'string' ? body.error : '';
  } catch {
    // not JSON
  }
  const what = `POST ${where(url)} answered ${res.status}${code ? ` (${code})` : ''}`;
  if (res.status === 429) return new ProviderError('ProviderRateLimited', what, retryAfter(res) ?? 1000);
  if (res.status >= 500) return new ProviderError('ProviderUnavailable', what);
  if (code === 'invalid_grant') return new ProviderError('InvalidGrant', what);
  if (code === 'invalid_client' || res.status === 401) return new ProviderError('InvalidClient', what);
  return new ProviderError('ProviderRejected', what);
}

function tokenSet(body: Record<string, unknown>, requestedScopes: string[]): TokenSet {
  if (typeof body.access_token !== 'string')
    throw new ProviderError('ProviderRejected', 'the token response has no access_token');
  const expiresIn = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
    ...(typeof body.id_token === 'string' ? { idToken: body.id_token } : {}),
    ...(Number.isFinite(expiresIn) && expiresIn > 0
      ? { expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() }
      : {}),
    // RFC 6749 §5.1: no `scope` in the response means the requested scopes were granted.
    scopes: typeof body.scope === 'string' ? body.scope.split(/[\s,]+/).filter(Boolean) : requestedScopes,
    tokenType: typeof body.token_type === 'string' ? body.token_type : 'Bearer',
  };
}

export async function exchangeCode(
  endpoints: ProviderEndpoints,
  credentials: ClientCredentials,
  input: { code: string; codeVerifier: string; redirectUri: string; requestedScopes: string[] },
): Promise<TokenSet> {
  const res = await post(
    endpoints.token,
    {
      grant_type: 'authorization_code',
      code: input.code,
      code_verifier: input.codeVerifier,
      redirect_uri: input.redirectUri,
    },
    credentials,
  );
  if (!res.ok) throw await failure(res, endpoints.token);
  return tokenSet((await res.json()) as Record<string, unknown>, input.requestedScopes);
}

export async function refreshTokens(
  endpoints: ProviderEndpoints,
  credentials: ClientCredentials,
  refreshToken: string,
  scopes: string[],
): Promise<TokenSet> {
  const res = await post(endpoints.token, { grant_type: 'refresh_token', refresh_token: refreshToken }, credentials);
  if (!res.ok) throw await failure(res, endpoints.token);
  return tokenSet((await res.json()) as Record<string, unknown>, scopes);
}

/** RFC 7009. A provider without a revocation endpoint returns false: the caller records that. */
export async function revokeToken(
  endpoints: ProviderEndpoints,
  credentials: ClientCredentials,
  token: string,
  hint: 'refresh_token' | 'access_token',
): Promise<boolean> {
  if (!endpoints.revocation) return false;
  const res = await post(endpoints.revocation, { token, token_type_hint: hint }, credentials);
  // RFC 7009 §2.2: 200 also for tokens that were already invalid.
  if (res.ok) return true;
  throw await failure(res, endpoints.revocation);
}

export async function fetchProfileJson(
  endpoints: ProviderEndpoints,
  tokens: TokenSet,
): Promise<Record<string, unknown>> {
  if (endpoints.profile === 'id_token') {
    if (!tokens.idToken)
      throw new ProviderError('IdTokenInvalid', 'the provider sent no id_token to read the profile from');
    return decodeJwt(tokens.idToken) as Record<string, unknown>;
  }
  let res: Response;
  try {
    res = await fetch(endpoints.profile, {
      headers: { authorization: `Bearer ${tokens.accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new ProviderError('ProviderUnavailable', `GET ${where(endpoints.profile)} failed: ${(err as Error).name}`);
  }
  if (!res.ok) {
    const what = `GET ${where(endpoints.profile)} answered ${res.status}`;
    if (res.status === 429) throw new ProviderError('ProviderRateLimited', what, retryAfter(res) ?? 1000);
    if (res.status >= 500) throw new ProviderError('ProviderUnavailable', what);
    throw new ProviderError('ProviderRejected', what);
  }
  return (await res.json()) as Record<string, unknown>;
}

const keySets = new Map<string, JWTVerifyGetKey>();

/** An OpenID provider's id_token: signed by its keys, for our client, with the nonce we sent. */
export async function verifyIdToken(
  endpoints: ProviderEndpoints,
  clientId: string,
  idToken: string,
  nonce: string,
): Promise<Record<string, unknown>> {
  if (!endpoints.jwks) throw new ProviderError('IdTokenInvalid', 'no key set is configured for this OpenID provider');
  let keys = keySets.get(endpoints.jwks);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(endpoints.jwks));
    keySets.set(endpoints.jwks, keys);
  }
  try {
    const { payload } = await jwtVerify(idToken, keys, {
      audience: clientId,
      ...(endpoints.issuer ? { issuer: endpoints.issuer } : {}),
      clockTolerance: 60,
    });
    if (payload.nonce !== nonce)
      throw new ProviderError('IdTokenInvalid', 'the id_token nonce does not match this link attempt');
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    throw new ProviderError('IdTokenInvalid', `the id_token was refused: ${(err as Error).name}`);
  }
}
