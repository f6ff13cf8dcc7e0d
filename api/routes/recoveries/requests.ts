/**
 * Recovery requests (the `recoveries` documents): a new one for `POST /v1/recoveries` (and the agents'
 * variant) with its workflow started by the recovery starter, and the wait for the workflow's account lookup.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { collections } from '../../../domain/collections.js';
import {
  deviceOf,
  emailHash,
  networkOf,
  newOpaqueToken,
  tokenHash,
  type RecoveryDocument,
} from '../../../domain/recovery.js';
import { recoveryFactors } from '../../../workflows/recovery/messages.js';
import type { ApiEnv } from '../../context.js';
import { clientCountry, takeOrRefuse } from '../../middleware/rate-limit.js';
import { ProblemError } from '../../problem.js';
import { startRecoveryWorkflow } from '../../processes/recovery.js';
import { recoveryContext } from './settings.js';

/**
 * Start `recovery/<id>`: the same work, the same answer and about the same time whether or not the address
 * has an account — the workflow finds out, and for an unknown address it rejects every factor.
 */
export async function startRecovery(
  c: Context<ApiEnv>,
  email: string,
): Promise<{ recoveryId: string; recoveryToken: string }> {
  const { deps, settings, perIp, perEmail, ip } = recoveryContext(c);
  takeOrRefuse(perIp, `ip:${networkOf(ip)}:${ip ?? 'unknown'}`, 'recovery requests from your address');
  takeOrRefuse(perEmail, emailHash(email), 'recovery requests for this email address');
  const agent = c.get('agent');
  const recoveryId = randomUUID();
  const recoveryToken = newOpaqueToken();
  const country = clientCountry(c, settings.countryHeader);
  await deps.db.collection<RecoveryDocument>(collections.recoveries).insertOne({
    _id: recoveryId,
    tokenHash: tokenHash(recoveryToken),
    email: email.trim(),
    emailHash: emailHash(email),
    createdAt: new Date().toISOString(),
    network: networkOf(ip),
    device: deviceOf(c.req.header('user-agent')),
    ...(country ? { country } : {}),
    ...(agent ? { agent: { agentId: agent.agentId, accountId: agent.accountId, name: agent.name } } : {}),
    failures: Object.fromEntries(recoveryFactors.map((f) => [f, 0])),
    cancelTokenHashes: [],
  });
  await startRecoveryWorkflow(deps, {
    recoveryId,
    durations: settings.durations,
    requestedVia: agent ? { kind: 'agent', agentId: agent.agentId } : { kind: 'person' },
  });
  return { recoveryId, recoveryToken };
}

/** The account lookup runs in the workflow right after the start; proofs that need the account wait for it briefly. */
export async function resolved(c: Context<ApiEnv>, request: RecoveryDocument): Promise<RecoveryDocument> {
  const recoveries = c.get('deps').db.collection<RecoveryDocument>(collections.recoveries);
  let current = request;
  for (let i = 0; !current.resolvedAt && i < 60; i++) {
    await new Promise((r) => setTimeout(r, 50));
    current = (await recoveries.findOne({ _id: request._id })) ?? current;
  }
  if (!current.resolvedAt)
    throw new ProblemError('unavailable', 'The recovery is still starting; try again in a moment.', {
      'retry-after': '2',
    });
  return current;
}
