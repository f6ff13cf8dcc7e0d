/**
 * Token custody: `tokens/<accountId>/<provider>`, one per connection, so there is exactly one refresher.
 * It refreshes the access token a margin before it expires, hands out fresh token versions to whoever
 * asks (the `freshToken` update), and on `invalid_grant` marks the connection `reauth_required`, tells
 * the person, and stops — it never retries a revoked grant.
 */
import { ActivityFailure, ApplicationFailure, msToNumber } from '@temporalio/common';
import {
  allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, sleep, workflowInfo,
} from '@temporalio/workflow';
import type { createAccountActivities } from '../../activities/accounts/activities.js';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createNotifyActivities } from '../../activities/notify/activities.js';
import type { createProviderActivities } from '../../activities/providers/activities.js';
import { activityOptions } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import {
  custodyStateQuery, freshTokenUpdate, stopCustodySignal, tokensReplacedSignal,
  type CustodyResult, type CustodyState, type FreshToken, type TokenCustodyInput,
} from './messages.js';
import { failure, failureTypes } from '../../domain/failures.js';

const providerActs = proxyActivities<ReturnType<typeof createProviderActivities>>(activityOptions.providers);
const accounts = proxyActivities<ReturnType<typeof createAccountActivities>>(activityOptions.accounts);
const records = proxyActivities<ReturnType<typeof createNotifyActivities> & ReturnType<typeof createAuditActivities>>(activityOptions.records);

/** Refreshes in one run before it continues as new, so history stays small even for tokens that never fail. */
const refreshesPerRun = 200;
/** After a provider outage outlasts the activity's retries, wait this long before trying again. */
const outageBackoff = '5 minutes';

function isInvalidGrant(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && (cause.type === failureTypes.InvalidGrant || cause.type === failureTypes.TokensMissing);
}

export async function tokenCustody(input: TokenCustodyInput): Promise<CustodyResult> {
  const marginMs = msToNumber(input.refreshMargin);
  const state: CustodyState = {
    connectionId: input.connectionId,
    status: 'active',
    tokenVersion: input.tokenVersion ?? 1,
    refreshCount: input.refreshCount ?? 0,
    ...(input.accessTokenExpiresAt ? { accessTokenExpiresAt: input.accessTokenExpiresAt } : {}),
  };
  let stopReason: string | undefined;
  let changed = false;
  let refreshesThisRun = 0;
  let inflight: Promise<void> | undefined;

  // A function, not an inline comparison: handlers change `state.status` between awaits.
  const needsReauth = () => state.status === 'reauth_required';
  const expiresWithin = (ms: number) => state.accessTokenExpiresAt !== undefined && Date.parse(state.accessTokenExpiresAt) - Date.now() <= ms;

  /** One refresh at a time: the main loop and `freshToken` callers share it. */
  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      state.status = 'refreshing';
      try {
        const result = await providerActs.refreshConnectionTokens({ connectionId: state.connectionId });
        state.tokenVersion = result.version;
        if (result.accessTokenExpiresAt) state.accessTokenExpiresAt = result.accessTokenExpiresAt;
        else delete state.accessTokenExpiresAt;
        state.refreshCount++;
        refreshesThisRun++;
        state.lastRefreshAt = new Date().toISOString();
        state.status = 'active';
      } catch (err) {
        if (!isInvalidGrant(err)) {
          state.status = 'active';
          throw err;
        }
        state.status = 'reauth_required';
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  setHandler(stopCustodySignal, ({ reason }) => {
    stopReason = reason;
  });
  setHandler(tokensReplacedSignal, (replacement) => {
    if (replacement.connectionId !== state.connectionId) return;
    state.tokenVersion = replacement.tokenVersion;
    if (replacement.accessTokenExpiresAt) state.accessTokenExpiresAt = replacement.accessTokenExpiresAt;
    else delete state.accessTokenExpiresAt;
    changed = true;
  });
  setHandler(custodyStateQuery, () => state);
  setHandler(
    freshTokenUpdate,
    async ({ minValiditySeconds = 60 }): Promise<FreshToken> => {
      if (expiresWithin(Math.max(minValiditySeconds * 1000, marginMs))) await refresh();
      if (state.status === 'reauth_required') {
        throw failure('ReauthRequired', 'the provider revoked access: the person must reconnect');
      }
      return { connectionId: state.connectionId, tokenVersion: state.tokenVersion, ...(state.accessTokenExpiresAt ? { accessTokenExpiresAt: state.accessTokenExpiresAt } : {}) };
    },
    {
      validator: ({ minValiditySeconds }) => {
        if (stopReason !== undefined || state.status === 'reauth_required') throw new Error(`custody of ${state.connectionId} has ended (${stopReason ?? 'reauth required'})`);
        if (minValiditySeconds !== undefined && (!Number.isInteger(minValiditySeconds) || minValiditySeconds < 0 || minValiditySeconds > 86_400)) {
          throw new Error('minValiditySeconds is a whole number of seconds from 0 to 86400');
        }
      },
    },
  );

  recordStage('active');
  while (stopReason === undefined && !needsReauth()) {
    changed = false;
    const wake = () => stopReason !== undefined || changed || needsReauth();
    // A token without an expiry needs no refresh: wait for a signal. Otherwise wake at the refresh time.
    const woken = state.accessTokenExpiresAt === undefined
      ? (await condition(wake), true)
      : await condition(wake, Math.max(1, Date.parse(state.accessTokenExpiresAt) - marginMs - Date.now()));
    if (stopReason !== undefined || needsReauth()) break;
    if (woken) continue;
    try {
      await refresh();
    } catch {
      // The provider stayed down beyond the activity's retries: keep custody and try again later.
      await sleep(outageBackoff);
    }
    if (!needsReauth() && (workflowInfo().continueAsNewSuggested || refreshesThisRun >= refreshesPerRun)) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof tokenCustody>({
        ...input,
        refreshCount: state.refreshCount,
        tokenVersion: state.tokenVersion,
        ...(state.accessTokenExpiresAt ? { accessTokenExpiresAt: state.accessTokenExpiresAt } : { accessTokenExpiresAt: undefined }),
      });
    }
  }

  if (needsReauth()) {
    recordStage('reauth_required');
    const { workflowId } = workflowInfo();
    await accounts.setConnectionStatus({ accountId: input.accountId, connectionId: state.connectionId, status: 'reauth_required' });
    await records.appendAuditEvent({
      eventId: `${workflowId}/${state.connectionId}/reauth_required/${state.refreshCount}`, action: 'provider.reauth_required',
      actor: { type: 'system', id: 'token-custody' }, accountId: input.accountId, workflowId, details: { provider: input.provider, connectionId: state.connectionId },
    });
    await records.queueAccountNotice({
      accountId: input.accountId, template: 'provider-reauth-required', data: { provider: input.provider },
      idempotencyKey: `${state.connectionId}/reauth_required/${state.refreshCount}`,
    });
    await condition(allHandlersFinished);
    return { status: 'reauth_required', refreshCount: state.refreshCount };
  }
  state.status = 'stopped';
  recordStage('stopped');
  await condition(allHandlersFinished);
  return { status: 'stopped', refreshCount: state.refreshCount };
}
