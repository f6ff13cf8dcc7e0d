/**
 * Erasure, as a person and support touch it (`erasure/<accountId>`, the engine is the workflow):
 * - `POST /v1/me/erasure` asks (202, `pending_deletion`; a second request joins the first), `DELETE` cancels
 *   inside the grace window, `GET` shows where it stands (and the certificate once erased);
 * - `POST /v1/support/accounts/{accountId}/legal-hold` places or releases a hold (`legal:hold`), which the
 *   running erasure waits on; `GET /v1/support/erasures/{accountId}` gives the tombstone's certificate
 *   (`support:read`) after the account is gone.
 * The confirmation notice's cancel link opens `/account/erasure/cancel` (`api/routes/erasure-cancel.ts`).
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { msToNumber } from '@temporalio/common';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { accountEmailOf, addressProjection } from '../../activities/accounts/personal-fields.js';
import { AuditLog } from '../../activities/audit/audit-log.js';
import {
  erasureKeys,
  erasures,
  legalHolds,
  legalHoldInForce,
  openErasureRequest,
  type ErasureDocument,
} from '../../activities/erasure/store.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import { newOpaqueToken, tokenHash } from '../../domain/recovery.js';
import { legalHoldPermission } from '../../domain/roles.js';
import { erasureStages, erasureStores, type ErasureInput } from '../../workflows/erasure/messages.js';
import { accountKeysOf, notifierOf, vaultOf } from '../adapters.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiDeps, ApiEnv, Principal } from '../context.js';
import { defaultHook, ProblemError } from '../problem.js';
import { cancelErasure, erasureState, signalLegalHoldChanged, startErasure } from '../processes/erasure.js';
import { problemResponses, trimmedText } from './openapi.js';
import { supportReadPermission } from './workflows.js';

// ---- The request record: what the API keeps beside the engine's fields ------------------------------

/**
 * The API's fields of the `erasures` document: the notice's cancel link, kept as a hash, single use, valid
 * for the grace window. (The status to restore on a cancel is the engine's `previousStatus`.)
 */
export interface ErasureRequestFields {
  cancelTokenHash?: string;
  cancelTokenExpiresAt?: string;
  cancelTokenUsedAt?: string;
}
export type ErasureRequestDocument = ErasureDocument & ErasureRequestFields;

export const erasureRequests = (db: Db) => erasures(db) as unknown as Collection<ErasureRequestDocument>;
const accounts = (db: Db) => db.collection<AccountDocument>(collections.accounts);

/** Where the notice's cancel link points (a page of the account center: the owner's browser session decides). */
export const erasureCancelPath = '/account/erasure/cancel';

export interface ErasureRequested {
  workflowId: string;
  status: 'pending_deletion';
  requestedAt: string;
  graceEndsAt: string;
  onLegalHold: boolean;
  /** True when this request joined one already running. */
  joined: boolean;
}

/**
 * Ask for the erasure of the caller's account: open the request record (the account becomes
 * `pending_deletion`, the status before it is kept for a cancel), start the workflow, and send the
 * confirmation with the cancel link. A request already open is joined: same run, same grace, no second
 * notice. The link's token never enters the workflow: only its hash is kept, in the database.
 */
export async function requestErasure(
  deps: ApiDeps,
  principal: Pick<Principal, 'accountId'>,
): Promise<ErasureRequested> {
  const { db, config } = deps;
  const accountId = principal.accountId;
  const account = await accounts(db).findOne({ _id: accountId });
  if (!account || account.status === 'deleted') throw new ProblemError('not-found', 'There is no account to erase.');
  const workflowId = workflowIds.erasure(accountId);
  const now = new Date();
  const graceEndsAt = new Date(now.getTime() + msToNumber(config.dataRights.erasureGracePeriod)).toISOString();
  const request = await openErasureRequest(db, { accountId, workflowId, requestedAt: now.toISOString(), graceEndsAt });
  const input: ErasureInput = {
    accountId,
    requestedAt: request.requestedAt,
    requestedBy: { type: 'user', id: accountId },
    gracePeriod: config.dataRights.erasureGracePeriod,
    tombstoneRetention: config.dataRights.deletedAccountRetention,
  };
  await startErasure(deps, input);
  // The first request to get here makes the cancel link (a retry after a crash before it too); others join.
  const cancelToken = newOpaqueToken();
  const linked = await erasureRequests(db).updateOne(
    { _id: accountId, requestedAt: request.requestedAt, cancelTokenHash: { $exists: false } },
    { $set: { cancelTokenHash: tokenHash(cancelToken), cancelTokenExpiresAt: request.graceEndsAt } },
  );
  const to = linked.modifiedCount === 1 ? await accountEmailOf(await accountKeysOf(deps), account) : undefined;
  if (to) {
    await notifierOf(deps).send({
      idempotencyKey: `erasure/${accountId}/${request.requestedAt}/requested`,
      channel: 'email',
      to,
      accountId,
      template: 'erasure-requested',
      data: {
        cancelUrl: `${config.publicUrl}${erasureCancelPath}?token=${cancelToken}`,
        graceEndsAt: request.graceEndsAt,
      },
    });
  }
  return {
    workflowId,
    status: 'pending_deletion',
    requestedAt: request.requestedAt,
    graceEndsAt: request.graceEndsAt,
    onLegalHold: await legalHoldInForce(db, accountId),
    joined: linked.modifiedCount === 0,
  };
}

/**
 * Cancel inside the grace window (the person's DELETE, or the notice's link). The workflow's update does
 * the work (it refuses after the grace; it puts the account's status back and audits who cancelled); here
 * the cancel link is spent and the person told.
 */
export async function cancelErasureRequest(deps: ApiDeps, accountId: string, by: 'user' | 'link'): Promise<void> {
  const { db } = deps;
  await cancelErasure(deps, accountId, by);
  const request = await erasureRequests(db).findOne({ _id: accountId });
  await erasureRequests(db).updateOne({ _id: accountId }, { $set: { cancelTokenUsedAt: new Date().toISOString() } });
  const account = await accounts(db).findOne({ _id: accountId }, { projection: addressProjection });
  const to = account ? await accountEmailOf(await accountKeysOf(deps), account) : undefined;
  if (to && request) {
    await notifierOf(deps).send({
      idempotencyKey: `erasure/${accountId}/${request.requestedAt}/cancelled`,
      channel: 'email',
      to,
      accountId,
      template: 'erasure-cancelled',
    });
  }
}

// ---- Schemas ---------------------------------------------------------------------------------------

const stepSchema = z.object({
  store: z.enum(erasureStores),
  deleted: z.number().int(),
  at: z.string(),
  detail: z.string(),
  retained: z.object({ what: z.string(), why: z.string() }).optional(),
});

const certificateSchema = z
  .object({
    format: z.literal('cra-erasure-certificate/1'),
    accountId: z.string(),
    subjectHash: z.string(),
    requestedAt: z.string(),
    erasedAt: z.string(),
    steps: z.array(stepSchema),
    retained: z.array(z.object({ what: z.string(), why: z.string(), until: z.string().optional() })),
    purgeAt: z.string(),
    signature: z.object({ keyName: z.string(), mac: z.string() }),
  })
  .openapi('ErasureCertificate', {
    description:
      'What was deleted where, how many, when, and what is kept and why; `npm run erasure:verify` checks it.',
  });

const requestedSchema = z
  .object({
    workflowId: z.string(),
    status: z.literal('pending_deletion'),
    requestedAt: z.string(),
    graceEndsAt: z
      .string()
      .openapi({ description: 'Until then `DELETE /v1/me/erasure` or the notice’s link cancels.' }),
    onLegalHold: z.boolean().openapi({ description: 'A legal hold is in force: the erasure waits for its release.' }),
    joined: z.boolean().openapi({ description: 'This request joined one already running.' }),
  })
  .openapi('ErasureRequested');

const stateSchema = z
  .object({
    workflowId: z.string(),
    stage: z.enum(erasureStages),
    requestedAt: z.string(),
    graceEndsAt: z.string(),
    onLegalHold: z.boolean(),
    steps: z.array(stepSchema),
    certificate: certificateSchema.optional(),
  })
  .openapi('ErasureState');

const accountIdParam = z.object({
  accountId: z
    .uuid()
    .openapi({ param: { name: 'accountId', in: 'path' }, example: '7d9f3c8e-0000-4000-8000-000000000000' }),
});

const legalHoldBody = z
  .object({
    hold: z.boolean().openapi({ description: 'true places a hold, false releases it' }),
    reason: trimmedText(1, 500).openapi({ description: 'Why, in support’s words (kept with the hold).' }),
  })
  .strict()
  .openapi('LegalHoldRequest');

const legalHoldSchema = z
  .object({
    accountId: z.string(),
    active: z.boolean(),
    updatedAt: z.string(),
    /** Whether a running erasure was told (it waits while held, resumes when released). */
    erasureNotified: z.boolean(),
  })
  .openapi('LegalHold');

const tombstoneSchema = z
  .object({
    accountId: z.string(),
    stage: z.enum(erasureStages),
    requestedAt: z.string(),
    erasedAt: z.string().optional(),
    purgeAt: z.string().optional(),
    certificate: certificateSchema,
  })
  .openapi('ErasureTombstone');

/**
 * The newest finished erasure of the subject's earlier account, found by the tombstone's keyed hash of the
 * subject, while the tombstone lasts: the one who signs in as that subject is the person it was erased for.
 */
async function previousErasureOf(deps: ApiDeps, subject: string) {
  const subjectHash = await (await vaultOf(deps)).hmac(erasureKeys.subjects, subject);
  const tombstones = await erasureRequests(deps.db).find({ subjectHash, stage: 'erased' }).toArray();
  const newest = tombstones
    .filter((t) => t.certificate)
    .sort((a, b) => (a.erasedAt ?? '').localeCompare(b.erasedAt ?? ''))
    .at(-1);
  if (!newest?.certificate) return undefined;
  return {
    workflowId: newest.workflowId,
    stage: newest.stage,
    requestedAt: newest.requestedAt,
    graceEndsAt: newest.graceEndsAt,
    onLegalHold: false,
    steps: newest.certificate.steps,
    certificate: newest.certificate,
  };
}

// ---- Routes ----------------------------------------------------------------------------------------

const requestRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/erasure',
  summary: 'Ask for the erasure of your account (GDPR art. 17)',
  description:
    'The account becomes `pending_deletion` at once; nothing is deleted before `graceEndsAt` (`ERASURE_GRACE_PERIOD`, 7 days by default), and a notice with a cancel link is sent. A second request joins the first. Under a legal hold the request is accepted and waits (`onLegalHold`).',
  responses: {
    202: { description: 'Accepted: the erasure runs', content: { 'application/json': { schema: requestedSchema } } },
    ...problemResponses(401, 404),
  },
});

const cancelRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/erasure',
  summary: 'Cancel the erasure of your account inside its grace period',
  responses: {
    200: {
      description: 'Cancelled: nothing was deleted, the account is as it was',
      content: { 'application/json': { schema: z.object({ status: z.literal('cancelled') }) } },
    },
    ...problemResponses(401, 404, 409),
  },
});

const stateRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/erasure',
  summary: 'Where the erasure of your account stands (and its certificate once erased)',
  description:
    'Once the erasure is done and your sign-in has moved to a new, empty account, this still answers the erased account’s certificate while its tombstone is kept (`DELETED_ACCOUNT_RETENTION`).',
  responses: {
    200: { description: 'The erasure', content: { 'application/json': { schema: stateSchema } } },
    ...problemResponses(401, 404),
  },
});

const legalHoldRoute = secured(auth.permission(legalHoldPermission), {
  method: 'post',
  path: '/v1/support/accounts/{accountId}/legal-hold',
  summary: 'Place or release a legal hold on an account (an erasure waits while one is in force)',
  request: {
    params: accountIdParam,
    body: { required: true, content: { 'application/json': { schema: legalHoldBody } } },
  },
  responses: {
    200: { description: 'The hold as it is now', content: { 'application/json': { schema: legalHoldSchema } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const tombstoneRoute = secured(auth.permission(supportReadPermission), {
  method: 'get',
  path: '/v1/support/erasures/{accountId}',
  summary: 'The certificate of an erased account (its tombstone), until it is purged',
  request: { params: accountIdParam },
  responses: {
    200: { description: 'The tombstone', content: { 'application/json': { schema: tombstoneSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const erasureRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(requestRoute, async (c) => {
    return c.json(await requestErasure(c.get('deps'), c.get('principal')), 202);
  })

  .openapi(cancelRoute, async (c) => {
    await cancelErasureRequest(c.get('deps'), c.get('principal').accountId, 'user');
    return c.json({ status: 'cancelled' as const }, 200);
  })

  .openapi(stateRoute, async (c) => {
    const { accountId, subject } = c.get('principal');
    const state = await erasureState(c.get('deps'), accountId);
    if (state) return c.json({ workflowId: workflowIds.erasure(accountId), ...state }, 200);
    // The erasure moved the subject to a new id: the person still gets the certificate of what was erased.
    const previous = await previousErasureOf(c.get('deps'), subject);
    if (!previous) throw new ProblemError('erasure-not-found', 'Your account has no erasure.');
    return c.json(previous, 200);
  })

  .openapi(legalHoldRoute, async (c) => {
    const deps = c.get('deps');
    const { accountId } = c.req.valid('param');
    const { hold, reason } = c.req.valid('json');
    const agent = c.get('principal');
    const known =
      (await accounts(deps.db).findOne({ _id: accountId }, { projection: { _id: 1 } })) ??
      (await erasureRequests(deps.db).findOne({ _id: accountId }, { projection: { _id: 1 } }));
    if (!known) throw new ProblemError('not-found', `No account ${accountId}.`);
    const at = new Date().toISOString();
    const event = { action: hold ? ('placed' as const) : ('released' as const), reason, by: agent.accountId, at };
    const inOtherState = `The legal hold on ${accountId} is already ${hold ? 'in force' : 'released'}.`;
    // The filter is the state it must be in: two agents at once cannot both place (or release) it.
    if (hold) {
      try {
        await legalHolds(deps.db).updateOne(
          { _id: accountId, active: { $ne: true } },
          { $set: { active: true, updatedAt: at }, $push: { history: event } },
          { upsert: true },
        );
      } catch (err) {
        if (err instanceof MongoServerError && err.code === 11000)
          throw new ProblemError('legal-hold-conflict', inOtherState);
        throw err;
      }
    } else {
      const released = await legalHolds(deps.db).updateOne(
        { _id: accountId, active: true },
        { $set: { active: false, updatedAt: at }, $push: { history: event } },
      );
      if (released.matchedCount === 0) throw new ProblemError('legal-hold-conflict', inOtherState);
    }
    await new AuditLog(deps.db, { vault: () => vaultOf(deps) }).append({
      eventId: `legal_hold/${accountId}/${event.action}/${at}`,
      action: `legal_hold.${event.action}`,
      actor: { type: 'support', id: agent.accountId },
      accountId,
      // The reason stays with the hold: the audit log outlives the person's data.
      details: { by: agent.accountId },
    });
    const erasureNotified = await signalLegalHoldChanged(deps, accountId);
    return c.json({ accountId, active: hold, updatedAt: at, erasureNotified }, 200);
  })

  .openapi(tombstoneRoute, async (c) => {
    const { accountId } = c.req.valid('param');
    const tombstone = await erasureRequests(c.get('deps').db).findOne({ _id: accountId });
    if (!tombstone?.certificate)
      throw new ProblemError('erasure-not-found', `No erased account ${accountId} (or its tombstone was purged).`);
    return c.json(
      {
        accountId,
        stage: tombstone.stage,
        requestedAt: tombstone.requestedAt,
        ...(tombstone.erasedAt ? { erasedAt: tombstone.erasedAt } : {}),
        ...(tombstone.purgeAt ? { purgeAt: tombstone.purgeAt } : {}),
        certificate: tombstone.certificate,
      },
      200,
    );
  });
