/**
 * The provider account a root identity signs in with, read from its subject. Auth0 names a user
 * `{identity provider id}|{unique id in the provider}` (https://auth0.com/docs/users/identify-users): the
 * social connections' strategy names (`google-oauth2`, `windowslive`, …, the `UserIdentityProviderEnum` of the
 * Management API, https://auth0.github.io/node-auth0/variables/management.Management.UserIdentityProviderEnum.html),
 * and custom OAuth2 connections as `oauth2|<connection>|<id>`. Pure: the signup workflow reads it too.
 */
import { providerIds, type ProviderId } from './providers.js';

/**
 * Auth0 social strategy → CRA provider. The same table as `domain/login-methods.ts` and the inverse of the
 * identity adapter's `auth0Strategies` (`test/unit/root-identity.test.ts` holds the three together).
 */
export const providerByAuth0Strategy: Readonly<Record<string, ProviderId>> = {
  'google-oauth2': 'google',
  apple: 'apple',
  facebook: 'facebook',
  windowslive: 'microsoft',
  twitter: 'x',
  github: 'github',
  linkedin: 'linkedin',
  amazon: 'amazon',
};

/** The provider account behind a social root identity; what the provider's own profile calls its id. */
export interface RootLoginIdentity {
  provider: ProviderId;
  providerAccountId: string;
}

/**
 * The provider account the root identity itself signs in with, or undefined for a password, passwordless,
 * enterprise or embedded (`cra|…`) login and for connections CRA does not know.
 */
export function rootLoginIdentity(subject: string): RootLoginIdentity | undefined {
  const bar = subject.indexOf('|');
  if (bar <= 0) return undefined;
  const prefix = subject.slice(0, bar);
  const rest = subject.slice(bar + 1);
  if (prefix === 'oauth2') {
    const next = rest.indexOf('|');
    if (next <= 0 || next === rest.length - 1) return undefined;
    const connection = rest.slice(0, next);
    if (!(providerIds as readonly string[]).includes(connection)) return undefined;
    return { provider: connection as ProviderId, providerAccountId: rest.slice(next + 1) };
  }
  const provider = providerByAuth0Strategy[prefix];
  return provider && rest.length > 0 ? { provider, providerAccountId: rest } : undefined;
}

/** The root subject a provider account has when someone signed up with it: the inverse of `rootLoginIdentity`. */
export function rootSubjectOf(provider: ProviderId, providerAccountId: string): string {
  const strategy = Object.entries(providerByAuth0Strategy).find(([, p]) => p === provider)?.[0];
  return strategy ? `${strategy}|${providerAccountId}` : `oauth2|${provider}|${providerAccountId}`;
}
