/**
 * The caller's own activity history: `GET /v1/me/activity?before=` (their account's audit events, newest
 * first, page by page). Only the caller's account is ever read, and of each event only what is not personal
 * data: the action, when, who acted (its kind, never its id) and a few fixed facts (which provider, …).
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AuditEvent } from '../../activities/audit/audit-log.js';
import { collections } from '../../domain/collections.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { defaultHook } from '../problem.js';
import { problemResponses } from './openapi.js';

/** The details an event may show its person: none is personal data (ids, addresses, evidence are not here). */
const shownDetails = ['provider', 'purpose', 'retention', 'stage'] as const;

const activityQuery = z.object({
  before: z.coerce
    .number()
    .int()
    .min(1)
    // zod's int() stops at the largest safe integer; saying so puts the bound in the OpenAPI document too.
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: 'From `nextBefore` of the page before: events older than this one.' }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});

const activityEventSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    action: z.string().openapi({ example: 'provider.linked' }),
    actor: z.enum(['user', 'system', 'support']),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  })
  .openapi('ActivityEvent');

const activityRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/activity',
  summary: 'The caller’s activity history: their account’s audit events, newest first',
  request: { query: activityQuery },
  responses: {
    200: {
      description: 'One page of events',
      content: {
        'application/json': {
          schema: z
            .object({ events: z.array(activityEventSchema), nextBefore: z.number().int().nullable() })
            .openapi('ActivityPage'),
        },
      },
    },
    ...problemResponses(400, 401),
  },
});

export const activityRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(activityRoute, async (c) => {
  const { before, limit } = c.req.valid('query');
  const { accountId } = c.get('principal');
  const found = await c
    .get('deps')
    .db.collection<AuditEvent>(collections.auditEvents)
    .find({ accountId, ...(before ? { seq: { $lt: before } } : {}) })
    .sort({ seq: -1 })
    .limit(limit + 1)
    .toArray();
  const page = found.slice(0, limit);
  return c.json(
    {
      events: page.map((e) => ({
        seq: e.seq,
        at: e.at,
        action: e.action,
        actor: e.actor.type,
        details: Object.fromEntries(
          shownDetails.flatMap((key) => {
            const value = e.details?.[key];
            return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
              ? [[key, value]]
              : [];
          }),
        ),
      })),
      nextBefore: found.length > limit ? (page.at(-1)?.seq ?? null) : null,
    },
    200,
  );
});
