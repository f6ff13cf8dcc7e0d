/**
 * The client CRA is registered as at each sandbox provider when nothing else is configured. CRA's
 * embedded default uses the same function, so `npm start` links every provider with no setup.
 */
import { redirectUriFor } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import type { SandboxClient } from './oidc-server.js';

/**
 * `craPublicUrl` is where CRA's API is reached (CRA_PUBLIC_URL), which receives the redirect.
 * `appRedirectUris`: apps' own redirect URIs (LINK_CLIENT_REDIRECT_URIS), accepted by every provider too.
 */
export function defaultSandboxClients(
  craPublicUrl: string,
  providers: readonly ProviderId[],
  appRedirectUris: readonly string[] = [],
): Record<string, SandboxClient> {
  return Object.fromEntries(
    providers.map((id) => [
      id,
      {
        clientId: `cra-${id}`,
        // Not a secret: the sandbox is for laptops and tests, and refuses nothing but wrong values.
        clientSecret: `cra-${id}-sandbox-secret`,
        redirectUris: [redirectUriFor(craPublicUrl, id), ...appRedirectUris],
      },
    ]),
  );
}
