/**
 * Token custody: `tokens/<accountId>/<provider>`, one per connection, so there is exactly one refresher.
 * It refreshes the access token a margin before it expires, hands out fresh token versions to whoever
 * asks (the `freshToken` update), and on `invalid_grant` marks the connection `reauth_required`, tells
 * the person, and stops — it never retries a revoked grant.
 * Cancelled: a refresh under way ends first (so its new token version is known and kept), the audit log
 * records where custody stood, and the run ends cancelled with `CraStage = cancelled`.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  msToNumber,
} from '@temporalio/common';
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAccountActivities } from '../../activities/accounts/activities.js';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createNotifyActivities } from '../../activities/notify/activities.js';
import type { createProviderActivities } from '../../activities/providers/activities.js';
import { activityOptions } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import {
  custodyStateQuery,
  freshTokenUpdate,
  stopCustodySignal,
  tokensReplacedSignal,
  type CustodyResult,
  type CustodyState,
  type FreshToken,
  type TokenCustodyInput,
} from './messages.js';
import { failure, failureTypes } from '../../domain/failures.js';

type ProviderActivities = ReturnType<typeof createProviderActivities>;
const providerActs = proxyActivities<ProviderActivities>(activityOptions.providers);
// After `token-custody-cancellation`, a cancel waits for a refresh already running at the provider to finish:
// the provider may have rotated the refresh token, and the new version must be what custody last knew.
const providerActsUntilStopped = proxyActivities<ProviderActivities>({
  ...activityOptions.providers,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const accounts = proxyActivities<ReturnType<typeof createAccountActivities>>(activityOptions.accounts);
const records = proxyActivities<ReturnType<typeof createNotifyActivities> & ReturnType<typeof createAuditActivities>>(
  activityOptions.records,
);

/** Refreshes in one run before it continues as new, so history stays small even for tokens that never fail. */
const refreshesPerRun = 200;
/** After a provider outage outlasts the activity's retries, wait this long before trying again. */
const outageBackoff = '5 minutes';

function isInvalidGrant(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return (
    cause instanceof ApplicationFailure &&
    (cause.type === failureTypes.InvalidGrant || cause.type === failureTypes.TokensMissing)
  );
}

/** What the custodian knows; handlers change it between awaits, validators read it synchronously. */
class Custody {
  readonly state: CustodyState;
  stopReason?: string;
  /** New tokens arrived (a relink): the main loop recomputes its wake-up time. */
  changed = false;
  refreshesThisRun = 0;
  private inflight: Promise<void> | undefined;

  constructor(
    readonly input: TokenCustodyInput,
    private readonly marginMs: number,
    private readonly refreshConnectionTokens: ProviderActivities['refreshConnectionTokens'],
  ) {
    this.state = {
      connectionId: input.connectionId,
      status: 'active',
      tokenVersion: input.tokenVersion ?? 1,
      refreshCount: input.refreshCount ?? 0,
      ...(input.accessTokenExpiresAt ? { accessTokenExpiresAt: input.accessTokenExpiresAt } : {}),
    };
  }

  /** A method, not an inline comparison: handlers change `state.status` between awaits. */
  needsReauth(): boolean {
    return this.state.status === 'reauth_required';
  }
  ended(): boolean {
    return this.stopReason !== undefined || this.needsReauth();
  }
  expiresWithin(ms: number): boolean {
    return (
      this.state.accessTokenExpiresAt !== undefined && Date.parse(this.state.accessTokenExpiresAt) - Date.now() <= ms
    );
  }
  /** How long until the token is due for a refresh; undefined when it never expires. */
  untilRefreshDue(): number | undefined {
    return this.state.accessTokenExpiresAt === undefined
      ? undefined
      : Math.max(1, Date.parse(this.state.accessTokenExpiresAt) - this.marginMs - Date.now());
  }
  /** Settles once the refresh under way (if any) has ended, however it ended. */
  async refreshSettled(): Promise<void> {
    await this.inflight?.catch(() => undefined);
  }

  /** One refresh at a time: the main loop and `freshToken` callers share it. */
  refresh(): Promise<void> {
    const { state } = this;
    this.inflight ??= (async () => {
      state.status = 'refreshing';
      try {
        const result = await this.refreshConnectionTokens({ connectionId: state.connectionId });
        state.tokenVersion = result.version;
        if (result.accessTokenExpiresAt) state.accessTokenExpiresAt = result.accessTokenExpiresAt;
        else delete state.accessTokenExpiresAt;
        state.refreshCount++;
        this.refreshesThisRun++;
        state.lastRefreshAt = new Date().toISOString();
        state.status = 'active';
      } catch (err) {
        if (!isInvalidGrant(err)) {
          state.status = 'active';
          throw err;
        }
        state.status = 'reauth_required';
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  replaceTokens(replacement: { connectionId: string; accessTokenExpiresAt?: string; tokenVersion: number }): void {
    const { state } = this;
    if (replacement.connectionId !== state.connectionId) return;
    state.tokenVersion = replacement.tokenVersion;
    if (replacement.accessTokenExpiresAt) state.accessTokenExpiresAt = replacement.accessTokenExpiresAt;
    else delete state.accessTokenExpiresAt;
    this.changed = true;
  }

  freshToken(): FreshToken {
    const { state } = this;
    return {
      connectionId: state.connectionId,
      tokenVersion: state.tokenVersion,
      ...(state.accessTokenExpiresAt ? { accessTokenExpiresAt: state.accessTokenExpiresAt } : {}),
    };
  }

  /** The input of the next run: custody carries on from here. */
  nextRun(): TokenCustodyInput {
    const { state } = this;
    return {
      ...this.input,
      refreshCount: state.refreshCount,
      tokenVersion: state.tokenVersion,
      ...(state.accessTokenExpiresAt
        ? { accessTokenExpiresAt: state.accessTokenExpiresAt }
        : { accessTokenExpiresAt: undefined }),
    };
  }
}

export async function tokenCustody(input: TokenCustodyInput): Promise<CustodyResult> {
  const marginMs = msToNumber(input.refreshMargin);
  // Runs that started before `token-custody-cancellation` stopped where the cancel found them, without a trace.
  const handlesCancellation = patched('token-custody-cancellation');
  const custody = new Custody(
    input,
    marginMs,
    (handlesCancellation ? providerActsUntilStopped : providerActs).refreshConnectionTokens,
  );
  const { state } = custody;

  setHandler(stopCustodySignal, ({ reason }) => {
    custody.stopReason = reason;
  });
  setHandler(tokensReplacedSignal, (replacement) => custody.replaceTokens(replacement));
  setHandler(custodyStateQuery, () => state);
  setHandler(
    freshTokenUpdate,
    async ({ minValiditySeconds = 60 }): Promise<FreshToken> => {
      if (custody.expiresWithin(Math.max(minValiditySeconds * 1000, marginMs))) await custody.refresh();
      if (state.status === 'reauth_required') {
        throw failure('ReauthRequired', 'the provider revoked access: the person must reconnect');
      }
      return custody.freshToken();
    },
    {
      validator: ({ minValiditySeconds }) => {
        if (custody.ended())
          throw new Error(`custody of ${state.connectionId} has ended (${custody.stopReason ?? 'reauth required'})`);
        if (
          minValiditySeconds !== undefined &&
          (!Number.isInteger(minValiditySeconds) || minValiditySeconds < 0 || minValiditySeconds > 86_400)
        ) {
          throw new Error('minValiditySeconds is a whole number of seconds from 0 to 86400');
        }
      },
    },
  );

  try {
    recordStage('active');
    while (!custody.ended()) {
      custody.changed = false;
      const wake = () => custody.ended() || custody.changed;
      // A token without an expiry needs no refresh: wait for a signal. Otherwise wake at the refresh time.
      const due = custody.untilRefreshDue();
      const woken = due === undefined ? (await condition(wake), true) : await condition(wake, due);
      if (custody.ended()) break;
      if (woken) continue;
      try {
        await custody.refresh();
      } catch {
        // The provider stayed down beyond the activity's retries: keep custody and try again later.
        await sleep(outageBackoff);
      }
      if (
        !custody.needsReauth() &&
        (workflowInfo().continueAsNewSuggested || custody.refreshesThisRun >= refreshesPerRun)
      ) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof tokenCustody>(custody.nextRun());
      }
    }

    if (custody.needsReauth()) {
      recordStage('reauth_required');
      const { workflowId } = workflowInfo();
      await accounts.setConnectionStatus({
        accountId: input.accountId,
        connectionId: state.connectionId,
        status: 'reauth_required',
      });
      await records.appendAuditEvent({
        eventId: `${workflowId}/${state.connectionId}/reauth_required/${state.refreshCount}`,
        action: 'provider.reauth_required',
        actor: { type: 'system', id: 'token-custody' },
        accountId: input.accountId,
        workflowId,
        details: { provider: input.provider, connectionId: state.connectionId },
      });
      await records.queueAccountNotice({
        accountId: input.accountId,
        template: 'provider-reauth-required',
        data: { provider: input.provider },
        idempotencyKey: `${state.connectionId}/reauth_required/${state.refreshCount}`,
      });
      await condition(allHandlersFinished);
      return { status: 'reauth_required', refreshCount: state.refreshCount };
    }
    state.status = 'stopped';
    recordStage('stopped');
    await condition(allHandlersFinished);
    return { status: 'stopped', refreshCount: state.refreshCount };
  } catch (err) {
    // A refresh that ran on to its end after the cancel may still fail: custody was cancelled all the same.
    if (!handlesCancellation || !(isCancellation(err) || CancellationScope.current().consideredCancelled)) throw err;
    custody.stopReason ??= 'cancelled';
    recordStage('cancelled');
    // The workflow's own scope is cancelled: only a non-cancellable one still waits, and reaches the audit log.
    await CancellationScope.nonCancellable(async () => {
      await custody.refreshSettled();
      if (!custody.needsReauth()) state.status = 'stopped';
      const { workflowId, runId } = workflowInfo();
      await records.appendAuditEvent({
        eventId: `${workflowId}/${runId}/token_custody_cancelled`,
        action: 'provider.token_custody_cancelled',
        actor: { type: 'system', id: 'token-custody' },
        accountId: input.accountId,
        workflowId,
        details: {
          provider: input.provider,
          connectionId: state.connectionId,
          tokenVersion: state.tokenVersion,
          refreshCount: state.refreshCount,
        },
      });
      await condition(allHandlersFinished);
    });
    // Rethrown (a cancellation), so Temporal shows the run as cancelled.
    throw isCancellation(err) ? err : new CancelledFailure('token custody was cancelled');
  }
}
