/**
 * `PATCH /v1/me/profile`: the caller's names, written first to the identity directory (the embedded
 * directory's user, or Auth0's user through the Management API: `IdentityDirectory.updateNames`), then to the
 * account center, sealed like every personal field. Names are checked as signup checks them (`domain/names.ts`); the audit event says
 * which fields changed, never the names.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { AuditLog } from '../../activities/audit/audit-log.js';
import { openAccountDocument, sealAccountDocument, sealedFieldsOf } from '../../activities/accounts/personal-fields.js';
import { accountsCollection } from '../../activities/accounts/store.js';
import { personName } from '../../domain/names.js';
import { accountKeysOf, directoryOf, vaultOf } from '../adapters.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

const maxWriteAttempts = 5;

const profileBodySchema = z
  .object({
    givenName: personName().openapi({ example: 'Ada' }),
    familyName: personName().openapi({ example: 'Lovelace' }),
  })
  .strict()
  .openapi('ProfileUpdate');

const profileSchema = z
  .object({ givenName: z.string(), familyName: z.string(), directory: z.enum(['embedded', 'auth0']) })
  .openapi('Profile');

const route = secured(auth.bearer, {
  method: 'patch',
  path: '/v1/me/profile',
  summary: 'Change the caller’s first and last name',
  request: { body: { required: true, content: { 'application/json': { schema: profileBodySchema } } } },
  responses: {
    200: {
      description: 'The names as stored, and the directory they were written to',
      content: { 'application/json': { schema: profileSchema } },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415, 503),
  },
});

export const profileRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(route, async (c) => {
  const { givenName, familyName } = c.req.valid('json');
  const principal = c.get('principal');
  const deps = c.get('deps');
  const accounts = accountsCollection(deps.db);
  const keys = await accountKeysOf(deps);
  const vault = await vaultOf(deps);
  // The directory first: if it cannot take the names, nothing changed here either and the person is told.
  let written;
  try {
    written = await directoryOf(deps).updateNames(principal.subject, { givenName, familyName });
  } catch (err) {
    deps.log.warn({ err: { message: (err as Error).message } }, 'profile: the directory refused the names');
    throw new ProblemError(
      'unavailable',
      'The sign-in directory could not save your names right now; try again shortly.',
      {
        'retry-after': '5',
      },
    );
  }
  if (!written.updated)
    throw new ProblemError('account-not-found', 'Your sign-in identity is not in the directory any more.');
  let changed: string[] | undefined;
  for (let attempt = 0; attempt < maxWriteAttempts && !changed; attempt++) {
    const stored = await accounts.findOne({ _id: principal.accountId });
    if (!stored)
      throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
    const doc = await openAccountDocument(keys, stored);
    const fields = [
      ...(doc.profile.givenName !== givenName ? ['givenName'] : []),
      ...(doc.profile.familyName !== familyName ? ['familyName'] : []),
    ];
    if (fields.length === 0) {
      changed = fields;
      break;
    }
    const profile = { ...doc.profile, givenName, familyName };
    const sealed = await sealAccountDocument(keys, vault, { ...doc, profile });
    const at = new Date().toISOString();
    const written = await accounts.updateOne(
      { _id: principal.accountId, revision: doc.revision },
      { $set: { ...sealedFieldsOf(sealed), updatedAt: at, revision: doc.revision + 1 } },
    );
    if (written.modifiedCount === 1) changed = fields;
  }
  if (!changed) throw new ProblemError('conflict', 'Your account kept changing while the names were saved: try again.');
  const directory = deps.config.identity.kind;
  if (changed.length > 0)
    await new AuditLog(deps.db, { vault: () => vaultOf(deps) }).append({
      eventId: `${principal.accountId}/profile/${Date.now()}/${changed.join('+')}`,
      action: 'profile.updated',
      actor: { type: 'user', id: principal.subject },
      accountId: principal.accountId,
      details: { fields: changed.join(','), directory },
    });
  return c.json({ givenName, familyName, directory }, 200);
});
