/**
 * The workflow bundle for benchmarks: CRA's own workflows plus a one-activity no-op workflow, the floor
 * that any Temporal workflow on this machine pays (start, one activity round trip, completion).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BenchActivities } from './activities.js';

export { signup } from '../workflows/index.js';

const { noop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '15 seconds' });

export async function noopWorkflow(): Promise<void> {
  await noop();
}
