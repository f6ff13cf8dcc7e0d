/**
 * oidc-provider's private per-instance state (see scope-names.ts for why the sandbox reaches into it).
 * Typed as loosely as it is used: only `configuration.scopes`, checked at start-up.
 */
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  export function get(provider: object): { configuration?: { scopes?: unknown } } | undefined;
}
