/**
 * The link process's one starter (`link/<accountId>/<provider>`): its id, task queue and search
 * attributes, and every message the API sends it — the begin update (update-with-start, from
 * `POST /v1/me/providers/{p}/link` and the account center's "Connect" button), the callback update (the
 * provider's answer, from `routes/link-attempts.ts`), and support's decision signal with the state query
 * it checks first (`routes/support.ts`). The authorization URL comes from the attempt record, never from
 * Temporal: only the caller can take it, once.
 */
import {
  WorkflowIdConflictPolicy,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { linkAttempts, vaultKeys } from '../../activities/providers/stores.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { failureTypeOf, failureTypes, problemOfFailure } from '../../domain/failures.js';
import { processOfWorkflowId, workflowIds } from '../../domain/ids.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import { searchAttributesFor } from '../../temporal.config.js';
import {
  beginLinkUpdate,
  linkCallbackUpdate,
  linkStateQuery,
  linkWorkflowType,
  supportDecisionSignal,
  type LinkCallback,
  type LinkOutcome,
  type LinkState,
  type LinkWorkflow,
  type SupportDecision,
} from '../../workflows/link/messages.js';
import { vaultOf } from '../adapters.js';
import type { ApiDeps, Principal } from '../context.js';
import { ProblemError } from '../problem.js';
import { providerFlagsFor } from '../provider-flags.js';
import { accountsQueueOf, type ProcessDeps } from './deps.js';
import { assertNotErasing } from './erasure.js';

export interface LinkRequest {
  /** Ask for the provider's extended scopes too (data sync beyond the profile). */
  extendedScopes?: boolean;
  /** An app's own redirect URI, registered for its client in LINK_CLIENT_REDIRECT_URIS. */
  redirectUri?: string;
}

export interface LinkStarted {
  workflowId: string;
  authorizationUrl: string;
  expiresAt: string;
}

/**
 * The authorization URL of an attempt the caller just began, read once: decrypted, then wiped from the
 * record. Undefined when the attempt is not the caller's or its URL was taken already.
 */
async function takeAuthorizationUrl(deps: ApiDeps, attemptId: string, accountId: string): Promise<string | undefined> {
  const taken = await linkAttempts(deps.db).findOneAndUpdate(
    { _id: attemptId, accountId, authorizationUrlCiphertext: { $type: 'string' } },
    { $set: { authorizationUrlCiphertext: null } },
  );
  if (!taken?.authorizationUrlCiphertext) return undefined;
  return (await vaultOf(deps)).decrypt(vaultKeys.linkSecrets, taken.authorizationUrlCiphertext);
}

/** Start (or give a fresh attempt to) the caller's link of `provider`; ProblemError when it cannot be. */
export async function beginProviderLink(
  deps: ApiDeps,
  principal: Pick<Principal, 'accountId' | 'subject' | 'clientId'>,
  provider: ProviderId,
  body: LinkRequest,
): Promise<LinkStarted> {
  const { db, config, temporal } = deps;
  const account = await db
    .collection<AccountDocument>(collections.accounts)
    .findOne({ _id: principal.accountId }, { projection: { status: 1 } });
  if (!account) throw new ProblemError('account-not-found', 'Sign up first (POST /v1/signup), then link providers.');
  await assertNotErasing(deps, principal.accountId);
  if (account.status !== 'active')
    throw new ProblemError('forbidden', `The account is ${account.status}; providers cannot be linked.`);
  const flag = (await providerFlagsFor(db, config, principal.accountId))[provider];
  if (!flag.enabled)
    throw new ProblemError(
      'provider-disabled',
      `Linking ${providerCatalog[provider].displayName} is turned off for this account (feature flag ${flag.flag}).`,
    );

  const definition = providerCatalog[provider];
  let redirect: { uri: string; clientId: string } | undefined;
  if (body.redirectUri !== undefined) {
    const registered = principal.clientId ? (config.link?.clientRedirectUris[principal.clientId] ?? []) : [];
    // Exact string match (RFC 9700 §4.1.3): no prefixes, no patterns, no normalisation.
    if (!principal.clientId || !registered.includes(body.redirectUri)) {
      throw new ProblemError(
        'link-redirect-uri-invalid',
        principal.clientId
          ? `${body.redirectUri} is not a redirect URI registered for client "${principal.clientId}" (LINK_CLIENT_REDIRECT_URIS). Leave redirectUri out to use the account center's own callback.`
          : 'This access token names no client (client_id or azp), so it cannot use an app redirect URI. Leave redirectUri out to use the account center’s own callback.',
      );
    }
    redirect = { uri: body.redirectUri, clientId: principal.clientId };
  }
  const scopes = body.extendedScopes
    ? [...definition.defaultScopes, ...definition.extendedScopes]
    : definition.defaultScopes;
  const workflowId = workflowIds.link(principal.accountId, provider);
  const startOperation = new WithStartWorkflowOperation<LinkWorkflow>(linkWorkflowType, {
    workflowId,
    taskQueue: accountsQueueOf(config),
    // A link already waiting for its callback gets a fresh attempt; a finished one is started anew.
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    args: [
      {
        accountId: principal.accountId,
        subject: principal.subject,
        provider,
        scopes,
        attemptTtl: config.providers.linkAttemptTtl,
        tokenRefreshMargin: config.providers.tokenRefreshMargin,
        sync: { pageSize: config.sync.pageSize, maxPagesPerRun: config.sync.maxPagesPerRun },
        // Only when configured: otherwise a verified address is evidence for support, never a link by itself.
        ...(config.linkAutoApproveVerifiedEmail ? { autoApproveVerifiedEmail: true } : {}),
      },
    ],
    typedSearchAttributes: searchAttributesFor('link', {
      accountId: principal.accountId,
      provider,
      stage: 'awaiting_callback',
    }),
  });
  try {
    const begun = await temporal.workflow.executeUpdateWithStart(beginLinkUpdate, {
      args: [{ scopes, ...(redirect ? { redirect } : {}) }],
      startWorkflowOperation: startOperation,
    });
    // The URL (and its state) comes from the attempt record, never from Temporal; only this caller can take it, once.
    // (`begun.authorizationUrl`: only from a worker still running the code before `link-url-off-history`, during a deploy.)
    const authorizationUrl = begun.attemptId
      ? await takeAuthorizationUrl(deps, begun.attemptId, principal.accountId)
      : begun.authorizationUrl;
    if (!authorizationUrl)
      throw new ProblemError(
        'conflict',
        `The link attempt for ${definition.displayName} was replaced before its authorization URL could be read; start again.`,
      );
    return { workflowId, authorizationUrl, expiresAt: begun.expiresAt };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      // An activity's failure (a declared type, anywhere in the cause chain) has its own problem; a validator refusal is a conflict.
      if (failureTypeOf(err) === failureTypes.ProviderNotConfigured)
        throw new ProblemError(
          'provider-not-configured',
          `${definition.displayName} has no client credentials configured.`,
        );
      const problem = problemOfFailure(err);
      if (problem)
        throw new ProblemError(
          problem,
          `${definition.displayName} could not be linked: ${(err.cause as Error | undefined)?.message ?? err.message}`,
        );
      throw new ProblemError(
        'conflict',
        `A link for ${definition.displayName} is already being decided: ${(err.cause as Error | undefined)?.message ?? err.message}`,
      );
    }
    throw err;
  }
}

/**
 * Hand the provider's answer (by its attempt id, never the code) to the link waiting for it, and wait for
 * the outcome. Throws Temporal's WorkflowNotFoundError / WorkflowUpdateFailedError for the caller to map.
 */
export async function deliverLinkCallback(
  temporal: Client,
  workflowId: string,
  callback: LinkCallback,
): Promise<LinkOutcome> {
  return temporal.workflow.getHandle<LinkWorkflow>(workflowId).executeUpdate(linkCallbackUpdate, { args: [callback] });
}

/**
 * Support's decision on a link that waits because its provider account belongs to another person:
 * 404 `workflow-not-found` for no such link, 409 when it is not waiting for a decision.
 */
export async function decideLink(temporal: Client, workflowId: string, decision: SupportDecision): Promise<void> {
  if (processOfWorkflowId(workflowId) !== 'link')
    throw new ProblemError('workflow-not-found', `"${workflowId}" is not a link workflow.`);
  const handle = temporal.workflow.getHandle<LinkWorkflow>(workflowId);
  let stage: string;
  try {
    stage = (await handle.query(linkStateQuery)).stage;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new ProblemError('workflow-not-found', `No workflow "${workflowId}".`);
    throw err;
  }
  if (stage !== 'awaiting_support')
    throw new ProblemError('conflict', `This link is not waiting for a decision (stage ${stage}).`);
  await handle.signal(supportDecisionSignal, decision);
}

/** A link's state from its `linkState` query, or undefined when no such workflow runs any more. */
export async function linkStateIfRunning(
  deps: Pick<ProcessDeps, 'temporal'>,
  workflowId: string,
): Promise<LinkState | undefined> {
  try {
    return await deps.temporal.workflow.getHandle<LinkWorkflow>(workflowId).query(linkStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
