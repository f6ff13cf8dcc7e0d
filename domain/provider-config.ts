/**
 * Provider settings from the environment: feature flags, endpoint overrides, the sandbox, and the
 * link/refresh durations. Checked with the rest of the configuration; production refuses sandbox endpoints.
 */
import { defaultDurations } from '../temporal.config.js';
import type { FlagRule } from './feature-flags.js';
import { flagNameFor, providerCatalog, type ProviderEndpoints } from './provider-catalog.js';
import { providerIds, type ProviderId } from './providers.js';

export interface ProviderConfig {
  flags: Record<ProviderId, FlagRule>;
  /** Per-provider endpoint overrides (`PROVIDER_<ID>_TOKEN_URL`, …). */
  endpointOverrides: Partial<Record<ProviderId, Partial<ProviderEndpoints>>>;
  /** The built-in sandbox OAuth server, used for providers without real credentials. */
  sandboxUrl?: string;
  linkAttemptTtl: string;
  tokenRefreshMargin: string;
}

const durationPattern = /^\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$/;
const endpointVars: Array<[Exclude<keyof ProviderEndpoints, 'dataApis'>, string]> = [
  ['authorize', 'AUTHORIZE_URL'],
  ['token', 'TOKEN_URL'],
  ['revocation', 'REVOCATION_URL'],
  ['profile', 'PROFILE_URL'],
  ['issuer', 'ISSUER'],
  ['jwks', 'JWKS_URL'],
];

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host.endsWith('.localhost');
  } catch {
    return false;
  }
}

function list(value: string | undefined): string[] | undefined {
  const items = value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items && items.length > 0 ? items : undefined;
}

/** Parse; every problem names its variable and the expected form. */
export function parseProviderConfig(
  env: Record<string, string | undefined>,
  production: boolean,
): { config: ProviderConfig; problems: string[] } {
  const problems: string[] = [];
  const flags = {} as Record<ProviderId, FlagRule>;
  const endpointOverrides: ProviderConfig['endpointOverrides'] = {};
  for (const id of providerIds) {
    const name = flagNameFor(id);
    const raw = env[name]?.trim().toLowerCase();
    const rule: FlagRule = { enabled: providerCatalog[id].enabledByDefault };
    if (raw === 'true' || raw === '1' || raw === 'on') rule.enabled = true;
    else if (raw === 'false' || raw === '0' || raw === 'off') rule.enabled = false;
    else if (raw !== undefined && /^\d{1,3}(\.\d+)?%$/.test(raw) && Number(raw.slice(0, -1)) <= 100) {
      rule.enabled = false;
      rule.rolloutPercent = Number(raw.slice(0, -1));
    } else if (raw !== undefined)
      problems.push(`${name}: true, false, or a rollout percentage such as 25% (got "${env[name]}")`);
    const roles = list(env[`${name}_ROLES`]);
    const accounts = list(env[`${name}_ACCOUNTS`]);
    if (roles) rule.roles = roles;
    if (accounts) rule.accounts = accounts;
    flags[id] = rule;

    for (const [key, suffix] of endpointVars) {
      const variable = `PROVIDER_${id.toUpperCase()}_${suffix}`;
      const value = env[variable];
      if (!value) continue;
      if (!/^https?:\/\/[^\s]+$/.test(value)) {
        problems.push(`${variable}: an absolute http(s) URL`);
        continue;
      }
      if (production && (isLoopback(value) || !value.startsWith('https://'))) {
        problems.push(`${variable}: production needs a public https endpoint, not ${value}`);
        continue;
      }
      (endpointOverrides[id] ??= {})[key] = value;
    }
    // PROVIDER_<ID>_DATA_API_<NAME>: one of the provider's data APIs elsewhere (a proxy, a stand-in).
    const dataApis = providerCatalog[id].endpoints.dataApis;
    for (const name of Object.keys(dataApis ?? {})) {
      const variable = `PROVIDER_${id.toUpperCase()}_DATA_API_${name.toUpperCase()}`;
      const value = env[variable];
      if (!value) continue;
      if (!/^https?:\/\/[^\s]+$/.test(value) || (production && (isLoopback(value) || !value.startsWith('https://')))) {
        problems.push(`${variable}: ${production ? 'a public https URL' : 'an absolute http(s) URL'}`);
        continue;
      }
      const overrides = (endpointOverrides[id] ??= {});
      overrides.dataApis = { ...dataApis, ...overrides.dataApis, [name]: value.replace(/\/$/, '') };
    }
  }
  const sandboxUrl = env.CRA_SANDBOX_URL?.replace(/\/$/, '');
  if (sandboxUrl && !/^https?:\/\/[^\s]+$/.test(sandboxUrl)) problems.push('CRA_SANDBOX_URL: an absolute http(s) URL');
  if (sandboxUrl && production)
    problems.push(
      'CRA_SANDBOX_URL: the sandbox provider is refused in production (CRA_ENV=production); configure real provider credentials',
    );
  const linkAttemptTtl = env.LINK_ATTEMPT_TTL ?? defaultDurations.linkAttemptTtl;
  if (!durationPattern.test(linkAttemptTtl)) problems.push('LINK_ATTEMPT_TTL: a duration such as "10 minutes"');
  const tokenRefreshMargin = env.TOKEN_REFRESH_MARGIN ?? defaultDurations.tokenRefreshMargin;
  if (!durationPattern.test(tokenRefreshMargin)) problems.push('TOKEN_REFRESH_MARGIN: a duration such as "5 minutes"');
  return {
    config: { flags, endpointOverrides, ...(sandboxUrl ? { sandboxUrl } : {}), linkAttemptTtl, tokenRefreshMargin },
    problems,
  };
}
