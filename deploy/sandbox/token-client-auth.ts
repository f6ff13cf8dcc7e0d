/**
 * Client authentication at each sandbox provider's token endpoint, as the provider requires it: Reddit and X
 * take only HTTP Basic (the catalog's `clientAuth: 'client_secret_basic'`), and a secret in the form is refused
 * there with 401 `invalid_client`; the others accept either, as oidc-provider does. Every token request's method
 * is recorded (from the Authorization header: the body stays unread for oidc-provider) so tests can check it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import { sendJson } from './http-io.js';

export interface SandboxTokenRequest {
  provider: string;
  clientAuth: 'client_secret_basic' | 'client_secret_post';
}

/** True when the request was answered here (refused); false to hand it on to oidc-provider. */
export function checkTokenClientAuth(
  provider: string,
  req: IncomingMessage,
  res: ServerResponse,
  record: (request: SandboxTokenRequest) => void,
): boolean {
  const clientAuth = /^Basic /i.test(req.headers.authorization ?? '') ? 'client_secret_basic' : 'client_secret_post';
  record({ provider, clientAuth });
  const required = isProviderId(provider) ? providerCatalog[provider].clientAuth : undefined;
  if (required !== 'client_secret_basic' || clientAuth === 'client_secret_basic') return false;
  sendJson(res, 401, {
    error: 'invalid_client',
    error_description: 'this provider takes HTTP Basic client authentication',
  });
  return true;
}
