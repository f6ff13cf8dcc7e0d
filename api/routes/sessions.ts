/**
 * `GET /v1/me/sessions` (where the caller is signed in) and `DELETE /v1/me/sessions[/{sessionId}]`
 * (sign out one browser, or everywhere: every browser session, the issuer's sessions and grants, and
 * every access token issued before now).
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../auth/route-auth.js';
import { listBrowserSessions } from '../session/browser-session.js';
import { signOutEverywhere, signOutSession } from '../session/sign-out.js';
import type { ApiEnv } from '../context.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

const sessionSchema = z
  .object({
    sessionId: z.uuid(),
    method: z.string().openapi({ description: 'How the person signed in: password, passkey or auth0' }),
    createdAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    userAgent: z.string().optional(),
  })
  .openapi('BrowserSession');

const listRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/sessions',
  summary: 'Where the caller is signed in (browser sessions of the account center)',
  responses: {
    200: {
      description: 'Sessions, newest first',
      content: { 'application/json': { schema: z.object({ sessions: z.array(sessionSchema) }) } },
    },
    ...problemResponses(401),
  },
});
const deleteOneRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/sessions/{sessionId}',
  summary: 'Sign out one session (its refresh token is revoked at the issuer)',
  request: { params: z.object({ sessionId: z.uuid().openapi({ param: { name: 'sessionId', in: 'path' } }) }) },
  responses: { 204: { description: 'Signed out' }, ...problemResponses(400, 401, 404) },
});
const deleteAllRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/sessions',
  summary: 'Sign out everywhere: every session, and every access token issued before now',
  responses: {
    200: {
      description: 'Signed out everywhere',
      content: { 'application/json': { schema: z.object({ ended: z.number().int() }) } },
    },
    ...problemResponses(401),
  },
});

export const sessionRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(listRoute, async (c) => {
    const sessions = await listBrowserSessions(c.get('deps').db, c.get('principal').subject);
    return c.json(
      {
        sessions: sessions.map(({ sessionId, method, createdAt, lastSeenAt, expiresAt, userAgent }) => ({
          sessionId,
          method,
          createdAt,
          lastSeenAt,
          expiresAt,
          ...(userAgent ? { userAgent } : {}),
        })),
      },
      200,
    );
  })
  .openapi(deleteOneRoute, async (c) => {
    const ended = await signOutSession(c.get('deps'), c.get('principal').subject, c.req.valid('param').sessionId);
    if (!ended) throw new ProblemError('not-found', 'You have no session with this id (it may have ended already).');
    return c.body(null, 204);
  })
  .openapi(deleteAllRoute, async (c) => {
    const ended = await signOutEverywhere(c.get('deps'), c.get('principal').subject);
    return c.json({ ended }, 200);
  });
