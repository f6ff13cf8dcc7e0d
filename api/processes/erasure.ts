/**
 * The erasure process's one starter (`erasure/<accountId>`): its id, task queue, search attributes, the
 * start (a second request joins the first), the cancel update, the legal-hold signal and the state query,
 * and `assertNotErasing`, the guard every other starter calls so nothing new starts for an account that is
 * being erased. Refusals come back as problems (404 none, 409 too late).
 */
import {
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { workflowIds } from '../../domain/ids.js';
import { searchAttributes, searchAttributesFor } from '../../temporal.config.js';
import {
  cancelErasureUpdate,
  erasureStateQuery,
  erasureWorkflowType,
  legalHoldChangedSignal,
  type ErasureInput,
  type ErasureStage,
  type ErasureState,
} from '../../workflows/erasure/messages.js';
import { ProblemError } from '../problem.js';
import { accountsQueueOf, type ProcessDeps } from './deps.js';

const handleOf = ({ temporal }: ProcessDeps, accountId: string): WorkflowHandle =>
  temporal.workflow.getHandle(workflowIds.erasure(accountId));

/** Stages in which the account is `pending_deletion`: nothing new may start for it. */
const underWayStages: readonly ErasureStage[] = ['grace', 'on_hold', 'erasing'];

/**
 * Whether an erasure of the account is running and not yet over: from the run's status and its `CraStage`
 * (no worker needed, so a guard never waits on one). A run that has not recorded a stage counts as under way.
 */
export async function erasureUnderWay(deps: ProcessDeps, accountId: string): Promise<boolean> {
  try {
    const run = await handleOf(deps, accountId).describe();
    if (run.status.name !== 'RUNNING') return false;
    const stage = run.typedSearchAttributes.get(searchAttributes.stage) as ErasureStage | undefined;
    return stage === undefined || underWayStages.includes(stage);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The guard of every starter: 409 `erasure-in-progress` while the account is being erased. */
export async function assertNotErasing(deps: ProcessDeps, accountId: string | undefined): Promise<void> {
  if (accountId && (await erasureUnderWay(deps, accountId)))
    throw new ProblemError(
      'erasure-in-progress',
      'This account is being erased (pending deletion): nothing new can start for it. Cancel the erasure first if it is still in its grace period.',
    );
}

/**
 * Start `erasure/<accountId>`, or join the one running: `USE_EXISTING` makes a second request (a double
 * click, a retry) land on the first run instead of failing or starting another.
 */
export async function startErasure(deps: ProcessDeps, input: ErasureInput): Promise<{ workflowId: string }> {
  const workflowId = workflowIds.erasure(input.accountId);
  await deps.temporal.workflow.start(erasureWorkflowType, {
    workflowId,
    taskQueue: accountsQueueOf(deps.config),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // A cancelled erasure does not stop a new request later.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    args: [input],
    typedSearchAttributes: searchAttributesFor('erasure', { accountId: input.accountId, stage: 'grace' }),
  });
  return { workflowId };
}

/** Whether an erasure run of the account is running now (the one a new request would join). */
export async function erasureRunning(deps: ProcessDeps, accountId: string): Promise<boolean> {
  try {
    return (await handleOf(deps, accountId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The state of the account's latest erasure run (running or not), or undefined when there never was one. */
export async function erasureState(deps: ProcessDeps, accountId: string): Promise<ErasureState | undefined> {
  try {
    return await handleOf(deps, accountId).query(erasureStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Cancel inside the grace window. 404 `erasure-not-found` when none is running; 409 `erasure-not-cancellable`
 * when the workflow's validator refuses (the grace is over: on hold or erasing).
 */
export async function cancelErasure(
  deps: ProcessDeps,
  accountId: string,
  by: 'user' | 'link' | 'support',
): Promise<void> {
  if (!(await erasureRunning(deps, accountId)))
    throw new ProblemError('erasure-not-found', 'No erasure of this account is running.');
  try {
    await handleOf(deps, accountId).executeUpdate(cancelErasureUpdate, { args: [{ by }] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new ProblemError(
        'erasure-not-cancellable',
        `The erasure can no longer be cancelled: ${err.cause?.message ?? 'its grace period is over'}.`,
      );
    if (err instanceof WorkflowNotFoundError)
      throw new ProblemError('erasure-not-found', 'No erasure of this account is running.');
    throw err;
  }
}

/** Tell a running erasure that the account's legal hold changed (it reads the hold itself); false when none runs. */
export async function signalLegalHoldChanged(deps: ProcessDeps, accountId: string): Promise<boolean> {
  if (!(await erasureRunning(deps, accountId))) return false;
  try {
    await handleOf(deps, accountId).signal(legalHoldChangedSignal);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
