/**
 * Starting and stopping a connection's syncs from activities: the Temporal Schedule that repeats the sync,
 * and any sync run in progress. Workflows cannot manage schedules themselves, so these run as activities
 * with a Temporal client; the sync process's starter (`api/processes/sync.ts`) owns the ids, the queue,
 * the search attributes and the visibility query.
 */
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { CraConfig } from '../../domain/config.js';
import type { ProviderId } from '../../domain/providers.js';
import { cancelRunningSyncs, deleteSyncSchedule, ensureSyncSchedule } from '../../api/processes/sync.js';
import { consentStopping } from '../accounts/consents.js';

export interface SyncControlDeps {
  temporal: Client;
  config: CraConfig;
  /** The account documents: a schedule made while a consent the sync needs is withdrawn starts paused. */
  db?: Db;
}

export function createSyncControlActivities(deps: SyncControlDeps) {
  return {
    /**
     * Create the schedule that repeats this connection's sync (no-op when it exists); paused when the
     * person has withdrawn a consent the sync needs (a provider linked after the withdrawal).
     */
    async ensureSyncSchedule(input: {
      accountId: string;
      provider: ProviderId;
      connectionId: string;
    }): Promise<{ scheduleId: string; created: boolean }> {
      const pausedFor = deps.db
        ? await consentStopping(deps.db, input.accountId, 'provider_sync', deps.config.dataRights.consentPurposes)
        : undefined;
      return ensureSyncSchedule(deps, { ...input, ...(pausedFor ? { pausedFor } : {}) });
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
