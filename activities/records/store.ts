/**
 * The `provider_records` collection and the origin MAC: sign when a record is written, verify before
 * anything acts on a record's origin (deletion, detaching, reporting).
 */
import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import { originMacInput, type ProviderRecordDocument } from '../../domain/records.js';
import { canonicalJson } from '../audit/canonical-json.js';
import type { AccountKey, AccountKeys } from '../secrets/account-keys.js';
import { SecretVaultError, type SecretVault } from '../secrets/port.js';

/** The SecretVault key that signs origins. */
export const originMacKey = 'record-origin';

export function providerRecords(db: Db): Collection<ProviderRecordDocument> {
  return db.collection<ProviderRecordDocument>(collections.providerRecords);
}

export async function ensureRecordIndexes(db: Db): Promise<void> {
  const records = providerRecords(db);
  await records.createIndex({ accountId: 1, provider: 1, kind: 1, _id: 1 }, { name: 'account_provider_kind' });
  await records.createIndex({ connectionId: 1, status: 1 }, { name: 'connection_status' });
}

/** What a record's sealed content is bound to: its own id, so content moved to another record fails. */
export function recordSealContext(recordId: string): string {
  return `record:${recordId}`;
}

/** The record's content sealed with the account's key, as stored in `sealedData`. */
export function sealRecordData(key: AccountKey, recordId: string, data: Record<string, unknown>): string {
  return key.seal(recordSealContext(recordId), canonicalJson(data));
}

/**
 * A record's content: opened with the account's key, or the clear `data` of a record written before
 * per-account keys. AccountKeyDestroyed when the account was erased; 'Tampered' when edited.
 */
export async function recordContent(
  keys: AccountKeys,
  doc: Pick<ProviderRecordDocument, '_id' | 'accountId' | 'data' | 'sealedData'>,
): Promise<Record<string, unknown>> {
  if (doc.sealedData !== undefined) {
    return JSON.parse(await keys.open(doc.accountId, recordSealContext(doc._id), doc.sealedData)) as Record<
      string,
      unknown
    >;
  }
  return doc.data ?? {};
}

export function contentHash(data: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex');
}

export async function signOrigin(
  vault: SecretVault,
  doc: Pick<ProviderRecordDocument, '_id' | 'accountId' | 'kind' | 'externalId' | 'origin'>,
): Promise<string> {
  return vault.hmac(originMacKey, canonicalJson(originMacInput(doc)));
}

/** The origin MACs of many records in one SecretVault call, in order. */
export async function signOrigins(
  vault: SecretVault,
  docs: ReadonlyArray<Pick<ProviderRecordDocument, '_id' | 'accountId' | 'kind' | 'externalId' | 'origin'>>,
): Promise<string[]> {
  if (docs.length === 0) return [];
  return vault.hmacMany(
    originMacKey,
    docs.map((doc) => canonicalJson(originMacInput(doc))),
  );
}

/**
 * What sync writes: the content only sealed, never in clear. Records written before per-account keys
 * may still hold clear `data` (`ProviderRecordDocument`); nothing writes that shape any more.
 */
export type SealedRecordDocument = Omit<ProviderRecordDocument, 'data' | 'sealedData'> & { sealedData: string };

export type OriginCheck =
  | { ok: true }
  | {
      ok: false;
      /**
       * `content_changed`: the content (clear or sealed) was edited; `origin_changed`: the MAC fails;
       * `account_key_destroyed`: the account was erased, so the content cannot be read (not a forgery).
       */
      reason: 'content_changed' | 'origin_changed' | 'account_key_destroyed';
    };

/**
 * A record's origin holds when its content (already opened: `recordContent`) still hashes to the origin's
 * hash and the MAC verifies.
 */
export async function verifyOrigin(
  vault: SecretVault,
  doc: Pick<ProviderRecordDocument, '_id' | 'accountId' | 'kind' | 'externalId' | 'origin' | 'originMac'>,
  content: Record<string, unknown>,
): Promise<OriginCheck> {
  if (contentHash(content) !== doc.origin.contentHash) return { ok: false, reason: 'content_changed' };
  // A vault that cannot answer is an outage, not a verdict: let it fail (and retry) rather than report forgeries.
  const valid = await vault
    .verifyHmac(originMacKey, canonicalJson(originMacInput(doc)), doc.originMac)
    .catch((err: unknown) => {
      if (err instanceof SecretVaultError && (err.type === 'Unavailable' || err.type === 'Forbidden')) throw err;
      return false;
    });
  return valid ? { ok: true } : { ok: false, reason: 'origin_changed' };
}

/**
 * Open a stored record and verify its origin. Sealed content that fails authentication (edited, or moved
 * from another record) is `content_changed`; a record of an erased account is `account_key_destroyed`.
 * A SecretVault that cannot unwrap the key is an outage and throws.
 */
export async function checkRecordOrigin(
  keys: AccountKeys,
  vault: SecretVault,
  doc: ProviderRecordDocument,
): Promise<OriginCheck> {
  let content: Record<string, unknown>;
  if (doc.sealedData === undefined) content = doc.data ?? {};
  else {
    const key = await keys.existingKeyFor(doc.accountId);
    if (!key) return { ok: false, reason: 'account_key_destroyed' };
    try {
      content = JSON.parse(key.open(recordSealContext(doc._id), doc.sealedData)) as Record<string, unknown>;
    } catch {
      return { ok: false, reason: 'content_changed' };
    }
  }
  return verifyOrigin(vault, doc, content);
}
