/**
 * The provider catalog: for every provider CRA can connect, its production endpoints, minimal default
 * scopes, optional extended scopes, how its profile maps to `{providerAccountId, email, emailVerified,
 * displayName}`, and what a sync can import. Pure data, shared by the API and the activities;
 * `activities/providers/catalog.ts` applies endpoint overrides, the sandbox and credentials at run time.
 * Client ids and secrets are never here: they come from the SecretVault (`providers/<id>`).
 */
import type { ProviderId } from './providers.js';
import { providerIds } from './providers.js';

export interface ProviderEndpoints {
  authorize: string;
  token: string;
  /** RFC 7009 revocation, where the provider has one. */
  revocation?: string;
  /** Where the signed-in user's profile is read. */
  profile: string;
  /** OpenID issuer and key set, for id_token checks. */
  issuer?: string;
  jwks?: string;
  /**
   * The provider's data APIs by name, each a base URL its reader (`activities/providers/data/<provider>.ts`)
   * builds requests on, and the only prefixes a next-page URL may have before the access token goes with it.
   * The sandbox serves each at `<sandbox>/<provider>/api/<name>`. A provider without them syncs nothing.
   */
  dataApis?: Record<string, string>;
}

/** How our client proves itself at a provider's token and revocation endpoints (RFC 6749 §2.3.1). */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic';

/** The shape of a provider's "revoke this grant" call; `activities/providers/revocation.ts` performs each. */
export type RevocationStyle = 'rfc7009' | 'github-grant' | 'facebook-permissions' | 'slack-auth-revoke';

export interface RevocationDescriptor {
  style: RevocationStyle;
  /** The provider's endpoint; `{client_id}` stands for our client id. The sandbox serves the same path. */
  url: string;
  /** `none`: the token alone is the credential (Google, Facebook's and Slack's user tokens). */
  clientAuth: ClientAuthMethod | 'none';
}

export interface ProviderProfile {
  providerAccountId: string;
  email?: string;
  emailVerified: boolean;
  displayName?: string;
}

export interface ProviderSummary {
  id: ProviderId;
  displayName: string;
  /** OpenID Connect: the authorization request carries a nonce and the token response an id_token. */
  openid: boolean;
  defaultScopes: string[];
  extendedScopes: string[];
  /** Kinds of data a sync can import from it; empty for a profile-only provider. */
  dataKinds: string[];
  /** `data`: a sync imports `dataKinds` (a schedule is made at linking); `profile_only`: linking reads the profile, nothing more. */
  sync: 'data' | 'profile_only';
  /** Why a profile-only provider syncs nothing. */
  dataNote?: string;
  /** The feature flag that turns linking on: `ENABLE_<ID>_LOGIN`. */
  flag: string;
  /** Whether a disconnect revokes CRA's grant at the provider, or the grant stays there until removed by hand. */
  revocation: 'at_provider' | 'not_supported';
  /** Where the person removes CRA's access at the provider themselves. */
  grantSettingsUrl?: string;
  /** The provider webhook CRA receives (`POST /v1/webhooks/<name>`), or null when there is none: docs/webhooks.md. */
  webhook?: ProviderWebhook | null;
}

/** The provider webhooks CRA verifies and turns into syncs (`api/routes/webhooks.ts`). */
export type ProviderWebhook = 'github' | 'slack';

export function flagNameFor(provider: ProviderId): string {
  return `ENABLE_${provider.toUpperCase()}_LOGIN`;
}

/** The redirect URI registered at each provider: exact match, no wildcards. */
export function redirectUriFor(publicUrl: string, provider: ProviderId): string {
  return `${publicUrl.replace(/\/$/, '')}/v1/oauth/${provider}/callback`;
}

type Json = Record<string, unknown>;

export interface ProviderDefinition extends Omit<ProviderSummary, 'flag' | 'revocation' | 'grantSettingsUrl' | 'sync'> {
  endpoints: ProviderEndpoints;
  /** How a disconnect revokes the grant there; absent where the provider has no way (the grant stays). */
  revocation?: RevocationDescriptor;
  /** The provider's page listing the apps a person allowed, shown when CRA cannot revoke there itself. */
  grantSettingsUrl?: string;
  /** Client authentication at the token endpoint (code exchange, refresh); default `client_secret_post`. */
  clientAuth?: ClientAuthMethod;
  /** Apple: the client secret is an ES256 JWT made from a key in the SecretVault, not a stored string. */
  clientSecret?: 'apple-es256-jwt';
  /** Whether the feature flag is on when nothing configures it. */
  enabledByDefault: boolean;
  /** Scope separator in the authorization request (RFC 6749 says space; a few providers use commas). */
  scopeSeparator: ' ' | ',';
  /** Map the profile endpoint's JSON to CRA's profile. */
  mapProfile(profile: Json): ProviderProfile;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
const required = (v: unknown, field: string): string => {
  const s = str(v);
  if (!s) throw new Error(`the provider profile has no "${field}"`);
  return s;
};
const get = (obj: Json, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Json)[k] : undefined), obj);

/** Standard OpenID Connect userinfo claims. */
function oidcProfile(p: Json): ProviderProfile {
  return {
    providerAccountId: required(p.sub, 'sub'),
    ...(str(p.email) ? { email: str(p.email)! } : {}),
    emailVerified: p.email_verified === true || p.email_verified === 'true',
    ...((str(p.name) ?? str(p.preferred_username)) ? { displayName: (str(p.name) ?? str(p.preferred_username))! } : {}),
  };
}

function definition(
  d: Omit<ProviderDefinition, 'scopeSeparator'> & { scopeSeparator?: ' ' | ',' },
): ProviderDefinition {
  return { scopeSeparator: ' ', ...d };
}

/** Every provider CRA can connect, with the real endpoints used in production. */
export const providerCatalog: Record<ProviderId, ProviderDefinition> = {
  google: definition({
    id: 'google',
    displayName: 'Google',
    openid: true,
    enabledByDefault: true,
    endpoints: {
      authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
      token: 'https://oauth2.googleapis.com/token',
      revocation: 'https://oauth2.googleapis.com/revoke',
      profile: 'https://openidconnect.googleapis.com/v1/userinfo',
      issuer: 'https://accounts.google.com',
      jwks: 'https://www.googleapis.com/oauth2/v3/certs',
      dataApis: {
        people: 'https://people.googleapis.com/v1',
        calendar: 'https://www.googleapis.com/calendar/v3',
        drive: 'https://www.googleapis.com/drive/v3',
      },
    },
    defaultScopes: ['openid', 'email', 'profile'],
    extendedScopes: [
      'https://www.googleapis.com/auth/calendar.readonly',
      'https://www.googleapis.com/auth/drive.metadata.readonly',
      'https://www.googleapis.com/auth/contacts.readonly',
    ],
    dataKinds: ['contacts', 'calendar_events', 'drive_files'],
    // https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke: POST token=…, no client auth.
    revocation: { style: 'rfc7009', url: 'https://oauth2.googleapis.com/revoke', clientAuth: 'none' },
    grantSettingsUrl: 'https://myaccount.google.com/connections',
    mapProfile: oidcProfile,
  }),
  apple: definition({
    id: 'apple',
    displayName: 'Apple',
    openid: true,
    enabledByDefault: true,
    // Apple has no userinfo endpoint: the profile comes from the id_token's claims.
    endpoints: {
      authorize: 'https://appleid.apple.com/auth/authorize',
      token: 'https://appleid.apple.com/auth/token',
      revocation: 'https://appleid.apple.com/auth/revoke',
      profile: 'id_token',
      issuer: 'https://appleid.apple.com',
      jwks: 'https://appleid.apple.com/auth/keys',
    },
    defaultScopes: ['openid', 'email', 'name'],
    extendedScopes: [],
    dataKinds: [],
    dataNote:
      'Sign in with Apple shares a name and an address at sign-in, and has no data API (https://developer.apple.com/documentation/signinwithapple).',
    // https://developer.apple.com/documentation/sign_in_with_apple/revoke_tokens: client_id, client_secret (the JWT), token.
    revocation: { style: 'rfc7009', url: 'https://appleid.apple.com/auth/revoke', clientAuth: 'client_secret_post' },
    // https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret
    clientSecret: 'apple-es256-jwt',
    grantSettingsUrl: 'https://account.apple.com/account/manage',
    mapProfile: oidcProfile,
  }),
  facebook: definition({
    id: 'facebook',
    displayName: 'Facebook',
    openid: false,
    enabledByDefault: true,
    scopeSeparator: ',',
    endpoints: {
      authorize: 'https://www.facebook.com/v19.0/dialog/oauth',
      token: 'https://graph.facebook.com/v19.0/oauth/access_token',
      profile: 'https://graph.facebook.com/v19.0/me?fields=id,name,email',
      dataApis: { graph: 'https://graph.facebook.com/v19.0' },
    },
    defaultScopes: ['public_profile', 'email'],
    extendedScopes: ['user_friends', 'pages_show_list'],
    dataKinds: ['friends', 'pages'],
    // https://developers.facebook.com/docs/graph-api/reference/user/permissions/ (DELETE /{user-id}/permissions
    // with the user's token removes the app's login: https://developers.facebook.com/docs/facebook-login/guides/permissions/request-revoke).
    revocation: {
      style: 'facebook-permissions',
      url: 'https://graph.facebook.com/v19.0/me/permissions',
      clientAuth: 'none',
    },
    grantSettingsUrl: 'https://www.facebook.com/settings?tab=applications',
    // Facebook only returns an email it has confirmed.
    mapProfile: (p) => ({
      providerAccountId: required(p.id, 'id'),
      ...(str(p.email) ? { email: str(p.email)! } : {}),
      emailVerified: str(p.email) !== undefined,
      ...(str(p.name) ? { displayName: str(p.name)! } : {}),
    }),
  }),
  microsoft: definition({
    id: 'microsoft',
    displayName: 'Microsoft',
    openid: true,
    enabledByDefault: true,
    endpoints: {
      authorize: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
      token: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
      profile: 'https://graph.microsoft.com/oidc/userinfo',
      jwks: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
      dataApis: { graph: 'https://graph.microsoft.com/v1.0' },
    },
    defaultScopes: ['openid', 'email', 'profile', 'offline_access'],
    extendedScopes: ['Files.Read', 'Calendars.Read', 'Contacts.Read'],
    dataKinds: ['contacts', 'calendar_events', 'drive_files'],
    // The Microsoft identity platform has no endpoint that revokes one app's grant
    // (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow): the person removes it.
    grantSettingsUrl: 'https://account.live.com/consent/Manage',
    // Microsoft's `common` endpoint issues tokens from each tenant's issuer, so only the signature and nonce are checked.
    mapProfile: (p) => ({ ...oidcProfile(p), emailVerified: false }),
  }),
  x: definition({
    id: 'x',
    displayName: 'X',
    openid: false,
    enabledByDefault: false,
    endpoints: {
      authorize: 'https://x.com/i/oauth2/authorize',
      token: 'https://api.x.com/2/oauth2/token',
      revocation: 'https://api.x.com/2/oauth2/revoke',
      profile: 'https://api.x.com/2/users/me',
      dataApis: { v2: 'https://api.x.com/2' },
    },
    defaultScopes: ['users.read', 'tweet.read', 'offline.access'],
    extendedScopes: ['follows.read', 'bookmark.read'],
    dataKinds: ['posts', 'followers'],
    // https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token: a confidential client sends
    // Basic client_id:client_secret to the token endpoints; revoke is POST /2/oauth2/revoke with token, token_type_hint.
    revocation: { style: 'rfc7009', url: 'https://api.x.com/2/oauth2/revoke', clientAuth: 'client_secret_basic' },
    clientAuth: 'client_secret_basic',
    grantSettingsUrl: 'https://x.com/settings/connected_apps',
    // X does not share email addresses through this endpoint.
    mapProfile: (p) => ({
      providerAccountId: required(get(p, 'data.id'), 'data.id'),
      emailVerified: false,
      ...(str(get(p, 'data.name')) ? { displayName: str(get(p, 'data.name'))! } : {}),
    }),
  }),
  discord: definition({
    id: 'discord',
    displayName: 'Discord',
    openid: false,
    enabledByDefault: false,
    endpoints: {
      authorize: 'https://discord.com/oauth2/authorize',
      token: 'https://discord.com/api/oauth2/token',
      revocation: 'https://discord.com/api/oauth2/token/revoke',
      profile: 'https://discord.com/api/users/@me',
      dataApis: { rest: 'https://discord.com/api/v10' },
    },
    defaultScopes: ['identify', 'email'],
    extendedScopes: ['guilds', 'connections'],
    dataKinds: ['guilds', 'connections'],
    // https://discord.com/developers/docs/topics/oauth2#authorization-code-grant-token-revocation-example:
    // POST /oauth2/token/revoke with token, token_type_hint and Basic client_id:client_secret.
    revocation: {
      style: 'rfc7009',
      url: 'https://discord.com/api/oauth2/token/revoke',
      clientAuth: 'client_secret_basic',
    },
    grantSettingsUrl: 'https://discord.com/settings/authorized-apps',
    mapProfile: (p) => ({
      providerAccountId: required(p.id, 'id'),
      ...(str(p.email) ? { email: str(p.email)! } : {}),
      emailVerified: p.verified === true,
      ...((str(p.global_name) ?? str(p.username)) ? { displayName: (str(p.global_name) ?? str(p.username))! } : {}),
    }),
  }),
  github: definition({
    id: 'github',
    displayName: 'GitHub',
    openid: false,
    enabledByDefault: true,
    endpoints: {
      authorize: 'https://github.com/login/oauth/authorize',
      token: 'https://github.com/login/oauth/access_token',
      profile: 'https://api.github.com/user',
      dataApis: { rest: 'https://api.github.com' },
    },
    defaultScopes: ['read:user', 'user:email'],
    extendedScopes: ['repo', 'read:org'],
    dataKinds: ['repositories', 'organizations', 'starred'],
    // https://docs.github.com/en/rest/apps/oauth-applications#delete-an-app-authorization: DELETE with Basic
    // client_id:client_secret and {"access_token"}; 204, and 404 when the token (or grant) is gone already.
    revocation: {
      style: 'github-grant',
      url: 'https://api.github.com/applications/{client_id}/grant',
      clientAuth: 'client_secret_basic',
    },
    grantSettingsUrl: 'https://github.com/settings/applications',
    // /user shows only the public email; verification needs /user/emails, so it counts as unverified here.
    mapProfile: (p) => ({
      providerAccountId: required(p.id, 'id'),
      ...(str(p.email) ? { email: str(p.email)! } : {}),
      emailVerified: false,
      ...((str(p.name) ?? str(p.login)) ? { displayName: (str(p.name) ?? str(p.login))! } : {}),
    }),
  }),
  linkedin: definition({
    id: 'linkedin',
    displayName: 'LinkedIn',
    openid: true,
    enabledByDefault: true,
    endpoints: {
      authorize: 'https://www.linkedin.com/oauth/v2/authorization',
      token: 'https://www.linkedin.com/oauth/v2/accessToken',
      revocation: 'https://www.linkedin.com/oauth/v2/revoke',
      profile: 'https://api.linkedin.com/v2/userinfo',
      issuer: 'https://www.linkedin.com/oauth',
      jwks: 'https://www.linkedin.com/oauth/openid/jwks',
    },
    defaultScopes: ['openid', 'profile', 'email'],
    extendedScopes: ['w_member_social'],
    dataKinds: [],
    dataNote:
      "LinkedIn shares a member's posts and connections only with partner apps (https://learn.microsoft.com/en-us/linkedin/shared/authentication/getting-access): linking reads the profile, nothing more.",
    // https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow: client_id and
    // client_secret go in the form (the token endpoint and POST /oauth/v2/revoke alike).
    revocation: { style: 'rfc7009', url: 'https://www.linkedin.com/oauth/v2/revoke', clientAuth: 'client_secret_post' },
    grantSettingsUrl: 'https://www.linkedin.com/psettings/permitted-services',
    mapProfile: oidcProfile,
  }),
  amazon: definition({
    id: 'amazon',
    displayName: 'Amazon',
    openid: false,
    enabledByDefault: false,
    endpoints: {
      authorize: 'https://www.amazon.com/ap/oa',
      token: 'https://api.amazon.com/auth/o2/token',
      profile: 'https://api.amazon.com/user/profile',
    },
    defaultScopes: ['profile'],
    extendedScopes: ['profile:user_id', 'postal_code'],
    dataKinds: [],
    dataNote:
      "Login with Amazon shares the customer profile only (https://developer.amazon.com/docs/login-with-amazon/customer-profile.html): there is no data API for a person's orders or lists.",
    // Login with Amazon has no revocation endpoint
    // (https://developer.amazon.com/docs/login-with-amazon/authorization-code-grant.html): the person removes the app.
    grantSettingsUrl: 'https://www.amazon.com/ap/adam',
    // Amazon verifies every address it returns.
    mapProfile: (p) => ({
      providerAccountId: required(p.user_id, 'user_id'),
      ...(str(p.email) ? { email: str(p.email)! } : {}),
      emailVerified: str(p.email) !== undefined,
      ...(str(p.name) ? { displayName: str(p.name)! } : {}),
    }),
  }),
  spotify: definition({
    id: 'spotify',
    displayName: 'Spotify',
    openid: false,
    enabledByDefault: false,
    endpoints: {
      authorize: 'https://accounts.spotify.com/authorize',
      token: 'https://accounts.spotify.com/api/token',
      profile: 'https://api.spotify.com/v1/me',
      dataApis: { web: 'https://api.spotify.com/v1' },
    },
    defaultScopes: ['user-read-email', 'user-read-private'],
    // Collaborative playlists come in /me/playlists only with playlist-read-collaborative
    // (https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists).
    extendedScopes: [
      'playlist-read-private',
      'playlist-read-collaborative',
      'user-read-recently-played',
      'user-library-read',
    ],
    dataKinds: ['playlists', 'saved_tracks', 'recently_played'],
    // Spotify's Web API has no revocation endpoint (https://developer.spotify.com/documentation/web-api/concepts/authorization):
    // the person removes the app in their account.
    grantSettingsUrl: 'https://www.spotify.com/account/apps/',
    mapProfile: (p) => ({
      providerAccountId: required(p.id, 'id'),
      ...(str(p.email) ? { email: str(p.email)! } : {}),
      emailVerified: false,
      ...(str(p.display_name) ? { displayName: str(p.display_name)! } : {}),
    }),
  }),
  slack: definition({
    id: 'slack',
    displayName: 'Slack',
    openid: true,
    enabledByDefault: false,
    endpoints: {
      authorize: 'https://slack.com/openid/connect/authorize',
      token: 'https://slack.com/api/openid.connect.token',
      profile: 'https://slack.com/api/openid.connect.userInfo',
      issuer: 'https://slack.com',
      jwks: 'https://slack.com/openid/connect/keys',
      dataApis: { web: 'https://slack.com/api' },
    },
    defaultScopes: ['openid', 'email', 'profile'],
    // users.conversations lists private channels only with groups:read (https://api.slack.com/methods/users.conversations).
    extendedScopes: ['channels:read', 'groups:read', 'users:read'],
    dataKinds: ['channels'],
    // https://api.slack.com/methods/auth.revoke: the token is the credential (Authorization: Bearer);
    // {"ok": true, "revoked": true}, or {"ok": false, "error": "invalid_auth"} for a token already gone.
    revocation: { style: 'slack-auth-revoke', url: 'https://slack.com/api/auth.revoke', clientAuth: 'none' },
    mapProfile: oidcProfile,
  }),
  reddit: definition({
    id: 'reddit',
    displayName: 'Reddit',
    openid: false,
    enabledByDefault: false,
    endpoints: {
      authorize: 'https://www.reddit.com/api/v1/authorize',
      token: 'https://www.reddit.com/api/v1/access_token',
      revocation: 'https://www.reddit.com/api/v1/revoke_token',
      profile: 'https://oauth.reddit.com/api/v1/me',
      dataApis: { oauth: 'https://oauth.reddit.com' },
    },
    defaultScopes: ['identity'],
    extendedScopes: ['mysubreddits', 'history', 'read'],
    dataKinds: ['subscriptions', 'posts'],
    // https://github.com/reddit-archive/reddit/wiki/OAuth2: the token endpoints take HTTP Basic client_id:secret
    // ("Retrieving the access token", "Manually Revoking a Token": POST /api/v1/revoke_token, token, token_type_hint).
    revocation: {
      style: 'rfc7009',
      url: 'https://www.reddit.com/api/v1/revoke_token',
      clientAuth: 'client_secret_basic',
    },
    clientAuth: 'client_secret_basic',
    grantSettingsUrl: 'https://www.reddit.com/prefs/apps',
    mapProfile: (p) => ({
      providerAccountId: required(p.id, 'id'),
      emailVerified: false,
      ...(str(p.name) ? { displayName: str(p.name)! } : {}),
    }),
  }),
  coderabbit: definition({
    id: 'coderabbit',
    displayName: 'CodeRabbit',
    openid: false,
    enabledByDefault: false,
    endpoints: {
      authorize: 'https://app.coderabbit.ai/oauth/authorize',
      token: 'https://app.coderabbit.ai/oauth/token',
      revocation: 'https://app.coderabbit.ai/oauth/revoke',
      profile: 'https://api.coderabbit.ai/v1/me',
    },
    defaultScopes: ['profile:read'],
    extendedScopes: ['repositories:read', 'reviews:read', 'reviews:write', 'analytics:read', 'organizations:read'],
    dataKinds: [],
    dataNote:
      "CodeRabbit publishes no API for a person's data yet (https://docs.coderabbit.ai): linking reads the profile, nothing more.",
    // RFC 7009 at the catalog's endpoint, client_secret_post as before (its API is not documented publicly yet).
    revocation: { style: 'rfc7009', url: 'https://app.coderabbit.ai/oauth/revoke', clientAuth: 'client_secret_post' },
    mapProfile: (p) => ({
      providerAccountId: required(p.id ?? p.sub, 'id'),
      ...(str(p.email) ? { email: str(p.email)! } : {}),
      emailVerified: p.email_verified === true,
      ...(str(p.name) ? { displayName: str(p.name)! } : {}),
    }),
  }),
};

/**
 * Which webhook each provider has. GitHub and Slack sign theirs (docs/webhooks.md); CodeRabbit publishes no
 * webhook format (its review status reaches GitHub as checks: https://docs.coderabbit.ai/pr-reviews/status-check),
 * and the others' change notifications (Google's push channels, Microsoft Graph subscriptions, …) are made
 * per person by an API call and are not built yet.
 */
export const providerWebhooks: Record<ProviderId, ProviderWebhook | null> = Object.fromEntries(
  providerIds.map((id) => [id, id === 'github' || id === 'slack' ? id : null]),
) as Record<ProviderId, ProviderWebhook | null>;

export function providerSummary(def: ProviderDefinition): ProviderSummary {
  return {
    id: def.id,
    displayName: def.displayName,
    openid: def.openid,
    defaultScopes: def.defaultScopes,
    extendedScopes: def.extendedScopes,
    dataKinds: def.dataKinds,
    sync: def.dataKinds.length > 0 ? 'data' : 'profile_only',
    ...(def.dataNote ? { dataNote: def.dataNote } : {}),
    flag: flagNameFor(def.id),
    webhook: providerWebhooks[def.id],
    revocation: def.revocation ? 'at_provider' : 'not_supported',
    ...(def.grantSettingsUrl ? { grantSettingsUrl: def.grantSettingsUrl } : {}),
  };
}

/**
 * What a person is told when CRA could not revoke its grant at the provider (it has no way, or refused):
 * the grant stays there until they remove it, with the page where they do. Undefined once revoked there.
 */
export function grantStaysNotice(def: ProviderDefinition, revokedAtProvider: boolean): string | undefined {
  if (revokedAtProvider) return undefined;
  return `The grant stays at ${def.displayName} until you remove it there${def.grantSettingsUrl ? `: ${def.grantSettingsUrl}` : ''}.`;
}

export function providerSummaries(): ProviderSummary[] {
  return providerIds.map((id) => providerSummary(providerCatalog[id]));
}

export function isProviderId(value: string): value is ProviderId {
  return (providerIds as readonly string[]).includes(value);
}
