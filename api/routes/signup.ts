/** `POST /v1/signup`: the signed-in person creates their account center. */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { consentSchema } from '../../domain/account-center.js';
import { personName } from '../../domain/names.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { startSignup } from '../processes/signup.js';
import { defaultHook } from '../problem.js';
import { problemResponses } from './openapi.js';

export const signupBodySchema = z
  .object({
    givenName: personName(100),
    familyName: personName(100),
    consents: z.array(consentSchema).max(50),
  })
  .strict()
  .openapi('SignupRequest');

export const signupAcceptedSchema = z.object({ workflowId: z.string(), accountId: z.uuid() }).openapi('SignupAccepted');

const route = secured(auth.bearer, {
  method: 'post',
  path: '/v1/signup',
  summary: 'Sign up: create the account center for the token’s subject',
  description: 'Idempotent: any number of calls (and the Auth0 hook) give one account and the same ids.',
  request: { body: { required: true, content: { 'application/json': { schema: signupBodySchema } } } },
  responses: {
    202: { description: 'The signup workflow runs', content: { 'application/json': { schema: signupAcceptedSchema } } },
    ...problemResponses(400, 401, 409, 413, 415),
  },
});

export const signupRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const body = c.req.valid('json');
  const principal = c.get('principal');
  const started = await startSignup(
    c.get('deps'),
    principal.subject,
    {
      source: 'api',
      requestedBy: principal.subject,
      givenName: body.givenName,
      familyName: body.familyName,
      consents: body.consents,
      ...(principal.email ? { email: principal.email, emailVerified: principal.emailVerified } : {}),
    },
    { accountId: principal.accountId },
  );
  return c.json(started, 202);
});
