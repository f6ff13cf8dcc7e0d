/**
 * The `provider_records` collection and the origin MAC: sign when a record is written, verify before
 * anything acts on a record's origin (deletion, detaching, reporting).
 */
import { createHash } from 'node:crypto';
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Db } from 'mongodb';
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

/**
 * What one sync page saw: the record ids of one page of one run, keyed by the run, the kind and the page's
 * cursor, and the next page's cursor, so the deletion check walks a run's pages by `_id` alone. A record
 * whose content did not change is not rewritten, so the record itself cannot say that this run saw it.
 */
export interface SeenPageDocument {
  _id: string;
  syncRunId: string;
  connectionId: string;
  kind: string;
  recordIds: string[];
  /** The content hash of each record of `recordIds`, as written or found unchanged (absent on older pages). */
  contentHashes?: string[];
  /** The `connectedAt` of the connection's link when the page was written: its hashes hold for that link only. */
  connectedAt?: string;
  nextCursor: string | null;
  at: string;
}

export function seenPages(db: Db): Collection<SeenPageDocument> {
  return db.collection<SeenPageDocument>(collections.syncSeenPages);
}

/** A run's finished deletion check, kept beside its seen pages so a retried check answers the same counts. */
export interface DeletionCheckDocument {
  _id: string;
  syncRunId: string;
  connectionId: string;
  deletedByKind: Record<string, number>;
  at: string;
}

export function deletionCheckMarks(db: Db): Collection<DeletionCheckDocument> {
  return db.collection<DeletionCheckDocument>(collections.syncSeenPages);
}

/**
 * Per connection and kind: the seen pages that together name every record of it that may still be active —
 * the pages of the last run whose deletion check finished (`baselinePages`) and those written since
 * (`pages`). Until a deletion check has finished (`baselinePages` absent), the check reads the connection's
 * records instead. Everything here is read and written by `_id`.
 */
export interface SyncLedgerDocument {
  _id: string;
  connectionId: string;
  kind: string;
  baselinePages?: string[];
  pages: string[];
}

export function syncLedgers(db: Db): Collection<SyncLedgerDocument> {
  return db.collection<SyncLedgerDocument>(collections.syncSeenPages);
}

export function syncLedgerId(connectionId: string, kind: string): string {
  return `ledger|${connectionId}|${kind}`;
}

/** A page's seen-document id: the cursor hashed, since a provider's cursor may be a long URL. */
export function seenPageId(syncRunId: string, kind: string, cursor: string | null): string {
  return `${syncRunId}|${kind}|${cursor === null ? '' : createHash('sha256').update(cursor).digest('hex')}`;
}

/** What a page needs of a stored record to tell whether it changed (never the sealed content). */
export interface StoredRecordState {
  _id: string;
  connectionId: string;
  status: ProviderRecordDocument['status'];
  origin: Pick<ProviderRecordDocument['origin'], 'contentHash' | 'providerAccountId'>;
  /** Present only on a record written in clear before per-account keys: it is rewritten sealed. */
  data?: unknown;
}

/** Lookups of one page run side by side, this many at a time (the driver's pool holds 100 connections). */
const lookupConcurrency = 32;

/**
 * The stored state of these records, by id. One `findOne` by `_id` each rather than one `$in` query:
 * FerretDB 1.24's SQLite backend pushes down only a filter that is exactly `{ _id: <string> }` (its
 * `internal/backends/sqlite/collection.go`, `Query`), and evaluates anything else — `$in` included — by
 * reading the whole collection, every account's records. A lookup by `_id` is a B-tree search there and
 * on MongoDB alike.
 */
export async function storedRecordStates(
  records: Collection<ProviderRecordDocument>,
  ids: readonly string[],
): Promise<Map<string, StoredRecordState>> {
  const found = new Map<string, StoredRecordState>();
  const projection = {
    _id: 1,
    connectionId: 1,
    status: 1,
    'origin.contentHash': 1,
    'origin.providerAccountId': 1,
    data: 1,
  };
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const _id = ids[next++]!;
      const doc = await records.findOne<StoredRecordState>({ _id }, { projection });
      if (doc) found.set(_id, doc);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lookupConcurrency, ids.length) }, worker));
  return found;
}

/**
 * Writes one page: inserts for records not stored yet, whole-document replacements for changed ones, in
 * one unordered bulk write. An insert that meets a duplicate key (a retried or replayed page whose first
 * attempt landed, or a sync racing this one) is done again as a replacement, so the page converges on the
 * same documents either way. Returns how many records were written.
 */
export async function writeRecordPage(
  records: Collection<ProviderRecordDocument>,
  docs: { fresh: SealedRecordDocument[]; changed: SealedRecordDocument[] },
  statesOf: (ids: string[]) => Promise<Map<string, StoredRecordState>>,
  expected: { connectionId: string; providerAccountId: string },
): Promise<number> {
  const asReplacement = ({
    _id,
    ...replacement
  }: SealedRecordDocument): AnyBulkWriteOperation<ProviderRecordDocument> => ({
    replaceOne: { filter: { _id }, replacement, upsert: true },
  });
  const ops: AnyBulkWriteOperation<ProviderRecordDocument>[] = [
    ...docs.fresh.map((document) => ({ insertOne: { document } })),
    ...docs.changed.map(asReplacement),
  ];
  if (ops.length === 0) return 0;
  try {
    await records.bulkWrite(ops, { ordered: false });
    return ops.length;
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    const duplicates = errors.filter((e) => e.code === 11000 && e.index < docs.fresh.length);
    // Anything but a duplicate insert is a real failure: the activity's retry writes the page again.
    if (duplicates.length !== errors.length) throw err;
    // Replaced only where the stored record differs: a page replayed onto its own records writes nothing more.
    const candidates = duplicates.map((e) => docs.fresh[e.index]!);
    const states = await statesOf(candidates.map((d) => d._id));
    const redo = candidates.filter((d) => {
      const s = states.get(d._id);
      return !(
        s &&
        s.status === 'active' &&
        s.data === undefined &&
        s.connectionId === expected.connectionId &&
        s.origin?.providerAccountId === expected.providerAccountId &&
        s.origin?.contentHash === d.origin.contentHash
      );
    });
    if (redo.length > 0) await records.bulkWrite(redo.map(asReplacement), { ordered: false });
    return ops.length - candidates.length + redo.length;
  }
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
