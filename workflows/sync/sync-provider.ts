/**
 * Sync a connection's data: `sync/<accountId>/<provider>` (or a schedule's run). Pages through every kind
 * with a cursor checkpoint kept in workflow state, each page one idempotent bulk upsert; continues as new
 * when Temporal suggests it or after `maxPagesPerRun` pages, so a million records stay within history
 * limits; after a complete run, records the run did not see are marked deleted at the provider.
 * Rate limits wait for Retry-After and 5xx retry (activity retry policy); other 4xx stop with a clear failure.
 * Cancelled (a disconnect stops it, or an operator): the page in flight ends first, the audit log says how far
 * the run got, and the run ends cancelled with `CraStage = cancelled`.
 */
import { ActivityCancellationType, ActivityFailure, CancelledFailure } from '@temporalio/common';
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createRecordActivities } from '../../activities/records/activities.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { activityOptions } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import { syncStatusQuery, type KindTotals, type SyncCheckpoint, type SyncInput, type SyncResult } from './messages.js';
import { failure, failureTypeOf } from '../../domain/failures.js';

const recordActs = proxyActivities<ReturnType<typeof createRecordActivities>>(activityOptions.sync);
// A cancelled run waits for its page in flight to stop (pages heartbeat, so they hear of it), so nothing of
// the run is still writing once it says it was cancelled.
const recordActsUntilStopped = proxyActivities<ReturnType<typeof createRecordActivities>>({
  ...activityOptions.sync,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const records = proxyActivities<ReturnType<typeof createAuditActivities>>(activityOptions.records);

const defaultPageSize = 100;
const defaultMaxPagesPerRun = 500;
const emptyTotals = (): KindTotals => ({ fetched: 0, written: 0, deleted: 0 });

export async function syncProvider(input: SyncInput): Promise<SyncResult> {
  const kinds = input.kinds ?? providerCatalog[input.provider].dataKinds;
  const syncRunId = input.syncRunId ?? workflowInfo().runId;
  const checkpoint: SyncCheckpoint = input.checkpoint ?? { kindIndex: 0, cursor: null, pages: 0, totals: {} };
  const maxPages = input.maxPagesPerRun ?? defaultMaxPagesPerRun;
  let stage = 'syncing';
  setHandler(syncStatusQuery, () => ({ stage, checkpoint, syncRunId }));
  const enter = (s: string) => {
    stage = s;
    recordStage(s);
  };
  const { workflowId } = workflowInfo();
  // Runs that started before `sync-cancellation` went on as a failure when cancelled, their audit write cancelled with them.
  const handlesCancellation = patched('sync-cancellation');
  const pages = handlesCancellation ? recordActsUntilStopped : recordActs;
  // Runs that started before `sync-page-batches` write one page per activity, every record an upsert, and look
  // for deletions by query; after it an activity writes a batch of pages, only what changed since the last
  // complete run (the sync ledger), and the deletion check reads this connection's ledger.
  const batches = patched('sync-page-batches');
  const ledgerInput = () => ({
    accountId: input.accountId,
    provider: input.provider,
    connectionId: input.connectionId,
    kinds,
    syncRunId,
    pagesByKind: Object.fromEntries(kinds.map((k) => [k, checkpoint.totals[k]?.pages ?? 0])),
  });
  const sum = (field: 'fetched' | 'written' | 'deleted') =>
    Object.values(checkpoint.totals).reduce((n, t) => n + t[field], 0);
  // A page that ran on to its end after the cancel may still fail or time out: the run was cancelled all the same.
  const wasCancelled = (err: unknown) =>
    handlesCancellation && (isCancellation(err) || CancellationScope.current().consideredCancelled);
  const endCancelled = async (err: unknown): Promise<never> => {
    enter('cancelled');
    // The workflow's own scope is cancelled: only a non-cancellable one still reaches the audit log.
    if (batches) await CancellationScope.nonCancellable(() => recordActs.discardSyncRun(ledgerInput()));
    await CancellationScope.nonCancellable(() =>
      records.appendAuditEvent({
        eventId: `${workflowId}/${syncRunId}/sync.cancelled`,
        action: 'provider.sync_cancelled',
        actor: { type: 'system', id: 'sync' },
        accountId: input.accountId,
        workflowId,
        details: {
          provider: input.provider,
          fetched: sum('fetched'),
          written: sum('written'),
          pages: checkpoint.pages,
        },
      }),
    );
    // Rethrown (a cancellation), so Temporal shows the run as cancelled.
    throw isCancellation(err) ? err : new CancelledFailure('the sync was cancelled');
  };

  let pagesThisRun = 0;
  try {
    while (checkpoint.kindIndex < kinds.length) {
      const kind = kinds[checkpoint.kindIndex]!;
      enter(`syncing:${kind}`);
      const totals = (checkpoint.totals[kind] ??= emptyTotals());
      const pageInput = {
        accountId: input.accountId,
        provider: input.provider,
        connectionId: input.connectionId,
        kind,
        cursor: checkpoint.cursor,
        syncRunId,
        pageSize: input.pageSize ?? defaultPageSize,
      };
      const page = batches
        ? await pages.syncPages({ ...pageInput, pageIndex: totals.pages ?? 0 })
        : { ...(await pages.syncPage(pageInput)), pages: 1 };
      totals.fetched += page.fetched;
      totals.written += page.written;
      if (batches) totals.pages = (totals.pages ?? 0) + page.pages;
      checkpoint.pages += page.pages;
      pagesThisRun += page.pages;
      if (page.nextCursor === null) {
        checkpoint.kindIndex++;
        checkpoint.cursor = null;
      } else {
        checkpoint.cursor = page.nextCursor;
      }
      if (checkpoint.kindIndex < kinds.length && (pagesThisRun >= maxPages || workflowInfo().continueAsNewSuggested)) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof syncProvider>({ ...input, kinds, syncRunId, checkpoint });
      }
    }
  } catch (err) {
    if (wasCancelled(err)) return endCancelled(err);
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const type = failureTypeOf(cause) ?? 'SyncFailed';
    const message = cause instanceof Error ? cause.message : String(cause);
    enter('failed');
    if (batches) await recordActs.discardSyncRun(ledgerInput());
    await records.appendAuditEvent({
      eventId: `${workflowId}/${syncRunId}/sync.failed`,
      action: 'provider.sync_failed',
      actor: { type: 'system', id: 'sync' },
      accountId: input.accountId,
      workflowId,
      details: { provider: input.provider, reason: type },
    });
    // Failing the workflow shows it as failed in Temporal Web, with the reason.
    throw failure(type, `the ${input.provider} sync stopped: ${message}`, { nonRetryable: true });
  }

  // Only a complete run may conclude that what it did not see is gone.
  try {
    enter('detecting_deletions');
    if (batches) {
      const { deletedByKind } = await pages.completeSyncRun(ledgerInput());
      for (const kind of kinds) (checkpoint.totals[kind] ??= emptyTotals()).deleted = deletedByKind[kind] ?? 0;
    } else if (patched('deletion-check-once')) {
      const { deletedByKind } = await pages.markMissingDeletedAll({
        connectionId: input.connectionId,
        kinds,
        syncRunId,
      });
      for (const kind of kinds) (checkpoint.totals[kind] ??= emptyTotals()).deleted = deletedByKind[kind] ?? 0;
    } else {
      // Runs that reached this point before `deletion-check-once`: one activity per kind.
      for (const kind of kinds) {
        const { deleted } = await recordActs.markMissingDeleted({ connectionId: input.connectionId, kind, syncRunId });
        (checkpoint.totals[kind] ??= emptyTotals()).deleted = deleted;
      }
    }
    await records.appendAuditEvent({
      eventId: `${workflowId}/${syncRunId}/sync.completed`,
      action: 'provider.synced',
      actor: { type: 'system', id: 'sync' },
      accountId: input.accountId,
      workflowId,
      details: {
        provider: input.provider,
        fetched: sum('fetched'),
        written: sum('written'),
        deleted: sum('deleted'),
        pages: checkpoint.pages,
      },
    });
  } catch (err) {
    if (wasCancelled(err)) return endCancelled(err);
    throw err;
  }
  enter('completed');
  return { syncRunId, totals: checkpoint.totals, pages: checkpoint.pages };
}
