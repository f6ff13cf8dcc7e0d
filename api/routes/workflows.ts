/**
 * `GET /v1/workflows/{workflowId}`: where one of the caller's processes stands. Ids contain `/` and `|`
 * and come URL-encoded. The owner (by `CraAccountId`) or a holder of `support:read` may look; anyone else
 * gets the same 404 as for a workflow that does not exist, so the answer tells no one whether a subject has
 * an account or a process.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { holdsPermission } from '../auth/require-permission.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { describeProcess } from '../processes/status.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

export const supportReadPermission = 'support:read';

const workflowStatusSchema = z
  .object({
    workflowId: z.string(),
    process: z.string(),
    status: z.enum([
      'running',
      'completed',
      'failed',
      'cancelled',
      'terminated',
      'continued_as_new',
      'timed_out',
      'unknown',
    ]),
    stage: z.string().nullable(),
  })
  .openapi('WorkflowStatus');
type WorkflowStatus = z.infer<typeof workflowStatusSchema>;

// Bearer only: the owner-or-support check needs the workflow's owner, so it runs in the handler.
const route = secured(auth.bearer, {
  method: 'get',
  path: '/v1/workflows/{workflowId}',
  summary: 'Status of one of the caller’s workflows',
  request: {
    params: z.object({
      workflowId: z
        .string()
        .min(1)
        .max(512)
        .openapi({
          param: { name: 'workflowId', in: 'path' },
          example: 'signup%2Fauth0%7Cabc',
          description: 'URL-encoded workflow id',
        }),
    }),
  },
  responses: {
    200: {
      description: 'The workflow’s status and stage',
      content: { 'application/json': { schema: workflowStatusSchema } },
    },
    ...problemResponses(400, 401, 404),
  },
});

export const workflowRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const { workflowId } = c.req.valid('param');
  const principal = c.get('principal');
  const found = await describeProcess(c.get('deps').temporal, workflowId);
  // Someone else's process answers like one that does not exist.
  if (!found || (found.accountId !== principal.accountId && !holdsPermission(principal, supportReadPermission))) {
    throw new ProblemError('workflow-not-found', `You have no workflow "${workflowId}".`);
  }
  return c.json(
    { workflowId, process: found.process, status: found.status as WorkflowStatus['status'], stage: found.stage },
    200,
  );
});
