/**
 * MongoDB records of provider linking: link attempts (short-lived, single-use) and provider tokens
 * (ciphertext only, one document per connection).
 */
import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { ProviderId } from '../../domain/providers.js';
import { isAccountSealed, type AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';

/** The id of a record named by a secret (a link attempt by its state, an undo link by its token): its SHA-256. */
export const recordIdOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

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
  /**
   * Set when the attempt's redirect URI is an app's (registered in `LINK_CLIENT_REDIRECT_URIS`): the app
   * finishes it with `link/complete` under a token of the same account; the public callback refuses it.
   */
  clientId?: string;
  scopes: string[];
  /**
   * The authorization URL (it carries the state, the PKCE challenge and the nonce), encrypted, for the one
   * API request that started the attempt to read and wipe: it never enters an activity result or an update.
   */
  authorizationUrlCiphertext?: string | null;
  codeVerifierCiphertext: string | null;
  nonce: string | null;
  createdAt: string;
  expiresAt: string;
  /** Set once by the callback; a second callback with the same state is refused. */
  callbackAt: string | null;
  code: string | null;
  /** `exchanging`: an activity attempt has sent the code to the provider and not yet kept what it got back. */
  status: 'pending' | 'callback_received' | 'exchanging' | 'exchanged' | 'discarded';
  /** When the attempt now redeeming the code began (`exchanging`). */
  exchangingSince?: string;
  /**
   * The token set the code was redeemed for, encrypted, from the redemption until the link is decided: a
   * retry of the exchange (its worker died, or its answer was lost) carries on with it, as the code cannot
   * be redeemed twice.
   */
  exchangedTokensCiphertext?: string | null;
}

export interface ProviderTokenDocument {
  _id: string; // connection id (`pending:<attemptId>` until the link is decided)
  accountId: string;
  provider: ProviderId;
  providerAccountId: string;
  /**
   * The connection the tokens are sealed for (their seal context), so pending tokens open under the id
   * they are moved to. Absent on documents from before per-account keys.
   */
  connectionId?: string;
  status: 'pending' | 'active' | 'revoked';
  /**
   * Sealed with the account's data key (`acct:1:…`, context `token:<connectionId>:access`), or, for
   * connections made before per-account keys, SecretVault ciphertext of `vaultKeys.providerTokens`.
   * Read with `openProviderToken`.
   */
  accessTokenCiphertext: string;
  refreshTokenCiphertext: string | null;
  accessTokenExpiresAt: string | null;
  scopes: string[];
  /** Bumped on every refresh: activities ask token custody for a version, then read it. */
  version: number;
  updatedAt: string;
}

/**
 * The undo link of a recent connection (the provider-linked notice carries it). `_id` is the SHA-256 of
 * the token: the token itself exists only in the notice.
 */
export interface LinkUndoDocument {
  _id: string;
  accountId: string;
  provider: ProviderId;
  connectionId: string;
  providerAccountId: string;
  /** The notice it was issued for: a retried activity replaces nothing. */
  noticeKey: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  /** The disconnect workflow the undo started. */
  disconnectWorkflowId?: string;
}

/** How long a link can be undone from the notice (the spec's "time-limited ability to undo recent links"). */
export const linkUndoTtlMs = 7 * 24 * 60 * 60 * 1000;

export const linkUndoCollection = 'provider_link_undo';

export function linkUndoTokens(db: Db): Collection<LinkUndoDocument> {
  return db.collection<LinkUndoDocument>(linkUndoCollection);
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
  await db
    .collection(collections.accounts)
    .createIndex(
      { 'connected_providers.nodes.provider': 1, 'connected_providers.nodes.providerAccountId': 1 },
      { name: 'connected_provider_account' },
    );
}

export type ProviderTokenKind = 'access' | 'refresh';

/** What a sealed token is bound to: its connection and which token it is, so tokens cannot be swapped. */
export function tokenSealContext(connectionId: string, which: ProviderTokenKind): string {
  return `token:${connectionId}:${which}`;
}

/** A provider token sealed with the account's data key, as new token documents store it. */
export async function sealProviderToken(
  keys: AccountKeys,
  accountId: string,
  connectionId: string,
  which: ProviderTokenKind,
  token: string,
): Promise<string> {
  return keys.seal(accountId, tokenSealContext(connectionId, which), token);
}

/**
 * A stored token in clear: opened with the account's key (AccountKeyDestroyed once the account was
 * erased), or decrypted with the old SecretVault key for a connection made before per-account keys.
 */
export async function openProviderToken(
  keys: AccountKeys,
  vault: SecretVault,
  doc: Pick<ProviderTokenDocument, '_id' | 'accountId' | 'connectionId'>,
  which: ProviderTokenKind,
  ciphertext: string,
): Promise<string> {
  if (isAccountSealed(ciphertext))
    return keys.open(doc.accountId, tokenSealContext(doc.connectionId ?? doc._id, which), ciphertext);
  return vault.decrypt(vaultKeys.providerTokens, ciphertext);
}

/** SecretVault key names. */
export const vaultKeys = {
  providerTokens: 'provider-tokens',
  linkSecrets: 'link-secrets',
} as const;
