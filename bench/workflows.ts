/**
 * The workflow bundle for benchmarks: every CRA workflow (the accounts worker runs this bundle, so it
 * must hold all that the real one does) plus a one-activity no-op workflow, the floor any workflow on
 * this machine pays: start, one activity round trip, completion.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BenchActivities } from './activities.js';

export * from '../workflows/index.js';

const { noop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '15 seconds' });

export async function noopWorkflow(): Promise<void> {
  await noop();
}
