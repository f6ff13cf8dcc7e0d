/** The recovery workflow as the routes reach it: its handle, its status, updates it may refuse. */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Context } from 'hono';
import { collections } from '../../../domain/collections.js';
import { workflowIds } from '../../../domain/ids.js';
import type { RecoveryDocument } from '../../../domain/recovery.js';
import { recoveryStatusQuery, type RecoveryStatus, type RecoveryWorkflow } from '../../../workflows/recovery/messages.js';
import type { ApiEnv } from '../../context.js';
import { ProblemError } from '../../problem.js';

export const handleOf = (c: Context<ApiEnv>, recoveryId: string): WorkflowHandle<RecoveryWorkflow> =>
  c.get('deps').temporal.workflow.getHandle<RecoveryWorkflow>(workflowIds.recovery(recoveryId));

export async function statusOf(c: Context<ApiEnv>, recoveryId: string): Promise<RecoveryStatus> {
  try {
    return await handleOf(c, recoveryId).query(recoveryStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ProblemError('not-found', `No recovery ${recoveryId}.`);
    throw err;
  }
}

/** An update the workflow refused (its validator said why) is a 409; so is one sent to a finished recovery. */
export async function update<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new ProblemError('conflict', `The recovery refused this: ${err.cause?.message ?? 'no reason given'}.`);
    if (err instanceof WorkflowNotFoundError) throw new ProblemError('conflict', 'This recovery is over.');
    throw err;
  }
}

/** The account lookup runs in the workflow right after the start; proofs that need the account wait for it briefly. */
export async function resolved(c: Context<ApiEnv>, request: RecoveryDocument): Promise<RecoveryDocument> {
  const recoveries = c.get('deps').db.collection<RecoveryDocument>(collections.recoveries);
  let current = request;
  for (let i = 0; !current.resolvedAt && i < 60; i++) {
    await new Promise((r) => setTimeout(r, 50));
    current = (await recoveries.findOne({ _id: request._id })) ?? current;
  }
  if (!current.resolvedAt) throw new ProblemError('unavailable', 'The recovery is still starting; try again in a moment.', { 'retry-after': '2' });
  return current;
}

