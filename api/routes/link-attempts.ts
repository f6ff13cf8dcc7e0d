/**
 * A link attempt as the API sees it (written by the provider activities), and the one way an
 * authorization response reaches the link workflow: by the account that started the attempt. Used by the
 * browser callback (`oauth.ts`, the account center's session) and by apps (`providers.ts`, `link/complete`
 * under the bearer token). A response brought by another account spends the attempt and links nothing.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { linkAttempts, recordIdOf, type LinkAttemptDocument } from '../../activities/providers/stores.js';
import type { ProblemKind } from '../../domain/problem.js';
import { actorMismatchError, type LinkOutcome } from '../../workflows/link/messages.js';
import type { ApiDeps } from '../context.js';
import { deliverLinkCallback } from '../processes/link.js';

/** A link attempt's id: the SHA-256 of its state (the same function the provider activities use). */
export const attemptIdOf = recordIdOf;

export const linkAttemptsOf = (deps: ApiDeps) => linkAttempts(deps.db);

export type Delivered =
  | { kind: 'outcome'; outcome: LinkOutcome; workflowId: string }
  | { kind: 'problem'; problem: ProblemKind; detail: string };

/** An attempt that can still take an answer, or why not (nothing is spent by this check). */
export function openAttemptProblem(attempt: LinkAttemptDocument | null, provider: string): Delivered | undefined {
  if (!attempt || attempt.provider !== provider)
    return {
      kind: 'problem',
      problem: 'link-state-invalid',
      detail: 'This answer does not belong to a link attempt of ours. Start linking again from your account center.',
    };
  if (attempt.callbackAt !== null || attempt.status !== 'pending')
    return {
      kind: 'problem',
      problem: 'link-state-used',
      detail: 'This answer was already used (or the attempt was replaced). Start linking again.',
    };
  if (Date.parse(attempt.expiresAt) <= Date.now())
    return {
      kind: 'problem',
      problem: 'link-expired',
      detail: 'The link attempt expired before the provider answered. Start linking again.',
    };
  return undefined;
}

/**
 * Hand an authorization response to the attempt's workflow, on behalf of `actorAccountId` (who the
 * request is authenticated as). Single use: only one request moves the attempt out of `pending`. Another
 * account's request spends the attempt with an `actor_mismatch` error and never stores its code.
 */
export async function deliverAuthorizationResponse(
  deps: ApiDeps,
  attempt: LinkAttemptDocument,
  response: { code?: string; error?: string },
  actorAccountId: string,
): Promise<Delivered> {
  const attempts = linkAttemptsOf(deps);
  const mismatch = attempt.accountId !== actorAccountId;
  const now = new Date();
  const claimed = await attempts.findOneAndUpdate(
    { _id: attempt._id, status: 'pending', callbackAt: null },
    {
      $set: {
        status: 'callback_received',
        callbackAt: now.toISOString(),
        code: mismatch ? null : (response.code ?? null),
        authorizationUrlCiphertext: null,
      },
    },
  );
  if (!claimed)
    return {
      kind: 'problem',
      problem: 'link-state-used',
      detail: 'This answer was already used. Start linking again.',
    };

  const error = mismatch ? actorMismatchError : response.error;
  let outcome: LinkOutcome;
  try {
    outcome = await deliverLinkCallback(deps.temporal, attempt.workflowId, {
      attemptId: attempt._id,
      outcome: response.code && !error ? 'code' : 'error',
      ...(error ? { error } : {}),
      ...(mismatch ? { broughtBy: actorAccountId } : {}),
    });
  } catch (err) {
    // Any other error (Temporal unreachable, the wait cut short) leaves the attempt as it is: the update may
    // have been accepted, and then the link goes on with the code; if it fails, the link discards the attempt.
    if (!(err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError)) throw err;
    await attempts.updateOne({ _id: attempt._id }, { $set: { status: 'discarded', code: null } });
    if (err instanceof WorkflowNotFoundError)
      return { kind: 'problem', problem: 'link-expired', detail: 'The link attempt has ended. Start linking again.' };
    return {
      kind: 'problem',
      problem: 'link-state-used',
      detail: 'This answer belongs to an older link attempt. Start linking again.',
    };
  }
  if (mismatch) {
    return {
      kind: 'problem',
      problem: 'link-actor-mismatch',
      detail:
        'This connection was started from another account than the one you are signed in to, so nothing was connected. If you did not start it, someone may have sent you their link: ignore it. To connect a provider, start from your own account center.',
    };
  }
  return { kind: 'outcome', outcome, workflowId: attempt.workflowId };
}
