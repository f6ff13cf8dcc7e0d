/** `POST /v1/recoveries` (and the agents' variant): a recovery request, then its workflow. */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { collections } from '../../../domain/collections.js';
import { workflowIds } from '../../../domain/ids.js';
import { deviceOf, emailHash, networkOf, newOpaqueToken, tokenHash, type RecoveryDocument } from '../../../domain/recovery.js';
import { searchAttributes, taskQueueNames } from '../../../temporal.config.js';
import { recoveryFactors, recoveryWorkflowType, type RecoveryWorkflow } from '../../../workflows/recovery/messages.js';
import type { ApiEnv } from '../../context.js';
import { clientCountry, takeOrRefuse } from '../../middleware/rate-limit.js';
import { recoveryContext } from './settings.js';

/**
 * Start `recovery/<id>`: the same work, the same answer and about the same time whether or not the address
 * has an account — the workflow finds out, and for an unknown address it rejects every factor.
 */
export async function startRecovery(c: Context<ApiEnv>, email: string): Promise<{ recoveryId: string; recoveryToken: string }> {
  const { deps, settings, perIp, perEmail, ip } = recoveryContext(c);
  takeOrRefuse(perIp, `ip:${networkOf(ip)}:${ip ?? 'unknown'}`, 'recovery requests from your address');
  takeOrRefuse(perEmail, emailHash(email), 'recovery requests for this email address');
  const agent = c.get('agent');
  const recoveryId = randomUUID();
  const recoveryToken = newOpaqueToken();
  const country = clientCountry(c, settings.countryHeader);
  await deps.db.collection<RecoveryDocument>(collections.recoveries).insertOne({
    _id: recoveryId, tokenHash: tokenHash(recoveryToken), email: email.trim(), emailHash: emailHash(email), createdAt: new Date().toISOString(),
    network: networkOf(ip), device: deviceOf(c.req.header('user-agent')), ...(country ? { country } : {}),
    ...(agent ? { agent: { agentId: agent.agentId, accountId: agent.accountId, name: agent.name } } : {}),
    failures: Object.fromEntries(recoveryFactors.map((f) => [f, 0])), cancelTokenHashes: [],
  });
  await deps.temporal.workflow.start<RecoveryWorkflow>(recoveryWorkflowType, {
    workflowId: workflowIds.recovery(recoveryId),
    taskQueue: taskQueueNames(deps.config.temporal.taskQueuePrefix).accounts,
    args: [{ recoveryId, durations: settings.durations, requestedVia: agent ? { kind: 'agent', agentId: agent.agentId } : { kind: 'person' } }],
    typedSearchAttributes: [
      { key: searchAttributes.process, value: 'recovery' },
      { key: searchAttributes.stage, value: 'verifying' },
      { key: searchAttributes.needsApproval, value: false },
    ],
  });
  return { recoveryId, recoveryToken };
}
