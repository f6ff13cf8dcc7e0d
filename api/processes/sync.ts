/**
 * The sync process's one starter (`sync/<accountId>/<provider>`): its workflow ids, task queue, search
 * attributes, the Temporal Schedule that repeats it, and the one visibility query that finds a
 * connection's running syncs. `POST /v1/me/providers/{p}/sync` starts a run now; the sync-control
 * activities (`activities/sync/control.ts`) create and stop the schedule and cancel running syncs;
 * `PUT /v1/me/consents` pauses and resumes an account's schedules when a consent the sync needs is
 * withdrawn or granted again. (The link workflow starts the first sync as its child, with the same id and
 * attributes.)
 */
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { Db } from 'mongodb';
import { consentStopping } from '../../activities/accounts/consents.js';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderId } from '../../domain/providers.js';
import { searchAttributesFor } from '../../temporal.config.js';
import { syncStatusQuery, syncWorkflowType, type SyncInput, type SyncWorkflow } from '../../workflows/sync/messages.js';
import { ProblemError } from '../problem.js';
import { accountsQueueOf, type ProcessDeps } from './deps.js';
import { assertNotErasing } from './erasure.js';

/** One connection of an account to a provider: what a sync imports from. */
export interface SyncTarget {
  accountId: string;
  provider: ProviderId;
}

export function syncScheduleId({ accountId, provider }: SyncTarget): string {
  return `${workflowIds.sync(accountId, provider)}/schedule`;
}

/** The id of the runs the schedule starts (Temporal adds the scheduled time to it). */
export function scheduledSyncWorkflowId({ accountId, provider }: SyncTarget): string {
  return `${workflowIds.sync(accountId, provider)}/scheduled`;
}

/**
 * The visibility query for this connection's running syncs, whoever started them (the schedule, the
 * link's first sync or a manual run). Account ids are UUIDs and providers come from the catalog, so
 * neither can carry a quote.
 */
export function runningSyncsQuery({ accountId, provider }: SyncTarget): string {
  return `CraProcess = "sync" AND CraAccountId = "${accountId}" AND CraProvider = "${provider}" AND ExecutionStatus = "Running"`;
}

function syncInput(config: ProcessDeps['config'], target: SyncTarget & { connectionId: string }): SyncInput {
  return {
    accountId: target.accountId,
    provider: target.provider,
    connectionId: target.connectionId,
    pageSize: config.sync.pageSize,
    maxPagesPerRun: config.sync.maxPagesPerRun,
  };
}

/**
 * Sync a connection now: a sync already running (scheduled or not) is joined rather than doubled. Refused
 * (409 `consent-required`) while the person has withdrawn a consent the sync needs.
 */
export async function syncNow(
  { temporal, config, db }: ProcessDeps & { db: Db },
  target: SyncTarget & { connectionId: string },
): Promise<{ workflowId: string }> {
  await assertNotErasing({ temporal, config }, target.accountId);
  const withdrawn = await consentStopping(db, target.accountId, 'provider_sync', config.dataRights.consentPurposes);
  if (withdrawn)
    throw new ProblemError(
      'consent-required',
      `Syncing provider data needs the consent "${withdrawn}", which you withdrew: grant it again with PUT /v1/me/consents.`,
    );
  for await (const run of temporal.workflow.list({ query: runningSyncsQuery(target) }))
    return { workflowId: run.workflowId };
  const workflowId = workflowIds.sync(target.accountId, target.provider);
  await temporal.workflow.start<SyncWorkflow>(syncWorkflowType, {
    workflowId,
    taskQueue: accountsQueueOf(config),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    args: [syncInput(config, target)],
    typedSearchAttributes: searchAttributesFor('sync', {
      accountId: target.accountId,
      provider: target.provider,
      stage: 'syncing',
    }),
  });
  return { workflowId };
}

/**
 * Create the schedule that repeats this connection's sync (no-op when it exists). `pausedFor`: the purpose
 * of a withdrawn consent the sync needs; the schedule starts paused, as `pauseSyncsForConsent` leaves it.
 */
export async function ensureSyncSchedule(
  { temporal, config }: ProcessDeps,
  target: SyncTarget & { connectionId: string; pausedFor?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = syncScheduleId(target);
  try {
    await temporal.schedule.getHandle(scheduleId).describe();
    return { scheduleId, created: false };
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  try {
    await temporal.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: config.sync.interval }] },
      // A run still going when the next is due is not doubled.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      ...(target.pausedFor ? { state: { paused: true, note: consentPauseNote(target.pausedFor) } } : {}),
      action: {
        type: 'startWorkflow',
        workflowType: syncWorkflowType,
        workflowId: scheduledSyncWorkflowId(target),
        taskQueue: accountsQueueOf(config),
        args: [syncInput(config, target)],
        typedSearchAttributes: searchAttributesFor('sync', {
          accountId: target.accountId,
          provider: target.provider,
          stage: 'scheduled',
        }),
      },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if ((err as Error).name === 'ScheduleAlreadyRunning') return { scheduleId, created: false };
    throw err;
  }
}

/** Delete the connection's schedule; false when there was none. */
export async function deleteSyncSchedule(
  { temporal }: Pick<ProcessDeps, 'temporal'>,
  target: SyncTarget,
): Promise<boolean> {
  try {
    await temporal.schedule.getHandle(syncScheduleId(target)).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/** Cancel every sync of the connection still running; how many were. */
export async function cancelRunningSyncs(
  { temporal }: Pick<ProcessDeps, 'temporal'>,
  target: SyncTarget,
): Promise<number> {
  let cancelled = 0;
  for await (const run of temporal.workflow.list({ query: runningSyncsQuery(target) })) {
    try {
      await temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
      cancelled++;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return cancelled;
}

/** The note on a schedule a withdrawn consent paused; resuming touches only schedules paused this way. */
const consentPauseNote = (purpose: string) => `${consentPausePrefix}${purpose}`;
const consentPausePrefix = 'CRA: paused because the person withdrew the consent ';

/**
 * A consent the sync needs was withdrawn: pause each connection's schedule (with a note saying why, for
 * Temporal Web) and cancel its running syncs. Idempotent: a schedule paused already keeps its note.
 */
export async function pauseSyncsForConsent(
  { temporal }: Pick<ProcessDeps, 'temporal'>,
  input: { accountId: string; providers: readonly ProviderId[]; purpose: string },
): Promise<{ paused: number; cancelled: number }> {
  let paused = 0;
  let cancelled = 0;
  for (const provider of input.providers) {
    const target = { accountId: input.accountId, provider };
    const handle = temporal.schedule.getHandle(syncScheduleId(target));
    try {
      const { state } = await handle.describe();
      if (!state.paused) {
        await handle.pause(consentPauseNote(input.purpose));
        paused++;
      }
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    cancelled += await cancelRunningSyncs({ temporal }, target);
  }
  return { paused, cancelled };
}

/**
 * Nothing stops the sync any more: resume the schedules a withdrawn consent paused. A schedule an operator
 * paused for another reason (another note) stays paused.
 */
export async function resumeSyncsAfterConsent(
  { temporal }: Pick<ProcessDeps, 'temporal'>,
  input: { accountId: string; providers: readonly ProviderId[] },
): Promise<{ resumed: number }> {
  let resumed = 0;
  for (const provider of input.providers) {
    const handle = temporal.schedule.getHandle(syncScheduleId({ accountId: input.accountId, provider }));
    try {
      const { state } = await handle.describe();
      if (state.paused && state.note?.startsWith(consentPausePrefix)) {
        await handle.unpause('CRA: resumed, the person granted the consent again');
        resumed++;
      }
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return { resumed };
}

type QueryResult<Q> = Q extends QueryDefinition<infer R> ? R : never;

/**
 * A running sync's checkpoint from its `syncStatus` query, or undefined when it closed in between, no worker
 * answers within `timeoutMs` (the page shows the stage alone then), or the query fails.
 */
export async function syncStatusIfAnswered(
  deps: Pick<ProcessDeps, 'temporal'>,
  workflowId: string,
  timeoutMs: number,
): Promise<QueryResult<typeof syncStatusQuery> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      deps.temporal.workflow.getHandle<SyncWorkflow>(workflowId).query(syncStatusQuery),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
