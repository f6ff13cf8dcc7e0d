/**
 * Providers: `GET /v1/providers` (the catalog, with `enabled` evaluated for the caller),
 * `POST /v1/me/providers/{provider}/link` (start linking: 202 with the authorization URL) and
 * `POST /v1/me/providers/{provider}/link/complete` (an app that received the provider's answer at its own
 * redirect URI hands it over under its bearer token; only the account that started the link can).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { WorkflowIdConflictPolicy, WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import { isProviderId, providerCatalog, providerSummaries } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';
import { searchAttributes, taskQueueNames } from '../../temporal.config.js';
import type { ProblemKind } from '../../domain/problem.js';
import { beginLinkUpdate, linkWorkflowType, type LinkOutcome, type LinkWorkflow } from '../../workflows/link/messages.js';
import type { ApiEnv } from '../context.js';
import { attemptIdOf, deliverAuthorizationResponse, linkAttemptsOf, openAttemptProblem, takeAuthorizationUrl } from './link-attempts.js';
import { defaultHook, ProblemError } from '../problem.js';
import { providerFlagsFor } from '../provider-flags.js';
import { problemResponses } from './openapi.js';

const providerParam = z.object({
  provider: z.string().min(1).max(32).openapi({ param: { name: 'provider', in: 'path' }, example: 'github' }),
});

const providerSchema = z
  .object({
    id: z.enum(providerIds),
    displayName: z.string(),
    openid: z.boolean(),
    defaultScopes: z.array(z.string()),
    extendedScopes: z.array(z.string()),
    dataKinds: z.array(z.string()),
    flag: z.string(),
    enabled: z.boolean(),
  })
  .openapi('Provider');

const listRoute = createRoute({
  method: 'get',
  path: '/v1/providers',
  summary: 'The provider catalog, with `enabled` evaluated for the caller',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'Every provider CRA can connect', content: { 'application/json': { schema: z.object({ providers: z.array(providerSchema) }) } } },
    ...problemResponses(401),
  },
});

const linkBodySchema = z
  .object({
    /** Ask for the provider's extended scopes too (data sync beyond the profile). */
    extendedScopes: z.boolean().default(false),
    /**
     * An app's own redirect URI: the provider sends the answer there and the app finishes the link with
     * `link/complete`. Must be registered for the token's client in `LINK_CLIENT_REDIRECT_URIS` (exact match).
     */
    redirectUri: z.string().max(2048).optional(),
  })
  .strict()
  .openapi('LinkRequest');

const linkRoute = createRoute({
  method: 'post',
  path: '/v1/me/providers/{provider}/link',
  summary: 'Start linking a provider: returns the authorization URL to send the person to',
  security: [{ bearerAuth: [] }],
  request: { params: providerParam, body: { required: false, content: { 'application/json': { schema: linkBodySchema } } } },
  responses: {
    202: {
      description: 'The link workflow waits for the provider’s answer',
      content: { 'application/json': { schema: z.object({ workflowId: z.string(), authorizationUrl: z.url(), expiresAt: z.iso.datetime() }).openapi('LinkStarted') } },
    },
    ...problemResponses(400, 401, 403, 404, 409, 503),
  },
});

const completeBodySchema = z
  .object({
    state: z.string().min(16).max(512),
    code: z.string().min(1).max(4096).optional(),
    /** The provider's `error` (e.g. `access_denied`), when it sent one instead of a code. */
    error: z.string().max(128).optional(),
  })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.error === undefined), { message: 'send either code or error (what the provider redirected with)' })
  .openapi('LinkCompletion');

const completeRoute = createRoute({
  method: 'post',
  path: '/v1/me/providers/{provider}/link/complete',
  summary: 'Finish a link with the provider’s answer received at the app’s own redirect URI',
  description: 'Only the account that started the link can finish it: another account’s token gets 403 `link-actor-mismatch`, the attempt is spent and nothing is linked.',
  security: [{ bearerAuth: [] }],
  request: { params: providerParam, body: { required: true, content: { 'application/json': { schema: completeBodySchema } } } },
  responses: {
    200: {
      description: 'Linked, or already linked',
      content: { 'application/json': { schema: z.object({ status: z.string(), detail: z.string().optional(), workflowId: z.string(), provider: z.string() }).openapi('LinkCompleted') } },
    },
    202: { description: 'Waiting for a support review', content: { 'application/json': { schema: z.object({ status: z.string(), detail: z.string().optional(), workflowId: z.string(), provider: z.string() }) } } },
    ...problemResponses(400, 401, 403, 404, 409, 410),
  },
});

/** The HTTP answer to each link outcome. */
const outcomeAnswers: Record<LinkOutcome['status'], { http: 200 | 202; problem?: ProblemKind }> = {
  linked: { http: 200 },
  already_linked: { http: 200 },
  pending_review: { http: 202 },
  denied: { http: 200, problem: 'link-denied' },
  failed: { http: 200, problem: 'link-failed' },
  expired: { http: 200, problem: 'link-expired' },
  conflict_denied: { http: 200, problem: 'conflict' },
};

export const providerRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(listRoute, async (c) => {
    const { db, config } = c.get('deps');
    const flags = await providerFlagsFor(db, config, c.get('principal').accountId);
    return c.json({ providers: providerSummaries().map((p) => ({ ...p, enabled: flags[p.id].enabled })) }, 200);
  })
  .openapi(linkRoute, async (c) => {
    const { provider } = c.req.valid('param');
    if (!isProviderId(provider)) throw new ProblemError('provider-not-found', `CRA cannot connect "${provider}". GET /v1/providers lists the providers.`);
    const body = c.req.valid('json') ?? { extendedScopes: false };
    const principal = c.get('principal');
    const { db, config, temporal } = c.get('deps');
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
      const authorizationUrl = begun.attemptId ? await takeAuthorizationUrl(c.get('deps'), begun.attemptId, principal.accountId) : begun.authorizationUrl;
      if (!authorizationUrl) throw new ProblemError('conflict', `The link attempt for ${definition.displayName} was replaced before its authorization URL could be read; start again.`);
      return c.json({ workflowId, authorizationUrl, expiresAt: begun.expiresAt }, 202);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        // A validator refusal is the cause; an activity failure is the cause's cause.
        const cause = err.cause as { type?: string; message?: string; cause?: { type?: string } } | undefined;
        if (cause?.type === 'ProviderNotConfigured' || cause?.cause?.type === 'ProviderNotConfigured') throw new ProblemError('provider-not-configured', `${definition.displayName} has no client credentials configured.`);
        throw new ProblemError('conflict', `A link for ${definition.displayName} is already being decided: ${cause?.message ?? err.message}`);
      }
      throw err;
    }
  })
  .openapi(completeRoute, async (c) => {
    const { provider } = c.req.valid('param');
    if (!isProviderId(provider)) throw new ProblemError('provider-not-found', `CRA cannot connect "${provider}". GET /v1/providers lists the providers.`);
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const principal = c.get('principal');
    const attempt = await linkAttemptsOf(deps).findOne({ _id: attemptIdOf(body.state) });
    const closed = openAttemptProblem(attempt, provider);
    if (closed?.kind === 'problem') throw new ProblemError(closed.problem, closed.detail);
    const delivered = await deliverAuthorizationResponse(deps, attempt!, { ...(body.code ? { code: body.code } : {}), ...(body.error ? { error: body.error } : {}) }, principal.accountId);
    if (delivered.kind === 'problem') throw new ProblemError(delivered.problem, delivered.detail);
    const { outcome, workflowId } = delivered;
    const answer = outcomeAnswers[outcome.status];
    if (answer.problem) throw new ProblemError(answer.problem, outcome.detail ?? `${providerCatalog[provider].displayName} was not connected.`);
    return c.json({ status: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}), workflowId, provider }, answer.http);
  });
