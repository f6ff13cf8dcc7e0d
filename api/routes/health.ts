/** `GET /healthz` (the process is alive) and `GET /readyz` (Temporal and MongoDB answer). */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context.js';

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
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

export const healthRoutes = new OpenAPIHono<ApiEnv>()
  .get('/healthz', (c) => c.json({ status: 'ok' }, 200))
  .get('/readyz', async (c) => {
    const { temporal, db, config } = c.get('deps');
    const [temporalCheck, mongoCheck] = await Promise.all([
      check(config.healthTimeoutMs, () => temporal.workflowService.getSystemInfo({})),
      check(config.healthTimeoutMs, () => db.command({ ping: 1 })),
    ]);
    const ready = temporalCheck.ok && mongoCheck.ok;
    const body = { status: ready ? 'ready' : 'unavailable', checks: { temporal: temporalCheck, mongodb: mongoCheck } };
    if (ready) return c.json(body, 200);
    return c.body(
      JSON.stringify({ type: 'https://cra.dev/problems/unavailable', title: 'A dependency is unavailable', status: 503, detail: 'Temporal or MongoDB did not answer.', checks: body.checks }),
      503,
      { 'content-type': 'application/problem+json' },
    );
  });
