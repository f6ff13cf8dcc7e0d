/**
 * Every environment variable the configuration reads (`loadConfig`): the schema's keys, the provider
 * settings of `provider-config.ts` and the three list variables parsed apart. The deployment manifests
 * (`deploy/compose.yaml`, `deploy/k8s/`, Terraform outputs) are checked against this list, so a variable
 * renamed here and not there fails a test instead of being silently ignored in production.
 */
import { configSchema } from './config.js';
import { flagNameFor, providerCatalog } from './provider-catalog.js';
import { providerIds } from './providers.js';

/** `configSchema`'s own variables. */
export const schemaVariables: readonly string[] = Object.keys(configSchema.shape);

/** The endpoint overrides `parseProviderConfig` reads, `PROVIDER_<ID>_<SUFFIX>`. */
const endpointSuffixes = ['AUTHORIZE_URL', 'TOKEN_URL', 'REVOCATION_URL', 'PROFILE_URL', 'ISSUER', 'JWKS_URL'];

/** Provider variables: flags (with `_ROLES`/`_ACCOUNTS`), endpoint and data-API overrides, sandbox, durations. */
export const providerVariables: readonly string[] = [
  ...providerIds.flatMap((id) => {
    const flag = flagNameFor(id);
    const upper = id.toUpperCase();
    return [
      flag,
      `${flag}_ROLES`,
      `${flag}_ACCOUNTS`,
      ...endpointSuffixes.map((s) => `PROVIDER_${upper}_${s}`),
      ...Object.keys(providerCatalog[id].endpoints.dataApis ?? {}).map(
        (name) => `PROVIDER_${upper}_DATA_API_${name.toUpperCase()}`,
      ),
    ];
  }),
  'CRA_SANDBOX_URL',
  'LINK_ATTEMPT_TTL',
  'TOKEN_REFRESH_MARGIN',
];

/** Lists parsed outside the schema (`consents.ts`, `link-clients.ts`). */
export const listVariables: readonly string[] = [
  'CONSENT_PURPOSES',
  'LINK_CLIENT_REDIRECT_URIS',
  'EMBEDDED_OIDC_CLIENTS',
];

/** Every variable the configuration reads. */
export const environmentVariables: ReadonlySet<string> = new Set([
  ...schemaVariables,
  ...providerVariables,
  ...listVariables,
]);

/** Whether `name` is a variable CRA reads. */
export const isEnvironmentVariable = (name: string): boolean => environmentVariables.has(name);
