/**
 * Starts (or joins) `signup/<subject>` with signal-with-start: a running signup gets the new details as
 * a signal; a finished one runs again idempotently with them. Either way one account, one id.
 */
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { accountIdForSubject } from '../domain/account-id.js';
import type { CraConfig } from '../domain/config.js';
import { workflowIds } from '../domain/ids.js';
import { searchAttributesFor, taskQueueNames } from '../temporal.config.js';
import { signupDetailsSignal, signupWorkflowType, type SignupDetails, type SignupWorkflow } from '../workflows/signup/messages.js';

export interface SignupStarted {
  workflowId: string;
  accountId: string;
}

export async function startSignup(temporal: Client, config: CraConfig, subject: string, details: SignupDetails): Promise<SignupStarted> {
  const accountId = accountIdForSubject(subject);
  const workflowId = workflowIds.signup(subject);
  await temporal.workflow.signalWithStart<SignupWorkflow, [SignupDetails]>(signupWorkflowType, {
    workflowId,
    taskQueue: taskQueueNames(config.temporal.taskQueuePrefix).accounts,
    args: [{ subject, accountId, ...(config.signup.detailsWait ? { detailsWait: config.signup.detailsWait } : {}) }],
    signal: signupDetailsSignal,
    signalArgs: [details],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: searchAttributesFor('signup', { accountId, stage: 'waiting_for_details' }),
  });
  return { workflowId, accountId };
}
