/**
 * `POST /v1/hooks/auth0/post-registration`: Auth0's post-user-registration Action tells CRA about a new
 * user. Public, but signed (see `auth/hook-signature.ts`); it starts the same signup as `POST /v1/signup`.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { consentSchema } from '../../domain/account-center.js';
import { personNameOrBlank } from '../../domain/names.js';
import { claimHookSignature, releaseHookSignature } from '../auth/hook-replays.js';
import { signatureHeader, signedTimestamp, verifySignature } from '../auth/hook-signature.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { startSignup } from '../processes/signup.js';
import { defaultHook, respondProblem } from '../problem.js';
import { signupAcceptedSchema } from './signup.js';
import { problemResponses } from './openapi.js';

export const postRegistrationPath = '/v1/hooks/auth0/post-registration';

/** The fields of the Action's `event.user` that CRA uses, plus consents gathered at registration. */
const postRegistrationSchema = z
  .object({
    user: z.object({
      user_id: z.string().min(1).max(256),
      email: z.email().optional(),
      email_verified: z.boolean().optional(),
      given_name: personNameOrBlank(100).optional(),
      family_name: personNameOrBlank(100).optional(),
    }),
    consents: z.array(consentSchema).max(50).default([]),
  })
  .openapi('Auth0PostRegistration');

/** Checks the signature over the raw body before anything parses it. */
const signed: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const secrets = c.get('deps').config.signup.hookSecrets;
  if (secrets.length === 0)
    return respondProblem(
      c,
      'not-configured',
      'The post-registration hook is off: set SIGNUP_HOOK_SECRETS to enable it.',
    );
  const header = c.req.header(signatureHeader);
  const body = await c.req.text();
  const check = verifySignature(header, body, secrets);
  const refuse = (reason: string) =>
    respondProblem(c, 'invalid-signature', `The request was refused: ${reason}.`, {
      'www-authenticate': `${signatureHeader} realm="cra-hooks"`,
    });
  if (!check.ok) return refuse(check.reason);
  // Within the tolerance a captured request would pass again: each signed request counts once.
  const { db } = c.get('deps');
  const timestamp = signedTimestamp(header!)!;
  if (!(await claimHookSignature(db, timestamp, body)))
    return refuse('this signed request was accepted before (replay)');
  let handled = false;
  try {
    await next();
    handled = c.res.status < 300;
  } finally {
    if (!handled) await releaseHookSignature(db, timestamp, body);
  }
};

const route = secured(auth.hookSignature(signed), {
  method: 'post',
  path: postRegistrationPath,
  summary: 'Auth0 post-registration hook (signed)',
  description: `Signed with \`${signatureHeader}: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">\`, 300 s tolerance.`,
  request: { body: { required: true, content: { 'application/json': { schema: postRegistrationSchema } } } },
  responses: {
    202: { description: 'The signup workflow runs', content: { 'application/json': { schema: signupAcceptedSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 503),
  },
});

export const hookRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const { user, consents } = c.req.valid('json');
  const started = await startSignup(c.get('deps'), user.user_id, {
    source: 'auth0-hook',
    requestedBy: 'auth0-post-registration',
    consents,
    ...(user.email ? { email: user.email, emailVerified: user.email_verified ?? false } : {}),
    ...(user.given_name ? { givenName: user.given_name } : {}),
    ...(user.family_name ? { familyName: user.family_name } : {}),
  });
  return c.json(started, 202);
});
