/**
 * The data API's resource-server side of OAuth: a bearer access token is accepted only if this
 * provider's oidc-provider issued it (it is in that provider's own token store), it has not expired or
 * been revoked, its grant still stands, and it was issued to the provider's registered client.
 */
import type { IncomingMessage } from 'node:http';
import type { OidcServer } from './oidc-server.js';

/** oidc-provider's opaque tokens are 43 characters; anything much longer is not worth a lookup. */
const maxTokenLength = 512;

/** The username whose data the request's access token opens, or undefined when the token is missing or not accepted. */
export async function usernameOfBearer(oidc: OidcServer, req: IncomingMessage): Promise<string | undefined> {
  const value = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!value || value.length > maxTokenLength) return undefined;
  const token = await oidc.provider.AccessToken.find(value);
  if (!token || token.isExpired || token.clientId !== oidc.clientId || !token.accountId || !token.grantId)
    return undefined;
  // Revoking a grant destroys its tokens too; checking the grant as userinfo does keeps that true if it ever changes.
  const grant = await oidc.provider.Grant.find(token.grantId);
  if (!grant || grant.accountId !== token.accountId || grant.clientId !== token.clientId) return undefined;
  const prefix = `${oidc.id}:`;
  return token.accountId.startsWith(prefix) ? token.accountId.slice(prefix.length) : undefined;
}
