/**
 * Link a provider: `link/<accountId>/<provider>`. The API starts it with the `beginLink` update (PKCE,
 * state, nonce — made and kept by an activity), the OAuth callback delivers the outcome with the
 * `linkCallback` update, and the workflow exchanges the code, reads the profile, checks conflicts, stores
 * the tokens encrypted, adds the connection, links the identity, audits, and starts token custody.
 * A provider account already linked to another person waits for a support decision; nothing moves silently.
 * Cancelled before the link is decided: the exchange under way ends first, the attempt is discarded with
 * whatever it obtained, the callback is answered (not connected: cancelled), and the run ends cancelled. Once support has
 * approved a move or the linking has begun, the link runs to its end: its steps are never left half-done.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  CancelledFailure,
  WorkflowExecutionAlreadyStartedError,
  msToNumber,
} from '@temporalio/common';
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConnectionOwner, createAccountActivities } from '../../activities/accounts/activities.js';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createIdentityActivities } from '../../activities/identity/activities.js';
import type { createNotifyActivities } from '../../activities/notify/activities.js';
import type { createProviderActivities, LinkedProfile } from '../../activities/providers/activities.js';
import type { createRetentionActivities } from '../../activities/records/retention.js';
import type { createSyncControlActivities } from '../../activities/sync/control.js';
import { workflowIds } from '../../domain/ids.js';
import { approvedByVerifiedEmail } from '../../domain/link-evidence.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { syncProvider } from '../sync/sync-provider.js';
import { activityOptions, identityQueueOf, searchAttributes, searchAttributesFor } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import { stopCustodySignal, tokensReplacedSignal, type TokenCustodyInput } from '../tokens/messages.js';
import { tokenCustody } from '../tokens/token-custody.js';
import {
  actorMismatchError,
  beginLinkUpdate,
  linkCallbackUpdate,
  linkStateQuery,
  supportDecisionSignal,
  type LinkCallback,
  type LinkInput,
  type LinkOutcome,
  type LinkStage,
  type LinkState,
  type SupportDecision,
} from './messages.js';

type ProviderActivities = ReturnType<typeof createProviderActivities>;
const providerActs = proxyActivities<ProviderActivities>(activityOptions.providers);
// After `link-cancellation`, a cancel waits for an exchange already running to end, so the tokens it obtained
// are in the attempt record when the attempt is discarded (and go with it).
const providerActsUntilStopped = proxyActivities<ProviderActivities>({
  ...activityOptions.providers,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const syncControl = proxyActivities<ReturnType<typeof createSyncControlActivities>>(activityOptions.records);
const retention = proxyActivities<ReturnType<typeof createRetentionActivities>>({
  ...activityOptions.records,
  startToCloseTimeout: '5 minutes',
});
const accounts = proxyActivities<ReturnType<typeof createAccountActivities>>(activityOptions.accounts);
const records = proxyActivities<ReturnType<typeof createNotifyActivities> & ReturnType<typeof createAuditActivities>>(
  activityOptions.records,
);

const defaultSupportDecisionWait = '14 days';
/** Providers the catalog once gave data kinds that are profile-only now (see `profile-only-providers`). */
const formerlySyncing: readonly string[] = ['linkedin', 'amazon', 'coderabbit'];

/** What one link run knows; handlers change it, validators read it synchronously. */
class Link {
  readonly state: LinkState;
  attempt: { attemptId: string; seq: number } | undefined;
  callback: LinkCallback | undefined;
  /** What the `linkCallback` update answers, once known. */
  callbackAnswer: LinkOutcome | undefined;
  decision: SupportDecision | undefined;

  constructor(provider: LinkState['provider']) {
    this.state = { stage: 'awaiting_callback', provider };
  }

  enter(stage: LinkStage): void {
    this.state.stage = stage;
    recordStage(stage);
  }
  finish(outcome: LinkOutcome, stage: LinkStage): LinkOutcome {
    this.state.outcome = outcome;
    this.callbackAnswer ??= outcome;
    this.enter(stage);
    return outcome;
  }
  /** A new authorization request: the wait for its callback starts again. */
  begun(attemptId: string): void {
    this.attempt = { attemptId, seq: (this.attempt?.seq ?? 0) + 1 };
  }
  pastAuthorization(): boolean {
    return this.callback !== undefined || this.state.outcome !== undefined;
  }
  /** Why a callback cannot be taken, if it cannot. */
  refusalOf(delivered: LinkCallback): string | undefined {
    if (!this.attempt || delivered.attemptId !== this.attempt.attemptId)
      return 'this authorization response belongs to an older or unknown link attempt';
    if (this.callback) return 'this authorization response was already delivered';
    return undefined;
  }
  /** A decision only counts while the workflow waits for one; the first one wins. */
  decide(d: SupportDecision): void {
    if (this.state.stage === 'awaiting_support') this.decision ??= d;
  }
}

/** Why an activity failed, in words safe to show the person (failure messages never hold secrets). */
function failureDetail(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : 'the provider exchange failed';
}

export async function linkProvider(input: LinkInput): Promise<LinkOutcome> {
  const { accountId, provider } = input;
  const { workflowId, taskQueue } = workflowInfo();
  const identity = proxyActivities<ReturnType<typeof createIdentityActivities>>({
    ...activityOptions.identity,
    taskQueue: identityQueueOf(taskQueue),
  });
  const ttlMs = msToNumber(input.attemptTtl);
  // Runs that started before `link-cancellation` stopped where the cancel found them, without a trace.
  const handlesCancellation = patched('link-cancellation');
  const exchange = handlesCancellation ? providerActsUntilStopped : providerActs;
  const link = new Link(provider);
  const { state } = link;

  const audit = (
    action: string,
    details: Record<string, string | boolean>,
    actor: { type: 'user' | 'system' | 'support'; id: string } = { type: 'user', id: input.subject },
    onAccount = accountId,
  ) =>
    records.appendAuditEvent({
      eventId: `${workflowId}/${workflowInfo().runId}/${action}/${onAccount}`,
      action,
      actor,
      accountId: onAccount,
      workflowId,
      details: { provider, ...details },
    });

  setHandler(
    beginLinkUpdate,
    async ({ scopes, redirect }) => {
      const begun: { attemptId: string; expiresAt: string; authorizationUrl?: string } =
        await providerActs.beginLinkAttempt({
          workflowId,
          accountId,
          provider,
          scopes: scopes ?? input.scopes,
          ttlMs,
          ...(redirect ? { redirect } : {}),
        });
      link.begun(begun.attemptId);
      // The state stays out of history: the API reads the URL from the attempt record (encrypted there).
      if (patched('link-url-off-history')) return { attemptId: begun.attemptId, expiresAt: begun.expiresAt };
      return { authorizationUrl: begun.authorizationUrl!, expiresAt: begun.expiresAt };
    },
    {
      validator: (_request) => {
        if (link.pastAuthorization())
          throw new Error('this link is past the authorization step; start a new one when it has finished');
      },
    },
  );
  setHandler(
    linkCallbackUpdate,
    async (delivered) => {
      link.callback = delivered;
      const answered = () => link.callbackAnswer !== undefined;
      // A cancelled link still answers the callback rather than leave the person without one.
      await (handlesCancellation ? CancellationScope.nonCancellable(() => condition(answered)) : condition(answered));
      return link.callbackAnswer!;
    },
    {
      validator: (delivered) => {
        const refusal = link.refusalOf(delivered);
        if (refusal) throw new Error(refusal);
      },
    },
  );
  setHandler(supportDecisionSignal, (d) => link.decide(d));
  setHandler(linkStateQuery, () => state);

  let profile: LinkedProfile | undefined;
  let owner: ConnectionOwner = {};
  // The provider account is this person's own sign-in: the link takes over its sign-in node.
  let ownSignIn = false;
  try {
    // Update-with-start delivers `beginLink` with the first task; every new attempt restarts the clock.
    let seen = 0;
    while (!link.callback) {
      const arrived = await condition(() => link.callback !== undefined || (link.attempt?.seq ?? 0) !== seen, ttlMs);
      if (!arrived) {
        if (link.attempt) await providerActs.discardLinkAttempt({ attemptId: link.attempt.attemptId });
        return link.finish(
          { status: 'expired', detail: 'no answer came back from the provider in time; nothing was stored' },
          'expired',
        );
      }
      seen = link.attempt?.seq ?? 0;
    }
    const { callback } = link;
    const { attemptId } = link.attempt!;
    if (callback.outcome === 'error' && callback.error === actorMismatchError) {
      // The answer came back to another account than this one (a CSRF or a leaked authorization URL): spent, nothing linked.
      await providerActs.discardLinkAttempt({ attemptId });
      await audit('provider.link_actor_mismatch', {
        error: actorMismatchError,
        ...(callback.broughtBy ? { broughtBy: callback.broughtBy } : {}),
      });
      return link.finish(
        { status: 'denied', detail: 'this connection was started from another account; nothing was linked' },
        'denied',
      );
    }
    if (callback.outcome === 'error') {
      await providerActs.discardLinkAttempt({ attemptId });
      await audit('provider.link_refused', { error: callback.error ?? 'unknown' });
      return link.finish(
        { status: 'denied', detail: `the provider answered ${callback.error ?? 'with an error'}; nothing was stored` },
        'denied',
      );
    }

    link.enter('exchanging');
    try {
      profile = await exchange.completeLinkExchange({ attemptId });
    } catch (err) {
      if (handlesCancellation && isCancellation(err)) throw err;
      await providerActs.discardLinkAttempt({ attemptId });
      await audit('provider.link_failed', { reason: failureDetail(err) });
      return link.finish({ status: 'failed', detail: `${failureDetail(err)}; nothing was stored` }, 'failed');
    }

    link.enter('checking_conflicts');
    // Root login identities count as taken (another person signs in with them), and a conflict carries the
    // verified-address evidence support reviews. Runs begun before saw connections only.
    const rootIdentityAware = patched('link-root-identity');
    owner = await accounts.findConnectionOwner({ provider, providerAccountId: profile.providerAccountId });
    if (!rootIdentityAware && owner.accountId && owner.connectionId === undefined) owner = {};
    ownSignIn = rootIdentityAware && owner.accountId === accountId && owner.signInOnly === true;
    if (owner.accountId === accountId && !ownSignIn) {
      await providerActs.discardLinkAttempt({ attemptId });
      return link.finish(
        {
          status: 'already_linked',
          connectionId: owner.connectionId ?? profile.connectionId,
          detail: 'this provider account is already connected to your account',
        },
        'already_linked',
      );
    }
    if (ownSignIn) owner = {};
    if (owner.accountId) {
      state.conflictingAccountId = owner.accountId;
      const otherSignsIn = rootIdentityAware && owner.rootIdentity === true;
      let autoApproved = false;
      if (rootIdentityAware) {
        const matches = await accounts.findVerifiedEmailMatches({
          accountId,
          emailVerified: profile.emailVerified,
          ...(profile.personal ? { personal: profile.personal } : {}),
        });
        state.conflict = {
          kind: otherSignsIn ? 'root_identity' : 'connection',
          verifiedEmailMatchesOther: matches.accountIds.includes(owner.accountId),
          verifiedEmailMatchesRequester: matches.requester,
          verifiedEmailAccountIds: matches.accountIds,
        };
        // Only when configured, and only towards the account whose verified address it carries.
        autoApproved = approvedByVerifiedEmail(state.conflict, input.autoApproveVerifiedEmail);
      }
      link.callbackAnswer = autoApproved
        ? undefined
        : {
            status: 'pending_review',
            detail: otherSignsIn
              ? 'another account signs in with this provider account; support will review the request'
              : 'this provider account is connected to another account; support will review the request',
          };
      if (!autoApproved) {
        link.enter('awaiting_support');
        upsertSearchAttributes([{ key: searchAttributes.needsApproval, value: true }]);
      }
      const { conflict } = state;
      await audit('provider.link_conflict', {
        otherAccountId: owner.accountId,
        ...(conflict
          ? {
              conflict: conflict.kind,
              verifiedEmailMatchesOther: conflict.verifiedEmailMatchesOther,
              verifiedEmailMatchesRequester: conflict.verifiedEmailMatchesRequester,
            }
          : {}),
      });
      if (autoApproved) {
        link.decision = {
          decision: 'approve',
          approver: 'link',
          reason: 'the provider account verified the address this account verified (LINK_AUTO_APPROVE_VERIFIED_EMAIL)',
        };
      }
      const decided =
        autoApproved ||
        (await condition(() => link.decision !== undefined, input.supportDecisionWait ?? defaultSupportDecisionWait));
      if (!autoApproved) upsertSearchAttributes([{ key: searchAttributes.needsApproval, value: false }]);
      const { decision } = link;
      if (!decided || decision!.decision === 'deny') {
        await providerActs.discardLinkAttempt({ attemptId });
        if (decided)
          await audit(
            'provider.link_conflict_denied',
            { approver: decision!.approver, reason: decision!.reason },
            { type: 'support', id: decision!.approver },
          );
        return link.finish(
          {
            status: 'conflict_denied',
            detail: decided
              ? `support declined: ${decision!.reason}`
              : 'no support decision in time; nothing was stored',
          },
          'conflict_denied',
        );
      }
    }
  } catch (err) {
    // A step that ran on to its end after the cancel may still fail: the link was cancelled all the same.
    if (!handlesCancellation || !(isCancellation(err) || CancellationScope.current().consideredCancelled)) throw err;
    const reached = state.stage;
    // The workflow's own scope is cancelled: only a non-cancellable one still reaches the activities.
    await CancellationScope.nonCancellable(async () => {
      if (reached === 'awaiting_support')
        upsertSearchAttributes([{ key: searchAttributes.needsApproval, value: false }]);
      // The attempt goes with its verifier, its code and any tokens the exchange obtained.
      if (link.attempt) await providerActs.discardLinkAttempt({ attemptId: link.attempt.attemptId });
      await audit('provider.link_cancelled', { stage: reached }, { type: 'system', id: 'link' });
      // Answered as a failure (the API's answers know no other way of not connecting); the stage says why.
      link.finish({ status: 'failed', detail: 'the connection was cancelled; nothing was stored' }, 'cancelled');
      // The callback, if one is waiting, gets its answer before the run ends.
      await condition(allHandlersFinished);
    });
    // Rethrown (a cancellation), so Temporal shows the run as cancelled.
    throw isCancellation(err) ? err : new CancelledFailure('the link was cancelled');
  }

  const { attemptId } = link.attempt!;
  const linked = profile!;
  // From here the link runs to its end: a cancel would leave the other account's connection moved, or tokens
  // active without a connection.
  // Another person's root login is never linked into this identity in the directory (Auth0 would make their user
  // a secondary identity of this one, https://auth0.com/docs/api/management/v2/users/post-identities, and their
  // sign-in would land here), nor taken from their account: it is connected here for data only. The person's own
  // sign-in is the directory user itself, so there is nothing to link either.
  const otherSignsIn = state.conflict?.kind === 'root_identity';
  const linksDirectory = !otherSignsIn && !ownSignIn;
  // Who approved: a support person, or the link itself under `autoApproveVerifiedEmail`.
  const approverActor = (approver: string) =>
    ({ type: approver === 'link' ? 'system' : 'support', id: approver }) as const;
  const completeLink = async (): Promise<LinkOutcome> => {
    if (owner.accountId && otherSignsIn) {
      const { approver, reason } = link.decision!;
      await audit(
        'provider.link_conflict_approved',
        { otherAccountId: owner.accountId, conflict: 'root_identity', approver, reason },
        approverActor(approver),
      );
    } else if (owner.accountId) {
      // Approved: the provider account moves here. The other account loses it, with a record of who decided.
      const { approver, reason } = link.decision!;
      await accounts.removeConnectedProvider({ accountId: owner.accountId, connectionId: owner.connectionId! });
      await providerActs.revokeConnectionTokens({ connectionId: owner.connectionId!, atProvider: false });
      await getExternalWorkflowHandle(workflowIds.tokens(owner.accountId, provider))
        .signal(stopCustodySignal, { reason: 'moved to another account by support' })
        .catch(() => undefined);
      await audit(
        'provider.unlinked',
        { movedTo: accountId, approver, reason },
        approverActor(approver),
        owner.accountId,
      );
      await audit(
        'provider.link_conflict_approved',
        { otherAccountId: owner.accountId, approver, reason },
        approverActor(approver),
      );
    }
    link.enter('linking');
    const { version } = await providerActs.activateConnectionTokens({ attemptId, connectionId: linked.connectionId });
    const directory = linksDirectory
      ? await identity.linkDirectoryIdentity({
          subject: input.subject,
          provider,
          providerAccountId: linked.providerAccountId,
        })
      : { linked: false };
    await accounts.addConnectedProvider({
      accountId,
      node: {
        provider,
        providerAccountId: linked.providerAccountId,
        connectionId: linked.connectionId,
        scopes: linked.scopes,
        status: 'active',
        // Sealed (`personal`) since the exchange stopped returning them in clear; either way the activity stores them.
        ...(linked.personal ? { personal: linked.personal } : {}),
        ...(linked.email ? { email: linked.email } : {}),
        ...(linked.displayName ? { displayName: linked.displayName } : {}),
        connectedAt: new Date().toISOString(),
        directoryLinked: directory.linked,
        linkOrigin: { workflowId, requestedBy: input.subject },
      },
    });
    await audit('provider.linked', {
      connectionId: linked.connectionId,
      providerAccountId: linked.providerAccountId,
      directoryLinked: directory.linked,
      scopes: linked.scopes.join(' '),
    });
    const noticeKey = `${linked.connectionId}/linked/${workflowInfo().runId}`;
    const providerAccount = linked.displayName ?? linked.email ?? linked.providerAccountId;
    if (patched('link-undo-notice')) {
      // The notice carries an undo link; its token is made inside the activity, so history never holds it.
      await providerActs.queueLinkedNotice({
        accountId,
        provider,
        connectionId: linked.connectionId,
        providerAccountId: linked.providerAccountId,
        providerAccount,
        ...(linked.personal ? { personal: linked.personal } : {}),
        idempotencyKey: noticeKey,
      });
    } else {
      await records.queueAccountNotice({
        accountId,
        template: 'provider-linked',
        idempotencyKey: noticeKey,
        data: { providerName: provider, providerAccount },
      });
    }

    const custody: TokenCustodyInput = {
      accountId,
      provider,
      connectionId: linked.connectionId,
      refreshMargin: input.tokenRefreshMargin,
      tokenVersion: version,
      ...(linked.accessTokenExpiresAt ? { accessTokenExpiresAt: linked.accessTokenExpiresAt } : {}),
    };
    try {
      await startChild(tokenCustody, {
        workflowId: workflowIds.tokens(accountId, provider),
        args: [custody],
        // Custody outlives the link workflow: it runs for as long as the connection does.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: searchAttributesFor('tokens', { accountId, provider, stage: 'active' }),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // A relink: the running custodian takes over the new tokens.
      await getExternalWorkflowHandle(workflowIds.tokens(accountId, provider)).signal(tokensReplacedSignal, {
        connectionId: linked.connectionId,
        tokenVersion: version,
        ...(linked.accessTokenExpiresAt ? { accessTokenExpiresAt: linked.accessTokenExpiresAt } : {}),
      });
    }
    // Records kept at an earlier disconnect belong to this connection again (verified origins only).
    await retention.reattachDetachedRecords({ accountId, connectionId: linked.connectionId, workflowId });
    // Data: a schedule repeats the sync; the first one starts now, on its own (ABANDON), joined if running.
    // LinkedIn, Amazon and CodeRabbit listed data kinds before they became profile-only: links that made their
    // schedule before `profile-only-providers` still do on replay.
    const syncs =
      providerCatalog[provider].dataKinds.length > 0 ||
      (formerlySyncing.includes(provider) && !patched('profile-only-providers'));
    if (syncs) {
      await syncControl.ensureSyncSchedule({ accountId, provider, connectionId: linked.connectionId });
      try {
        await startChild(syncProvider, {
          workflowId: workflowIds.sync(accountId, provider),
          args: [{ accountId, provider, connectionId: linked.connectionId, ...input.sync }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: searchAttributesFor('sync', { accountId, provider, stage: 'syncing' }),
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    return link.finish(
      { status: 'linked', connectionId: linked.connectionId, detail: `${provider} is connected` },
      'linked',
    );
  };
  return handlesCancellation ? CancellationScope.nonCancellable(completeLink) : completeLink();
}
