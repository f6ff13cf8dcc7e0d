/**
 * Recovery wire protocol: the workflow's input and result, the factor vocabulary and policy, the updates
 * (factors, challenges, provider sign-ins, decisions, cancel) and the status query. Never rename a message; add optional
 * fields only. No message carries a secret: the API checks codes, tokens and assertions against stored
 * hashes and sends only the facts; a provider's answer stays parked (encrypted) on its challenge and the
 * workflow's activity redeems it by reference (see docs/recovery.md, "Secrets and history").
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ProviderId } from '../../domain/providers.js';

export const recoveryFactors = [
  'email_code',
  'sms_code',
  'totp',
  'backup_code',
  'passkey',
  'provider_reauth',
  'document_check',
] as const;
export type RecoveryFactor = (typeof recoveryFactors)[number];

export const factorCategoryNames = ['possession', 'inherence', 'knowledge'] as const;
export type FactorCategory = (typeof factorCategoryNames)[number];

/**
 * Independent kinds of evidence. Backup codes count as knowledge: a secret the person kept apart from any
 * device (there are no secret questions). A support-verified identity document is inherence.
 */
export const factorCategories: Readonly<Record<RecoveryFactor, FactorCategory>> = {
  email_code: 'possession',
  sms_code: 'possession',
  totp: 'possession',
  passkey: 'possession',
  provider_reauth: 'possession',
  backup_code: 'knowledge',
  document_check: 'inherence',
};

/** Factors whose code CRA sends (POST /challenges); the others are proven with what the person holds. */
export const deliveredCodeFactors = ['email_code', 'sms_code'] as const satisfies readonly RecoveryFactor[];
export type DeliveredCodeFactor = (typeof deliveredCodeFactors)[number];

export const recoveryPolicy = {
  minFactors: 3,
  minCategories: 2,
  /** Failed proofs that lock a factor for the rest of the recovery. */
  maxFailures: 5,
  /** Codes sent per factor per recovery, so a recovery cannot be used to flood someone's phone. */
  maxChallengesPerFactor: 5,
} as const;

/** How many more factors the recovery needs, at the least, to satisfy the policy. */
export function factorsRemaining(satisfied: readonly RecoveryFactor[]): number {
  const categories = new Set(satisfied.map((f) => factorCategories[f])).size;
  return Math.max(0, recoveryPolicy.minFactors - satisfied.length, recoveryPolicy.minCategories - categories);
}

export const recoveryStages = [
  'verifying',
  'cooling',
  'awaiting_approval',
  'completed',
  'cancelled',
  'denied',
  'expired',
] as const;
export type RecoveryStage = (typeof recoveryStages)[number];
export const finalRecoveryStages: readonly RecoveryStage[] = ['completed', 'cancelled', 'denied', 'expired'];

export const riskFlagNames = [
  'new_device_or_network',
  'recent_factor_change',
  'many_recoveries',
  'ai_agent',
  'countries_differ',
  'velocity',
  /** A provider was linked to the account after the recovery started: someone holds a session while it is pending. */
  'linked_during_recovery',
] as const;
export type RiskFlagName = (typeof riskFlagNames)[number];

/** A risk flag with the facts that raised it, for the support agent who decides. */
export interface RiskFlag {
  flag: RiskFlagName;
  evidence: Record<string, string | number | boolean>;
  at: string;
}

/** Any one of these makes a recovery high risk; so do two flags of any kind. */
export const highRiskFlags: readonly RiskFlagName[] = [
  'ai_agent',
  'countries_differ',
  'many_recoveries',
  'linked_during_recovery',
];
/**
 * Flags that follow from the request alone, the same whether or not the address has an account. Only these
 * shape what the requester sees before the factors suffice, so the answer cannot tell an account exists.
 */
export const requestOnlyFlags: readonly RiskFlagName[] = ['ai_agent', 'velocity'];

/** Approvals from different people: two when the risk is high, otherwise one. */
export function approvalsRequired(flags: readonly Pick<RiskFlag, 'flag'>[]): 1 | 2 {
  const names = new Set(flags.map((f) => f.flag));
  return names.size >= 2 || [...names].some((n) => highRiskFlags.includes(n)) ? 2 : 1;
}

export interface RecoveryDurations {
  noticeInterval: Duration;
  coolingPeriod: Duration;
  expiry: Duration;
  codeTtl: Duration;
  ticketTtl: Duration;
  /**
   * `RECOVERY_MIN_CONNECTION_AGE`: a younger connection is no `provider_reauth` factor (the activity's
   * default, 7 days, when absent: runs started before the field existed).
   */
  minConnectionAge?: Duration;
}

export interface RecoveryInput {
  /** Random, from the API; the workflow id is `recovery/<recoveryId>`. */
  recoveryId: string;
  /** From `temporal.config.ts` defaults or the environment, so history records what applied. */
  durations: RecoveryDurations;
  /** Who asked: a person, or an AI agent that signed the request with a key its person registered. */
  requestedVia: { kind: 'person' } | { kind: 'agent'; agentId: string };
}

export interface RecoveryResult {
  recoveryId: string;
  outcome: Extract<RecoveryStage, 'completed' | 'cancelled' | 'denied' | 'expired'>;
}

/** The facts of one proof, after the API checked it. Never the code, token or assertion itself. */
export interface FactorSubmission {
  factor: RecoveryFactor;
  verified: boolean;
  /** Non-secret facts: challenge id, credential id, the support agent's reason… */
  evidence: Record<string, string | number | boolean>;
  /** ISO 3166 country of the request, when the gateway tells it. */
  country?: string;
  via: 'person' | 'agent' | 'support';
  /** The support agent (subject and account) for `document_check`; the agent id for `via: agent`. */
  actor?: { subject: string; accountId?: string };
}

export interface FactorOutcome {
  accepted: boolean;
  satisfied: RecoveryFactor[];
  remaining: number;
  locked: boolean;
}

export interface ChallengeRequest {
  factor: DeliveredCodeFactor;
  /** Chosen by the API so it can answer before the code is sent. */
  challengeId: string;
  expiresAt: string;
}

/** A provider sign-in for `provider_reauth`: the activity makes the authorization request. */
export interface ProviderChallengeRequest {
  /** Chosen by the API, which reads the authorization URL from this challenge afterwards. */
  challengeId: string;
  provider: ProviderId;
  expiresAt: string;
}

/**
 * The provider answered a `provider_reauth` challenge: its answer is parked on the challenge (encrypted)
 * and the workflow's activity redeems it. Only the reference travels.
 */
export interface ProviderAnswer {
  challengeId: string;
  /** ISO 3166 country of the callback request, when the gateway tells it. */
  country?: string;
}

export interface RecoveryDecision {
  decision: 'approve' | 'deny';
  reason: string;
  approver: { subject: string; accountId: string };
}

export interface DecisionOutcome {
  stage: RecoveryStage;
  approvals: number;
  approvalsNeeded: number;
}

export interface CancelRequest {
  /** A cancel link from a notice, the signed-in owner, or the requester (with the recovery token). */
  by: 'link' | 'owner' | 'requester';
  actor?: string;
}

export interface RecoveryApproval {
  subject: string;
  reason: string;
  at: string;
}

/** Everything the workflow knows; the API shows the requester only `publicRecoveryStatus`. */
export interface RecoveryStatus {
  recoveryId: string;
  stage: RecoveryStage;
  satisfied: RecoveryFactor[];
  locked: RecoveryFactor[];
  /** Codes sent so far, per factor. */
  challengesSent: Partial<Record<RecoveryFactor, number>>;
  coolingEndsAt: string | null;
  approvalsRequired: number;
  approvals: RecoveryApproval[];
  approvalsNeeded: number;
  riskFlags: RiskFlag[];
  requestedVia: RecoveryInput['requestedVia'];
  /** Undefined for an unknown address (and until the account lookup finished). */
  accountId?: string;
  resetting: boolean;
}

export interface PublicRecoveryStatus {
  stage: RecoveryStage;
  satisfied: RecoveryFactor[];
  coolingEndsAt: string | null;
  approvalsNeeded: number;
}

/** What the requester may see: before the factors suffice, nothing that depends on the account. */
export function publicRecoveryStatus(status: RecoveryStatus): PublicRecoveryStatus {
  // An agent's request is known from the input, before the account lookup has raised any flag.
  const requestFlags = [
    ...status.riskFlags.filter((f) => requestOnlyFlags.includes(f.flag)),
    ...(status.requestedVia.kind === 'agent' ? [{ flag: 'ai_agent' as const }] : []),
  ];
  const approvalsNeeded = status.stage === 'verifying' ? approvalsRequired(requestFlags) : status.approvalsNeeded;
  return { stage: status.stage, satisfied: status.satisfied, coolingEndsAt: status.coolingEndsAt, approvalsNeeded };
}

export const submitFactorUpdate = defineUpdate<FactorOutcome, [FactorSubmission]>('submitFactor');
export const requestChallengeUpdate = defineUpdate<{ challengeId: string }, [ChallengeRequest]>('requestChallenge');
export const requestProviderChallengeUpdate = defineUpdate<
  { challengeId: string; expiresAt: string },
  [ProviderChallengeRequest]
>('requestProviderChallenge');
export const submitProviderAnswerUpdate = defineUpdate<FactorOutcome, [ProviderAnswer]>('submitProviderAnswer');
export const decideUpdate = defineUpdate<DecisionOutcome, [RecoveryDecision]>('decide');
export const cancelRecoveryUpdate = defineUpdate<{ stage: RecoveryStage }, [CancelRequest]>('cancelRecovery');
export const recoveryStatusQuery = defineQuery<RecoveryStatus>('recoveryStatus');

/** The workflow type name, for clients that start it without importing workflow code. */
export const recoveryWorkflowType = 'recovery';
export type RecoveryWorkflow = (input: RecoveryInput) => Promise<RecoveryResult>;
