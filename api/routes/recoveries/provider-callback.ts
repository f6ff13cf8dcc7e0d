/**
 * A recovery's provider sign-in (`provider_reauth`) as it comes back at the OAuth callback: the answer is
 * parked on the challenge and the workflow's activity redeems it (`api/auth/recovery-provider.ts`).
 */
import type { Context } from 'hono';
import { collections } from '../../../domain/collections.js';
import type { ProblemKind } from '../../../domain/problem.js';
import type { RecoveryDocument } from '../../../domain/recovery.js';
import { recoveryPolicy } from '../../../workflows/recovery/messages.js';
import { vaultOf } from '../../adapters.js';
import { claimProviderChallenge, discardProviderAnswer, findProviderChallenge } from '../../auth/recovery-provider.js';
import { refundAttempt, reserveAttempt } from '../../auth/recovery-proofs.js';
import type { ApiEnv } from '../../context.js';
import { clientCountry } from '../../middleware/rate-limit.js';
import { ProblemError } from '../../problem.js';
import { submitProviderAnswer } from '../../processes/recovery.js';
import { resolved } from './requests.js';
import { recoveryContext } from './settings.js';

/** What the OAuth callback answers for a recovery's provider sign-in (it renders it as JSON or a page). */
export type RecoveryCallbackAnswer =
  | { kind: 'problem'; problem: ProblemKind; detail: string }
  | {
      kind: 'outcome';
      body: {
        recoveryId: string;
        factor: 'provider_reauth';
        accepted: boolean;
        satisfied: string[];
        remaining: number;
      };
    };

/**
 * The provider's answer to a `provider_reauth` challenge, at `/v1/oauth/{provider}/callback`: undefined when
 * the state is not a recovery's. The state is single-use and expires; a wrong provider account, an unlinked
 * provider or an unknown address is a failed attempt like a wrong code, and answers alike.
 */
export async function recoveryProviderCallback(
  c: Context<ApiEnv>,
  provider: string,
  query: { state: string; code?: string; error?: string },
): Promise<RecoveryCallbackAnswer | undefined> {
  const { deps, settings } = recoveryContext(c);
  const challenge = await findProviderChallenge(deps.db, query.state);
  if (!challenge) return undefined;
  const problem = (kind: ProblemKind, detail: string): RecoveryCallbackAnswer => ({
    kind: 'problem',
    problem: kind,
    detail,
  });
  if (challenge.provider !== provider)
    return problem('link-state-invalid', 'This answer does not belong to a sign-in with this provider.');
  if (challenge.consumedAt)
    return problem('link-state-used', 'This answer was already used. Ask for a new sign-in link.');
  const now = new Date();
  if (challenge.expiresAt <= now.toISOString())
    return problem('link-expired', 'The sign-in took too long. Ask for a new sign-in link.');
  // The answer is parked on the challenge (the code encrypted); the workflow's activity redeems it.
  const claimed = await claimProviderChallenge(
    deps.db,
    await vaultOf(deps),
    challenge._id,
    { ...(query.code ? { code: query.code } : {}), ...(query.error ? { error: query.error } : {}) },
    now,
  );
  if (!claimed) return problem('link-state-used', 'This answer was already used. Ask for a new sign-in link.');
  const recoveryId = claimed.recoveryId;
  let request = await deps.db.collection<RecoveryDocument>(collections.recoveries).findOne({ _id: recoveryId });
  if (!request || request.closedAt) {
    await discardProviderAnswer(deps.db, claimed._id);
    return problem('conflict', 'This recovery is over.');
  }
  request = await resolved(c, request);
  if (!(await reserveAttempt(deps.db, recoveryId, 'provider_reauth'))) {
    await discardProviderAnswer(deps.db, claimed._id);
    return problem('conflict', `The factor provider_reauth is locked after ${recoveryPolicy.maxFailures} failures.`);
  }
  const country = clientCountry(c, settings.countryHeader);
  let outcome;
  try {
    outcome = await submitProviderAnswer(deps, recoveryId, {
      challengeId: claimed._id,
      ...(country ? { country } : {}),
    });
  } catch (err) {
    await discardProviderAnswer(deps.db, claimed._id);
    if (err instanceof ProblemError) return problem(err.kind, err.message);
    throw err;
  }
  if (outcome.accepted) await refundAttempt(deps.db, recoveryId, 'provider_reauth');
  return {
    kind: 'outcome',
    body: {
      recoveryId,
      factor: 'provider_reauth',
      accepted: outcome.accepted,
      satisfied: outcome.satisfied,
      remaining: outcome.remaining,
    },
  };
}
