/**
 * Link a provider: `link/<accountId>/<provider>`. The API starts it with the `beginLink` update (PKCE,
 * state, nonce — made and kept by an activity), the OAuth callback delivers the outcome with the
 * `linkCallback` update, and the workflow exchanges the code, reads the profile, checks conflicts, stores
 * the tokens encrypted, adds the connection, links the identity, audits, and starts token custody.
 * A provider account already linked to another person waits for a support decision; nothing moves silently.
 */
import { ActivityFailure, WorkflowExecutionAlreadyStartedError, msToNumber } from '@temporalio/common';
import {
  condition, getExternalWorkflowHandle, ParentClosePolicy, patched, proxyActivities, setHandler, startChild, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { createAccountActivities } from '../../activities/accounts/activities.js';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createIdentityActivities } from '../../activities/identity/activities.js';
import type { createNotifyActivities } from '../../activities/notify/activities.js';
import type { createProviderActivities, LinkedProfile } from '../../activities/providers/activities.js';
import type { createRetentionActivities } from '../../activities/records/retention.js';
import type { createSyncControlActivities } from '../../activities/sync/control.js';
import { workflowIds } from '../../domain/ids.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { syncProvider } from '../sync/sync-provider.js';
import { activityOptions, identityQueueOf, searchAttributes } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import { stopCustodySignal, tokensReplacedSignal, type TokenCustodyInput } from '../tokens/messages.js';
import { tokenCustody } from '../tokens/token-custody.js';
import {
  actorMismatchError, beginLinkUpdate, linkCallbackUpdate, linkStateQuery, supportDecisionSignal,
  type LinkCallback, type LinkInput, type LinkOutcome, type LinkStage, type LinkState, type SupportDecision,
} from './messages.js';

const providerActs = proxyActivities<ReturnType<typeof createProviderActivities>>(activityOptions.providers);
const syncControl = proxyActivities<ReturnType<typeof createSyncControlActivities>>(activityOptions.records);
const retention = proxyActivities<ReturnType<typeof createRetentionActivities>>({ ...activityOptions.records, startToCloseTimeout: '5 minutes' });
const accounts = proxyActivities<ReturnType<typeof createAccountActivities>>(activityOptions.accounts);
const records = proxyActivities<ReturnType<typeof createNotifyActivities> & ReturnType<typeof createAuditActivities>>(activityOptions.records);

const defaultSupportDecisionWait = '14 days';

/** Why an activity failed, in words safe to show the person (failure messages never hold secrets). */
function failureDetail(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : 'the provider exchange failed';
}

export async function linkProvider(input: LinkInput): Promise<LinkOutcome> {
  const { accountId, provider } = input;
  const { workflowId, taskQueue } = workflowInfo();
  const identity = proxyActivities<ReturnType<typeof createIdentityActivities>>({ ...activityOptions.identity, taskQueue: identityQueueOf(taskQueue) });
  const ttlMs = msToNumber(input.attemptTtl);
  const state: LinkState = { stage: 'awaiting_callback', provider };
  let attempt: { attemptId: string; seq: number } | undefined;
  let callback: LinkCallback | undefined;
  let callbackAnswer: LinkOutcome | undefined;
  let decision: SupportDecision | undefined;

  const enter = (stage: LinkStage) => {
    state.stage = stage;
    recordStage(stage);
  };
  const finish = async (outcome: LinkOutcome, stage: LinkStage): Promise<LinkOutcome> => {
    state.outcome = outcome;
    callbackAnswer ??= outcome;
    enter(stage);
    return outcome;
  };
  const audit = (action: string, details: Record<string, string | boolean>, actor: { type: 'user' | 'system' | 'support'; id: string } = { type: 'user', id: input.subject }, onAccount = accountId) =>
    records.appendAuditEvent({ eventId: `${workflowId}/${workflowInfo().runId}/${action}/${onAccount}`, action, actor, accountId: onAccount, workflowId, details: { provider, ...details } });

  setHandler(
    beginLinkUpdate,
    async ({ scopes, redirect }) => {
      const begun: { attemptId: string; expiresAt: string; authorizationUrl?: string } = await providerActs.beginLinkAttempt({
        workflowId, accountId, provider, scopes: scopes ?? input.scopes, ttlMs, ...(redirect ? { redirect } : {}),
      });
      attempt = { attemptId: begun.attemptId, seq: (attempt?.seq ?? 0) + 1 };
      // The state stays out of history: the API reads the URL from the attempt record (encrypted there).
      if (patched('link-url-off-history')) return { attemptId: begun.attemptId, expiresAt: begun.expiresAt };
      return { authorizationUrl: begun.authorizationUrl!, expiresAt: begun.expiresAt };
    },
    {
      validator: (_request) => {
        if (callback || state.outcome) throw new Error('this link is past the authorization step; start a new one when it has finished');
      },
    },
  );
  setHandler(
    linkCallbackUpdate,
    async (delivered) => {
      callback = delivered;
      await condition(() => callbackAnswer !== undefined);
      return callbackAnswer!;
    },
    {
      validator: (delivered) => {
        if (!attempt || delivered.attemptId !== attempt.attemptId) throw new Error('this authorization response belongs to an older or unknown link attempt');
        if (callback) throw new Error('this authorization response was already delivered');
      },
    },
  );
  // A decision only counts while the workflow waits for one; the first one wins.
  setHandler(supportDecisionSignal, (d) => {
    if (state.stage === 'awaiting_support') decision ??= d;
  });
  setHandler(linkStateQuery, () => state);

  // Update-with-start delivers `beginLink` with the first task; every new attempt restarts the clock.
  let seen = 0;
  while (!callback) {
    const arrived = await condition(() => callback !== undefined || (attempt?.seq ?? 0) !== seen, ttlMs);
    if (!arrived) {
      if (attempt) await providerActs.discardLinkAttempt({ attemptId: attempt.attemptId });
      return finish({ status: 'expired', detail: 'no answer came back from the provider in time; nothing was stored' }, 'expired');
    }
    seen = attempt?.seq ?? 0;
  }
  const { attemptId } = attempt!;
  if (callback.outcome === 'error' && callback.error === actorMismatchError) {
    // The answer came back to another account than this one (a CSRF or a leaked authorization URL): spent, nothing linked.
    await providerActs.discardLinkAttempt({ attemptId });
    await audit('provider.link_actor_mismatch', { error: actorMismatchError, ...(callback.broughtBy ? { broughtBy: callback.broughtBy } : {}) });
    return finish({ status: 'denied', detail: 'this connection was started from another account; nothing was linked' }, 'denied');
  }
  if (callback.outcome === 'error') {
    await providerActs.discardLinkAttempt({ attemptId });
    await audit('provider.link_refused', { error: callback.error ?? 'unknown' });
    return finish({ status: 'denied', detail: `the provider answered ${callback.error ?? 'with an error'}; nothing was stored` }, 'denied');
  }

  enter('exchanging');
  let profile: LinkedProfile;
  try {
    profile = await providerActs.completeLinkExchange({ attemptId });
  } catch (err) {
    await providerActs.discardLinkAttempt({ attemptId });
    await audit('provider.link_failed', { reason: failureDetail(err) });
    return finish({ status: 'failed', detail: `${failureDetail(err)}; nothing was stored` }, 'failed');
  }

  enter('checking_conflicts');
  const owner = await accounts.findConnectionOwner({ provider, providerAccountId: profile.providerAccountId });
  if (owner.accountId === accountId) {
    await providerActs.discardLinkAttempt({ attemptId });
    return finish({ status: 'already_linked', connectionId: owner.connectionId ?? profile.connectionId, detail: 'this provider account is already connected to your account' }, 'already_linked');
  }
  if (owner.accountId) {
    state.conflictingAccountId = owner.accountId;
    callbackAnswer = { status: 'pending_review', detail: 'this provider account is connected to another account; support will review the request' };
    enter('awaiting_support');
    upsertSearchAttributes([{ key: searchAttributes.needsApproval, value: true }]);
    await audit('provider.link_conflict', { otherAccountId: owner.accountId });
    const decided = await condition(() => decision !== undefined, input.supportDecisionWait ?? defaultSupportDecisionWait);
    upsertSearchAttributes([{ key: searchAttributes.needsApproval, value: false }]);
    if (!decided || decision!.decision === 'deny') {
      await providerActs.discardLinkAttempt({ attemptId });
      if (decided) await audit('provider.link_conflict_denied', { approver: decision!.approver, reason: decision!.reason }, { type: 'support', id: decision!.approver });
      return finish({ status: 'conflict_denied', detail: decided ? `support declined: ${decision!.reason}` : 'no support decision in time; nothing was stored' }, 'conflict_denied');
    }
    // Approved: the provider account moves here. The other account loses it, with a record of who decided.
    const { approver, reason } = decision!;
    await accounts.removeConnectedProvider({ accountId: owner.accountId, connectionId: owner.connectionId! });
    await providerActs.revokeConnectionTokens({ connectionId: owner.connectionId!, atProvider: false });
    await getExternalWorkflowHandle(workflowIds.tokens(owner.accountId, provider)).signal(stopCustodySignal, { reason: 'moved to another account by support' }).catch(() => undefined);
    await audit('provider.unlinked', { movedTo: accountId, approver, reason }, { type: 'support', id: approver }, owner.accountId);
    await audit('provider.link_conflict_approved', { otherAccountId: owner.accountId, approver, reason }, { type: 'support', id: approver });
  }

  enter('linking');
  const { version } = await providerActs.activateConnectionTokens({ attemptId, connectionId: profile.connectionId });
  const directory = await identity.linkDirectoryIdentity({ subject: input.subject, provider, providerAccountId: profile.providerAccountId });
  await accounts.addConnectedProvider({
    accountId,
    node: {
      provider, providerAccountId: profile.providerAccountId, connectionId: profile.connectionId, scopes: profile.scopes, status: 'active',
      ...(profile.email ? { email: profile.email } : {}), ...(profile.displayName ? { displayName: profile.displayName } : {}),
      connectedAt: new Date().toISOString(), directoryLinked: directory.linked,
      linkOrigin: { workflowId, requestedBy: input.subject },
    },
  });
  await audit('provider.linked', { connectionId: profile.connectionId, providerAccountId: profile.providerAccountId, directoryLinked: directory.linked, scopes: profile.scopes.join(' ') });
  const noticeKey = `${profile.connectionId}/linked/${workflowInfo().runId}`;
  const providerAccount = profile.displayName ?? profile.email ?? profile.providerAccountId;
  if (patched('link-undo-notice')) {
    // The notice carries an undo link; its token is made inside the activity, so history never holds it.
    await providerActs.queueLinkedNotice({ accountId, provider, connectionId: profile.connectionId, providerAccountId: profile.providerAccountId, providerAccount, idempotencyKey: noticeKey });
  } else {
    await records.queueAccountNotice({ accountId, template: 'provider-linked', idempotencyKey: noticeKey, data: { providerName: provider, providerAccount } });
  }

  const custody: TokenCustodyInput = {
    accountId, provider, connectionId: profile.connectionId, refreshMargin: input.tokenRefreshMargin, tokenVersion: version,
    ...(profile.accessTokenExpiresAt ? { accessTokenExpiresAt: profile.accessTokenExpiresAt } : {}),
  };
  try {
    await startChild(tokenCustody, {
      workflowId: workflowIds.tokens(accountId, provider),
      args: [custody],
      // Custody outlives the link workflow: it runs for as long as the connection does.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: searchAttributes.accountId, value: accountId },
        { key: searchAttributes.process, value: 'tokens' },
        { key: searchAttributes.provider, value: provider },
        { key: searchAttributes.stage, value: 'active' },
        { key: searchAttributes.needsApproval, value: false },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // A relink: the running custodian takes over the new tokens.
    await getExternalWorkflowHandle(workflowIds.tokens(accountId, provider)).signal(tokensReplacedSignal, {
      connectionId: profile.connectionId, tokenVersion: version, ...(profile.accessTokenExpiresAt ? { accessTokenExpiresAt: profile.accessTokenExpiresAt } : {}),
    });
  }
  // Records kept at an earlier disconnect belong to this connection again (verified origins only).
  await retention.reattachDetachedRecords({ accountId, connectionId: profile.connectionId, workflowId });
  // Data: a schedule repeats the sync; the first one starts now, on its own (ABANDON), joined if running.
  if (providerCatalog[provider].dataKinds.length > 0) {
    await syncControl.ensureSyncSchedule({ accountId, provider, connectionId: profile.connectionId });
    try {
      await startChild(syncProvider, {
        workflowId: workflowIds.sync(accountId, provider),
        args: [{ accountId, provider, connectionId: profile.connectionId, ...input.sync }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: searchAttributes.accountId, value: accountId },
          { key: searchAttributes.process, value: 'sync' },
          { key: searchAttributes.provider, value: provider },
          { key: searchAttributes.stage, value: 'syncing' },
          { key: searchAttributes.needsApproval, value: false },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  return finish({ status: 'linked', connectionId: profile.connectionId, detail: `${provider} is connected` }, 'linked');
}
