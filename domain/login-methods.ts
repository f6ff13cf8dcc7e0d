/**
 * How a person signs in, read from their root identity's subject: the directory prefixes a user id with
 * the connection that created it (`auth0|…` a password, `github|…` GitHub, `oauth2|coderabbit|…` a custom
 * OAuth2 connection). Disconnecting must never take away the last way in.
 */
import type { ConnectedProviderNode } from './account-center.js';
import type { ProviderId } from './providers.js';
import { rootLoginIdentity } from './root-identity.js';

/**
 * The provider the root identity itself signs in with, or undefined when it signs in some other way
 * (a password, a passwordless or enterprise connection): those stay available whatever is disconnected.
 * The strategies are `root-identity.ts`'s, the one table of Auth0's connection prefixes.
 */
export function rootLoginProvider(subject: string): ProviderId | undefined {
  return rootLoginIdentity(subject)?.provider;
}

/**
 * True when disconnecting `provider` would leave no way to sign in: it is the root identity's own login
 * method and no connection of another provider is active and linked in the directory.
 */
export function isLastLoginMethod(
  account: {
    rootIdentity: { subject: string };
    connected_providers: { nodes: Pick<ConnectedProviderNode, 'provider' | 'status' | 'directoryLinked'>[] };
  },
  provider: ProviderId,
): boolean {
  if (rootLoginProvider(account.rootIdentity.subject) !== provider) return false;
  return !account.connected_providers.nodes.some(
    (n) => n.provider !== provider && n.status === 'active' && n.directoryLinked === true,
  );
}
