/**
 * Starting and stopping a connection's syncs from activities: the Temporal Schedule that repeats the sync,
 * and any sync run in progress. Workflows cannot manage schedules themselves, so these run as activities
 * with a Temporal client.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { CraConfig } from '../../domain/config.js';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderId } from '../../domain/providers.js';
import { searchAttributes, taskQueueNames } from '../../temporal.config.js';

export interface SyncControlDeps {
  temporal: Client;
  config: CraConfig;
}

export const syncWorkflowType = 'syncProvider';

export function syncScheduleId(accountId: string, provider: string): string {
  return `${workflowIds.sync(accountId, provider)}/schedule`;
}

export function createSyncControlActivities({ temporal, config }: SyncControlDeps) {
  return {
    /** Create the schedule that repeats this connection's sync (no-op when it exists). */
    async ensureSyncSchedule(input: { accountId: string; provider: ProviderId; connectionId: string }): Promise<{ scheduleId: string; created: boolean }> {
      const scheduleId = syncScheduleId(input.accountId, input.provider);
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
          action: {
            type: 'startWorkflow',
            workflowType: syncWorkflowType,
            workflowId: `${workflowIds.sync(input.accountId, input.provider)}/scheduled`,
            taskQueue: taskQueueNames(config.temporal.taskQueuePrefix).accounts,
            args: [{ accountId: input.accountId, provider: input.provider, connectionId: input.connectionId, pageSize: config.sync.pageSize, maxPagesPerRun: config.sync.maxPagesPerRun }],
            typedSearchAttributes: [
              { key: searchAttributes.accountId, value: input.accountId },
              { key: searchAttributes.process, value: 'sync' },
              { key: searchAttributes.provider, value: input.provider },
              { key: searchAttributes.stage, value: 'scheduled' },
              { key: searchAttributes.needsApproval, value: false },
            ],
          },
        });
        return { scheduleId, created: true };
      } catch (err) {
        if ((err as Error).name === 'ScheduleAlreadyRunning') return { scheduleId, created: false };
        throw err;
      }
    },

    /** Delete the schedule and cancel every sync of this connection still running. Idempotent. */
    async stopSyncs(input: { accountId: string; provider: ProviderId }): Promise<{ scheduleDeleted: boolean; cancelled: number }> {
      let scheduleDeleted = false;
      try {
        await temporal.schedule.getHandle(syncScheduleId(input.accountId, input.provider)).delete();
        scheduleDeleted = true;
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
      let cancelled = 0;
      const query = `CraProcess = "sync" AND CraAccountId = "${input.accountId}" AND CraProvider = "${input.provider}" AND ExecutionStatus = "Running"`;
      for await (const run of temporal.workflow.list({ query })) {
        try {
          await temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
          cancelled++;
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
      return { scheduleDeleted, cancelled };
    },
  };
}
