/**
 * Link-provider wire protocol. Never rename a message; add optional fields only.
 * No message carries a code, a token or a PKCE verifier: the callback delivers an attempt id, and the
 * code waits for the exchange activity in the attempt record.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ProviderId } from '../../domain/providers.js';

export interface LinkInput {
  accountId: string;
  /** The root identity's subject, for the identity directory. */
  subject: string;
  provider: ProviderId;
  scopes: string[];
  /** How long an authorization request waits for its callback. */
  attemptTtl: Duration;
  /** Passed on to token custody. */
  tokenRefreshMargin: Duration;
  /** How long a conflict waits for a support decision before the attempt is dropped. */
  supportDecisionWait?: Duration;
  /**
   * `LINK_AUTO_APPROVE_VERIFIED_EMAIL` (default off): a conflict whose provider account's verified address is the
   * linking account's own verified address, and not the other account's, is approved without waiting for support.
   */
  autoApproveVerifiedEmail?: boolean;
  /** Passed on to the first sync (`SYNC_PAGE_SIZE`, `SYNC_MAX_PAGES_PER_RUN`); the sync's defaults otherwise. */
  sync?: { pageSize?: number; maxPagesPerRun?: number };
}

export interface BeginLinkRequest {
  scopes?: string[];
  /**
   * An app's own redirect URI, already checked by the API against the URIs registered for `clientId`
   * (`LINK_CLIENT_REDIRECT_URIS`); the app finishes the link with `link/complete`. Absent: CRA's callback.
   */
  redirect?: { uri: string; clientId: string };
}

export interface BeginLinkResult {
  /**
   * The attempt (SHA-256 of its state): the API reads the authorization URL, encrypted, from the attempt
   * record, so the state never enters history. Absent only in results recorded before that change.
   */
  attemptId?: string;
  /** Only in results recorded before `link-url-off-history`: the URL now travels outside Temporal. */
  authorizationUrl?: string;
  expiresAt: string;
}

export interface LinkCallback {
  attemptId: string;
  outcome: 'code' | 'error';
  /**
   * The provider's `error` (e.g. `access_denied`) when `outcome` is `error`; `actor_mismatch` when the
   * request that brought the answer was authenticated as another account than the one that started it.
   */
  error?: string;
  /** With `actor_mismatch`: the account the answer was brought back by (for the audit trail). */
  broughtBy?: string;
}

/** The callback error CRA itself delivers when the answer came back to another account than the link's. */
export const actorMismatchError = 'actor_mismatch';

export type LinkStatus =
  'linked' | 'already_linked' | 'pending_review' | 'denied' | 'failed' | 'expired' | 'conflict_denied';

export interface LinkOutcome {
  status: LinkStatus;
  connectionId?: string;
  /** Why, in words for the person (never a secret). */
  detail?: string;
}

export interface SupportDecision {
  decision: 'approve' | 'deny';
  /** The support person's subject, from their verified token (`link` when approved by `autoApproveVerifiedEmail`). */
  approver: string;
  reason: string;
}

export const linkStages = [
  'awaiting_callback',
  'exchanging',
  'checking_conflicts',
  'awaiting_support',
  'linking',
  'linked',
  'already_linked',
  'denied',
  'failed',
  'expired',
  'conflict_denied',
  'cancelled',
] as const;
export type LinkStage = (typeof linkStages)[number];

/**
 * What support sees of a conflict (`GET /v1/support/links/{workflowId}`). Evidence, never a decision: an
 * address match alone links nothing unless `autoApproveVerifiedEmail` is configured.
 */
export interface LinkConflict {
  /** `connection`: the provider account is connected to the other account; `root_identity`: the other person signs in with it. */
  kind: 'connection' | 'root_identity';
  /** The provider account's verified address is the other account's verified root address. */
  verifiedEmailMatchesOther: boolean;
  /** ... is the linking account's own verified root address. */
  verifiedEmailMatchesRequester: boolean;
  /** Every other account whose verified root address is the provider account's verified address. */
  verifiedEmailAccountIds: string[];
}

export interface LinkState {
  stage: LinkStage;
  provider: ProviderId;
  outcome?: LinkOutcome;
  conflictingAccountId?: string;
  /** Set from `link-root-identity` on: why the link waits and the evidence for support. */
  conflict?: LinkConflict;
}

export const linkWorkflowType = 'linkProvider';
export type LinkWorkflow = (input: LinkInput) => Promise<LinkOutcome>;

export const beginLinkUpdate = defineUpdate<BeginLinkResult, [BeginLinkRequest]>('beginLink');
export const linkCallbackUpdate = defineUpdate<LinkOutcome, [LinkCallback]>('linkCallback');
export const supportDecisionSignal = defineSignal<[SupportDecision]>('supportDecision');
export const linkStateQuery = defineQuery<LinkState>('linkState');
