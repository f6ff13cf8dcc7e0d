/**
 * Sync activities: import one page of a provider's data as idempotent upserts keyed by (account,
 * provider, kind, external id), each record with a signed origin; mark records gone at the provider after
 * a full sync; verify origins on demand. The access token comes from the connection's token custodian,
 * never from refreshing here. Record content is stored sealed with the account's data key; the content
 * hash and the origin MAC are over the clear content, so an origin verifies whichever way it is stored.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import type { ConsentPurpose } from '../../domain/consents.js';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import type { ProviderId } from '../../domain/providers.js';
import { recordIdFor, type ProviderRecordDocument, type RecordOrigin } from '../../domain/records.js';
import { freshTokenUpdate } from '../../workflows/tokens/messages.js';
import { consentStopping } from '../accounts/consents.js';
import { heartbeatWhile } from '../heartbeat.js';
import { DataError, fetchDataPage } from '../providers/data-client.js';
import { resolveProvider } from '../providers/resolve.js';
import { openProviderToken, providerTokens } from '../providers/stores.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import {
  checkRecordOrigin,
  contentHash,
  providerRecords,
  sealRecordData,
  deletionCheckMarks,
  seenPageId,
  seenPages,
  signOrigin,
  storedRecordStates,
  syncLedgerId,
  syncLedgers,
  writeRecordPage,
  type SealedRecordDocument,
  type SyncLedgerDocument,
} from './store.js';
import { failure } from '../../domain/failures.js';

export interface RecordActivityDeps {
  db: Db;
  vault: SecretVault;
  /** Seals record content and opens tokens with the account's data key. */
  accountKeys: AccountKeys;
  /** The configured consent purposes: a withdrawn one that lists `provider_sync` stops the sync. */
  consentPurposes: readonly ConsentPurpose[];
  providers: ProviderConfig;
  temporal: Client;
  now?: () => Date;
}

export interface SyncPageInput {
  accountId: string;
  provider: ProviderId;
  connectionId: string;
  kind: string;
  cursor: string | null;
  syncRunId: string;
  pageSize: number;
}

export interface SyncPageResult {
  nextCursor: string | null;
  fetched: number;
  written: number;
}

/** After this many 401s in a row the token is not coming back: stop rather than retry for ever. */
const maxUnauthorizedAttempts = 5;

function toFailure(err: unknown): unknown {
  if (!(err instanceof DataError)) return err;
  switch (err.type) {
    case 'DataRateLimited':
      return failure(err.type, err.message, { nextRetryDelay: err.retryAfterMs ?? 1000 });
    case 'DataUnavailable':
      return failure(err.type, err.message);
    case 'DataUnauthorized':
      return Context.current().info.attempt >= maxUnauthorizedAttempts
        ? failure('SyncRejected', err.message)
        : failure(err.type, err.message);
    case 'SyncRejected':
      return failure(err.type, err.message);
  }
}

export function createRecordActivities({
  db,
  vault,
  accountKeys,
  consentPurposes,
  providers,
  temporal,
  now = () => new Date(),
}: RecordActivityDeps) {
  const records = providerRecords(db);
  const tokens = providerTokens(db);
  const seen = seenPages(db);
  const deletionChecks = deletionCheckMarks(db);
  const ledgerOf = syncLedgers(db);

  /** A token valid for the next minute, through the connection's custodian. */
  async function accessTokenFor(
    accountId: string,
    provider: ProviderId,
    connectionId: string,
  ): Promise<{ accessToken: string; providerAccountId: string }> {
    let version: number;
    try {
      // Raced against the activity's cancellation: an update to a custodian whose worker is stopping
      // would otherwise hold this activity, and so the worker's shutdown, for ever.
      ({ tokenVersion: version } = await Promise.race([
        temporal.workflow
          .getHandle(workflowIds.tokens(accountId, provider))
          .executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds: 60 }] }),
        Context.current().cancelled,
      ]));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) {
        throw failure('ReauthRequired', `the ${provider} connection has no active token custody: reconnect it`);
      }
      throw err;
    }
    const doc = await tokens.findOne({ _id: connectionId });
    if (!doc || doc.status !== 'active' || doc.version < version) {
      throw failure('TokensMissing', `no current tokens for ${connectionId}`, { nonRetryable: doc === null });
    }
    return {
      accessToken: await openProviderToken(accountKeys, vault, doc, 'access', doc.accessTokenCiphertext),
      providerAccountId: doc.providerAccountId,
    };
  }

  /** When the connection was made: a new link of the same provider account starts a new `connectedAt`. */
  async function connectedAtOf(accountId: string, connectionId: string): Promise<string | undefined> {
    const account = await db
      .collection<AccountDocument>(collections.accounts)
      .findOne({ _id: accountId }, { projection: { connected_providers: 1 } });
    return account?.connected_providers.nodes.find((n) => n.connectionId === connectionId && n.status === 'active')
      ?.connectedAt;
  }

  /**
   * The content hash each record of this page had when the last finished run wrote or checked it, from that
   * run's seen page for the same cursor: a record whose hash matches need not even be read. Trusted only
   * while nothing but syncs of this one connection touched its records since — the same link (`connectedAt`;
   * a disconnect detaches or deletes them, and linking again makes a new `connectedAt`) and no other run's
   * pages since that run (a run that stopped half-way may have written records the baseline does not know).
   */
  async function pageHints(
    ledger: SyncLedgerDocument,
    input: SyncPageInput,
    connectedAt: string | undefined,
  ): Promise<Map<string, string>> {
    const hints = new Map<string, string>();
    if (!connectedAt || !ledger.baselinePages?.length) return hints;
    if (ledger.pages.some((p) => !p.startsWith(`${input.syncRunId}|`))) return hints;
    const baselineRun = ledger.baselinePages[0]!.split('|')[0]!;
    const page = await seen.findOne({ _id: seenPageId(baselineRun, input.kind, input.cursor) });
    if (!page || page.connectedAt !== connectedAt || !page.contentHashes) return hints;
    page.recordIds.forEach((id, i) => hints.set(id, page.contentHashes![i]!));
    return hints;
  }

  /** The record ids of these seen pages (a page removed since is skipped). */
  async function idsOfPages(pageIds: readonly string[], into: Set<string>): Promise<void> {
    for (const _id of pageIds) {
      const page = await seen.findOne({ _id });
      for (const id of page?.recordIds ?? []) into.add(id);
    }
  }

  /**
   * What may still be active of one kind of the connection and this run did not see: from the ledger's pages
   * (by `_id`, so the cost is this connection's records, whatever other accounts hold), or, before the
   * connection's first finished check, from the connection's records themselves.
   */
  async function unseenOfKind(
    connectionId: string,
    kind: string,
    syncRunId: string,
    ledger: SyncLedgerDocument | null,
  ): Promise<string[]> {
    const runPages = (ledger?.pages ?? []).filter((p) => p.startsWith(`${syncRunId}|${kind}|`));
    const seenIds = new Set<string>();
    await idsOfPages(runPages, seenIds);
    if (!ledger?.baselinePages) {
      // Served by `connection_status` on MongoDB; FerretDB reads the collection. Pages written before seen
      // pages existed set `lastSeenRunId`, which is why the filter still says it.
      const candidates = await records
        .find({ connectionId, kind, status: 'active', lastSeenRunId: { $ne: syncRunId } }, { projection: { _id: 1 } })
        .toArray();
      return candidates.map((c) => c._id).filter((id) => !seenIds.has(id));
    }
    const known = new Set<string>();
    await idsOfPages([...ledger.baselinePages, ...ledger.pages.filter((p) => !runPages.includes(p))], known);
    const unseen: string[] = [];
    for (const _id of known) {
      if (seenIds.has(_id)) continue;
      const doc = await records.findOne<Pick<ProviderRecordDocument, 'connectionId' | 'status' | 'lastSeenRunId'>>(
        { _id },
        { projection: { connectionId: 1, status: 1, lastSeenRunId: 1 } },
      );
      if (doc?.connectionId === connectionId && doc.status === 'active' && doc.lastSeenRunId !== syncRunId)
        unseen.push(_id);
    }
    return unseen;
  }

  /** Marks the connection's active records of `kinds` that `syncRunId` did not see; counts them by kind. */
  async function markMissing(
    connectionId: string,
    kinds: string[],
    syncRunId: string,
  ): Promise<{ deletedByKind: Record<string, number> }> {
    // Done once per run: a retry after the ledger moved on must not count, or mark, anything again.
    const doneId = `${syncRunId}|deletion-check|${connectionId}|${kinds.join(',')}`;
    const done = await deletionChecks.findOne({ _id: doneId });
    if (done) return { deletedByKind: done.deletedByKind };
    const deletedByKind: Record<string, number> = Object.fromEntries(kinds.map((k) => [k, 0]));
    const deletedAt = now().toISOString();
    const ledgers = new Map<string, SyncLedgerDocument | null>();
    for (const kind of kinds) {
      const ledger = await ledgerOf.findOne({ _id: syncLedgerId(connectionId, kind) });
      ledgers.set(kind, ledger);
      const ids = await heartbeatWhile(unseenOfKind(connectionId, kind, syncRunId, ledger));
      for (let i = 0; i < ids.length; i += 1000) {
        // Only records still active and unseen: a sync that raced this one and saw a record keeps it.
        const result = await heartbeatWhile(
          records.bulkWrite(
            ids.slice(i, i + 1000).map((_id) => ({
              updateOne: {
                filter: { _id, status: 'active', lastSeenRunId: { $ne: syncRunId } },
                update: { $set: { status: 'deleted_at_provider' as const, deletedAt } },
              },
            })),
            { ordered: false },
          ),
        );
        deletedByKind[kind] = (deletedByKind[kind] ?? 0) + result.modifiedCount;
      }
    }
    await deletionChecks.replaceOne(
      { _id: doneId },
      { syncRunId, connectionId, deletedByKind, at: deletedAt },
      { upsert: true },
    );
    // This run's pages are now the baseline: every active record of the kind is on them. The older ones go.
    for (const kind of kinds) {
      const ledger = ledgers.get(kind);
      const runPages = (ledger?.pages ?? []).filter((p) => p.startsWith(`${syncRunId}|${kind}|`));
      await ledgerOf.replaceOne(
        { _id: syncLedgerId(connectionId, kind) },
        { connectionId, kind, baselinePages: runPages, pages: [] },
        { upsert: true },
      );
      const old = [...(ledger?.baselinePages ?? []), ...(ledger?.pages ?? [])].filter((p) => !runPages.includes(p));
      // By `_id` one at a time: FerretDB reads the whole collection for any other filter.
      for (const _id of old) await seen.deleteOne({ _id });
    }
    return { deletedByKind };
  }

  return {
    /** Fetch one page and upsert it; replaying the same page writes nothing new. */
    async syncPage(input: SyncPageInput): Promise<SyncPageResult> {
      Context.current().heartbeat();
      // Checked on every page, so a withdrawal stops a sync under way before it fetches anything more.
      const withdrawn = await consentStopping(db, input.accountId, 'provider_sync', consentPurposes);
      if (withdrawn)
        throw failure(
          'ConsentWithdrawn',
          `the person withdrew consent "${withdrawn}", which provider sync needs: nothing more is imported`,
        );
      const resolved = await resolveProvider(input.provider, providers, vault).catch((err: Error) => {
        throw failure('SyncRejected', err.message);
      });
      if (!resolved.endpoints.data) {
        throw failure('SyncNotSupported', `data sync is not available for ${input.provider} yet`);
      }
      const context = Context.current();
      // Heartbeats carry a cancellation of the run back to the page, which then stops where it is.
      const { accessToken, providerAccountId } = await heartbeatWhile(
        accessTokenFor(input.accountId, input.provider, input.connectionId),
      );
      let page;
      try {
        page = await heartbeatWhile(
          Promise.race([
            fetchDataPage(resolved.endpoints.data, input.kind, accessToken, {
              cursor: input.cursor,
              limit: input.pageSize,
            }),
            context.cancelled,
          ]),
        );
      } catch (err) {
        throw toFailure(err);
      }
      context.heartbeat();
      const fetchedAt = now().toISOString();
      // One unwrap per page at most (the key is cached): sealing is then in-process AES-GCM per record.
      const key = await accountKeys.keyFor(input.accountId);
      const items = page.items.map((item) => {
        const externalId = String(item.id);
        const data = item as Record<string, unknown>;
        return {
          externalId,
          _id: recordIdFor(input.accountId, input.provider, input.kind, externalId),
          data,
          hash: contentHash(data),
        };
      });
      // Compared by the clear content's hash (sealing uses a fresh IV each time, so ciphertexts never
      // match): an unchanged record is not written at all, and its origin keeps the run that fetched it.
      const ledger = await ledgerOf.findOne({ _id: syncLedgerId(input.connectionId, input.kind) });
      const connectedAt = await connectedAtOf(input.accountId, input.connectionId);
      const hints = ledger ? await pageHints(ledger, input, connectedAt) : new Map<string, string>();
      // Until a run of the connection has finished (no baseline), records are inserted without reading first:
      // on a first sync none exist, and a duplicate (a replayed page, records from before) is looked at after.
      const insertFirst = !ledger?.baselinePages;
      const toCheck = insertFirst ? [] : items.filter((i) => hints.get(i._id) !== i.hash).map((i) => i._id);
      const stored = await heartbeatWhile(storedRecordStates(records, toCheck));
      const fresh: SealedRecordDocument[] = [];
      const changed: SealedRecordDocument[] = [];
      for (const { externalId, _id, data, hash } of items) {
        if (hints.get(_id) === hash) continue;
        const before = stored.get(_id);
        if (
          before &&
          before.status === 'active' &&
          before.data === undefined &&
          before.connectionId === input.connectionId &&
          before.origin?.providerAccountId === providerAccountId &&
          before.origin?.contentHash === hash
        )
          continue;
        const origin: RecordOrigin = {
          provider: input.provider,
          providerAccountId,
          connectionId: input.connectionId,
          syncRunId: input.syncRunId,
          fetchedAt,
          sourceUrl: page.sourceUrl,
          contentHash: hash,
        };
        (before ? changed : fresh).push({
          _id,
          accountId: input.accountId,
          provider: input.provider,
          kind: input.kind,
          externalId,
          connectionId: input.connectionId,
          sealedData: sealRecordData(key, _id, data),
          origin,
          originMac: await signOrigin(vault, { _id, accountId: input.accountId, kind: input.kind, externalId, origin }),
          status: 'active',
          lastSeenRunId: input.syncRunId,
          updatedAt: fetchedAt,
        });
      }
      // A cancelled run writes no more pages: the run's audit entry counts only pages that landed.
      if (context.cancellationSignal.aborted)
        throw new CancelledFailure('the sync was cancelled before this page was written');
      const written = await heartbeatWhile(
        writeRecordPage(records, { fresh, changed }, (ids) => storedRecordStates(records, ids), {
          connectionId: input.connectionId,
          providerAccountId,
        }),
      );
      // After the records: a retry of a page whose records landed finds them unchanged and writes this again.
      await heartbeatWhile(
        seen.replaceOne(
          { _id: seenPageId(input.syncRunId, input.kind, input.cursor) },
          {
            syncRunId: input.syncRunId,
            connectionId: input.connectionId,
            kind: input.kind,
            recordIds: items.map((i) => i._id),
            contentHashes: items.map((i) => i.hash),
            ...(connectedAt ? { connectedAt } : {}),
            nextCursor: page.nextCursor,
            at: fetchedAt,
          },
          { upsert: true },
        ),
      );
      await heartbeatWhile(
        ledgerOf.updateOne(
          { _id: syncLedgerId(input.connectionId, input.kind) },
          {
            $addToSet: { pages: seenPageId(input.syncRunId, input.kind, input.cursor) },
            $setOnInsert: { connectionId: input.connectionId, kind: input.kind },
          },
          { upsert: true },
        ),
      );
      return { nextCursor: page.nextCursor, fetched: page.items.length, written };
    },

    /** After a successful full sync: records of this kind the run did not see are gone at the provider. */
    async markMissingDeleted(input: {
      connectionId: string;
      kind: string;
      syncRunId: string;
    }): Promise<{ deleted: number }> {
      const { deletedByKind } = await markMissing(input.connectionId, [input.kind], input.syncRunId);
      return { deleted: deletedByKind[input.kind] ?? 0 };
    },

    /** The same for every kind of the sync at once: one read of the connection's records instead of one per kind. */
    async markMissingDeletedAll(input: {
      connectionId: string;
      kinds: string[];
      syncRunId: string;
    }): Promise<{ deletedByKind: Record<string, number> }> {
      return markMissing(input.connectionId, input.kinds, input.syncRunId);
    },

    /** Check every record's origin (of one account, or all): the records whose origin or content was edited. */
    async verifyRecordOrigins(input: { accountId?: string; limit?: number }): Promise<OriginsReport> {
      return verifyAllOrigins(db, vault, accountKeys, input);
    },
  };
}

export interface OriginsReport {
  checked: number;
  /** Records whose content or origin was edited (at most `limit`): never to be acted on. */
  invalid: Array<{ recordId: string; reason: string }>;
  /** Records of erased accounts (their key destroyed): unreadable by design, not forgeries. */
  erased: number;
}

/** Shared by the activity and `npm run origin:verify`. */
export async function verifyAllOrigins(
  db: Db,
  vault: SecretVault,
  keys: AccountKeys,
  input: { accountId?: string; limit?: number } = {},
): Promise<OriginsReport> {
  const invalid: Array<{ recordId: string; reason: string }> = [];
  let checked = 0;
  let erased = 0;
  for await (const doc of providerRecords(db).find(input.accountId ? { accountId: input.accountId } : {})) {
    checked++;
    const check = await checkRecordOrigin(keys, vault, doc);
    if (check.ok) continue;
    if (check.reason === 'account_key_destroyed') erased++;
    else if (invalid.length < (input.limit ?? 1000)) invalid.push({ recordId: doc._id, reason: check.reason });
  }
  return { checked, invalid, erased };
}
