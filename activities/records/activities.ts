/**
 * Sync activities: import one page of a provider's data as idempotent upserts keyed by (account,
 * provider, kind, external id), each record with a signed origin; mark records gone at the provider after
 * a full sync; verify origins on demand. The access token comes from the connection's token custodian,
 * never from refreshing here. Record content is stored sealed with the account's data key; the content
 * hash and the origin MAC are over the clear content, so an origin verifies whichever way it is stored.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Db } from 'mongodb';
import type { ConsentPurpose } from '../../domain/consents.js';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import type { ProviderId } from '../../domain/providers.js';
import { recordIdFor, type ProviderRecordDocument, type RecordOrigin } from '../../domain/records.js';
import { freshTokenUpdate } from '../../workflows/tokens/messages.js';
import { consentStopping } from '../accounts/consents.js';
import { heartbeatWhile } from '../heartbeat.js';
import { dataReaderFor } from '../providers/data/index.js';
import { ProviderQuota } from '../providers/data/quota.js';
import { readPage, type ReadPage } from '../providers/data/read-page.js';
import { DataError, type DataItem } from '../providers/data/reader.js';
import { canonicalJson } from '../audit/canonical-json.js';
import {
  SyncLedger,
  ledgerIds,
  mapLimited,
  pageRunOf,
  pageRuns,
  samePage,
  type LedgerHead,
  type LedgerPage,
} from './ledger.js';
import { resolveProvider } from '../providers/resolve.js';
import { openProviderToken, providerTokens } from '../providers/stores.js';
import type { AccountKey, AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import {
  checkRecordOrigin,
  providerRecords,
  recordSealContext,
  signOrigins,
  type SealedRecordDocument,
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

export interface SyncPagesInput extends SyncPageInput {
  /** The kind's page number of the batch's first page: its place in the sync ledger. */
  pageIndex: number;
}

export interface SyncPagesResult extends SyncPageResult {
  /** Pages read and written by this batch (at least one). */
  pages: number;
}

export interface SyncBatchLimits {
  /** A batch ends after this many pages … */
  pages: number;
  /** … or records … */
  records: number;
  /** … or this long after it started, whichever comes first (the next page is then the next batch's). */
  ms: number;
}

/**
 * One activity reads and writes up to 20 pages, 2000 records or 20 seconds: a page's round trip through
 * Temporal (schedule, start, complete, the workflow task) then costs a twentieth of what it did, and a retried
 * batch re-reads at most that much. Pages are pipelined: the next one is fetched while this one is written.
 */
/** Conditional requests asked for ahead of the page being written (see `syncPages`). */
const lookahead = 8;
/** What a quota keeps back from guesses (see `ProviderQuota.headroom`). */
const guessReserve = 10;
/** Pages answered `304 Not Modified` one batch may carry over, besides the pages it reads. */
const carriedPerBatch = 100;

export const defaultSyncBatch: SyncBatchLimits = { pages: 20, records: 2000, ms: 20_000 };

/** What a sync run tracks per kind to find the records its pages no longer list. */
export interface CompleteSyncInput {
  accountId: string;
  provider: ProviderId;
  connectionId: string;
  kinds: string[];
  syncRunId: string;
  /** Pages the run wrote per kind (its ledger pages 0 … n-1). */
  pagesByKind: Record<string, number>;
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

/** The context a sync's next-page URL is sealed under in the workflow's checkpoint. */
export const syncCursorContext = 'history:sync-cursor';

export function createRecordActivities({
  db,
  vault,
  accountKeys,
  consentPurposes,
  providers,
  temporal,
  now = () => new Date(),
  batch = defaultSyncBatch,
}: RecordActivityDeps & { batch?: SyncBatchLimits }) {
  const records = providerRecords(db);
  const tokens = providerTokens(db);
  const ledger = new SyncLedger(db);

  /** A token valid for the next minute, through the connection's custodian. */
  async function accessTokenFor(
    accountId: string,
    provider: ProviderId,
    connectionId: string,
    minValiditySeconds = 60,
  ): Promise<{ accessToken: string; providerAccountId: string }> {
    let version: number;
    try {
      // Raced against the activity's cancellation: an update to a custodian whose worker is stopping
      // would otherwise hold this activity, and so the worker's shutdown, for ever.
      ({ tokenVersion: version } = await Promise.race([
        temporal.workflow
          .getHandle(workflowIds.tokens(accountId, provider))
          .executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds }] }),
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

  /**
   * The next page's URL from a checkpoint. A cursor from before the providers' own APIs (not sealed: the
   * sandbox's generic data API) starts the kind again from its first page, which converges on the same records.
   */
  async function openCursor(accountId: string, cursor: string | null): Promise<string | null> {
    if (cursor === null || !cursor.startsWith('acct:')) return null;
    return accountKeys.open(accountId, syncCursorContext, cursor);
  }

  /** Marks the connection's active records of `kinds` that `syncRunId` did not see; counts them by kind. */
  async function markMissing(
    connectionId: string,
    kinds: string[],
    syncRunId: string,
  ): Promise<{ deletedByKind: Record<string, number> }> {
    const deletedByKind: Record<string, number> = Object.fromEntries(kinds.map((k) => [k, 0]));
    // One query finds them (usually few; on a large connection it reads many records, so it heartbeats).
    const missing = await heartbeatWhile(
      records
        .find(
          { connectionId, kind: { $in: kinds }, status: 'active', lastSeenRunId: { $ne: syncRunId } },
          { projection: { _id: 1, kind: 1 } },
        )
        .toArray(),
    );
    const deletedAt = now().toISOString();
    for (const kind of kinds) {
      const ids = missing.filter((m) => m.kind === kind).map((m) => m._id);
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
    return { deletedByKind };
  }

  /** Everything a page read needs, made once per activity: the reader, the quota, the token (refreshed on a 401). */
  /** Checked before every page is fetched, so a withdrawal stops a sync under way before it fetches anything more. */
  async function ensureConsent(accountId: string, since?: { at: number }): Promise<void> {
    // Within a batch, at most once a second: a page is a few milliseconds, a withdrawal still stops the batch.
    if (since) {
      if (Date.now() - since.at < 1000) return;
      since.at = Date.now();
    }
    const withdrawn = await consentStopping(db, accountId, 'provider_sync', consentPurposes);
    if (withdrawn)
      throw failure(
        'ConsentWithdrawn',
        `the person withdrew consent "${withdrawn}", which provider sync needs: nothing more is imported`,
      );
  }

  async function openSync(input: SyncPageInput) {
    await ensureConsent(input.accountId);
    const resolved = await resolveProvider(input.provider, providers, vault).catch((err: Error) => {
      throw failure('SyncRejected', err.message);
    });
    const reader = dataReaderFor(input.provider);
    const apis = resolved.endpoints.dataApis;
    if (!reader || !apis || !reader.kinds[input.kind]) {
      throw failure('SyncNotSupported', `${input.provider} has no ${input.kind} data CRA can import`);
    }
    const context = Context.current();
    // Heartbeats carry a cancellation of the run back to the page, which then stops where it is.
    let { accessToken, providerAccountId } = await heartbeatWhile(
      accessTokenFor(input.accountId, input.provider, input.connectionId),
    );
    let renewed = false;
    const quota = new ProviderQuota(db, input.accountId, input.provider, {
      ...(reader.minIntervalMs ? { minIntervalMs: reader.minIntervalMs } : {}),
      wait: (ms) => heartbeatWhile(context.sleep(ms)),
    });
    const readWith = (token: string, next: string | null, known?: { sourceUrl: string; etag: string }) =>
      heartbeatWhile(
        Promise.race([
          readPage({
            reader,
            kind: input.kind,
            apis,
            accessToken: token,
            providerAccountId,
            next,
            ...(known ? { known } : {}),
            pageSize: input.pageSize,
            quota,
            signal: context.cancellationSignal,
          }),
          context.cancelled,
        ]),
      );
    /** One page; DataErrors become the activity's failures. */
    const read = async (next: string | null, known?: { sourceUrl: string; etag: string }) => {
      try {
        try {
          return await readWith(accessToken, next, known);
        } catch (err) {
          if (renewed || !(err instanceof DataError && err.type === 'DataUnauthorized')) throw err;
          // Refused although it had not expired: revoked at the provider, or rotated. The custodian refreshes
          // now; a grant the person revoked fails that refresh, and the connection becomes `reauth_required`.
          renewed = true;
          ({ accessToken, providerAccountId } = await heartbeatWhile(
            accessTokenFor(input.accountId, input.provider, input.connectionId, 86_400),
          ));
          return await readWith(accessToken, next, known);
        }
      } catch (err) {
        throw toFailure(err);
      }
    };
    // One unwrap per activity at most (the key is cached): sealing is then in-process AES-GCM per record.
    const key = await accountKeys.keyFor(input.accountId);
    return {
      context,
      read,
      key,
      providerAccountId: () => providerAccountId,
      conditional: reader.conditional === true,
      quota,
    };
  }

  /**
   * Records as sync stores them: content sealed, each origin signed over the clear content's hash — all the
   * MACs of a page in one SecretVault call (`hmacMany`: one Vault request, one keyring look).
   */
  async function recordDocuments(
    key: AccountKey,
    input: SyncPageInput,
    at: { providerAccountId: string; fetchedAt: string; sourceUrl: string },
    items: ReadonlyArray<{ externalId: string; canonical: string; hash: string }>,
  ): Promise<SealedRecordDocument[]> {
    const docs = items.map((item): SealedRecordDocument => {
      const _id = recordIdFor(input.accountId, input.provider, input.kind, item.externalId);
      const origin: RecordOrigin = {
        provider: input.provider,
        providerAccountId: at.providerAccountId,
        connectionId: input.connectionId,
        syncRunId: input.syncRunId,
        fetchedAt: at.fetchedAt,
        sourceUrl: at.sourceUrl,
        contentHash: item.hash,
      };
      return {
        _id,
        accountId: input.accountId,
        provider: input.provider,
        kind: input.kind,
        externalId: item.externalId,
        connectionId: input.connectionId,
        sealedData: key.seal(recordSealContext(_id), item.canonical),
        origin,
        originMac: '',
        status: 'active',
        lastSeenRunId: input.syncRunId,
        updatedAt: at.fetchedAt,
      };
    });
    const macs = await signOrigins(vault, docs);
    docs.forEach((doc, i) => (doc.originMac = macs[i]!));
    return docs;
  }

  /** One canonical form per record: its hash, its sealed content and nothing else. */
  function canonicalRows(items: DataItem[]) {
    return items.map(({ externalId, data }) => {
      const canonical = canonicalJson(data);
      return { externalId, canonical, hash: createHash('sha256').update(canonical).digest('hex') };
    });
  }

  /**
   * What one page writes, compared with the last complete run's page at the same place: the same records with
   * the same content write nothing; records new to that page are to be inserted, records whose content changed
   * replaced. The documents are built (sealed, signed) here, so the next page can be built while this one is
   * written (`applyPage`).
   */
  async function planPage(
    key: AccountKey,
    input: SyncPagesInput,
    at: { providerAccountId: string; fetchedAt: string; sourceUrl: string },
    read: ReadPage,
    before: LedgerPage | null,
  ): Promise<{
    page: LedgerPage;
    fresh: SealedRecordDocument[];
    changed: SealedRecordDocument[];
    drops: boolean;
    /** The same records with the same content as the last complete run's page: its document stays. */
    same: boolean;
  }> {
    const rows = canonicalRows(read.items);
    const ids = rows.map((r) => r.externalId);
    const hashes = rows.map((r) => r.hash);
    const n = input.pageIndex;
    const page: LedgerPage = {
      _id: ledgerIds.page(input.connectionId, input.kind, input.syncRunId, n),
      type: 'page',
      accountId: input.accountId,
      connectionId: input.connectionId,
      kind: input.kind,
      syncRunId: input.syncRunId,
      n,
      ids,
      hashes,
      sourceUrl: read.sourceUrl,
      next: read.next,
      ...(read.etag ? { etag: read.etag } : {}),
    };
    if (before && samePage(before, ids, hashes)) {
      // The records are as they were; the document stays only if what it says of the answer holds too (a new
      // ETag or next link is written, so a later 304 never carries over a stale next link).
      const same = before.sourceUrl === read.sourceUrl && before.etag === read.etag && before.next === read.next;
      return { page, fresh: [], changed: [], drops: false, same };
    }
    // A record the last complete run had on this page and this one has not: moved, or gone at the provider.
    const listed = new Set(ids);
    const drops = before ? before.ids.some((id) => !listed.has(id)) : false;
    const known = new Map(before ? before.ids.map((id, i) => [id, before.hashes[i]]) : []);
    const freshRows: typeof rows = [];
    const changedRows: typeof rows = [];
    for (const row of rows) {
      const had = known.get(row.externalId);
      if (had === row.hash) continue;
      (had === undefined ? freshRows : changedRows).push(row);
    }
    const docs = await recordDocuments(key, input, at, [...freshRows, ...changedRows]);
    return { page, fresh: docs.slice(0, freshRows.length), changed: docs.slice(freshRows.length), drops, same: false };
  }

  /**
   * Write a planned page: the new records with one `insertMany`; a changed record, or one the insert found
   * stored already (moved from another page, or written by a page retried after a crash), is read by its id
   * and replaced only when its stored content, status or connection differ. A retried or replayed page
   * converges on the same records. Answers how many records it wrote.
   */
  async function applyPage(
    connectionId: string,
    { fresh, changed }: { fresh: SealedRecordDocument[]; changed: SealedRecordDocument[] },
  ): Promise<number> {
    let written = 0;
    const replace: AnyBulkWriteOperation<ProviderRecordDocument>[] = changed.map((doc) => ({
      replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true },
    }));
    if (fresh.length > 0) {
      try {
        written += (await heartbeatWhile(records.insertMany(fresh, { ordered: false }))).insertedCount;
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError)) throw err;
        const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
        if (errors.some((e) => e.code !== 11000)) throw err;
        written += err.insertedCount;
        // Stored already: read by id (a filter with more than the id would scan the collection on a
        // MongoDB-compatible server without a query planner), replaced only where it differs.
        const stored = await heartbeatWhile(
          mapLimited(errors, 16, (e) =>
            records.findOne(
              { _id: fresh[e.index]!._id },
              { projection: { 'origin.contentHash': 1, status: 1, connectionId: 1, sealedData: 1 } },
            ),
          ),
        );
        errors.forEach((e, i) => {
          const doc = fresh[e.index]!;
          const had = stored[i];
          const same =
            had &&
            had.origin.contentHash === doc.origin.contentHash &&
            had.status === 'active' &&
            had.connectionId === connectionId &&
            had.sealedData !== undefined;
          if (!same) replace.push({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } });
        });
      }
    }
    if (replace.length > 0) {
      const result = await heartbeatWhile(records.bulkWrite(replace, { ordered: false }));
      written += result.modifiedCount + result.upsertedCount;
    }
    return written;
  }

  /**
   * Records of `kind` the connection had that this run did not see: on the last complete run's pages, on none of
   * this run's. This run's page at a place is its own document where it wrote one, else the last complete run's
   * (unchanged). Also answers what the new head's places are held by, and which old documents it replaces.
   */
  async function missingSince(
    input: CompleteSyncInput,
    kind: string,
  ): Promise<{
    ids: string[];
    head: LedgerHead | null;
    view: (n: number) => string;
    replaced: Array<{ syncRunId: string; n: number }>;
  }> {
    const head = await ledger.head(input.connectionId, kind);
    const count = input.pagesByKind[kind] ?? 0;
    const notes = await ledger.changes(input.connectionId, kind, input.syncRunId);
    const written = new Set(notes?.written ?? []);
    const view = (n: number) => (written.has(n) ? input.syncRunId : ((head && pageRunOf(head, n)) ?? input.syncRunId));
    const replaced: Array<{ syncRunId: string; n: number }> = [];
    if (head && head.syncRunId !== input.syncRunId)
      for (let n = 0; n < head.pages; n++) {
        const holder = pageRunOf(head, n)!;
        if ((n >= count || written.has(n)) && holder !== input.syncRunId) replaced.push({ syncRunId: holder, n });
      }
    const none = { ids: [], head, view, replaced };
    if (head?.syncRunId === input.syncRunId) return none;
    // Every page still lists what the last complete run's did, and there are no fewer: nothing is missing.
    if (head && head.pages <= count && (notes?.pages.length ?? 0) === 0) return none;
    const seen = new Set<string>();
    const mine = await mapLimited(
      Array.from({ length: count }, (_, n) => n),
      16,
      (n) => ledger.page(input.connectionId, kind, view(n), n),
    );
    // A page of this run's view gone (a concurrent run's completion dropped it): nothing is concluded this time.
    if (mine.some((p) => p === null)) return none;
    for (const p of mine) for (const id of p!.ids) seen.add(id);
    const had: string[] = [];
    if (head) {
      const theirs = await mapLimited(
        Array.from({ length: head.pages }, (_, n) => n),
        16,
        (n) => ledger.page(input.connectionId, kind, pageRunOf(head, n)!, n),
      );
      for (const p of theirs) for (const id of p?.ids ?? []) if (!seen.has(id)) had.push(id);
    } else {
      // The first complete run with a ledger: what earlier runs wrote is found by query, once per connection and kind.
      const stored = await heartbeatWhile(
        records
          .find(
            { connectionId: input.connectionId, kind, status: 'active', lastSeenRunId: { $ne: input.syncRunId } },
            { projection: { _id: 1, externalId: 1 } },
          )
          .toArray(),
      );
      for (const r of stored) if (!seen.has(r.externalId)) had.push(r.externalId);
    }
    return { ids: had.map((id) => recordIdFor(input.accountId, input.provider, kind, id)), head, view, replaced };
  }

  return {
    /** Fetch one page and upsert it; replaying the same page writes nothing new. Runs from before `sync-page-batches`. */
    async syncPage(input: SyncPageInput): Promise<SyncPageResult> {
      Context.current().heartbeat();
      // Checked on every page, so a withdrawal stops a sync under way before it fetches anything more.
      const { context, read, key, providerAccountId } = await openSync(input);
      const page = await read(await openCursor(input.accountId, input.cursor));
      context.heartbeat();
      const fetchedAt = now().toISOString();
      // Whole-document upserts keyed by _id: a replayed or retried page converges on the same documents
      // (and a record stored in clear before per-account keys is replaced by its sealed form).
      const docs = await recordDocuments(
        key,
        input,
        { providerAccountId: providerAccountId(), fetchedAt, sourceUrl: page.sourceUrl },
        canonicalRows(page.items),
      );
      const ops: AnyBulkWriteOperation<ProviderRecordDocument>[] = docs.map((replacement) => ({
        replaceOne: { filter: { _id: replacement._id }, replacement, upsert: true },
      }));
      // A cancelled run writes no more pages: the run's audit entry counts only pages that landed.
      if (context.cancellationSignal.aborted)
        throw new CancelledFailure('the sync was cancelled before this page was written');
      if (ops.length > 0) await heartbeatWhile(records.bulkWrite(ops, { ordered: false }));
      // The next page's URL may name the person (Reddit's /user/<name>/submitted): it goes into history sealed.
      const nextCursor =
        page.next === null ? null : await accountKeys.seal(input.accountId, syncCursorContext, page.next);
      return { nextCursor, fetched: page.items.length, written: ops.length };
    },

    /**
     * Read and write pages of one kind from `cursor` on, up to the batch limits, the next page fetched while
     * this one is written. Each page is compared with the same page of the last complete run (the sync
     * ledger), so an unchanged page writes no record. Cancelled between pages, it returns what it wrote so
     * far (the run's audit counts it); cancelled before its first page landed, it ends cancelled.
     */
    async syncPages(input: SyncPagesInput): Promise<SyncPagesResult> {
      const started = Date.now();
      Context.current().heartbeat();
      const { context, read, key, providerAccountId, conditional, quota } = await openSync(input);
      const consentChecked = { at: Date.now() };
      const head = await ledger.head(input.connectionId, input.kind);
      let next = await openCursor(input.accountId, input.cursor);
      // The same page of the last complete run: what to compare with, and the ETag to ask the provider with.
      const fetchPage = async (n: number, url: string | null) => {
        const holder = head ? pageRunOf(head, n) : null;
        const before = holder ? await ledger.page(input.connectionId, input.kind, holder, n) : null;
        const known =
          before?.etag !== undefined && before.sourceUrl !== undefined && before.next !== undefined
            ? { sourceUrl: before.sourceUrl, etag: before.etag }
            : undefined;
        return { before, page: await read(url, known) };
      };
      /**
       * Where the provider answers conditional requests, the pages after this one are asked for ahead, up to
       * `lookahead` at once, at the URLs the last complete run read them from: an unchanged page's next link is
       * the one the ledger holds, so while nothing changed every guess is right and the 304s come back together
       * instead of one round trip after another. A guess whose URL turns out not to be the page's is dropped and
       * the page asked for again (a few requests more of the quota, after a change only).
       */
      const ahead = new Map<number, Promise<(Awaited<ReturnType<typeof fetchPage>> & { url: string }) | null>>();
      const lastGuess = input.pageIndex + carriedPerBatch - 1;
      const guessFrom = (from: number) => {
        if (!head || !conditional) return;
        // Only while the provider's last answer left plenty: other syncs of the account share the quota, and
        // a request sent while it is not known could go over it.
        const depth = Math.min(lookahead, Math.floor((quota.headroom() - guessReserve) / 2));
        for (let n = from; n < from + depth && n <= lastGuess && n < head.pages; n++) {
          if (ahead.has(n)) continue;
          const holder = pageRunOf(head, n);
          if (!holder) break;
          const guess = ledger.page(input.connectionId, input.kind, holder, n).then(async (before) => {
            if (!before?.sourceUrl || before.etag === undefined || before.next === undefined) return null;
            await ensureConsent(input.accountId, consentChecked);
            const page = await read(before.sourceUrl, { sourceUrl: before.sourceUrl, etag: before.etag });
            return { before, page, url: before.sourceUrl };
          });
          guess.catch(() => undefined);
          ahead.set(n, guess);
        }
      };
      const pageAt = async (n: number, url: string) => {
        const guess = ahead.get(n);
        ahead.delete(n);
        const guessed = guess ? await guess.catch(() => null) : null;
        if (guessed && guessed.url === url) return { before: guessed.before, page: guessed.page };
        await ensureConsent(input.accountId, consentChecked);
        return fetchPage(n, url);
      };
      let pending = fetchPage(input.pageIndex, next);
      guessFrom(input.pageIndex + 1);
      const result: SyncPagesResult = { nextCursor: null, pages: 0, fetched: 0, written: 0 };
      const done: LedgerPage[] = [];
      let writing: Promise<number> | null = null;
      const changedPages: number[] = [];
      let readPages = 0;
      let readRecords = 0;
      let carried = 0;
      for (;;) {
        let fetched: Awaited<typeof pending>;
        try {
          fetched = await pending;
        } catch (err) {
          // A page that fails after others landed ends the batch there: the workflow's next batch starts at it,
          // so a retry (a rate limit's wait, a 5xx) repeats that page, not the pages already written.
          if (result.pages > 0) break;
          throw err;
        }
        const { page, before } = fetched;
        context.heartbeat();
        const pageInput = { ...input, pageIndex: input.pageIndex + result.pages };
        // Not modified: the provider says the page is the one the last run read, records and next link alike.
        const unchanged = page.notModified === true && before !== null;
        const pageNext = unchanged ? (before.next ?? null) : page.next;
        const count = unchanged ? before.ids.length : page.items.length;
        // A page carried over costs one small request and no write: many more of those fit in a batch.
        if (unchanged) carried++;
        else {
          readPages++;
          readRecords += count;
        }
        const more =
          pageNext !== null &&
          readPages < batch.pages &&
          readRecords < batch.records &&
          carried < carriedPerBatch &&
          Date.now() - started < batch.ms;
        // Consent is checked before each page is fetched, so a withdrawal stops the batch too.
        if (more) {
          const following = pageNext;
          const n = pageInput.pageIndex + 1;
          pending = pageAt(n, following);
          // Handled when awaited; until then a failure of the page ahead must not be unhandled.
          pending.catch(() => undefined);
          guessFrom(n + 1);
        }
        const plan = unchanged
          ? { page: before, fresh: [], changed: [], drops: false, same: true }
          : await planPage(
              key,
              pageInput,
              { providerAccountId: providerAccountId(), fetchedAt: now().toISOString(), sourceUrl: page.sourceUrl },
              page,
              before,
            );
        // One page written at a time, while the next is fetched and built.
        if (writing) result.written += await writing;
        writing = null;
        if (context.cancellationSignal.aborted) break;
        writing = applyPage(input.connectionId, plan);
        // Handled when awaited, below or after the loop.
        writing.catch(() => undefined);
        // A page as the last complete run had it keeps that run's document: nothing to write.
        if (!plan.same) done.push(plan.page);
        // With no page of the last complete run to compare with, anything it had here may be missing.
        if (plan.drops || (head && !before && pageInput.pageIndex < head.pages)) changedPages.push(pageInput.pageIndex);
        result.pages++;
        result.fetched += count;
        next = pageNext;
        if (!more || context.cancellationSignal.aborted) break;
      }
      if (writing) result.written += await writing;
      // Guesses not taken end here, not after the activity.
      await Promise.all([...ahead.values()].map((guess) => guess.catch(() => null)));
      // The ledger after the records: a page in it always names records that are stored.
      await heartbeatWhile(ledger.putPages(done));
      await ledger.noteChanges(
        { accountId: input.accountId, connectionId: input.connectionId, kind: input.kind, syncRunId: input.syncRunId },
        { pages: changedPages, written: done.map((p) => p.n) },
      );
      if (result.pages === 0) throw new CancelledFailure('the sync was cancelled before this page was written');
      // The next page's URL may name the person (Reddit's /user/<name>/submitted): it goes into history sealed.
      result.nextCursor = next === null ? null : await accountKeys.seal(input.accountId, syncCursorContext, next);
      return result;
    },

    /**
     * After a complete run (`sync-page-batches`): records the run's pages no longer list are marked deleted at
     * the provider, the run becomes the kind's ledger head, and the pages of the one before are dropped. Reads
     * only this connection's ledger pages, by id, so its cost follows this connection's records alone.
     */
    async completeSyncRun(input: CompleteSyncInput): Promise<{ deletedByKind: Record<string, number> }> {
      const deletedByKind: Record<string, number> = {};
      const deletedAt = now().toISOString();
      for (const kind of input.kinds) {
        const { ids, head, view, replaced } = await missingSince(input, kind);
        if (head?.syncRunId === input.syncRunId) {
          // A retry after the head moved: it was done, with this count.
          deletedByKind[kind] = head.deleted;
          continue;
        }
        // Each read and written by its id alone (see writePage): only records still this connection's and
        // unseen by this run (a page of older code sets lastSeenRunId). One this run marked already (a retried
        // attempt) counts again, so the count survives a retry.
        const stored = await heartbeatWhile(
          mapLimited(ids, 16, (_id) =>
            records.findOne(
              { _id },
              { projection: { status: 1, connectionId: 1, lastSeenRunId: 1, deletedByRunId: 1 } },
            ),
          ),
        );
        let deleted = 0;
        const mark: string[] = [];
        for (const doc of stored) {
          if (!doc || doc.connectionId !== input.connectionId || doc.lastSeenRunId === input.syncRunId) continue;
          if (doc.status === 'active') mark.push(doc._id);
          else if (doc.status === 'deleted_at_provider' && doc.deletedByRunId === input.syncRunId) deleted++;
        }
        for (let i = 0; i < mark.length; i += 1000) {
          const result = await heartbeatWhile(
            records.bulkWrite(
              mark.slice(i, i + 1000).map((_id) => ({
                updateOne: {
                  filter: { _id, status: 'active' as const },
                  update: {
                    $set: { status: 'deleted_at_provider' as const, deletedAt, deletedByRunId: input.syncRunId },
                  },
                },
              })),
              { ordered: false },
            ),
          );
          deleted += result.modifiedCount;
        }
        deletedByKind[kind] = deleted;
        await ledger.putHead({
          accountId: input.accountId,
          connectionId: input.connectionId,
          kind,
          syncRunId: input.syncRunId,
          pages: input.pagesByKind[kind] ?? 0,
          ...pageRuns(input.pagesByKind[kind] ?? 0, view),
          deleted,
          completedAt: deletedAt,
        });
        // Only the documents this run replaced (or that lie beyond its last page) go: unchanged pages stay.
        await heartbeatWhile(ledger.dropPagesAt(input.connectionId, kind, replaced));
        await ledger.dropChanges(input.connectionId, kind, input.syncRunId);
      }
      return { deletedByKind };
    },

    /** A run that failed or was cancelled leaves no pages in the ledger (the head stays the last complete run). */
    async discardSyncRun(input: CompleteSyncInput): Promise<void> {
      for (const kind of input.kinds) {
        const head = await ledger.head(input.connectionId, kind);
        if (head?.syncRunId === input.syncRunId) continue;
        // Every page document it wrote is its own (`page|…|<run>|n`, n below its page count).
        await ledger.dropPages(input.connectionId, kind, input.syncRunId, input.pagesByKind[kind] ?? 0);
        await ledger.dropChanges(input.connectionId, kind, input.syncRunId);
      }
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
