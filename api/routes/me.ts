/** `GET /v1/me`: the caller's account-center document, and which consents are still to be answered. */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { consentsRequired } from '../../activities/accounts/consents.js';
import { openAccountDocument } from '../../activities/accounts/personal-fields.js';
import { accountKeysOf } from '../adapters.js';
import { auth, secured } from '../auth/route-auth.js';
import { accountCenterSchema, toAccountCenter, type AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { sharedReadsPer } from '../auth/shared-reads.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

/** Computed from the configured purposes on every read: not part of the stored document. */
const consentsRequiredSchema = z
  .object({
    missing: z.array(z.object({ purpose: z.string(), version: z.string(), required: z.boolean() })).openapi({
      description:
        'Purposes to ask about: a required one without a grant in force (never answered, or withdrawn), or an optional one never answered. Answer with PUT /v1/me/consents at `version`.',
    }),
    outdated: z
      .array(z.object({ purpose: z.string(), given: z.string(), current: z.string(), required: z.boolean() }))
      .openapi({ description: 'Purposes granted at a version (`given`) other than the configured one (`current`).' }),
  })
  .openapi('ConsentsRequired');

const meSchema = accountCenterSchema.extend({ consents_required: consentsRequiredSchema }).meta({
  id: 'Me',
  title: 'Account center, as the person sees it',
  description: 'The account-center document, with the consents still to be answered (`consents_required`).',
});

const route = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me',
  summary: 'The caller’s account center',
  responses: {
    200: {
      description: 'The account-center document and the consents still to be answered',
      content: { 'application/json': { schema: meSchema } },
    },
    ...problemResponses(401, 404),
  },
});

/** The stored account document, read for every request (concurrent requests of one account share a read). */
const accountReadsOf = sharedReadsPer((deps: ApiDeps) => {
  const accounts = deps.db.collection<AccountDocument>(collections.accounts);
  return (accountId: string) => accounts.findOne({ _id: accountId });
});

export const meRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const principal = c.get('principal');
  const deps = c.get('deps');
  const stored = await accountReadsOf(deps).get(principal.accountId);
  if (!stored)
    throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
  const doc = await openAccountDocument(await accountKeysOf(deps), stored);
  return c.json(
    {
      ...toAccountCenter(doc),
      consents_required: consentsRequired(doc.consents ?? [], deps.config.dataRights.consentPurposes),
    },
    200,
  );
});
