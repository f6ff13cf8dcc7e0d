/**
 * Imported provider data. Every record carries its origin — which provider, which provider account,
 * which connection and sync run, when and from where it was fetched, and the hash of its content — and a
 * MAC over origin and content made with a SecretVault key, so an origin cannot be forged to steer a deletion.
 */
import type { ProviderId } from './providers.js';

export interface RecordOrigin {
  provider: ProviderId;
  providerAccountId: string;
  connectionId: string;
  syncRunId: string;
  fetchedAt: string;
  sourceUrl: string;
  /** SHA-256 (hex) of the record's canonical JSON content. */
  contentHash: string;
}

export type RecordStatus = 'active' | 'deleted_at_provider' | 'detached';

export interface ProviderRecordDocument {
  /** `<accountId>|<provider>|<kind>|<externalId>`: the upsert key. */
  _id: string;
  accountId: string;
  provider: ProviderId;
  kind: string;
  externalId: string;
  connectionId: string;
  /** The content in clear: only records written before per-account data keys. Read it with `recordContent`. */
  data?: Record<string, unknown>;
  /** The content's canonical JSON sealed with the account's data key (context `record:<_id>`). */
  sealedData?: string;
  origin: RecordOrigin;
  /** SecretVault HMAC over `originMacInput(...)`. */
  originMac: string;
  status: RecordStatus;
  /** The last sync run that saw it at the provider (full syncs mark the rest deleted). */
  lastSeenRunId: string;
  updatedAt: string;
  deletedAt?: string;
  /** The sync run that marked it deleted at the provider (so a retried deletion check counts it once). */
  deletedByRunId?: string;
  detachedAt?: string;
}

export function recordIdFor(accountId: string, provider: string, kind: string, externalId: string): string {
  return `${accountId}|${provider}|${kind}|${externalId}`;
}

/** What the origin MAC covers: the record's identity and its origin (which includes the content hash). */
export function originMacInput(
  doc: Pick<ProviderRecordDocument, '_id' | 'accountId' | 'kind' | 'externalId' | 'origin'>,
): Record<string, unknown> {
  return {
    recordId: doc._id,
    accountId: doc.accountId,
    kind: doc.kind,
    externalId: doc.externalId,
    origin: doc.origin,
  };
}
