/**
 * The provider as CRA reaches it right now: catalog endpoints with any configured overrides, and the
 * client credentials from the SecretVault. A provider with no credentials of its own is pointed at the
 * built-in sandbox when one is configured (never in production: config refuses it).
 */
import { providerCatalog, type ProviderDefinition, type ProviderEndpoints } from '../../domain/provider-catalog.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import type { ProviderId } from '../../domain/providers.js';
import type { SecretVault } from '../secrets/port.js';
import { appleClientSecret, appleSigningKeyOf, type ClientCredentials } from './client-auth.js';

export interface ResolvedProvider {
  definition: ProviderDefinition;
  endpoints: ProviderEndpoints;
  credentials: ClientCredentials;
  sandbox: boolean;
  /** Scopes the authorization request needs besides the provider's own. */
  extraScopes: string[];
}

export class ProviderNotConfigured extends Error {
  constructor(readonly provider: ProviderId) {
    super(
      `no client credentials are configured for ${provider} (SecretVault providers/${provider}) and no sandbox is running`,
    );
    this.name = 'ProviderNotConfigured';
  }
}

/** Where the sandbox serves one provider (oidc-provider's routes under `/<provider>`). */
export function sandboxEndpoints(sandboxUrl: string, provider: ProviderId): ProviderEndpoints {
  const base = `${sandboxUrl.replace(/\/$/, '')}/${provider}`;
  return {
    authorize: `${base}/auth`,
    token: `${base}/token`,
    revocation: `${base}/token/revocation`,
    profile: `${base}/me`,
    issuer: base,
    jwks: `${base}/jwks`,
    // Each data API at `/<provider>/api/<name>`, serving the provider's own paths beneath (deploy/sandbox/apis/).
    ...(providerCatalog[provider].endpoints.dataApis
      ? {
          dataApis: Object.fromEntries(
            Object.keys(providerCatalog[provider].endpoints.dataApis!).map((name) => [name, `${base}/api/${name}`]),
          ),
        }
      : {}),
  };
}

/** SecretVault paths of provider client credentials. */
export const credentialPaths = {
  real: (provider: ProviderId) => `providers/${provider}`,
  sandbox: (provider: ProviderId) => `sandbox/providers/${provider}`,
};

function credentialsFrom(secret: Record<string, string> | undefined): ClientCredentials | undefined {
  return secret?.clientId && secret.clientSecret
    ? { clientId: secret.clientId, clientSecret: secret.clientSecret }
    : undefined;
}

export async function resolveProvider(
  provider: ProviderId,
  config: ProviderConfig,
  vault: SecretVault,
): Promise<ResolvedProvider> {
  const definition = providerCatalog[provider];
  const realSecret = await vault.readSecret(credentialPaths.real(provider));
  // Apple's secret is a short-lived JWT signed with the key the SecretVault holds, made for each call.
  const appleKey = definition.clientSecret === 'apple-es256-jwt' ? appleSigningKeyOf(realSecret) : undefined;
  const real =
    appleKey && realSecret?.clientId
      ? { clientId: realSecret.clientId, clientSecret: await appleClientSecret(appleKey, realSecret.clientId) }
      : credentialsFrom(realSecret);
  if (real) {
    return {
      definition,
      endpoints: { ...definition.endpoints, ...config.endpointOverrides[provider] },
      credentials: { ...real, method: definition.clientAuth ?? 'client_secret_post' },
      sandbox: false,
      extraScopes: [],
    };
  }
  if (config.sandboxUrl) {
    const sandbox = credentialsFrom(await vault.readSecret(credentialPaths.sandbox(provider)));
    if (sandbox) {
      return {
        // The sandbox is an OpenID server for every provider: the profile is its userinfo, which needs the
        // `openid` scope. Plain OAuth providers still get no nonce and no id_token check, as in production.
        definition: { ...definition, mapProfile: providerCatalog.google.mapProfile },
        endpoints: { ...sandboxEndpoints(config.sandboxUrl, provider), ...config.endpointOverrides[provider] },
        // The provider's own client authentication: the sandbox accepts either, so both paths are exercised.
        credentials: { ...sandbox, method: definition.clientAuth ?? 'client_secret_post' },
        sandbox: true,
        extraScopes: definition.defaultScopes.includes('openid') ? [] : ['openid'],
      };
    }
  }
  throw new ProviderNotConfigured(provider);
}
