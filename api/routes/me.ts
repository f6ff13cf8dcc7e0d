/** `GET /v1/me`: the caller's account-center document. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { auth, secured } from '../auth/route-auth.js';
import { accountCenterSchema, toAccountCenter, type AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import type { ApiEnv } from '../context.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

const route = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me',
  summary: 'The caller’s account center',
  responses: {
    200: {
      description: 'The account-center document',
      content: { 'application/json': { schema: accountCenterSchema } },
    },
    ...problemResponses(401, 404),
  },
});

export const meRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const principal = c.get('principal');
  const doc = await c
    .get('deps')
    .db.collection<AccountDocument>(collections.accounts)
    .findOne({ _id: principal.accountId });
  if (!doc)
    throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
  return c.json(toAccountCenter(doc), 200);
});
