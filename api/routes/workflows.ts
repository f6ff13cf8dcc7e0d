/**
 * `GET /v1/workflows/{workflowId}`: where one of the caller's processes stands. Ids contain `/` and `|`
 * and come URL-encoded. The owner (by `CraAccountId`) or a holder of `support:read` may look; anyone else
 * gets the same 404 as for a workflow that does not exist, so the answer tells no one whether a subject has
 * an account or a process.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import { processOfWorkflowId } from '../../domain/ids.js';
import { searchAttributes } from '../../temporal.config.js';
import type { ApiEnv } from '../context.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

export const supportReadPermission = 'support:read';

const workflowStatusSchema = z
  .object({
    workflowId: z.string(),
    process: z.string(),
    status: z.enum(['running', 'completed', 'failed', 'cancelled', 'terminated', 'continued_as_new', 'timed_out', 'unknown']),
    stage: z.string().nullable(),
  })
  .openapi('WorkflowStatus');

const route = createRoute({
  method: 'get',
  path: '/v1/workflows/{workflowId}',
  summary: 'Status of one of the caller’s workflows',
  security: [{ bearerAuth: [] }],
  request: {
    params: z.object({
      workflowId: z.string().min(1).max(512).openapi({ param: { name: 'workflowId', in: 'path' }, example: 'signup%2Fauth0%7Cabc', description: 'URL-encoded workflow id' }),
    }),
  },
  responses: {
    200: { description: 'The workflow’s status and stage', content: { 'application/json': { schema: workflowStatusSchema } } },
    ...problemResponses(400, 401, 404),
  },
});

export const workflowRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const { workflowId } = c.req.valid('param');
  const principal = c.get('principal');
  const process = processOfWorkflowId(workflowId);
  const notYours = new ProblemError('workflow-not-found', `You have no workflow "${workflowId}".`);
  if (!process) throw notYours;
  let description;
  try {
    description = await c.get('deps').temporal.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notYours;
    throw err;
  }
  const owner = description.typedSearchAttributes.get(searchAttributes.accountId);
  if (owner !== principal.accountId && !principal.permissions.includes(supportReadPermission)) throw notYours;
  return c.json(
    {
      workflowId,
      process: description.typedSearchAttributes.get(searchAttributes.process) ?? process,
      status: (description.status.name.toLowerCase() as z.infer<typeof workflowStatusSchema>['status']),
      stage: description.typedSearchAttributes.get(searchAttributes.stage) ?? null,
    },
    200,
  );
});
