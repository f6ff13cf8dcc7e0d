/**
 * What a process starter needs: the Temporal client and the config (for the task-queue prefix and the
 * durations passed in workflow inputs). `ApiDeps` has both; the sync-control activities pass their own.
 */
import type { Client } from '@temporalio/client';
import type { CraConfig } from '../../domain/config.js';
import { taskQueueNames } from '../../temporal.config.js';

export interface ProcessDeps {
  temporal: Client;
  config: CraConfig;
}

/** The accounts task queue of this deployment (under its `TEMPORAL_TASK_QUEUE_PREFIX`): every CRA process runs there. */
export function accountsQueueOf(config: CraConfig): string {
  return taskQueueNames(config.temporal.taskQueuePrefix).accounts;
}
