/**
 * What an operator sees of a workflow cancelled through Temporal (`handle.cancel()`): its result fails
 * with a `CancelledFailure`, Temporal Web shows it Cancelled, and its `CraStage` search attribute says
 * `cancelled` with nothing left waiting for a human.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { expect } from 'vitest';
import { searchAttributes } from '../../temporal.config.js';

export async function expectEndedCancelled(handle: WorkflowHandle): Promise<void> {
  const failure = await handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  const described = await handle.describe();
  expect(described.status.name).toBe('CANCELLED');
  expect(described.typedSearchAttributes.get(searchAttributes.stage)).toBe('cancelled');
  expect(described.typedSearchAttributes.get(searchAttributes.needsApproval) ?? false).toBe(false);
}
