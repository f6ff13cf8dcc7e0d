/**
 * Providers: `GET /v1/providers` (the catalog, with `enabled` evaluated for the caller) and
 * `POST /v1/me/providers/{provider}/link` (start linking: 202 with the authorization URL).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { WorkflowIdConflictPolicy, WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import { isProviderId, providerCatalog, providerSummaries } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';
import { searchAttributes, taskQueueNames } from '../../temporal.config.js';
import { beginLinkUpdate, linkWorkflowType, type LinkWorkflow } from '../../workflows/link/messages.js';
import type { ApiEnv } from '../context.js';
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
      const begun = await temporal.workflow.executeUpdateWithStart(beginLinkUpdate, { args: [{ scopes }], startWorkflowOperation: startOperation });
      return c.json({ workflowId, ...begun }, 202);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        // A validator refusal is the cause; an activity failure is the cause's cause.
        const cause = err.cause as { type?: string; message?: string; cause?: { type?: string } } | undefined;
        if (cause?.type === 'ProviderNotConfigured' || cause?.cause?.type === 'ProviderNotConfigured') throw new ProblemError('provider-not-configured', `${definition.displayName} has no client credentials configured.`);
        throw new ProblemError('conflict', `A link for ${definition.displayName} is already being decided: ${cause?.message ?? err.message}`);
      }
      throw err;
    }
  });
