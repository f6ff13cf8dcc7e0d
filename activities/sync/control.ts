/**
 * Starting and stopping a connection's syncs from activities: the Temporal Schedule that repeats the sync,
 * and any sync run in progress. Workflows cannot manage schedules themselves, so these run as activities
 * with a Temporal client; the sync process's starter (`api/processes/sync.ts`) owns the ids, the queue,
 * the search attributes and the visibility query.
 */
import type { Client } from '@temporalio/client';
import type { CraConfig } from '../../domain/config.js';
import type { ProviderId } from '../../domain/providers.js';
import { cancelRunningSyncs, deleteSyncSchedule, ensureSyncSchedule } from '../../api/processes/sync.js';

export interface SyncControlDeps {
  temporal: Client;
  config: CraConfig;
}

export function createSyncControlActivities(deps: SyncControlDeps) {
  return {
    /** Create the schedule that repeats this connection's sync (no-op when it exists). */
    async ensureSyncSchedule(input: {
      accountId: string;
      provider: ProviderId;
      connectionId: string;
    }): Promise<{ scheduleId: string; created: boolean }> {
      return ensureSyncSchedule(deps, input);
    },

    /** Delete the schedule and cancel every sync of this connection still running. Idempotent. */
    async stopSyncs(input: {
      accountId: string;
      provider: ProviderId;
    }): Promise<{ scheduleDeleted: boolean; cancelled: number }> {
      const scheduleDeleted = await deleteSyncSchedule(deps, input);
      const cancelled = await cancelRunningSyncs(deps, input);
      return { scheduleDeleted, cancelled };
    },
  };
}
