/**
 * Erasure wire protocol (`erasure/<accountId>`). Never rename a message; add optional fields only.
 * Nothing here carries personal data: the account id, dates, counts and keyed hashes only, so the
 * erasure's own history, which outlives the person's data, names nobody.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const erasureWorkflowType = 'erasure';

export interface ErasureInput {
  accountId: string;
  /** When the person (or support) asked. */
  requestedAt: string;
  /** Who asked: the account itself (`user`, id = account id) or a support agent (`support`, id = agent's account id). */
  requestedBy: { type: 'user' | 'support'; id: string };
  /** `ERASURE_GRACE_PERIOD`: how long the request can still be cancelled. */
  gracePeriod: string;
  /** `DELETED_ACCOUNT_RETENTION`: how long the tombstone is kept before it is purged. */
  tombstoneRetention: string;
  /**
   * The start-to-close timeout of each step (heartbeat timeout of the processes' step), instead of
   * `activityOptions.erasure`'s. The API leaves it out; a test that SIGKILLs workers between steps shortens
   * it, since a step in flight on a dead worker is retried only once its timeout ran out.
   */
  stepTimeout?: string;
}

export const erasureStages = [
  /** Waiting out the grace window: cancellable. */
  'grace',
  /** A legal hold is in force: waiting for its release. */
  'on_hold',
  'erasing',
  'erased',
  'cancelled',
] as const;
export type ErasureStage = (typeof erasureStages)[number];

/** The stores an erasure deletes from, in the certificate's order. */
export const erasureStores = [
  'processes',
  'provider_grants',
  'tokens',
  'provider_records',
  'recovery_factors',
  'agents',
  'exports',
  'identity_directory',
  'sessions',
  'account_document',
  'temporal_executions',
  'keys',
  'audit',
  /** The subject's sign-in: the erased id retired, a returning sign-in gets a new account. */
  'subject_account',
] as const;
export type ErasureStore = (typeof erasureStores)[number];

export interface ErasureStep {
  store: ErasureStore;
  /** How many things were deleted (or revoked, stopped, pseudonymised) in this store. */
  deleted: number;
  /** When the step finished. */
  at: string;
  /** In words: what was deleted. */
  detail: string;
  /** What this store keeps and why (e.g. the audit chain's keyed hashes), when anything. */
  retained?: { what: string; why: string };
}

/** The signed receipt of an erasure: what was deleted where, how many, when, and what is kept and why. */
export interface ErasureCertificate {
  format: 'cra-erasure-certificate/1';
  accountId: string;
  /** Keyed hash (SecretVault HMAC) of the root identity's subject: proves which identity, names nobody. */
  subjectHash: string;
  requestedAt: string;
  erasedAt: string;
  steps: ErasureStep[];
  /** What outlives the erasure: the tombstone until `purgeAt`, and the audit chain's hashes. */
  retained: Array<{ what: string; why: string; until?: string }>;
  /** When the tombstone (and this certificate's copy in CRA) is purged. */
  purgeAt: string;
  /** SecretVault HMAC over the certificate's canonical JSON without `signature`: `npm run erasure:verify`. */
  signature: { keyName: string; mac: string };
}

export interface ErasureState {
  stage: ErasureStage;
  requestedAt: string;
  /** The end of the grace window: until then `cancelErasure` succeeds. */
  graceEndsAt: string;
  onLegalHold: boolean;
  /** The steps done so far (all of them once erased). */
  steps: ErasureStep[];
  certificate?: ErasureCertificate;
}

export type ErasureResult = { status: 'erased'; certificate: ErasureCertificate } | { status: 'cancelled' };

export const erasureStateQuery = defineQuery<ErasureState>('erasureState');

/** Cancel inside the grace window (the person, or the notice's link); refused once erasing has begun. */
export const cancelErasureUpdate = defineUpdate<
  { cancelled: true },
  [{ by: 'user' | 'link' | 'support'; /** The support agent's account id, when support cancels. */ agentId?: string }]
>('cancelErasure');

/** A legal hold was placed or released (the hold itself is in the `legal_holds` collection): look again. */
export const legalHoldChangedSignal = defineSignal('legalHoldChanged');

/** The tombstone's purge (`erasure-purge/<accountId>`): a child the erasure abandons, so it returns now. */
export const erasurePurgeWorkflowType = 'erasurePurge';

export interface ErasurePurgeInput {
  accountId: string;
  /** When the tombstone goes (`DELETED_ACCOUNT_RETENTION` after the erasure), as the certificate says. */
  purgeAt: string;
  /** `DELETED_ACCOUNT_RETENTION`: the purge sleeps this long from its start (a durable timer on Temporal's clock). */
  retention?: string;
}

export interface ErasurePurgeResult {
  purged: boolean;
}
