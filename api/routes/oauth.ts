/**
 * `GET /v1/oauth/{provider}/callback?code&state` (no bearer: the person's browser comes back from the
 * provider). The state is single-use and expires; the code is handed to the link workflow by reference
 * (the attempt record), never inside a Temporal message. The answer only counts for the account that
 * started the attempt (RFC 9700 §4.7): the account center's browser session must be that account's. No
 * session: a page asking to sign in, which comes back here (nothing is spent before). Another account's
 * session: the attempt is spent, nothing is linked. Answers with a small page, or JSON when asked.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import { problem, type ProblemKind } from '../../domain/problem.js';
import type { LinkOutcome } from '../../workflows/link/messages.js';
import { renderLinkCallbackPage } from '../../ui/pages/link-callback-page.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { readBrowserSession } from '../session/browser-session.js';
import { attemptIdOf, deliverAuthorizationResponse, linkAttemptsOf, openAttemptProblem } from './link-attempts.js';
import { recoveryProviderCallback } from './recoveries/index.js';
import { defaultHook, problemResponse } from '../problem.js';
import { htmlPage, problemOrPageResponses, problemResponses } from './openapi.js';

const querySchema = z.object({
  state: z.string().min(16).max(512).optional(),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().max(128).optional(),
  error_description: z.string().max(1024).optional(),
});

// Public: the browser's session cookie (the account center's), not a bearer token, decides who brings the answer.
const route = secured(auth.public, {
  method: 'get',
  path: '/v1/oauth/{provider}/callback',
  summary: 'OAuth 2.0 redirect endpoint (public)',
  description:
    'The provider sends the person back here. Completes only with the account center session (cookie) of the account that started the link: none → 401 and a page asking to sign in (then back here); another account → 403 `link-actor-mismatch`, the attempt is spent and nothing is linked. Answers an HTML page, or JSON when `Accept: application/json`.',
  request: { params: z.object({ provider: z.string().min(1).max(32) }), query: querySchema },
  responses: {
    200: {
      description:
        'Linked (or already linked); or, for a recovery’s provider sign-in (`provider_reauth`), whether it was accepted',
      content: {
        'application/json': {
          schema: z.union([
            z.object({
              status: z.string(),
              detail: z.string().optional(),
              workflowId: z.string(),
              provider: z.string(),
            }),
            z.object({
              recoveryId: z.string(),
              factor: z.literal('provider_reauth'),
              accepted: z.boolean(),
              satisfied: z.array(z.string()),
              remaining: z.number().int(),
            }),
          ]),
        },
        ...htmlPage,
      },
    },
    202: {
      description: 'Waiting for a support review',
      content: {
        'application/json': {
          schema: z.object({
            status: z.literal('pending_review'),
            detail: z.string().optional(),
            workflowId: z.string(),
            provider: z.string(),
          }),
        },
        ...htmlPage,
      },
    },
    // The provider's query (code, state, error) is the URL's: an oversized one is refused before it is read.
    ...problemOrPageResponses(400, 401, 403, 404, 409, 410),
    ...problemResponses(431),
  },
});

function wantsJson(c: Context): boolean {
  return /application\/(problem\+)?json/.test(c.req.header('accept') ?? '');
}

const home = { href: '/account', text: 'Back to your account center' };

/** A problem as problem+json, or as a page for a browser. */
async function fail(c: Context, kind: ProblemKind, detail: string, link = home): Promise<Response> {
  const body = problem(kind, detail);
  if (wantsJson(c)) return problemResponse(c, body);
  return renderLinkCallbackPage(
    c,
    { title: body.title, paragraphs: [detail], link },
    body.status as ContentfulStatusCode,
  );
}

const outcomeStatus: Record<
  LinkOutcome['status'],
  { http: ContentfulStatusCode; title: string; problem?: ProblemKind }
> = {
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
  if (!query.code && !query.error)
    return fail(c, 'link-state-invalid', 'The provider’s answer carries neither a code nor an error.');

  const deps = c.get('deps');
  const attempt = await linkAttemptsOf(deps).findOne({ _id: attemptIdOf(query.state) });
  if (!attempt) {
    // Not a link: perhaps a recovery's sign-in (the provider_reauth factor), which uses the same redirect URI.
    const recovery = await recoveryProviderCallback(c, provider, {
      state: query.state,
      ...(query.code ? { code: query.code } : {}),
      ...(query.error ? { error: query.error } : {}),
    });
    if (recovery?.kind === 'problem') return fail(c, recovery.problem, recovery.detail);
    if (recovery) {
      if (wantsJson(c)) return c.json(recovery.body, 200);
      const name = providerCatalog[provider].displayName;
      return renderLinkCallbackPage(
        c,
        {
          title: recovery.body.accepted ? `Signed in with ${name}` : 'Not accepted',
          paragraphs: [
            recovery.body.accepted
              ? `Your sign-in with ${name} counts towards the recovery of your account. Carry on where you started.`
              : 'This sign-in does not count towards the recovery. Carry on where you started.',
          ],
          link: home,
        },
        200,
      );
    }
  }
  const closed = openAttemptProblem(attempt, provider);
  if (closed?.kind === 'problem') return fail(c, closed.problem, closed.detail);
  // An app's redirect URI: the app finishes the link itself (link/complete with its token); never here.
  if (attempt!.clientId)
    return fail(
      c,
      'link-state-invalid',
      'This link is finished by the app that started it, not here. Go back to the app.',
    );

  // Who brings the answer: the account center's session. Nothing is spent before it is known.
  const session = await readBrowserSession(c, deps.db, deps.config.publicUrl);
  if (!session) {
    const returnTo = `${c.req.path}${new URL(c.req.url).search}`;
    const signIn = `/account/sign-in?returnTo=${encodeURIComponent(returnTo)}`;
    return fail(
      c,
      'link-sign-in-required',
      `Sign in to your account center to finish connecting ${providerCatalog[provider].displayName}; you come back here afterwards.`,
      { href: signIn, text: 'Sign in to finish' },
    );
  }
  const delivered = await deliverAuthorizationResponse(
    deps,
    attempt!,
    { ...(query.code ? { code: query.code } : {}), ...(query.error ? { error: query.error } : {}) },
    session.accountId,
  );
  if (delivered.kind === 'problem') return fail(c, delivered.problem, delivered.detail);
  const { outcome, workflowId } = delivered;
  const shown = outcomeStatus[outcome.status];
  const name = providerCatalog[provider].displayName;
  if (shown.problem) return fail(c, shown.problem, outcome.detail ?? `${name} was not connected.`);
  if (wantsJson(c))
    return c.json(
      { status: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}), workflowId, provider },
      shown.http,
    );
  return renderLinkCallbackPage(
    c,
    { title: `${shown.title}: ${name}`, paragraphs: outcome.detail ? [outcome.detail] : [], link: home },
    shown.http,
  );
});
