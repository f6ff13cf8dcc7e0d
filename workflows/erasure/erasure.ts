/**
 * GDPR erasure: `erasure/<accountId>`. A grace window in which the person (or the notice's link, or support)
 * can still cancel; then, while no legal hold is in force, one idempotent activity per store — stop the
 * account's processes, revoke its provider grants, delete its tokens, records, recovery data, agents,
 * exports, directory identity, sessions and account document, delete its other executions in Temporal,
 * pseudonymise its audit events, retire the account id as its subject's (a returning sign-in gets a new
 * account) and destroy its data key — and a signed certificate of it all, which is the
 * result. The tombstone is purged after the retention period by an abandoned child, so this run ends now.
 *
 * Nothing personal passes through this history: activities read the subject and provider account ids from
 * the documents that still exist, and the step order keeps what a later step needs until it ran.
 */
import { WorkflowExecutionAlreadyStartedError, msToNumber } from '@temporalio/common';
import {
  condition,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createErasureActivities, StepOutcome } from '../../activities/erasure/activities.js';
import type { createErasureIdentityActivities } from '../../activities/erasure/identity-activities.js';
import { failure } from '../../domain/failures.js';
import { workflowIds } from '../../domain/ids.js';
import { activityOptions, identityQueueOf, searchAttributesFor } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import {
  cancelErasureUpdate,
  erasureStateQuery,
  legalHoldChangedSignal,
  type ErasureInput,
  type ErasurePurgeInput,
  type ErasurePurgeResult,
  type ErasureResult,
  type ErasureStage,
  type ErasureState,
  type ErasureStep,
} from './messages.js';

type ErasureActivities = ReturnType<typeof createErasureActivities>;
const defaultActs = proxyActivities<ErasureActivities>(activityOptions.erasure);
// Waits for the account's cancelled processes to end (heartbeating) before terminating what is left.
const processControlOptions = {
  ...activityOptions.erasure,
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
};
const defaultProcessControl = proxyActivities<ErasureActivities>(processControlOptions);
const audit = proxyActivities<ReturnType<typeof createAuditActivities>>(activityOptions.records);

/** A hold placed or released always signals; a look every so often catches a signal that was lost. */
const holdRecheck = '1 hour';

export async function erasure(input: ErasureInput): Promise<ErasureResult> {
  const { accountId, requestedAt } = input;
  const { workflowId, runId, taskQueue } = workflowInfo();
  // A step timeout given in the input (tests that kill workers) replaces the default timeouts; without one
  // the activities are scheduled exactly as before, so older histories replay unchanged.
  const { stepTimeout } = input;
  const acts = stepTimeout
    ? proxyActivities<ErasureActivities>({ ...activityOptions.erasure, startToCloseTimeout: stepTimeout })
    : defaultActs;
  const processControl = stepTimeout
    ? proxyActivities<ErasureActivities>({ ...processControlOptions, heartbeatTimeout: stepTimeout })
    : defaultProcessControl;
  const identity = proxyActivities<ReturnType<typeof createErasureIdentityActivities>>({
    ...activityOptions.identity,
    ...(stepTimeout ? { startToCloseTimeout: stepTimeout } : {}),
    taskQueue: identityQueueOf(taskQueue),
  });
  const graceEndsAt = new Date(Date.parse(requestedAt) + msToNumber(input.gracePeriod)).toISOString();
  const state: ErasureState = { stage: 'grace', requestedAt, graceEndsAt, onLegalHold: false, steps: [] };
  setHandler(erasureStateQuery, () => state);

  const enter = (stage: ErasureStage) => {
    state.stage = stage;
    recordStage(stage);
  };
  const auditEvent = (action: string, details: Record<string, string | number | boolean> = {}) =>
    audit.appendAuditEvent({
      eventId: `${workflowId}/${runId}/${action}`,
      action,
      actor: { type: 'system', id: 'erasure' },
      accountId,
      workflowId,
      details,
    });

  let holdChanged = false;
  setHandler(legalHoldChangedSignal, () => {
    holdChanged = true;
  });

  let cancelAsked = false;
  let cancelDone = false;
  setHandler(
    cancelErasureUpdate,
    async ({ by, agentId }) => {
      cancelAsked = true;
      await acts.cancelErasure({
        accountId,
        by,
        eventId: `${workflowId}/${runId}/erasure.cancelled`,
        actorId: by === 'support' ? (agentId ?? 'support') : accountId,
      });
      cancelDone = true;
      return { cancelled: true as const };
    },
    {
      // Synchronous: only inside the grace window, and only once (a second cancel finds it under way).
      validator: (_request) => {
        if (state.stage !== 'grace' || cancelAsked)
          throw failure('ErasureNotCancellable', 'the grace window is over: the erasure can no longer be cancelled');
      },
    },
  );

  /**
   * Run `attempt` until no legal hold stops it: while one is in force the stage is `on_hold` and the run
   * waits for the hold's signal, then tries again. A step that answers `held` did nothing.
   */
  async function whileNotHeld<T extends { held: boolean }>(attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      holdChanged = false;
      const outcome = await attempt();
      if (!outcome.held) {
        if (state.onLegalHold) {
          state.onLegalHold = false;
          enter('erasing');
          await acts.recordErasureStage({ accountId, stage: 'erasing' });
        }
        return outcome;
      }
      if (!state.onLegalHold) {
        state.onLegalHold = true;
        enter('on_hold');
        await acts.recordErasureStage({ accountId, stage: 'on_hold' });
      }
      await condition(() => holdChanged, holdRecheck);
    }
  }

  enter('grace');
  await acts.openErasure({ accountId, requestedAt, graceEndsAt });
  const graceLeft = Date.parse(graceEndsAt) - Date.now();
  if (graceLeft > 0) await condition(() => cancelAsked, graceLeft);
  if (cancelAsked) {
    await condition(() => cancelDone);
    enter('cancelled');
    return { status: 'cancelled' };
  }

  // The grace window is over: from here the validator refuses a cancel, whatever the stage becomes.
  enter('erasing');
  await whileNotHeld(() => acts.checkLegalHold({ accountId }));
  await acts.recordErasureStage({ accountId, stage: 'erasing' });
  await acts.prepareErasure({ accountId });
  await auditEvent('erasure.started', { requestedBy: input.requestedBy.type });

  // The order keeps what a step reads until it ran: tokens until revoked, the subject until the directory
  // and the sessions are done, the account key until the audit log's identifiers were opened.
  const steps: Array<() => Promise<StepOutcome>> = [
    () => processControl.stopAccountProcesses({ accountId }),
    () => acts.revokeProviderGrants({ accountId }),
    () => acts.deleteProviderTokens({ accountId }),
    () => acts.deleteProviderRecords({ accountId }),
    () => acts.deleteRecoveryData({ accountId }),
    () => acts.deleteAgents({ accountId }),
    () => acts.deleteExports({ accountId }),
    () => identity.eraseDirectoryIdentity({ accountId }),
    () => acts.deleteSessions({ accountId }),
    () => acts.deleteAccountDocument({ accountId }),
    () => acts.deleteAccountExecutions({ accountId }),
    () => acts.pseudonymiseAudit({ accountId }),
    // After the account document (until then a sign-in still finds this erasure under the old id), before the
    // key (the step opens the subject sealed with it): the subject's next sign-in gets a new account.
    ...(patched('erasure-retires-subject') ? [() => acts.retireSubjectAccount({ accountId })] : []),
    () => acts.destroyAccountKey({ accountId }),
  ];
  for (const run of steps) {
    const outcome = await whileNotHeld(run);
    if (!outcome.held) state.steps.push(outcome.step as ErasureStep);
  }

  const { certificate } = await acts.sealCertificate({
    accountId,
    requestedAt,
    tombstoneRetention: input.tombstoneRetention,
  });
  try {
    await startChild(erasurePurge, {
      workflowId: workflowIds.erasurePurge(accountId),
      args: [{ accountId, purgeAt: certificate.purgeAt, retention: input.tombstoneRetention }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: searchAttributesFor('erasure', { accountId, stage: 'tombstone' }),
    });
  } catch (err) {
    // Started already (this step ran before a reset of the run): the one purge is enough.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  await auditEvent('erasure.completed', {
    erasedAt: certificate.erasedAt,
    purgeAt: certificate.purgeAt,
    ...Object.fromEntries(certificate.steps.map((s) => [s.store, s.deleted])),
  });
  state.certificate = certificate;
  enter('erased');
  return { status: 'erased', certificate };
}

/**
 * `erasure-purge/<accountId>`: the tombstone outlives the erasure for `DELETED_ACCOUNT_RETENTION` (a durable
 * timer, 612 days by default), then goes.
 */
export async function erasurePurge(input: ErasurePurgeInput): Promise<ErasurePurgeResult> {
  // Timed on Temporal's clock from the purge's start: the certificate's `purgeAt` is the worker's reading.
  const wait = input.retention !== undefined ? msToNumber(input.retention) : Date.parse(input.purgeAt) - Date.now();
  if (wait > 0) await sleep(wait);
  recordStage('purging');
  const { purged } = await defaultActs.purgeTombstone({ accountId: input.accountId });
  recordStage('purged');
  return { purged };
}
