/**
 * The codec endpoint (Temporal's Codec Server protocol, https://docs.temporal.io/production-deployment/data-encryption):
 * `POST /v1/codec/decode` and `/v1/codec/encode` take `{payloads: [...]}` (protobuf JSON: metadata values and
 * data in base64) and answer the same, run through the payload codec (`activities/secrets/payload-codec.ts`).
 * Temporal Web and `temporal workflow show --codec-endpoint` call it, so operators read decoded histories
 * while Temporal itself stores only ciphertext.
 *
 * Who may call it:
 * - a token with the `histories:decode` permission (role `operator`): Temporal Web with its sign-in and
 *   "pass access token" on, or the CLI with `--codec-auth 'Bearer <token>'`;
 * - locally, the dev server's Temporal Web, which sends no credentials: `npm start` gives it an endpoint with a
 *   per-run secret in the path (`/v1/codec/local/<CRA_CODEC_LOCAL_TOKEN>`), refused in production.
 * Browsers may call it from Temporal Web's origin only (`TEMPORAL_CODEC_CORS_ORIGINS`); any other `Origin`
 * gets 403 before anything is decoded.
 */
import { timingSafeEqual } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Payload } from '@temporalio/common';
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { PayloadCodecError } from '../../activities/secrets/payload-codec.js';
import { problemSchema } from '../../domain/problem.js';
import { problemResponses } from './openapi.js';
import { staffPermissions } from '../../domain/roles.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { defaultHook, ProblemError, respondProblem } from '../problem.js';
import { codecOf } from '../codec.js';

/** Temporal Web sends a page of events' payloads at a time; a history's biggest are 2 MiB each (body limit: 4 MiB). */
export const maxCodecPayloads = 1000;
const base64 = z
  .string()
  .max(4 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const payloadJson = z
  .object({
    metadata: z.record(z.string().max(256), base64).optional(),
    data: base64.optional(),
  })
  .meta({ id: 'CodecPayload', description: 'A Temporal payload in protobuf JSON: metadata values and data in base64' });
const payloadsJson = z.object({ payloads: z.array(payloadJson).max(maxCodecPayloads) }).meta({ id: 'CodecPayloads' });
type PayloadJson = z.infer<typeof payloadJson>;

const fromJson = (p: PayloadJson): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): PayloadJson => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

function codecRoute(direction: 'decode' | 'encode') {
  return secured(auth.permission(staffPermissions.historiesDecode), {
    method: 'post',
    path: `/v1/codec/${direction}`,
    summary:
      direction === 'decode'
        ? 'Codec server: decrypt workflow payloads for Temporal Web and the CLI'
        : 'Codec server: encrypt payloads typed in Temporal Web or the CLI (signals, starts)',
    request: { body: { content: { 'application/json': { schema: payloadsJson } }, required: true } },
    responses: {
      200: {
        description: 'The payloads, run through the codec',
        content: { 'application/json': { schema: payloadsJson } },
      },
      422: {
        description: 'A payload was altered, or sealed under a key this installation does not hold',
        content: { 'application/problem+json': { schema: problemSchema } },
      },
      ...problemResponses(400, 401, 403, 413, 415),
    },
  });
}

async function run(
  deps: ApiDeps,
  direction: 'decode' | 'encode',
  body: { payloads: PayloadJson[] },
): Promise<{ payloads: PayloadJson[] }> {
  const codec = await codecOf(deps);
  try {
    const payloads = body.payloads.map(fromJson);
    const result = direction === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
    return { payloads: result.map(toJson) };
  } catch (err) {
    if (err instanceof PayloadCodecError) throw new ProblemError('payload-undecodable', err.message);
    // A payload that is not a protobuf after decryption: ours would be, so it was not sealed by us.
    if (err instanceof Error && /index out of range|invalid wire type/i.test(err.message))
      throw new ProblemError('payload-undecodable', 'an encrypted payload did not hold a Temporal payload');
    throw err;
  }
}

/** CORS for Temporal Web's origin only; a browser request from any other origin is refused outright. */
const allowedOrigin = (c: Context<ApiEnv>, origin: string) =>
  c.get('deps').config.temporal.codec.corsOrigins.includes(origin);
const corsHeaders = cors({
  origin: (origin, c) => (allowedOrigin(c as Context<ApiEnv>, origin) ? origin : null),
  allowMethods: ['POST'],
  allowHeaders: ['Content-Type', 'Authorization', 'X-Namespace'],
  credentials: true,
  maxAge: 600,
});
const codecCors: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const origin = c.req.header('origin');
  if (origin !== undefined && !allowedOrigin(c, origin))
    return respondProblem(c, 'forbidden', `The codec endpoint answers Temporal Web's origin only, not ${origin}.`);
  return corsHeaders(c, next);
};

const tokenMatches = (expected: string | undefined, given: string): boolean => {
  if (expected === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
};

const decodeRoute = codecRoute('decode');
const encodeRoute = codecRoute('encode');

export const codecRoutes = new OpenAPIHono<ApiEnv>({ defaultHook });
codecRoutes.use('/v1/codec/*', codecCors);
codecRoutes
  .openapi(decodeRoute, async (c) => c.json(await run(c.get('deps'), 'decode', c.req.valid('json')), 200))
  .openapi(encodeRoute, async (c) => c.json(await run(c.get('deps'), 'encode', c.req.valid('json')), 200));

/**
 * The dev server's Temporal Web: the per-run secret in the path stands for the sign-in it cannot send. Mounted
 * only where `CRA_CODEC_LOCAL_TOKEN` is set (never in production, so never behind Kong), and not in the
 * OpenAPI document.
 */
export const codecLocalRoutes = new OpenAPIHono<ApiEnv>({ defaultHook });
// CORS: codecRoutes' middleware covers every /v1/codec/* path of the app, these included.
for (const direction of ['decode', 'encode'] as const) {
  codecLocalRoutes.post(`/v1/codec/local/:token/${direction}`, async (c) => {
    const deps = c.get('deps');
    if (!tokenMatches(deps.config.temporal.codec.localToken, c.req.param('token')))
      return respondProblem(c, 'not-found', `No route for POST ${c.req.path.replace(/local\/[^/]+/, 'local/…')}.`);
    const parsed = payloadsJson.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return respondProblem(c, 'validation', 'Send {"payloads": [...]} as Temporal Web does.');
    return c.json(await run(deps, direction, parsed.data), 200);
  });
}
