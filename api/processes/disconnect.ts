/**
 * The disconnect process's one starter (`disconnect/<accountId>/<provider>`): its id, task queue, search
 * attributes and the last-login-method rule. `DELETE /v1/me/providers/{p}` and the undo link of a recent
 * connection both start it here.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { AccountDocument } from '../../domain/account-center.js';
import { workflowIds } from '../../domain/ids.js';
import { isLastLoginMethod } from '../../domain/login-methods.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import { searchAttributesFor } from '../../temporal.config.js';
import {
  disconnectWorkflowType,
  type DisconnectWorkflow,
  type Retention,
} from '../../workflows/disconnect/messages.js';
import { ProblemError } from '../problem.js';
import { accountsQueueOf, type ProcessDeps } from './deps.js';
import { assertNotErasing } from './erasure.js';

export interface DisconnectRequest {
  account: AccountDocument;
  provider: ProviderId;
  retention: Retention;
  /** Who asked (a subject), for the audit trail. */
  requestedBy: string;
}

/** Start the disconnect; 409 problems for the last way to sign in and for a disconnect already running. */
export async function startDisconnect(
  { temporal, config }: ProcessDeps,
  { account, provider, retention, requestedBy }: DisconnectRequest,
): Promise<{ workflowId: string }> {
  await assertNotErasing({ temporal, config }, account._id);
  const name = providerCatalog[provider].displayName;
  if (isLastLoginMethod(account, provider)) {
    throw new ProblemError(
      'last-login-method',
      `${name} is the only way left to sign in to this account. Connect another provider you can sign in with first.`,
    );
  }
  const workflowId = workflowIds.disconnect(account._id, provider);
  try {
    await temporal.workflow.start<DisconnectWorkflow>(disconnectWorkflowType, {
      workflowId,
      taskQueue: accountsQueueOf(config),
      args: [{ accountId: account._id, subject: account.rootIdentity.subject, provider, retention, requestedBy }],
      typedSearchAttributes: searchAttributesFor('disconnect', { accountId: account._id, provider, stage: 'checking' }),
    });
  } catch (err) {
    // One disconnect per provider at a time; a finished one does not block a new one.
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new ProblemError('conflict', `A disconnect of ${name} is already running (${workflowId}).`);
    throw err;
  }
  return { workflowId };
}
