/**
 * The `provider_records` collection and the origin MAC: sign when a record is written, verify before
 * anything acts on a record's origin (deletion, detaching, reporting).
 */
import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import { originMacInput, type ProviderRecordDocument } from '../../domain/records.js';
import { canonicalJson } from '../audit/canonical-json.js';
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

export function contentHash(data: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex');
}

export async function signOrigin(
  vault: SecretVault,
  doc: Pick<ProviderRecordDocument, '_id' | 'accountId' | 'kind' | 'externalId' | 'origin'>,
): Promise<string> {
  return vault.hmac(originMacKey, canonicalJson(originMacInput(doc)));
}

export type OriginCheck = { ok: true } | { ok: false; reason: 'content_changed' | 'origin_changed' };

/** A record's origin holds when its content still hashes to the origin's hash and the MAC verifies. */
export async function verifyOrigin(vault: SecretVault, doc: ProviderRecordDocument): Promise<OriginCheck> {
  if (contentHash(doc.data) !== doc.origin.contentHash) return { ok: false, reason: 'content_changed' };
  // A vault that cannot answer is an outage, not a verdict: let it fail (and retry) rather than report forgeries.
  const valid = await vault
    .verifyHmac(originMacKey, canonicalJson(originMacInput(doc)), doc.originMac)
    .catch((err: unknown) => {
      if (err instanceof SecretVaultError && (err.type === 'Unavailable' || err.type === 'Forbidden')) throw err;
      return false;
    });
  return valid ? { ok: true } : { ok: false, reason: 'origin_changed' };
}
