/**
 * MongoDB records of provider linking: link attempts (short-lived, single-use) and provider tokens
 * (ciphertext only, one document per connection).
 */
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { ProviderId } from '../../domain/providers.js';

/**
 * One authorization request. `_id` is the SHA-256 of its `state`, so the callback finds it without the
 * state itself being stored. The PKCE verifier is stored encrypted. The code the callback brings is kept
 * (for the seconds until the exchange) and wiped with the verifier right after it: alone it is useless,
 * since redeeming it needs the verifier and the client secret, and it never enters workflow history.
 */
export interface LinkAttemptDocument {
  _id: string;
  workflowId: string;
  accountId: string;
  provider: ProviderId;
  redirectUri: string;
  scopes: string[];
  codeVerifierCiphertext: string | null;
  nonce: string | null;
  createdAt: string;
  expiresAt: string;
  /** Set once by the callback; a second callback with the same state is refused. */
  callbackAt: string | null;
  code: string | null;
  status: 'pending' | 'callback_received' | 'exchanged' | 'discarded';
}

export interface ProviderTokenDocument {
  _id: string; // connection id
  accountId: string;
  provider: ProviderId;
  providerAccountId: string;
  status: 'pending' | 'active' | 'revoked';
  accessTokenCiphertext: string;
  refreshTokenCiphertext: string | null;
  accessTokenExpiresAt: string | null;
  scopes: string[];
  /** Bumped on every refresh: activities ask token custody for a version, then read it. */
  version: number;
  updatedAt: string;
}

export function linkAttempts(db: Db): Collection<LinkAttemptDocument> {
  return db.collection<LinkAttemptDocument>(collections.linkAttempts);
}

export function providerTokens(db: Db): Collection<ProviderTokenDocument> {
  return db.collection<ProviderTokenDocument>(collections.providerTokens);
}

export async function ensureProviderIndexes(db: Db): Promise<void> {
  await linkAttempts(db).createIndex({ workflowId: 1, createdAt: -1 }, { name: 'workflow_created' });
  await providerTokens(db).createIndex({ accountId: 1, provider: 1 }, { name: 'account_provider' });
  await db.collection(collections.accounts).createIndex({ 'connected_providers.nodes.provider': 1, 'connected_providers.nodes.providerAccountId': 1 }, { name: 'connected_provider_account' });
}

/** SecretVault key names. */
export const vaultKeys = {
  providerTokens: 'provider-tokens',
  linkSecrets: 'link-secrets',
} as const;
