/**
 * `GET /v1/me/processes`: the caller's processes with their live stage, from Temporal visibility (the
 * account's `CraAccountId`): every running one and those closed in the last day. A running sync also says how
 * far it is, from the workflow's own `syncStatus` query. Visibility is eventually consistent: a process
 * started a moment ago may show up a moment later.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { providerCatalog, isProviderId } from '../../domain/provider-catalog.js';
import { processOfWorkflowId } from '../../domain/ids.js';
import { searchAttributes } from '../../temporal.config.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { accountProcessesQuery } from '../processes/status.js';
import { syncStatusIfAnswered } from '../processes/sync.js';
import { defaultHook } from '../problem.js';
import { problemResponses } from './openapi.js';

/** How far back closed processes are listed, and how many processes at most. */
const closedWithinMs = 24 * 60 * 60_000;
const maxProcesses = 50;
/** A query to a workflow no worker picks up would wait for the RPC deadline: the list answers without it. */
const queryTimeoutMs = 2_000;

const processSchema = z
  .object({
    workflowId: z.string(),
    process: z.string(),
    status: z.string().openapi({ description: 'Temporal’s execution status, lower case: running, completed, …' }),
    stage: z.string().nullable(),
    provider: z.string().nullable(),
    startedAt: z.string(),
    closedAt: z.string().nullable(),
    progress: z
      .object({ done: z.number().int(), total: z.number().int(), pages: z.number().int(), written: z.number().int() })
      .nullable()
      .openapi({ description: 'A running sync: kinds of data done out of its total, pages and records written.' }),
  })
  .openapi('AccountProcess');

const route = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/processes',
  summary: 'The caller’s running and recently closed processes, with their stage',
  responses: {
    200: {
      description: 'Newest first',
      content: { 'application/json': { schema: z.object({ items: z.array(processSchema) }).openapi('ProcessList') } },
    },
    ...problemResponses(401),
  },
});

type AccountProcess = z.infer<typeof processSchema>;

async function syncProgress(deps: ApiDeps, workflowId: string, provider: string | null) {
  const kinds = provider && isProviderId(provider) ? providerCatalog[provider].dataKinds : [];
  // Closed in between, or no worker answers in time: the stage alone still says where it stands.
  const status = await syncStatusIfAnswered(deps, workflowId, queryTimeoutMs);
  if (!status) return null;
  const { checkpoint } = status;
  const written = Object.values(checkpoint.totals).reduce((n, t) => n + t.written, 0);
  const total = Math.max(kinds.length, checkpoint.kindIndex);
  return { done: Math.min(checkpoint.kindIndex, total), total, pages: checkpoint.pages, written };
}

export const processRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const deps = c.get('deps');
  const query = accountProcessesQuery(c.get('principal').accountId, new Date(Date.now() - closedWithinMs));
  const found: AccountProcess[] = [];
  for await (const run of deps.temporal.workflow.list({ query, pageSize: maxProcesses })) {
    const status = run.status.name.toLowerCase();
    // A run that continued as new is the same process as its successor, listed on its own.
    if (status === 'continued_as_new') continue;
    const attrs = run.typedSearchAttributes;
    const process = attrs.get(searchAttributes.process) ?? processOfWorkflowId(run.workflowId) ?? run.type;
    const provider = attrs.get(searchAttributes.provider) ?? null;
    found.push({
      workflowId: run.workflowId,
      process,
      status,
      stage: attrs.get(searchAttributes.stage) ?? null,
      provider,
      startedAt: run.startTime.toISOString(),
      closedAt: run.closeTime?.toISOString() ?? null,
      progress: null,
    });
    if (found.length >= maxProcesses) break;
  }
  found.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const items = await Promise.all(
    found.map(async (p) =>
      p.process === 'sync' && p.status === 'running'
        ? { ...p, progress: await syncProgress(deps, p.workflowId, p.provider) }
        : p,
    ),
  );
  return c.json({ items }, 200);
});
