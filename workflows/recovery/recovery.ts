/**
 * Break-glass account recovery: `recovery/<recoveryId>`. Runs for every request, whether or not the address
 * has an account (for an unknown one it rejects every factor). Once at least three factors over two
 * categories are proven, every verified channel of the account is told, again every notice interval;
 * nothing changes during the cooling period, and support must approve (two people when the risk is high).
 * Then the directory resets the credentials. The owner can cancel at any time before the reset; a recovery
 * not completed in time expires. Every step lands in the audit log.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { CancelledFailure, msToNumber } from '@temporalio/common';
import type { AuditEventInput } from '../../activities/audit/audit-log.js';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type {
  createRecoveryActivities,
  OpenedRecovery,
  RecoveryNoticeKind,
} from '../../activities/recovery/activities.js';
import type { createRecoveryIdentityActivities } from '../../activities/recovery/identity-activities.js';
import type { createRecoveryProviderActivities } from '../../activities/recovery/provider-reauth.js';
import { activityOptions, identityQueueOf, searchAttributes } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import {
  approvalsRequired,
  cancelRecoveryUpdate,
  decideUpdate,
  deliveredCodeFactors,
  factorsRemaining,
  finalRecoveryStages,
  recoveryFactors,
  recoveryPolicy,
  recoveryStatusQuery,
  requestChallengeUpdate,
  requestProviderChallengeUpdate,
  submitFactorUpdate,
  submitProviderAnswerUpdate,
  type CancelRequest,
  type ChallengeRequest,
  type FactorOutcome,
  type FactorSubmission,
  type ProviderAnswer,
  type ProviderChallengeRequest,
  type RecoveryApproval,
  type RecoveryDecision,
  type RecoveryFactor,
  type RecoveryInput,
  type RecoveryResult,
  type RecoveryStage,
  type RecoveryStatus,
  type RiskFlag,
} from './messages.js';
import { failure } from '../../domain/failures.js';

const recoveries = proxyActivities<ReturnType<typeof createRecoveryActivities>>(activityOptions.accounts);
const records = proxyActivities<ReturnType<typeof createRecoveryActivities> & ReturnType<typeof createAuditActivities>>(
  activityOptions.records,
);
type RecoveryIdentityActivities = ReturnType<typeof createRecoveryIdentityActivities>;
const providerSignIns = proxyActivities<ReturnType<typeof createRecoveryProviderActivities>>(activityOptions.providers);

type Outcome = RecoveryResult['outcome'];
type AuditDetails = NonNullable<AuditEventInput['details']>;

/**
 * Audit events are queued by handlers and the main flow and appended in order by one coroutine, so an
 * update answers without waiting for the audit log — and answers as fast for an unknown address.
 */
class AuditTrail {
  private readonly pending: AuditEventInput[] = [];
  private seq = 0;
  private closed = false;
  private readonly drained: Promise<void>;
  accountId?: string;

  /** `nonCancellable`: the trail keeps writing when the run is cancelled, so its clean-up is audited too. */
  constructor(
    private readonly recoveryId: string,
    private readonly workflowId: string,
    append: (event: AuditEventInput) => Promise<unknown>,
    nonCancellable = false,
  ) {
    const drain = async () => {
      for (;;) {
        await condition(() => this.pending.length > 0 || this.closed);
        const next = this.pending.shift();
        if (!next) return;
        await append(next);
      }
    };
    this.drained = nonCancellable ? CancellationScope.nonCancellable(drain) : drain();
  }

  add(
    action: string,
    details: AuditDetails,
    actor: AuditEventInput['actor'] = { type: 'system', id: 'recovery' },
  ): void {
    this.seq += 1;
    this.pending.push({
      eventId: `recovery/${this.recoveryId}/${this.seq}-${action}`,
      action,
      actor,
      workflowId: this.workflowId,
      ...(this.accountId ? { accountId: this.accountId } : {}),
      details: { recoveryId: this.recoveryId, ...details },
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drained;
  }
}

/** What the run knows; validators read it synchronously, handlers change it. */
class RecoveryState {
  stage: RecoveryStage = 'verifying';
  opened = false;
  accountId?: string;
  subject?: string;
  readonly satisfied: RecoveryFactor[] = [];
  readonly failures = new Map<RecoveryFactor, number>();
  readonly challengesSent = new Map<RecoveryFactor, number>();
  readonly riskFlags: RiskFlag[] = [];
  readonly countries = new Set<string>();
  readonly approvals: RecoveryApproval[] = [];
  coolingEndsAt?: number;
  outcome?: Outcome;
  resetting = false;

  constructor(readonly input: RecoveryInput) {}

  open(opened: OpenedRecovery): void {
    this.accountId = opened.accountId;
    this.subject = opened.subject;
    this.riskFlags.push(...opened.riskFlags);
    if (opened.country) this.countries.add(opened.country);
    this.opened = true;
  }

  locked(factor: RecoveryFactor): boolean {
    return (this.failures.get(factor) ?? 0) >= recoveryPolicy.maxFailures;
  }
  sufficient(): boolean {
    return factorsRemaining(this.satisfied) === 0;
  }
  required(): number {
    return approvalsRequired(this.riskFlags);
  }
  approved(): boolean {
    return this.approvals.length >= this.required();
  }
  /** Settled: an outcome is decided or the reset has begun; nothing a person sends changes it any more. */
  settled(): boolean {
    return this.outcome !== undefined || this.resetting || finalRecoveryStages.includes(this.stage);
  }

  status(): RecoveryStatus {
    return {
      recoveryId: this.input.recoveryId,
      stage: this.outcome ?? this.stage,
      satisfied: [...this.satisfied],
      locked: recoveryFactors.filter((f) => this.locked(f)),
      challengesSent: Object.fromEntries(this.challengesSent),
      coolingEndsAt: this.coolingEndsAt === undefined ? null : new Date(this.coolingEndsAt).toISOString(),
      approvalsRequired: this.required(),
      approvals: [...this.approvals],
      approvalsNeeded: Math.max(0, this.required() - this.approvals.length),
      riskFlags: [...this.riskFlags],
      requestedVia: this.input.requestedVia,
      ...(this.accountId ? { accountId: this.accountId } : {}),
      resetting: this.resetting,
    };
  }
}

export async function recovery(input: RecoveryInput): Promise<RecoveryResult> {
  const { recoveryId, durations } = input;
  const { workflowId, taskQueue } = workflowInfo();
  const identity = proxyActivities<RecoveryIdentityActivities>({
    ...activityOptions.identity,
    taskQueue: identityQueueOf(taskQueue),
  });
  const state = new RecoveryState(input);
  // Since this patch a provider sign-in is redeemed by the workflow's activity (the API parks the answer)
  // and the secrets of its challenges are released at the end; before it, the API redeemed the code itself
  // and sent the facts with submitFactor, which runs recorded before the patch still do.
  const redeemsProviderAnswers = patched('recovery-provider-answer-activity');
  // Since this patch a cancelled run (Temporal's cancel: an operator, or a process that stops it) ends as
  // cancelled with `CraStage = cancelled`, its clean-up in a non-cancellable scope; before it, the cancel
  // stopped the run where it found it.
  const handlesCancellation = patched('recovery-cancellation');
  const trail = new AuditTrail(recoveryId, workflowId, (event) => records.appendAuditEvent(event), handlesCancellation);
  let needsApproval = false;
  const setNeedsApproval = (value: boolean) => {
    if (value === needsApproval) return;
    needsApproval = value;
    upsertSearchAttributes([{ key: searchAttributes.needsApproval, value }]);
  };
  const enter = (stage: RecoveryStage) => {
    state.stage = stage;
    recordStage(stage);
  };

  setHandler(recoveryStatusQuery, () => state.status());

  /** Count a proof's facts: accepted, or one more failure (which may lock the factor). */
  const record = (submission: FactorSubmission): FactorOutcome => {
    const factor = submission.factor;
    const ownAccount =
      submission.via === 'support' &&
      submission.actor?.accountId !== undefined &&
      submission.actor.accountId === state.accountId;
    // An unknown address has nothing to prove: every factor is rejected, exactly like a wrong one.
    const accepted =
      submission.verified &&
      state.accountId !== undefined &&
      !ownAccount &&
      !state.settled() &&
      !state.satisfied.includes(factor);
    const actor =
      submission.via === 'support' && submission.actor
        ? { type: 'support' as const, id: submission.actor.subject }
        : {
            type: 'user' as const,
            id: submission.via === 'agent' ? `agent:${submission.actor?.subject ?? 'unknown'}` : 'requester',
          };
    if (accepted) {
      state.satisfied.push(factor);
      trail.add('recovery.factor_accepted', { factor, via: submission.via, ...submission.evidence }, actor);
      if (submission.country) {
        state.countries.add(submission.country);
        if (state.countries.size > 1 && !state.riskFlags.some((f) => f.flag === 'countries_differ')) {
          const flag: RiskFlag = {
            flag: 'countries_differ',
            evidence: { countries: [...state.countries].sort().join(',') },
            at: new Date().toISOString(),
          };
          state.riskFlags.push(flag);
          trail.add('recovery.risk_flagged', { flag: flag.flag, evidence: JSON.stringify(flag.evidence) });
        }
      }
    } else {
      state.failures.set(factor, (state.failures.get(factor) ?? 0) + 1);
      trail.add(
        'recovery.factor_rejected',
        { factor, via: submission.via, failures: state.failures.get(factor)!, ...submission.evidence },
        actor,
      );
      if (state.locked(factor)) trail.add('recovery.factor_locked', { factor });
    }
    return {
      accepted,
      satisfied: [...state.satisfied],
      remaining: factorsRemaining(state.satisfied),
      locked: state.locked(factor),
    };
  };

  /** Whether the recovery still takes a proof of this factor; the reason it does not, otherwise. */
  const refusal = (factor: RecoveryFactor): string | undefined => {
    if (state.settled() || state.stage !== 'verifying') return 'this recovery takes no more factors';
    if (state.locked(factor)) return `the factor ${factor} is locked after ${recoveryPolicy.maxFailures} failures`;
    if (state.satisfied.includes(factor)) return `the factor ${factor} was accepted already`;
    return undefined;
  };

  setHandler(
    submitFactorUpdate,
    async (submission: FactorSubmission): Promise<FactorOutcome> => {
      await condition(() => state.opened);
      return record(submission);
    },
    {
      validator: (submission: FactorSubmission) => {
        if (!recoveryFactors.includes(submission.factor))
          throw new Error(`unknown factor "${String(submission.factor)}"`);
        const refused = refusal(submission.factor);
        if (refused) throw new Error(refused);
        if (submission.factor === 'provider_reauth' && redeemsProviderAnswers)
          throw new Error('provider_reauth is proven by the provider’s answer, redeemed here');
        if ((submission.factor === 'document_check') !== (submission.via === 'support'))
          throw new Error('only support verifies a document, and support verifies nothing else');
        if (
          submission.via === 'support' &&
          submission.actor?.accountId !== undefined &&
          submission.actor.accountId === state.accountId
        ) {
          throw new Error('nobody verifies documents for the recovery of their own account');
        }
      },
    },
  );

  setHandler(
    requestChallengeUpdate,
    async (request: ChallengeRequest) => {
      state.challengesSent.set(request.factor, (state.challengesSent.get(request.factor) ?? 0) + 1);
      await condition(() => state.opened);
      const { deliveredVia } = await recoveries.issueRecoveryChallenge({
        recoveryId,
        challengeId: request.challengeId,
        factor: request.factor,
        expiresAt: request.expiresAt,
        ttlMs: msToNumber(durations.codeTtl),
        ...(state.accountId ? { accountId: state.accountId } : {}),
      });
      trail.add('recovery.challenge_issued', {
        factor: request.factor,
        challengeId: request.challengeId,
        deliveredVia,
      });
      return { challengeId: request.challengeId };
    },
    {
      validator: (request: ChallengeRequest) => {
        if (!(deliveredCodeFactors as readonly string[]).includes(request.factor))
          throw new Error(`no code is sent for "${String(request.factor)}"`);
        if (state.settled() || state.stage !== 'verifying') throw new Error('this recovery takes no more factors');
        if (state.locked(request.factor))
          throw new Error(`the factor ${request.factor} is locked after ${recoveryPolicy.maxFailures} failures`);
        if (state.satisfied.includes(request.factor))
          throw new Error(`the factor ${request.factor} was accepted already`);
        if ((state.challengesSent.get(request.factor) ?? 0) >= recoveryPolicy.maxChallengesPerFactor) {
          throw new Error(`at most ${recoveryPolicy.maxChallengesPerFactor} codes are sent per factor`);
        }
      },
    },
  );

  setHandler(
    requestProviderChallengeUpdate,
    async (request: ProviderChallengeRequest) => {
      state.challengesSent.set('provider_reauth', (state.challengesSent.get('provider_reauth') ?? 0) + 1);
      // The same request for every address: nothing here waits for, or looks at, the account.
      const issued = await providerSignIns.beginProviderReauth({
        recoveryId,
        challengeId: request.challengeId,
        provider: request.provider,
        expiresAt: request.expiresAt,
      });
      trail.add('recovery.challenge_issued', {
        factor: 'provider_reauth',
        challengeId: request.challengeId,
        provider: request.provider,
      });
      return issued;
    },
    {
      validator: (request: ProviderChallengeRequest) => {
        const refused = refusal('provider_reauth');
        if (refused) throw new Error(refused);
        if ((state.challengesSent.get('provider_reauth') ?? 0) >= recoveryPolicy.maxChallengesPerFactor) {
          throw new Error(
            `at most ${recoveryPolicy.maxChallengesPerFactor} provider sign-ins are started per recovery`,
          );
        }
        if (!request.challengeId || !request.provider)
          throw new Error('a provider sign-in needs its challenge id and provider');
      },
    },
  );

  setHandler(
    submitProviderAnswerUpdate,
    async (answer: ProviderAnswer): Promise<FactorOutcome> => {
      await condition(() => state.opened);
      const check = await providerSignIns.redeemProviderAnswer({
        recoveryId,
        challengeId: answer.challengeId,
        ...(state.accountId ? { accountId: state.accountId } : {}),
        ...(durations.minConnectionAge !== undefined ? { minConnectionAge: durations.minConnectionAge } : {}),
      });
      return record({
        factor: 'provider_reauth',
        verified: check.verified,
        evidence: check.evidence,
        via: 'person',
        ...(answer.country ? { country: answer.country } : {}),
      });
    },
    {
      validator: (answer: ProviderAnswer) => {
        const refused = refusal('provider_reauth');
        if (refused) throw new Error(refused);
        if (!answer.challengeId) throw new Error('a provider answer names its challenge');
      },
    },
  );

  setHandler(
    decideUpdate,
    (decision: RecoveryDecision) => {
      const actor = { type: 'support' as const, id: decision.approver.subject };
      if (decision.decision === 'deny') {
        state.outcome = 'denied';
        trail.add('recovery.denied', { approver: decision.approver.subject, reason: decision.reason }, actor);
      } else {
        state.approvals.push({
          subject: decision.approver.subject,
          reason: decision.reason,
          at: new Date().toISOString(),
        });
        trail.add(
          'recovery.approved',
          {
            approver: decision.approver.subject,
            reason: decision.reason,
            approvals: state.approvals.length,
            approvalsRequired: state.required(),
          },
          actor,
        );
        if (state.approved()) setNeedsApproval(false);
      }
      return {
        stage: state.outcome ?? state.stage,
        approvals: state.approvals.length,
        approvalsNeeded: Math.max(0, state.required() - state.approvals.length),
      };
    },
    {
      validator: (decision: RecoveryDecision) => {
        if (state.settled()) throw new Error('this recovery is no longer pending');
        if (state.stage !== 'cooling' && state.stage !== 'awaiting_approval')
          throw new Error('support decides once the factors suffice');
        if (!decision.reason.trim()) throw new Error('a decision needs a reason');
        if (decision.decision !== 'approve') return;
        if (decision.approver.accountId === state.accountId)
          throw new Error('nobody approves the recovery of their own account');
        if (state.approvals.some((a) => a.subject === decision.approver.subject))
          throw new Error('this person approved already; another approver is needed');
        if (state.approved()) throw new Error('the recovery has all the approvals it needs');
      },
    },
  );

  setHandler(
    cancelRecoveryUpdate,
    (request: CancelRequest): { stage: RecoveryStage } => {
      state.outcome = 'cancelled';
      trail.add(
        'recovery.cancelled',
        { by: request.by },
        request.by === 'owner' && request.actor
          ? { type: 'user', id: request.actor }
          : { type: 'user', id: request.by },
      );
      return { stage: 'cancelled' };
    },
    {
      validator: (_request: CancelRequest) => {
        if (state.resetting) throw new Error('the credentials are being reset; it is too late to cancel');
        if (state.settled()) throw new Error('this recovery is no longer pending');
      },
    },
  );

  /** Tell every verified channel; nothing to tell for an unknown address. */
  const notify = async (kind: RecoveryNoticeKind, round: number) => {
    if (!state.accountId) return;
    const { channels } = await records.sendRecoveryNotices({
      recoveryId,
      accountId: state.accountId,
      kind,
      round,
      ...(state.coolingEndsAt !== undefined ? { coolingEndsAt: new Date(state.coolingEndsAt).toISOString() } : {}),
    });
    trail.add('recovery.notice_queued', { kind, round, channels: channels.join(',') });
  };

  /**
   * Providers linked since the recovery started raise `linked_during_recovery` (high risk) once, with the
   * connections as evidence. True when the flag was raised by this call.
   */
  const flagLinksDuringRecovery = async (): Promise<boolean> => {
    if (!state.accountId || state.riskFlags.some((f) => f.flag === 'linked_during_recovery')) return false;
    const { links, recoveryStartedAt } = await recoveries.findLinksDuringRecovery({
      recoveryId,
      accountId: state.accountId,
    });
    const first = links[0];
    if (!first) return false;
    const flag: RiskFlag = {
      flag: 'linked_during_recovery',
      evidence: {
        provider: first.provider,
        connectionId: first.connectionId,
        connectedAt: first.connectedAt,
        recoveryStartedAt: recoveryStartedAt ?? '',
        links: links.length,
        providers: links.map((l) => l.provider).join(','),
      },
      at: new Date().toISOString(),
    };
    state.riskFlags.push(flag);
    trail.add('recovery.risk_flagged', { flag: flag.flag, evidence: JSON.stringify(flag.evidence) });
    return true;
  };

  const finish = async (outcome: Outcome): Promise<RecoveryResult> => {
    state.outcome = outcome;
    enter(outcome);
    setNeedsApproval(false);
    // The owner heard of the recovery once the cooling began: tell them how it ended too.
    if (outcome !== 'completed' && state.coolingEndsAt !== undefined) await notify(outcome, 0);
    // No provider sign-in outlives its recovery: verifiers, nonces and parked answers are wiped.
    if (redeemsProviderAnswers) await providerSignIns.releaseProviderChallenges({ recoveryId });
    await recoveries.closeRecovery({ recoveryId, outcome });
    trail.add('recovery.closed', { outcome });
    await condition(allHandlersFinished);
    await trail.close();
    return { recoveryId, outcome };
  };

  /** Cancelled: say so, tell the owner if they heard of the recovery, release what it holds, close it, audit. */
  const endCancelled = async (stage: RecoveryStage): Promise<void> => {
    state.outcome = 'cancelled';
    enter('cancelled');
    setNeedsApproval(false);
    trail.add('recovery.cancelled', { by: 'operator', stage });
    if (state.coolingEndsAt !== undefined) await notify('cancelled', 0);
    if (redeemsProviderAnswers) await providerSignIns.releaseProviderChallenges({ recoveryId });
    await recoveries.closeRecovery({ recoveryId, outcome: 'cancelled' });
    trail.add('recovery.closed', { outcome: 'cancelled' });
    await condition(allHandlersFinished);
    await trail.close();
  };

  if (!handlesCancellation) return proceed();
  try {
    return await proceed();
  } catch (err) {
    // A step that ended with another error after the cancel: the recovery was cancelled all the same.
    if (!(isCancellation(err) || CancellationScope.current().consideredCancelled)) throw err;
    const reached = state.stage;
    await CancellationScope.nonCancellable(() => endCancelled(reached));
    // Rethrown, so Temporal Web shows the run as cancelled.
    throw isCancellation(err) ? err : new CancelledFailure('the recovery was cancelled');
  }

  /** The recovery from the account lookup to its outcome. */
  async function proceed(): Promise<RecoveryResult> {
    const startedAt = Date.now();
    const opened = await recoveries.openRecovery({ recoveryId });
    state.open(opened);
    trail.accountId = opened.accountId;
    if (opened.accountId) upsertSearchAttributes([{ key: searchAttributes.accountId, value: opened.accountId }]);
    trail.add('recovery.started', {
      via: input.requestedVia.kind,
      ...(input.requestedVia.kind === 'agent' ? { agentId: input.requestedVia.agentId } : {}),
    });
    for (const flag of opened.riskFlags)
      trail.add('recovery.risk_flagged', { flag: flag.flag, evidence: JSON.stringify(flag.evidence) });

    // Verifying: until the factors suffice, the request is withdrawn, or it expires.
    const expiresAt = startedAt + msToNumber(durations.expiry);
    const ready = await condition(
      () => state.sufficient() || state.outcome !== undefined,
      Math.max(1, expiresAt - Date.now()),
    );
    if (state.outcome) return finish(state.outcome);
    if (!ready) return finish('expired');

    // Cooling: nothing changes for the whole period, whenever the approvals come; the owner hears every interval.
    const coolingEndsAt = Date.now() + msToNumber(durations.coolingPeriod);
    state.coolingEndsAt = coolingEndsAt;
    enter('cooling');
    setNeedsApproval(!state.approved());
    // Links made while the recovery was pending are flagged before support decides (and again before the reset).
    const checksLinks = patched('recovery-links-during-recovery');
    if (checksLinks && (await flagLinksDuringRecovery())) setNeedsApproval(!state.approved());
    trail.add('recovery.cooling_started', {
      coolingEndsAt: new Date(coolingEndsAt).toISOString(),
      approvalsRequired: state.required(),
    });
    const interval = msToNumber(durations.noticeInterval);
    let round = 0;
    await notify('started', round);
    let nextNoticeAt = Date.now() + interval;
    // Support may decide after the cooling period, but not beyond the expiry (and never before the cooling ends).
    const decideBy = Math.max(expiresAt, coolingEndsAt);
    for (;;) {
      if (state.outcome) return finish(state.outcome);
      const now = Date.now();
      if (now >= coolingEndsAt) {
        if (state.approved()) {
          // A link made during the cooling period may need one more approver: look once more before the reset.
          if (checksLinks && !state.riskFlags.some((f) => f.flag === 'linked_during_recovery')) {
            const raised = await flagLinksDuringRecovery();
            if (raised) setNeedsApproval(!state.approved());
            // Cancelled meanwhile, or approvals now missing: the loop decides again.
            if (raised || state.outcome) continue;
          }
          break;
        }
        if (state.stage !== 'awaiting_approval') enter('awaiting_approval');
        if (now >= decideBy) return finish('expired');
      }
      if (now >= nextNoticeAt) {
        round += 1;
        await notify('reminder', round);
        nextNoticeAt += interval;
        continue;
      }
      const wakeAt = Math.min(nextNoticeAt, now < coolingEndsAt ? coolingEndsAt : decideBy);
      await condition(
        () => state.outcome !== undefined || (Date.now() >= coolingEndsAt && state.approved()),
        wakeAt - now,
      );
    }

    // Reset: from here on nobody can cancel, approve or deny; a Temporal cancel waits for the reset to end.
    state.resetting = true;
    setNeedsApproval(false);
    return handlesCancellation ? CancellationScope.nonCancellable(resetCredentials) : resetCredentials();
  }

  /** The credential reset and the recovery's completion. */
  async function resetCredentials(): Promise<RecoveryResult> {
    try {
      const reset = await identity.resetRecoveredCredentials({
        recoveryId,
        accountId: state.accountId!,
        subject: state.subject!,
        ticketTtlSeconds: Math.round(msToNumber(durations.ticketTtl) / 1000),
      });
      trail.add('recovery.credentials_reset', {
        directory: reset.directory,
        passwordTicketSent: reset.ticketSent,
        mfaRemoved: true,
        sessionsRevoked: true,
      });
    } catch (err) {
      trail.add('recovery.reset_failed', { error: err instanceof Error ? err.message : 'unknown' });
      await trail.close();
      throw failure('RecoveryResetFailed', 'the directory refused the credential reset; support must act');
    }
    await notify('completed', 0);
    return finish('completed');
  }
}
