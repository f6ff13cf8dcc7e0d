/** `GET /healthz` (the process is alive) and `GET /readyz` (Temporal and MongoDB answer): public, for the orchestrator. */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { problemSchema } from '../../domain/problem.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type Check = { ok: true } | { ok: false; error: string };

async function check(ms: number, probe: () => Promise<unknown>): Promise<Check> {
  try {
    await within(ms, probe());
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

const checkSchema = z.object({ ok: z.boolean(), error: z.string().optional() });
const checksSchema = z.object({ temporal: checkSchema, mongodb: checkSchema });

const liveRoute = secured(auth.public, {
  method: 'get',
  path: '/healthz',
  summary: 'Liveness: the process answers',
  responses: {
    200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } },
  },
});

const readyRoute = secured(auth.public, {
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: Temporal and MongoDB answer',
  responses: {
    200: {
      description: 'Ready',
      content: { 'application/json': { schema: z.object({ status: z.literal('ready'), checks: checksSchema }) } },
    },
    503: {
      description: 'Temporal or MongoDB did not answer',
      content: { 'application/problem+json': { schema: problemSchema.extend({ checks: checksSchema }) } },
    },
  },
});

export const healthRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(liveRoute, (c) => c.json({ status: 'ok' as const }, 200))
  .openapi(readyRoute, async (c) => {
    const { temporal, db, config } = c.get('deps');
    const [temporalCheck, mongoCheck] = await Promise.all([
      check(config.healthTimeoutMs, () => temporal.workflowService.getSystemInfo({})),
      check(config.healthTimeoutMs, () => db.command({ ping: 1 })),
    ]);
    const checks = { temporal: temporalCheck, mongodb: mongoCheck };
    if (temporalCheck.ok && mongoCheck.ok) return c.json({ status: 'ready' as const, checks }, 200);
    return c.json(
      {
        type: 'https://cra.dev/problems/unavailable',
        title: 'A dependency is unavailable',
        status: 503,
        detail: 'Temporal or MongoDB did not answer.',
        checks,
      },
      503,
      { 'Content-Type': 'application/problem+json' },
    );
  });
