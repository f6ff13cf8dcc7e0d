/**
 * The signup process's one starter (`signup/<subject>`). Signal-with-start: a running signup gets the new
 * details as a signal; a finished one runs again idempotently with them. Either way one account, one id.
 * `POST /v1/signup`, the Auth0 post-registration hook and the account center's first sign-in use it.
 */
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { accountIdOf } from '../../activities/erasure/subject-accounts.js';
import { workflowIds } from '../../domain/ids.js';
import { searchAttributesFor } from '../../temporal.config.js';
import {
  signupDetailsSignal,
  signupWorkflowType,
  type SignupDetails,
  type SignupWorkflow,
} from '../../workflows/signup/messages.js';
import { sealForHistory, signupPersonalContext, type SignupPersonal } from '../../activities/secrets/history-values.js';
import { failureTypeOf } from '../../domain/failures.js';
import { accountKeysOf, vaultOf } from '../adapters.js';
import { ProblemError } from '../problem.js';
import type { ApiDeps } from '../context.js';
import { accountsQueueOf } from './deps.js';
import { assertNotErasing } from './erasure.js';

export interface SignupStarted {
  workflowId: string;
  accountId: string;
}

/**
 * Start (or join) the signup of `subject` with these details. `known.accountId`: the subject's account id as
 * this request already read it (`accountIdOf`, by the bearer check), so it is not read twice.
 */
export async function startSignup(
  deps: ApiDeps,
  subject: string,
  details: SignupDetails,
  known: { accountId?: string } = {},
): Promise<SignupStarted> {
  const { temporal, config } = deps;
  // Not always derived from the subject: a subject whose account was erased signs up to a new id.
  const accountId = known.accountId ?? (await accountIdOf({ db: deps.db, vault: await vaultOf(deps) }, subject));
  // Mid-erasure, a signup would write a new document under the id being erased (the account step runs
  // again once the old document is gone): the returning person waits for the new id instead. The check and
  // the sealing (which makes a new account's key, the slowest part of a start) run side by side: a key made
  // for an account found erasing is destroyed by the erasure's last step, and nothing is started for it.
  const [erasing, sealed] = await Promise.allSettled([
    assertNotErasing(deps, accountId),
    sealedDetails(deps, accountId, details),
  ]);
  if (erasing.status === 'rejected') throw erasing.reason;
  if (sealed.status === 'rejected') throw sealed.reason;
  const workflowId = workflowIds.signup(subject);
  await temporal.workflow.signalWithStart<SignupWorkflow, [SignupDetails]>(signupWorkflowType, {
    workflowId,
    taskQueue: accountsQueueOf(config),
    args: [{ subject, accountId, ...(config.signup.detailsWait ? { detailsWait: config.signup.detailsWait } : {}) }],
    signal: signupDetailsSignal,
    signalArgs: [sealed.value],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: searchAttributesFor('signup', { accountId, stage: 'waiting_for_details' }),
  });
  return { workflowId, accountId };
}

/**
 * The details as the signal carries them: the address and the names sealed with the account's data key (made
 * here on the first signup), so the workflow's history never holds them in clear.
 */
async function sealedDetails(deps: ApiDeps, accountId: string, details: SignupDetails): Promise<SignupDetails> {
  const { email, givenName, familyName, ...rest } = details;
  try {
    const keys = await accountKeysOf(deps);
    const fields = { email, givenName, familyName };
    const personal = await sealForHistory<SignupPersonal>(keys, accountId, signupPersonalContext, fields);
    // The starter needs the key once: it does not keep it in this instance's cache, where an erasure could
    // not reach it (the person's own requests cache it for 30 s, as they must).
    keys.forget(accountId);
    return { ...rest, ...(personal ? { personal } : {}) };
  } catch (err) {
    // The erasure destroyed this id's key and has not yet moved the subject to a new id: a moment, not an error.
    if (failureTypeOf(err) !== 'AccountKeyDestroyed') throw err;
    throw new ProblemError('erasure-in-progress', 'Your previous account is being erased; sign up again in a minute.', {
      'retry-after': '60',
    });
  }
}
