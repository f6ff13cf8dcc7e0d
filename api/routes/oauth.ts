/**
 * `GET /v1/oauth/{provider}/callback?code&state` (public: the person's browser comes back from the
 * provider). The state is single-use and expires; the code is handed to the link workflow by reference
 * (the attempt record), never inside a Temporal message. Answers with a small page, or JSON when asked.
 */
import { createHash } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { collections } from '../../domain/collections.js';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import { problem, type ProblemKind } from '../../domain/problem.js';
import { linkCallbackUpdate, type LinkOutcome } from '../../workflows/link/messages.js';
import type { ApiEnv } from '../context.js';
import { recoveryProviderCallback } from './recoveries.js';
import { defaultHook, problemResponse } from '../problem.js';
import { problemResponses } from './openapi.js';

export const oauthCallbackPattern = /^\/v1\/oauth\/[^/]+\/callback$/;

/** What the callback needs of a link attempt (written by the provider activities). */
interface AttemptRecord {
  _id: string;
  workflowId: string;
  provider: string;
  expiresAt: string;
  callbackAt: string | null;
  status: string;
  code: string | null;
}

const querySchema = z.object({
  state: z.string().min(16).max(512).optional(),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().max(128).optional(),
  error_description: z.string().max(1024).optional(),
});

const route = createRoute({
  method: 'get',
  path: '/v1/oauth/{provider}/callback',
  summary: 'OAuth 2.0 redirect endpoint (public)',
  description: 'The provider sends the person back here. Answers an HTML page, or JSON when `Accept: application/json`.',
  request: { params: z.object({ provider: z.string().min(1).max(32) }), query: querySchema },
  responses: {
    200: {
      description: 'Linked (or already linked); or, for a recovery’s provider sign-in (`provider_reauth`), whether it was accepted',
      content: {
        'application/json': {
          schema: z.union([
            z.object({ status: z.string(), detail: z.string().optional(), workflowId: z.string(), provider: z.string() }),
            z.object({ recoveryId: z.string(), factor: z.literal('provider_reauth'), accepted: z.boolean(), satisfied: z.array(z.string()), remaining: z.number().int() }),
          ]),
        },
      },
    },
    202: { description: 'Waiting for a support review' },
    ...problemResponses(400, 403, 404, 409),
  },
});

const escape = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function wantsJson(c: Context): boolean {
  return /application\/(problem\+)?json/.test(c.req.header('accept') ?? '');
}

function page(title: string, detail: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body><h1>${escape(title)}</h1><p>${escape(detail)}</p><p><a href="/">Back to your account center</a></p></body></html>`;
}

/** A problem as problem+json, or as a page for a browser. */
function fail(c: Context, kind: ProblemKind, detail: string): Response {
  const body = problem(kind, detail);
  if (wantsJson(c)) return problemResponse(c, body);
  return c.html(page(body.title, detail), body.status as ContentfulStatusCode);
}

const outcomeStatus: Record<LinkOutcome['status'], { http: ContentfulStatusCode; title: string; problem?: ProblemKind }> = {
  linked: { http: 200, title: 'Connected' },
  already_linked: { http: 200, title: 'Already connected' },
  pending_review: { http: 202, title: 'Waiting for a review' },
  denied: { http: 403, title: 'Not connected', problem: 'link-denied' },
  failed: { http: 400, title: 'Not connected', problem: 'link-failed' },
  expired: { http: 410, title: 'Not connected', problem: 'link-expired' },
  conflict_denied: { http: 409, title: 'Not connected', problem: 'conflict' },
};

export const oauthRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const { provider } = c.req.valid('param');
  const query = c.req.valid('query');
  if (!isProviderId(provider)) return fail(c, 'provider-not-found', `CRA cannot connect "${provider}".`);
  if (!query.state) return fail(c, 'link-state-invalid', 'The provider’s answer carries no state.');
  if (!query.code && !query.error) return fail(c, 'link-state-invalid', 'The provider’s answer carries neither a code nor an error.');

  const { db, temporal } = c.get('deps');
  const attempts = db.collection<AttemptRecord>(collections.linkAttempts);
  const attemptId = createHash('sha256').update(query.state, 'utf8').digest('hex');
  const attempt = await attempts.findOne({ _id: attemptId });
  if (!attempt) {
    // Not a link: perhaps a recovery's sign-in (the provider_reauth factor), which uses the same redirect URI.
    const recovery = await recoveryProviderCallback(c, provider, { state: query.state, ...(query.code ? { code: query.code } : {}), ...(query.error ? { error: query.error } : {}) });
    if (recovery?.kind === 'problem') return fail(c, recovery.problem, recovery.detail);
    if (recovery) {
      if (wantsJson(c)) return c.json(recovery.body, 200);
      const name = providerCatalog[provider].displayName;
      return c.html(page(recovery.body.accepted ? `Signed in with ${name}` : 'Not accepted', recovery.body.accepted
        ? `Your sign-in with ${name} counts towards the recovery of your account. Carry on where you started.`
        : `This sign-in does not count towards the recovery. Carry on where you started.`), 200);
    }
  }
  if (!attempt || attempt.provider !== provider) return fail(c, 'link-state-invalid', 'This answer does not belong to a link attempt of ours. Start linking again from your account center.');
  if (attempt.callbackAt !== null || attempt.status !== 'pending') return fail(c, 'link-state-used', 'This answer was already used (or the attempt was replaced). Start linking again.');
  const now = new Date();
  if (Date.parse(attempt.expiresAt) <= now.getTime()) return fail(c, 'link-expired', 'The link attempt expired before the provider answered. Start linking again.');

  // Single use: only one request can move the attempt out of `pending`.
  const claimed = await attempts.findOneAndUpdate(
    { _id: attemptId, status: 'pending', callbackAt: null },
    { $set: { status: 'callback_received', callbackAt: now.toISOString(), code: query.code ?? null } },
  );
  if (!claimed) return fail(c, 'link-state-used', 'This answer was already used. Start linking again.');

  let outcome: LinkOutcome;
  try {
    outcome = await temporal.workflow.getHandle(attempt.workflowId).executeUpdate(linkCallbackUpdate, {
      args: [{ attemptId, outcome: query.code && !query.error ? 'code' : 'error', ...(query.error ? { error: query.error } : {}) }],
    });
  } catch (err) {
    await attempts.updateOne({ _id: attemptId }, { $set: { status: 'discarded', code: null } });
    if (err instanceof WorkflowNotFoundError) return fail(c, 'link-expired', 'The link attempt has ended. Start linking again.');
    if (err instanceof WorkflowUpdateFailedError) return fail(c, 'link-state-used', 'This answer belongs to an older link attempt. Start linking again.');
    throw err;
  }
  const shown = outcomeStatus[outcome.status];
  const name = providerCatalog[provider].displayName;
  if (shown.problem) return fail(c, shown.problem, outcome.detail ?? `${name} was not connected.`);
  if (wantsJson(c)) return c.json({ status: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}), workflowId: attempt.workflowId, provider }, shown.http);
  return c.html(page(`${shown.title}: ${name}`, outcome.detail ?? ''), shown.http);
});
