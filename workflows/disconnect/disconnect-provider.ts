/**
 * Disconnect a provider: `disconnect/<accountId>/<provider>`. Claims the connection (never the last way to
 * sign in), stops its syncs and its token custodian, revokes the tokens at the provider and deletes them,
 * unlinks the identity in the directory, then deletes the connection's records or keeps them `detached` —
 * acting only on records whose origin verifies and reporting the rest to support — and finally removes the
 * connection from the account, audits and tells the person.
 * Cancelled: the step in flight ends first, the connection stays claimed (a new disconnect finishes the job
 * where this one stopped), the audit log says which stage it reached, and the run ends cancelled.
 */
import { ActivityCancellationType, ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createAccountActivities } from '../../activities/accounts/activities.js';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createDisconnectActivities } from '../../activities/disconnect/activities.js';
import type { createIdentityActivities } from '../../activities/identity/activities.js';
import type { createNotifyActivities } from '../../activities/notify/activities.js';
import type { createProviderActivities } from '../../activities/providers/activities.js';
import type { createRetentionActivities } from '../../activities/records/retention.js';
import type { createSyncControlActivities } from '../../activities/sync/control.js';
import { workflowIds } from '../../domain/ids.js';
import { grantStaysNotice, providerCatalog } from '../../domain/provider-catalog.js';
import { activityOptions, identityQueueOf } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import { stopCustodySignal } from '../tokens/messages.js';
import {
  disconnectStateQuery,
  type DisconnectInput,
  type DisconnectResult,
  type DisconnectStage,
  type DisconnectState,
} from './messages.js';
import { failureTypes } from '../../domain/failures.js';

const accounts = proxyActivities<
  ReturnType<typeof createAccountActivities> & ReturnType<typeof createDisconnectActivities>
>(activityOptions.accounts);
const providerActs = proxyActivities<ReturnType<typeof createProviderActivities>>(activityOptions.providers);
const records = proxyActivities<ReturnType<typeof createNotifyActivities> & ReturnType<typeof createAuditActivities>>(
  activityOptions.records,
);
// A batch verifies up to 500 origin MACs (each a Vault call in production): more time than a single write.
const retentionActs = proxyActivities<ReturnType<typeof createRetentionActivities>>({
  ...activityOptions.records,
  startToCloseTimeout: '2 minutes',
});
// Listing and cancelling syncs, and waiting for the custodian, talk to Temporal itself.
const syncControl = proxyActivities<ReturnType<typeof createSyncControlActivities>>({
  ...activityOptions.accounts,
  startToCloseTimeout: '2 minutes',
});
const custody = proxyActivities<ReturnType<typeof createDisconnectActivities>>({
  ...activityOptions.accounts,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
});
// After `disconnect-cancellation`, a cancelled disconnect waits for a retention batch or the custodian wait in
// flight to end, so its audit entry counts every record it changed and nothing of it is still running.
const untilStopped = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } as const;
const retentionActsUntilStopped = proxyActivities<ReturnType<typeof createRetentionActivities>>({
  ...activityOptions.records,
  startToCloseTimeout: '2 minutes',
  ...untilStopped,
});
const custodyUntilStopped = proxyActivities<ReturnType<typeof createDisconnectActivities>>({
  ...activityOptions.accounts,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  ...untilStopped,
});
// After `retention-heartbeat`, the retention steps heartbeat: one lost with a killed worker is tried again once
// 30 s pass without a beat, instead of when its 2-minute start-to-close runs out.
const retentionActsBeating = proxyActivities<ReturnType<typeof createRetentionActivities>>({
  ...activityOptions.records,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  ...untilStopped,
});

/** A permanent directory refusal (the retries are over): the disconnect goes on without the unlink. */
function isPermanentIdentityFailure(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return (
    cause instanceof ApplicationFailure &&
    (cause.type === failureTypes.IdentityRejected || cause.type === failureTypes.IdentityNotFound)
  );
}

export async function disconnectProvider(input: DisconnectInput): Promise<DisconnectResult> {
  const { accountId, provider, retention } = input;
  const { workflowId, runId, taskQueue } = workflowInfo();
  const identity = proxyActivities<ReturnType<typeof createIdentityActivities>>({
    ...activityOptions.identity,
    taskQueue: identityQueueOf(taskQueue),
  });
  const providerName = providerCatalog[provider].displayName;
  const state: DisconnectState = { stage: 'checking', provider, retention, deleted: 0, detached: 0, invalid: 0 };
  setHandler(disconnectStateQuery, () => state);

  const enter = (stage: DisconnectStage) => {
    state.stage = stage;
    recordStage(stage);
  };
  const result = (status: DisconnectResult['status'], extra: Partial<DisconnectResult> = {}): DisconnectResult => ({
    status,
    retention,
    connectionIds: [],
    revokedAtProvider: false,
    unlinked: false,
    deleted: state.deleted,
    detached: state.detached,
    invalid: state.invalid,
    ...extra,
  });
  const finish = (outcome: DisconnectResult, stage: DisconnectStage): DisconnectResult => {
    state.result = outcome;
    enter(stage);
    return outcome;
  };
  const audit = (
    action: string,
    details: Record<string, string | number | boolean>,
    actor: { type: 'user' | 'system'; id: string } = { type: 'user', id: input.requestedBy },
  ) =>
    records.appendAuditEvent({
      eventId: `${workflowId}/${runId}/${action}`,
      action,
      actor,
      accountId,
      workflowId,
      details: { provider, ...details },
    });

  // Runs that started before `disconnect-cancellation` stopped where the cancel found them, without a trace.
  const handlesCancellation = patched('disconnect-cancellation');
  // Runs that started before `retention-heartbeat` waited out a lost retention step's start-to-close.
  const retentionBeats = patched('retention-heartbeat');
  const retentionSteps = retentionBeats
    ? retentionActsBeating
    : handlesCancellation
      ? retentionActsUntilStopped
      : retentionActs;
  const custodySteps = handlesCancellation ? custodyUntilStopped : custody;
  // Deleted from the connection under way, until its count is taken (a cancel in between still reports them).
  let deletedSinceCount = 0;

  try {
    enter('checking');
    await audit('provider.disconnect_requested', { retention });
    // Checked again here, atomically with the claim: the API's check may be stale by now.
    const claim = await accounts.claimDisconnect({ accountId, provider });
    if (claim.outcome === 'not_connected') {
      return finish(
        result('not_connected', { detail: `${providerName} is not connected; nothing changed` }),
        'not_connected',
      );
    }
    if (claim.outcome === 'last_login_method') {
      await audit('provider.disconnect_refused', { reason: 'last_login_method' });
      return finish(
        result('refused', {
          detail: `${providerName} is the only way left to sign in to this account; connect another way first`,
        }),
        'refused',
      );
    }
    const { connections, subject } = claim;

    enter('stopping_sync');
    const syncs = await syncControl.stopSyncs({ accountId, provider });
    const custodyId = workflowIds.tokens(accountId, provider);
    // Not found: custody already ended (reauth required, or never started).
    await getExternalWorkflowHandle(custodyId)
      .signal(stopCustodySignal, { reason: 'disconnected' })
      .catch(() => undefined);
    // A refresh under way could otherwise write tokens back after they are deleted.
    await custodySteps.awaitCustodyStopped({ workflowId: custodyId });

    enter('revoking');
    let revokedAtProvider = false;
    for (const c of connections) {
      const revoked = await providerActs.revokeConnectionTokens({ connectionId: c.connectionId, atProvider: true });
      revokedAtProvider ||= revoked.revokedAtProvider;
    }

    enter('unlinking');
    let unlinked = false;
    for (const c of connections.filter((n) => n.directoryLinked)) {
      try {
        unlinked =
          (await identity.unlinkDirectoryIdentity({ subject, provider, providerAccountId: c.providerAccountId }))
            .unlinked || unlinked;
      } catch (err) {
        if (!isPermanentIdentityFailure(err)) throw err;
        // Tokens are gone already: finish the disconnect, and leave a trace of what the directory refused.
        await audit('provider.unlink_failed', { connectionId: c.connectionId }, { type: 'system', id: 'disconnect' });
      }
    }

    if (syncs.cancelled > 0) {
      // A cancelled sync's page already in flight still lands (its activity runs on to the end, bounded by its
      // start-to-close timeout); retaining before then could leave records of this connection behind.
      enter('waiting_for_sync');
      await sleep(activityOptions.sync.startToCloseTimeout);
    }

    enter(retention === 'delete' ? 'deleting_records' : 'detaching_records');
    for (const c of connections) {
      const before = await retentionSteps.countConnectionRecords({ connectionId: c.connectionId });
      let afterId: string | undefined;
      do {
        const batch = await retentionSteps.applyRetentionBatch({
          accountId,
          provider,
          connectionId: c.connectionId,
          retention,
          workflowId,
          runId,
          ...(afterId ? { afterId } : {}),
        });
        state.detached += batch.detached;
        state.invalid += batch.invalid;
        deletedSinceCount += batch.deleted;
        afterId = batch.nextAfterId;
      } while (afterId !== undefined);
      // Counted from what is left, so a batch retried after its delete still counts exactly.
      if (retention === 'delete')
        state.deleted +=
          before.total - (await retentionSteps.countConnectionRecords({ connectionId: c.connectionId })).total;
      deletedSinceCount = 0;
    }
    if (state.invalid > 0) {
      enter('reporting');
      await retentionSteps.reportInvalidOrigins({ accountId, provider, workflowId, runId, invalid: state.invalid });
    }

    enter('removing');
    for (const c of connections) await accounts.removeConnectedProvider({ accountId, connectionId: c.connectionId });
    // Catalog data only: the same on replay.
    const grantNotice = grantStaysNotice(providerCatalog[provider], revokedAtProvider);
    const grantSettingsUrl = grantNotice ? providerCatalog[provider].grantSettingsUrl : undefined;
    const outcome = result('disconnected', {
      connectionIds: connections.map((c) => c.connectionId),
      revokedAtProvider,
      unlinked,
      detail: grantNotice ? `${providerName} is disconnected. ${grantNotice}` : `${providerName} is disconnected`,
      ...(grantNotice ? { grantNotice } : {}),
      ...(grantSettingsUrl ? { grantSettingsUrl } : {}),
    });
    await audit('provider.disconnected', {
      retention,
      connectionIds: outcome.connectionIds.join(' '),
      revokedAtProvider,
      unlinked,
      deleted: state.deleted,
      detached: state.detached,
      invalid: state.invalid,
    });
    await records.queueAccountNotice({
      accountId,
      template: 'provider-disconnected',
      idempotencyKey: `${workflowId}/${runId}/disconnected`,
      data: {
        providerName,
        retention,
        revokedAtProvider,
        ...(grantNotice ? { grantNotice } : {}),
        deleted: state.deleted,
        detached: state.detached,
        invalid: state.invalid,
      },
    });
    return finish(outcome, 'disconnected');
  } catch (err) {
    // A step that ran on to its end after the cancel may still fail: the run was cancelled all the same.
    if (!handlesCancellation || !(isCancellation(err) || CancellationScope.current().consideredCancelled)) throw err;
    const reached = state.stage;
    enter('cancelled');
    // The workflow's own scope is cancelled: only a non-cancellable one still reaches the audit log.
    await CancellationScope.nonCancellable(() =>
      audit(
        'provider.disconnect_cancelled',
        {
          retention,
          stage: reached,
          deleted: state.deleted + deletedSinceCount,
          detached: state.detached,
          invalid: state.invalid,
        },
        { type: 'system', id: 'disconnect' },
      ),
    );
    // Rethrown (a cancellation), so Temporal shows the run as cancelled.
    throw isCancellation(err) ? err : new CancelledFailure('the disconnect was cancelled');
  }
}
