/**
 * The one place a provider link starts (the API's `POST /v1/me/providers/{p}/link` and the account
 * center's "Connect" button): checks, then update-with-start of `link/<accountId>/<provider>`. The
 * authorization URL comes from the attempt record, never from Temporal: only the caller can take it, once.
 */
import { WorkflowIdConflictPolicy, WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { AccountDocument } from '../domain/account-center.js';
import { collections } from '../domain/collections.js';
import { failureTypeOf, failureTypes, problemOfFailure } from '../domain/failures.js';
import { workflowIds } from '../domain/ids.js';
import { providerCatalog } from '../domain/provider-catalog.js';
import type { ProviderId } from '../domain/providers.js';
import { searchAttributes, taskQueueNames } from '../temporal.config.js';
import { beginLinkUpdate, linkWorkflowType, type LinkWorkflow } from '../workflows/link/messages.js';
import type { ApiDeps, Principal } from './context.js';
import { ProblemError } from './problem.js';
import { providerFlagsFor } from './provider-flags.js';
import { takeAuthorizationUrl } from './routes/link-attempts.js';

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

/** Start (or give a fresh attempt to) the caller's link of `provider`; ProblemError when it cannot be. */
export async function beginProviderLink(deps: ApiDeps, principal: Pick<Principal, 'accountId' | 'subject' | 'clientId'>, provider: ProviderId, body: LinkRequest): Promise<LinkStarted> {
  const { db, config, temporal } = deps;
  const account = await db.collection<AccountDocument>(collections.accounts).findOne({ _id: principal.accountId }, { projection: { status: 1 } });
  if (!account) throw new ProblemError('account-not-found', 'Sign up first (POST /v1/signup), then link providers.');
  if (account.status !== 'active') throw new ProblemError('forbidden', `The account is ${account.status}; providers cannot be linked.`);
  const flag = (await providerFlagsFor(db, config, principal.accountId))[provider];
  if (!flag.enabled) throw new ProblemError('provider-disabled', `Linking ${providerCatalog[provider].displayName} is turned off for this account (feature flag ${flag.flag}).`);

  const definition = providerCatalog[provider];
  let redirect: { uri: string; clientId: string } | undefined;
  if (body.redirectUri !== undefined) {
    const registered = principal.clientId ? config.link?.clientRedirectUris[principal.clientId] ?? [] : [];
    // Exact string match (RFC 9700 §4.1.3): no prefixes, no patterns, no normalisation.
    if (!principal.clientId || !registered.includes(body.redirectUri)) {
      throw new ProblemError('link-redirect-uri-invalid', principal.clientId
        ? `${body.redirectUri} is not a redirect URI registered for client "${principal.clientId}" (LINK_CLIENT_REDIRECT_URIS). Leave redirectUri out to use the account center's own callback.`
        : 'This access token names no client (client_id or azp), so it cannot use an app redirect URI. Leave redirectUri out to use the account center’s own callback.');
    }
    redirect = { uri: body.redirectUri, clientId: principal.clientId };
  }
  const scopes = body.extendedScopes ? [...definition.defaultScopes, ...definition.extendedScopes] : definition.defaultScopes;
  const workflowId = workflowIds.link(principal.accountId, provider);
  const startOperation = new WithStartWorkflowOperation<LinkWorkflow>(linkWorkflowType, {
    workflowId,
    taskQueue: taskQueueNames(config.temporal.taskQueuePrefix).accounts,
    // A link already waiting for its callback gets a fresh attempt; a finished one is started anew.
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    args: [{
      accountId: principal.accountId, subject: principal.subject, provider, scopes,
      attemptTtl: config.providers.linkAttemptTtl, tokenRefreshMargin: config.providers.tokenRefreshMargin,
      sync: { pageSize: config.sync.pageSize, maxPagesPerRun: config.sync.maxPagesPerRun },
    }],
    typedSearchAttributes: [
      { key: searchAttributes.accountId, value: principal.accountId },
      { key: searchAttributes.process, value: 'link' },
      { key: searchAttributes.provider, value: provider },
      { key: searchAttributes.stage, value: 'awaiting_callback' },
      { key: searchAttributes.needsApproval, value: false },
    ],
  });
  try {
    const begun = await temporal.workflow.executeUpdateWithStart(beginLinkUpdate, { args: [{ scopes, ...(redirect ? { redirect } : {}) }], startWorkflowOperation: startOperation });
    // The URL (and its state) comes from the attempt record, never from Temporal; only this caller can take it, once.
    // (`begun.authorizationUrl`: only from a worker still running the code before `link-url-off-history`, during a deploy.)
    const authorizationUrl = begun.attemptId ? await takeAuthorizationUrl(deps, begun.attemptId, principal.accountId) : begun.authorizationUrl;
    if (!authorizationUrl) throw new ProblemError('conflict', `The link attempt for ${definition.displayName} was replaced before its authorization URL could be read; start again.`);
    return { workflowId, authorizationUrl, expiresAt: begun.expiresAt };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      // An activity's failure (a declared type, anywhere in the cause chain) has its own problem; a validator refusal is a conflict.
      if (failureTypeOf(err) === failureTypes.ProviderNotConfigured) throw new ProblemError('provider-not-configured', `${definition.displayName} has no client credentials configured.`);
      const problem = problemOfFailure(err);
      if (problem) throw new ProblemError(problem, `${definition.displayName} could not be linked: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      throw new ProblemError('conflict', `A link for ${definition.displayName} is already being decided: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    }
    throw err;
  }
}
