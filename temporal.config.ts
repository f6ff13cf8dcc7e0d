/**
 * Temporal settings shared by the launcher, the workers, the API and the workflows.
 *
 * Workflow code imports this file, so it holds plain constants only: no environment reads, no I/O.
 * Values that operators change per deployment (addresses, rates, durations) come from `domain/config.ts`
 * and reach workflows through their inputs, so they are recorded in history.
 */
import type { ActivityOptions, Duration, RetryPolicy } from '@temporalio/common';
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { ProcessName } from './domain/ids.js';
import { nonRetryableTypes } from './domain/failures.js';

export const namespace = 'default';

/** One task queue per kind of work; identity calls get their own so their rate can be capped. */
export const taskQueues = {
  accounts: 'cra-accounts',
  identity: 'cra-identity',
} as const;

/**
 * Task queue names under an optional prefix (`TEMPORAL_TASK_QUEUE_PREFIX`), so several CRA deployments or
 * test runs can share one namespace without taking each other's tasks.
 */
export function taskQueueNames(prefix = ''): { accounts: string; identity: string } {
  return { accounts: `${prefix}${taskQueues.accounts}`, identity: `${prefix}${taskQueues.identity}` };
}

/** The identity queue that belongs with a workflow's own (accounts) queue: workflows derive it from workflowInfo(). */
export function identityQueueOf(accountsQueue: string): string {
  return accountsQueue.endsWith(taskQueues.accounts)
    ? `${accountsQueue.slice(0, -taskQueues.accounts.length)}${taskQueues.identity}`
    : taskQueues.identity;
}

/** Typed search attributes: every CRA workflow can be filtered by these in Temporal Web. */
export const searchAttributes = {
  accountId: defineSearchAttributeKey('CraAccountId', SearchAttributeType.KEYWORD),
  process: defineSearchAttributeKey('CraProcess', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('CraStage', SearchAttributeType.KEYWORD),
  provider: defineSearchAttributeKey('CraProvider', SearchAttributeType.KEYWORD),
  needsApproval: defineSearchAttributeKey('CraNeedsApproval', SearchAttributeType.BOOL),
} as const;

/** What a process's workflow says about itself in Temporal Web: ids and stages only, never personal data. */
export interface ProcessAttributes {
  accountId?: string;
  provider?: string;
  stage: string;
  needsApproval?: boolean;
}

/**
 * The typed search attributes a process's workflow starts with: the one list (every starter and every
 * child start uses it), so Temporal Web's filters find every workflow of an account, a provider or a stage.
 */
export function searchAttributesFor(process: ProcessName, attrs: ProcessAttributes): SearchAttributePair[] {
  return [
    ...(attrs.accountId !== undefined ? [{ key: searchAttributes.accountId, value: attrs.accountId }] : []),
    { key: searchAttributes.process, value: process },
    ...(attrs.provider !== undefined ? [{ key: searchAttributes.provider, value: attrs.provider }] : []),
    { key: searchAttributes.stage, value: attrs.stage },
    { key: searchAttributes.needsApproval, value: attrs.needsApproval ?? false },
  ];
}

/** `name=Type` pairs, as `temporal server start-dev --search-attribute` and `operator search-attribute create` take them. */
export const searchAttributeRegistrations: ReadonlyArray<readonly [string, 'Keyword' | 'Bool']> = [
  ['CraAccountId', 'Keyword'],
  ['CraProcess', 'Keyword'],
  ['CraStage', 'Keyword'],
  ['CraProvider', 'Keyword'],
  ['CraNeedsApproval', 'Bool'],
];

/** No attempt cap: these activities are idempotent, and their timeouts bound how long a step may take. */
const unlimitedRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
};

/**
 * Activity options per activity group; workflows pass these to `proxyActivities`. Accounts and records
 * run on the workflow's own queue; identity activities on `identityQueueOf(workflowInfo().taskQueue)`.
 */
export const activityOptions = {
  /** MongoDB writes: quick, idempotent, retried until the database is back. */
  accounts: {
    startToCloseTimeout: '15 seconds',
    retry: unlimitedRetry,
  },
  /** Identity directory (Auth0 in production): rate-limited queue, vendor 429s wait for the reset. */
  identity: {
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: '1 hour',
    retry: { ...unlimitedRetry, nonRetryableErrorTypes: nonRetryableTypes('IdentityNotFound', 'IdentityRejected') },
  },
  /** Provider endpoints: token exchange, refresh, revocation, profile. Permanent OAuth errors stop retries. */
  providers: {
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: '1 hour',
    retry: {
      ...unlimitedRetry,
      nonRetryableErrorTypes: nonRetryableTypes(
        'InvalidGrant',
        'LinkExchangeFailed',
        'ProviderNotConfigured',
        'TokensMissing',
      ),
    },
  },
  /** Provider data pages: 429 waits for Retry-After (the activity says so), 5xx back off; rejections stop. */
  sync: {
    startToCloseTimeout: '2 minutes',
    // A page heartbeats as it goes, so a worker that dies mid-page is noticed in seconds, not minutes.
    heartbeatTimeout: '15 seconds',
    retry: {
      ...unlimitedRetry,
      initialInterval: '500 milliseconds',
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: nonRetryableTypes(
        'SyncRejected',
        'SyncNotSupported',
        'ReauthRequired',
        'TokensMissing',
        'ConsentWithdrawn',
      ),
    },
  },
  /** Outbox and audit writes. */
  records: {
    startToCloseTimeout: '15 seconds',
    retry: unlimitedRetry,
  },
  /**
   * Erasure steps: deletes and Temporal calls, each idempotent and resumable (a retry goes on where the last
   * attempt stopped), so a short timeout only means a worker that died mid-step is replaced sooner.
   * A destroyed key will not come back.
   */
  erasure: {
    startToCloseTimeout: '30 seconds',
    retry: { ...unlimitedRetry, nonRetryableErrorTypes: nonRetryableTypes('AccountKeyDestroyed') },
  },
} as const satisfies Record<string, ActivityOptions>;

/** Default durations; each can be overridden through the environment (see `domain/config.ts`). */
export const defaultDurations = {
  /** How long a signup run waits for its details before it gives up. */
  signupDetailsWait: '5 minutes',
  /** A provider link attempt expires when no callback arrives within this time. */
  linkAttemptTtl: '10 minutes',
  /** Token custody refreshes an access token this long before it expires. */
  tokenRefreshMargin: '5 minutes',
  /** Recovery: while a recovery is pending after its factors sufficed, every verified channel is told again this often. */
  recoveryNoticeInterval: '24 hours',
  /** Recovery: nothing changes for this long after the factors suffice, whatever the approvals. */
  recoveryCoolingPeriod: '48 hours',
  /** Recovery: a recovery not completed this long after it started expires. */
  recoveryExpiry: '7 days',
  /** Recovery: how long an emailed or texted code stays valid. */
  recoveryCodeTtl: '10 minutes',
  /** Recovery: lifetime of the directory's password-change ticket sent after the reset. */
  recoveryTicketTtl: '15 minutes',
  /** Agents: how old an agent's HTTP message signature may be (and how long it is remembered against replay). */
  agentSignatureWindow: '5 minutes',
} as const satisfies Record<string, Duration>;

/** Auth0 Management API limits vary by plan; stay under the smallest unless told otherwise. */
export const defaultIdentityActivitiesPerSecond = 2;
