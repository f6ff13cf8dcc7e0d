/**
 * Providers: `GET /v1/providers` (the catalog, with `enabled` evaluated for the caller),
 * `POST /v1/me/providers/{provider}/link` (start linking: 202 with the authorization URL) and
 * `POST /v1/me/providers/{provider}/link/complete` (an app that received the provider's answer at its own
 * redirect URI hands it over under its bearer token; only the account that started the link can).
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { isProviderId, providerCatalog, providerSummaries } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';
import type { ProblemKind } from '../../domain/problem.js';
import type { LinkOutcome } from '../../workflows/link/messages.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { beginProviderLink } from '../processes/link.js';
import { attemptIdOf, deliverAuthorizationResponse, linkAttemptsOf, openAttemptProblem } from './link-attempts.js';
import { defaultHook, ProblemError } from '../problem.js';
import { providerFlagsFor } from '../provider-flags.js';
import { problemResponses } from './openapi.js';

const providerParam = z.object({
  provider: z
    .string()
    .min(1)
    .max(32)
    .openapi({ param: { name: 'provider', in: 'path' }, example: 'github' }),
});

const providerSchema = z
  .object({
    id: z.enum(providerIds),
    displayName: z.string(),
    openid: z.boolean(),
    defaultScopes: z.array(z.string()),
    extendedScopes: z.array(z.string()),
    /** The kinds of data a sync imports, each read from the provider's own API; empty for a profile-only provider. */
    dataKinds: z.array(z.string()),
    /** `data`: linking makes a 6-hourly sync of `dataKinds`; `profile_only`: linking reads the profile, nothing more. */
    sync: z.enum(['data', 'profile_only']),
    /** Why a profile-only provider imports nothing. */
    dataNote: z.string().optional(),
    flag: z.string(),
    enabled: z.boolean(),
    /** `at_provider`: a disconnect revokes CRA's grant there; `not_supported`: it stays until removed by hand. */
    revocation: z.enum(['at_provider', 'not_supported']),
    /** The provider's page where a person removes CRA's access themselves. */
    grantSettingsUrl: z.string().optional(),
    /** The provider's webhook CRA verifies and turns into a sync (`POST /v1/webhooks/<provider>`), if any. */
    webhook: z.enum(['github', 'slack']).nullable(),
  })
  .openapi('Provider');

const listRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/providers',
  summary: 'The provider catalog, with `enabled` evaluated for the caller',
  responses: {
    200: {
      description: 'Every provider CRA can connect',
      content: { 'application/json': { schema: z.object({ providers: z.array(providerSchema) }) } },
    },
    ...problemResponses(401),
  },
});

const linkBodySchema = z
  .object({
    /** Ask for the provider's extended scopes too (data sync beyond the profile). */
    extendedScopes: z.boolean().default(false),
    /**
     * An app's own redirect URI: the provider sends the answer there and the app finishes the link with
     * `link/complete`. Must be registered for the token's client in `LINK_CLIENT_REDIRECT_URIS` (exact match).
     */
    redirectUri: z.string().max(2048).optional(),
  })
  .strict()
  .openapi('LinkRequest');

const linkRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/providers/{provider}/link',
  summary: 'Start linking a provider: returns the authorization URL to send the person to',
  request: {
    params: providerParam,
    body: { required: false, content: { 'application/json': { schema: linkBodySchema } } },
  },
  responses: {
    202: {
      description: 'The link workflow waits for the provider’s answer',
      content: {
        'application/json': {
          schema: z
            .object({ workflowId: z.string(), authorizationUrl: z.url(), expiresAt: z.iso.datetime() })
            .openapi('LinkStarted'),
        },
      },
    },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

const completeBodySchema = z
  .object({
    state: z.string().min(16).max(512),
    code: z.string().min(1).max(4096).optional(),
    /** The provider's `error` (e.g. `access_denied`), when it sent one instead of a code. */
    error: z.string().max(128).optional(),
  })
  .strict()
  // Exactly one of the two, as the refinement below checks: said in the OpenAPI document too.
  .meta({ oneOf: [{ required: ['code'] }, { required: ['error'] }] })
  .refine((b) => (b.code === undefined) !== (b.error === undefined), {
    message: 'send either code or error (what the provider redirected with)',
  })
  .openapi('LinkCompletion');

const completeRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/providers/{provider}/link/complete',
  summary: 'Finish a link with the provider’s answer received at the app’s own redirect URI',
  description:
    'Only the account that started the link can finish it: another account’s token gets 403 `link-actor-mismatch`, the attempt is spent and nothing is linked.',
  request: {
    params: providerParam,
    body: { required: true, content: { 'application/json': { schema: completeBodySchema } } },
  },
  responses: {
    200: {
      description: 'Linked, or already linked',
      content: {
        'application/json': {
          schema: z
            .object({ status: z.string(), detail: z.string().optional(), workflowId: z.string(), provider: z.string() })
            .openapi('LinkCompleted'),
        },
      },
    },
    202: {
      description: 'Waiting for a support review',
      content: {
        'application/json': {
          schema: z.object({
            status: z.string(),
            detail: z.string().optional(),
            workflowId: z.string(),
            provider: z.string(),
          }),
        },
      },
    },
    ...problemResponses(400, 401, 403, 404, 409, 410, 413, 415),
  },
});

/** The HTTP answer to each link outcome. */
const outcomeAnswers: Record<LinkOutcome['status'], { http: 200 | 202; problem?: ProblemKind }> = {
  linked: { http: 200 },
  already_linked: { http: 200 },
  pending_review: { http: 202 },
  denied: { http: 200, problem: 'link-denied' },
  failed: { http: 200, problem: 'link-failed' },
  expired: { http: 200, problem: 'link-expired' },
  conflict_denied: { http: 200, problem: 'conflict' },
};

export const providerRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(listRoute, async (c) => {
    const { db, config } = c.get('deps');
    const flags = await providerFlagsFor(db, config, c.get('principal').accountId);
    const providers = providerSummaries().map((p) => ({
      ...p,
      webhook: p.webhook ?? null,
      enabled: flags[p.id].enabled,
    }));
    return c.json({ providers }, 200);
  })
  .openapi(linkRoute, async (c) => {
    const { provider } = c.req.valid('param');
    if (!isProviderId(provider))
      throw new ProblemError(
        'provider-not-found',
        `CRA cannot connect "${provider}". GET /v1/providers lists the providers.`,
      );
    const body = c.req.valid('json') ?? { extendedScopes: false };
    return c.json(await beginProviderLink(c.get('deps'), c.get('principal'), provider, body), 202);
  })
  .openapi(completeRoute, async (c) => {
    const { provider } = c.req.valid('param');
    if (!isProviderId(provider))
      throw new ProblemError(
        'provider-not-found',
        `CRA cannot connect "${provider}". GET /v1/providers lists the providers.`,
      );
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const principal = c.get('principal');
    const attempt = await linkAttemptsOf(deps).findOne({ _id: attemptIdOf(body.state) });
    const closed = openAttemptProblem(attempt, provider);
    if (closed?.kind === 'problem') throw new ProblemError(closed.problem, closed.detail);
    const delivered = await deliverAuthorizationResponse(
      deps,
      attempt!,
      { ...(body.code ? { code: body.code } : {}), ...(body.error ? { error: body.error } : {}) },
      principal.accountId,
    );
    if (delivered.kind === 'problem') throw new ProblemError(delivered.problem, delivered.detail);
    const { outcome, workflowId } = delivered;
    const answer = outcomeAnswers[outcome.status];
    if (answer.problem)
      throw new ProblemError(
        answer.problem,
        outcome.detail ?? `${providerCatalog[provider].displayName} was not connected.`,
      );
    return c.json(
      { status: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}), workflowId, provider },
      answer.http,
    );
  });
