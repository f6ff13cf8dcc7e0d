/**
 * The recovery process's one starter (`recovery/<recoveryId>`): its id, task queue, search attributes and
 * start, and every update and query the API sends to it. Refusals come back as problems: an update the
 * workflow's validator refused, or one sent to a recovery that is over, is a 409; a recovery that does
 * not exist is a 404.
 */
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
} from '@temporalio/client';
import { failureTypeOf } from '../../domain/failures.js';
import { workflowIds } from '../../domain/ids.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { searchAttributesFor } from '../../temporal.config.js';
import {
  cancelRecoveryUpdate,
  decideUpdate,
  recoveryStatusQuery,
  recoveryWorkflowType,
  requestChallengeUpdate,
  requestProviderChallengeUpdate,
  submitFactorUpdate,
  submitProviderAnswerUpdate,
  type CancelRequest,
  type ChallengeRequest,
  type DecisionOutcome,
  type FactorOutcome,
  type FactorSubmission,
  type ProviderAnswer,
  type ProviderChallengeRequest,
  type RecoveryDecision,
  type RecoveryInput,
  type RecoveryStatus,
  type RecoveryWorkflow,
} from '../../workflows/recovery/messages.js';
import { ProblemError } from '../problem.js';
import { accountsQueueOf, type ProcessDeps } from './deps.js';
import { assertNotErasing } from './erasure.js';

const handleOf = ({ temporal }: ProcessDeps, recoveryId: string): WorkflowHandle<RecoveryWorkflow> =>
  temporal.workflow.getHandle<RecoveryWorkflow>(workflowIds.recovery(recoveryId));

/** An update the workflow refused (its validator said why) is a 409; so is one sent to a finished recovery. */
async function refusedAsConflict<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new ProblemError('conflict', `The recovery refused this: ${err.cause?.message ?? 'no reason given'}.`);
    if (err instanceof WorkflowNotFoundError) throw new ProblemError('conflict', 'This recovery is over.');
    throw err;
  }
}

/** Start `recovery/<recoveryId>` for a request already stored; the workflow looks the account up itself. */
export async function startRecoveryWorkflow(deps: ProcessDeps, input: RecoveryInput): Promise<{ workflowId: string }> {
  const workflowId = workflowIds.recovery(input.recoveryId);
  await deps.temporal.workflow.start<RecoveryWorkflow>(recoveryWorkflowType, {
    workflowId,
    taskQueue: accountsQueueOf(deps.config),
    args: [input],
    // No account id yet (the workflow upserts it once found): the start looks the same for every address.
    typedSearchAttributes: searchAttributesFor('recovery', { stage: 'verifying' }),
  });
  return { workflowId };
}

/** Everything the workflow knows; 404 when there is no such recovery. */
export async function recoveryStatus(deps: ProcessDeps, recoveryId: string): Promise<RecoveryStatus> {
  try {
    return await handleOf(deps, recoveryId).query(recoveryStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ProblemError('not-found', `No recovery ${recoveryId}.`);
    throw err;
  }
}

/** The status, or undefined when the workflow is gone (the request document then tells how it ended). */
export async function recoveryStatusIfRunning(
  deps: ProcessDeps,
  recoveryId: string,
): Promise<RecoveryStatus | undefined> {
  try {
    return await handleOf(deps, recoveryId).query(recoveryStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The facts of a proof the API checked (or support's document check). */
export function submitFactor(
  deps: ProcessDeps,
  recoveryId: string,
  submission: FactorSubmission,
): Promise<FactorOutcome> {
  return refusedAsConflict(() => handleOf(deps, recoveryId).executeUpdate(submitFactorUpdate, { args: [submission] }));
}

/** Send a code: answered once the workflow accepted the request, before the code is on its way. */
export async function requestCodeChallenge(
  deps: ProcessDeps,
  recoveryId: string,
  request: ChallengeRequest,
): Promise<void> {
  await refusedAsConflict(() =>
    handleOf(deps, recoveryId).startUpdate(requestChallengeUpdate, {
      args: [request],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    }),
  );
}

/** A provider sign-in: the workflow's activity makes the authorization request and parks its URL on the challenge. */
export async function requestProviderChallenge(
  deps: ProcessDeps,
  recoveryId: string,
  request: ProviderChallengeRequest,
): Promise<{ challengeId: string; expiresAt: string }> {
  try {
    return await refusedAsConflict(() =>
      handleOf(deps, recoveryId).executeUpdate(requestProviderChallengeUpdate, { args: [request] }),
    );
  } catch (err) {
    if (failureTypeOf(err) === 'ProviderNotConfigured') {
      throw new ProblemError(
        'provider-not-configured',
        `${providerCatalog[request.provider].displayName} has no client credentials configured.`,
      );
    }
    throw err;
  }
}

/** The provider answered: the workflow's activity redeems the answer parked on the challenge. */
export function submitProviderAnswer(
  deps: ProcessDeps,
  recoveryId: string,
  answer: ProviderAnswer,
): Promise<FactorOutcome> {
  return refusedAsConflict(() =>
    handleOf(deps, recoveryId).executeUpdate(submitProviderAnswerUpdate, { args: [answer] }),
  );
}

/** Support approves or denies. */
export async function decideRecovery(
  deps: ProcessDeps,
  recoveryId: string,
  decision: RecoveryDecision,
): Promise<DecisionOutcome> {
  // The account is found by the workflow (a recovery starts from an address): an approval is where it is known.
  if (decision.decision === 'approve') await assertNotErasing(deps, (await recoveryStatus(deps, recoveryId)).accountId);
  return refusedAsConflict(() => handleOf(deps, recoveryId).executeUpdate(decideUpdate, { args: [decision] }));
}

/** Cancel before the reset; a 409 once the reset began or the recovery ended. */
export async function cancelRecovery(deps: ProcessDeps, recoveryId: string, request: CancelRequest): Promise<void> {
  await refusedAsConflict(() => handleOf(deps, recoveryId).executeUpdate(cancelRecoveryUpdate, { args: [request] }));
}
