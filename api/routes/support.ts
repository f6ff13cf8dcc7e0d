/**
 * Support decisions on provider links: `GET /v1/support/links/{workflowId}` (permission `links:approve`) shows
 * a link under review with its evidence, `POST /v1/support/links/{workflowId}/decision` answers a link that
 * waits because its provider account belongs to another person, and
 * `PUT|DELETE /v1/support/feature-flags/{flag}/accounts/{accountId}` (permission `flags:write`) overrides a
 * provider flag for one account.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { processOfWorkflowId } from '../../domain/ids.js';
import { linkStages } from '../../workflows/link/messages.js';
import { flagNameFor } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';
import { staffPermissions } from '../../domain/roles.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { decideLink, linkStateIfRunning } from '../processes/link.js';
import { defaultHook, ProblemError } from '../problem.js';
import { flagOverrides, overrideId } from '../provider-flags.js';
import { problemResponses, trimmedText } from './openapi.js';

export const linkApprovePermission = 'links:approve';
export const flagsWritePermission = 'flags:write';

const decisionRoute = secured(auth.permission(linkApprovePermission), {
  method: 'post',
  path: '/v1/support/links/{workflowId}/decision',
  summary: 'Approve or deny a provider link that conflicts with another account',
  request: {
    params: z.object({
      workflowId: z
        .string()
        .min(1)
        .max(512)
        .openapi({ param: { name: 'workflowId', in: 'path' }, description: 'URL-encoded link workflow id' }),
    }),
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({ decision: z.enum(['approve', 'deny']), reason: trimmedText(3, 1000) })
            .strict()
            .openapi('LinkDecision'),
        },
      },
    },
  },
  responses: {
    202: {
      description: 'The decision was delivered',
      content: {
        'application/json': { schema: z.object({ workflowId: z.string(), decision: z.enum(['approve', 'deny']) }) },
      },
    },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const workflowIdParam = z.object({
  workflowId: z
    .string()
    .min(1)
    .max(512)
    .openapi({ param: { name: 'workflowId', in: 'path' }, description: 'URL-encoded link workflow id' }),
});

const linkReviewSchema = z
  .object({
    workflowId: z.string(),
    provider: z.enum(providerIds),
    stage: z.enum(linkStages),
    conflictingAccountId: z.string().optional(),
    conflict: z
      .object({
        kind: z.enum(['connection', 'root_identity']).openapi({
          description:
            '`connection`: the provider account is connected to the other account; `root_identity`: the other person signs in with it (approving connects it here for data only, their sign-in stays).',
        }),
        verifiedEmailMatchesOther: z.boolean(),
        verifiedEmailMatchesRequester: z.boolean(),
        verifiedEmailAccountIds: z.array(z.string()),
      })
      .optional()
      .openapi({
        description:
          'Evidence for the decision, never a decision: whether the provider account’s verified address is the other account’s or the requester’s verified root address. Links started before this existed have none.',
      }),
    outcome: z
      .object({ status: z.string(), connectionId: z.string().optional(), detail: z.string().optional() })
      .optional(),
  })
  .openapi('LinkReview');

// Support may read what approvers may decide (as for a recovery's support view).
const reviewRoute = secured(auth.anyPermission(linkApprovePermission, staffPermissions.supportRead), {
  method: 'get',
  path: '/v1/support/links/{workflowId}',
  summary: 'A provider link under support review, with its evidence',
  request: { params: workflowIdParam },
  responses: {
    200: { description: 'The link’s state', content: { 'application/json': { schema: linkReviewSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

const flagNames = providerIds.map(flagNameFor) as [string, ...string[]];
const flagParams = z.object({
  flag: z.enum(flagNames).openapi({ param: { name: 'flag', in: 'path' }, example: 'ENABLE_GITHUB_LOGIN' }),
  accountId: z.uuid().openapi({ param: { name: 'accountId', in: 'path' } }),
});

const putFlagRoute = secured(auth.permission(flagsWritePermission), {
  method: 'put',
  path: '/v1/support/feature-flags/{flag}/accounts/{accountId}',
  summary: 'Override a provider flag for one account',
  request: {
    params: flagParams,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({ enabled: z.boolean(), reason: trimmedText(3, 1000) })
            .strict()
            .openapi('FlagOverride'),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The override is in force',
      content: {
        'application/json': { schema: z.object({ flag: z.string(), accountId: z.string(), enabled: z.boolean() }) },
      },
    },
    ...problemResponses(400, 401, 403, 413, 415),
  },
});

const deleteFlagRoute = secured(auth.permission(flagsWritePermission), {
  method: 'delete',
  path: '/v1/support/feature-flags/{flag}/accounts/{accountId}',
  summary: 'Remove a flag override: the account follows the rule again',
  request: { params: flagParams },
  responses: { 204: { description: 'Removed (or there was none)' }, ...problemResponses(400, 401, 403) },
});

export const supportRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(reviewRoute, async (c) => {
    const { workflowId } = c.req.valid('param');
    if (processOfWorkflowId(workflowId) !== 'link')
      throw new ProblemError('workflow-not-found', `"${workflowId}" is not a link workflow.`);
    const state = await linkStateIfRunning(c.get('deps'), workflowId);
    if (!state) throw new ProblemError('workflow-not-found', `No workflow "${workflowId}".`);
    return c.json({ workflowId, ...state }, 200);
  })
  .openapi(decisionRoute, async (c) => {
    const principal = c.get('principal');
    const { workflowId } = c.req.valid('param');
    const { decision, reason } = c.req.valid('json');
    await decideLink(c.get('deps').temporal, workflowId, { decision, approver: principal.subject, reason });
    return c.json({ workflowId, decision }, 202);
  })
  .openapi(putFlagRoute, async (c) => {
    const principal = c.get('principal');
    const { flag, accountId } = c.req.valid('param');
    const { enabled, reason } = c.req.valid('json');
    await flagOverrides(c.get('deps').db).replaceOne(
      { _id: overrideId(flag, accountId) },
      { flag, accountId, enabled, reason, setBy: principal.subject, setAt: new Date().toISOString() },
      { upsert: true },
    );
    return c.json({ flag, accountId, enabled }, 200);
  })
  .openapi(deleteFlagRoute, async (c) => {
    const { flag, accountId } = c.req.valid('param');
    await flagOverrides(c.get('deps').db).deleteOne({ _id: overrideId(flag, accountId) });
    return c.body(null, 204);
  });
