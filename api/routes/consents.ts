/**
 * The caller's consents: `GET /v1/me/consents` (the configured purposes, the answer in force per purpose,
 * every answer ever recorded, the features withdrawn consents stop) and `PUT /v1/me/consents` (one answer:
 * appended to the account document's history, never overwriting it, audited, and applied to the features
 * the purpose stops — today the provider sync's schedules, paused and resumed). See docs/data-rights.md.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Db } from 'mongodb';
import { consentsView, stoppedFeatures } from '../../activities/accounts/consents.js';
import { AuditLog } from '../../activities/audit/audit-log.js';
import {
  consentSchema,
  recordedConsentSchema,
  type AccountDocument,
  type RecordedConsent,
} from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { consentFeatures, type ConsentPurpose } from '../../domain/consents.js';
import { vaultOf } from '../adapters.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiDeps, ApiEnv, Principal } from '../context.js';
import { pauseSyncsForConsent, resumeSyncsAfterConsent } from '../processes/sync.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

const purposeSchema = z
  .object({
    purpose: z.string(),
    version: z.string().openapi({ description: 'The current version of the text: the one a new answer must give.' }),
    description: z.string(),
    required: z.boolean().openapi({ description: 'Reported as missing in `GET /v1/me` until granted.' }),
    features: z.array(z.enum(consentFeatures)).openapi({ description: 'What stops while this consent is withdrawn.' }),
  })
  .openapi('ConsentPurpose');

const consentsSchema = z
  .object({
    purposes: z.array(purposeSchema),
    current: z
      .array(
        recordedConsentSchema.extend({
          upToDate: z.boolean().openapi({ description: 'The answer is to the configured (current) version.' }),
        }),
      )
      .openapi({ description: 'The answer in force per purpose (the last one recorded).' }),
    history: z.array(recordedConsentSchema).openapi({ description: 'Every answer ever recorded, oldest first.' }),
    stopped: z
      .array(z.object({ feature: z.enum(consentFeatures), purpose: z.string() }))
      .openapi({ description: 'Features stopped by a withdrawn consent, with the purpose that stops each.' }),
  })
  .openapi('Consents');

const answerSchema = consentSchema.strict().openapi('ConsentAnswer');

const notSignedUp = 'This identity has no account yet: sign up with POST /v1/signup.';

const getRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/consents',
  summary: 'The caller’s consents: purposes, the answers in force, the full history, and what they stop',
  responses: {
    200: { description: 'The consents', content: { 'application/json': { schema: consentsSchema } } },
    ...problemResponses(401, 404),
  },
});

const putRoute = secured(auth.bearer, {
  method: 'put',
  path: '/v1/me/consents',
  summary: 'Grant or withdraw one consent (appended to the history, audited)',
  description:
    'The answer must be to the purpose’s current version (409 `consent-version-outdated` otherwise). An answer equal to the one in force records nothing. Withdrawing a consent a feature needs stops it (`stopped`); granting it again resumes it.',
  request: { body: { required: true, content: { 'application/json': { schema: answerSchema } } } },
  responses: {
    200: { description: 'The consents after the answer', content: { 'application/json': { schema: consentsSchema } } },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});

const maxWriteAttempts = 5;

async function accountOf(db: Db, accountId: string): Promise<AccountDocument> {
  const doc = await db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId });
  if (!doc) throw new ProblemError('account-not-found', notSignedUp);
  return doc;
}

/**
 * Append the answer unless it is the one in force. The write is guarded by the document's `revision` (as
 * the account activities write) and is a `$push`, so a lost race is read again and nothing recorded is
 * ever rewritten. Returns the document as written and the index of the answer in force for the purpose.
 */
async function recordAnswer(
  db: Db,
  accountId: string,
  answer: RecordedConsent,
): Promise<{ doc: AccountDocument; index: number; appended: boolean }> {
  const accounts = db.collection<AccountDocument>(collections.accounts);
  for (let attempt = 0; attempt < maxWriteAttempts; attempt++) {
    const doc = await accountOf(db, accountId);
    const consents = doc.consents ?? [];
    const index = consents.findLastIndex((c) => c.purpose === answer.purpose);
    const inForce = consents[index];
    if (inForce && inForce.version === answer.version && inForce.granted === answer.granted)
      return { doc, index, appended: false };
    const written = await accounts.updateOne(
      { _id: accountId, revision: doc.revision },
      { $push: { consents: answer }, $set: { updatedAt: answer.recordedAt, revision: doc.revision + 1 } },
    );
    if (written.modifiedCount === 1)
      return {
        doc: { ...doc, consents: [...consents, answer], revision: doc.revision + 1, updatedAt: answer.recordedAt },
        index: consents.length,
        appended: true,
      };
  }
  throw new ProblemError('conflict', 'The account kept changing while your answer was recorded: try again.');
}

/** The audit event of the answer at `index` of the history: one per recorded answer (its id says which). */
async function auditAnswer(deps: ApiDeps, principal: Principal, index: number, answer: RecordedConsent) {
  const withdrawn = !answer.granted;
  await new AuditLog(deps.db, { vault: () => vaultOf(deps) }).append({
    eventId: `${principal.accountId}/consent/${index}/${answer.purpose}/${withdrawn ? 'withdrawn' : 'granted'}`,
    action: withdrawn ? 'consent.withdrawn' : 'consent.granted',
    actor: { type: 'user', id: principal.subject },
    accountId: principal.accountId,
    details: { purpose: answer.purpose, version: answer.version, source: answer.source },
  });
}

/**
 * Bring the features of the account in line with its consents: a stopped provider sync has its schedules
 * paused and its running syncs cancelled; one no longer stopped is resumed. Run on every answer to a purpose
 * with features (also one that records nothing), so a request that died half-way is finished by a retry.
 */
async function applyStops(deps: ApiDeps, doc: AccountDocument, purposes: readonly ConsentPurpose[]) {
  const stopped = stoppedFeatures(doc.consents ?? [], purposes);
  const providers = [
    ...new Set(doc.connected_providers.nodes.filter((n) => n.status !== 'disconnected').map((n) => n.provider)),
  ];
  const stoppedBy = stopped.get('provider_sync');
  if (stoppedBy) await pauseSyncsForConsent(deps, { accountId: doc._id, providers, purpose: stoppedBy });
  else await resumeSyncsAfterConsent(deps, { accountId: doc._id, providers });
}

export const consentRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(getRoute, async (c) => {
    const deps = c.get('deps');
    const doc = await accountOf(deps.db, c.get('principal').accountId);
    return c.json(consentsView(doc.consents ?? [], deps.config.dataRights.consentPurposes), 200);
  })
  .openapi(putRoute, async (c) => {
    const body = c.req.valid('json');
    const principal = c.get('principal');
    const deps = c.get('deps');
    const purposes = deps.config.dataRights.consentPurposes;
    const purpose = purposes.find((p) => p.purpose === body.purpose);
    if (!purpose)
      throw new ProblemError(
        'consent-purpose-unknown',
        `There is no consent purpose "${body.purpose}". The purposes are: ${purposes.map((p) => p.purpose).join(', ')}.`,
      );
    if (body.version !== purpose.version)
      throw new ProblemError(
        'consent-version-outdated',
        `The current version of "${purpose.purpose}" is "${purpose.version}" (you answered "${body.version}"): read it with GET /v1/me/consents and answer that version.`,
      );
    const { doc, index, appended } = await recordAnswer(deps.db, principal.accountId, {
      ...body,
      recordedAt: new Date().toISOString(),
      source: 'api',
    });
    const inForce = doc.consents[index];
    // An answer recorded here is audited once (the event id is its place in the history); repeating the
    // request after a failure between the two writes audits what it recorded.
    if (inForce && (appended || inForce.source === 'api')) await auditAnswer(deps, principal, index, inForce);
    if (purpose.features.length > 0) await applyStops(deps, doc, purposes);
    return c.json(consentsView(doc.consents, purposes), 200);
  });
