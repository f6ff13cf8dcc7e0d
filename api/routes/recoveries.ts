/**
 * Account recovery over HTTP (docs/recovery.md). The public routes authenticate with the recovery token
 * (`X-Recovery-Token`) or a cancel link's token and answer alike whether or not the address has an account;
 * support decides with `recovery:approve`; a signed-in person sets up factors in advance under
 * `/v1/me/recovery-factors` (`recovery-factors.ts`). Proofs are checked here — a `provider_reauth` sign-in
 * when the provider answers at the OAuth callback — so the workflow only ever hears facts.
 */
import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { msToNumber } from '@temporalio/common';
import type { Context } from 'hono';
import { collections } from '../../domain/collections.js';
import { defaultSupportEmail, type CraConfig } from '../../domain/config.js';
import { workflowIds } from '../../domain/ids.js';
import {
  defaultRecoveryLimits, describeInstant, deviceOf, emailHash, maskEmail, networkOf, newOpaqueToken, tokenHash, type RecoveryDocument,
} from '../../domain/recovery.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { renderNoticePage, type NoticePageProps } from '../../ui/pages/notice-page.js';
import { defaultDurations, searchAttributes, taskQueueNames } from '../../temporal.config.js';
import {
  cancelRecoveryUpdate, decideUpdate, deliveredCodeFactors, finalRecoveryStages, publicRecoveryStatus, recoveryFactors, recoveryPolicy, recoveryStages,
  recoveryStatusQuery, recoveryWorkflowType, requestChallengeUpdate, requestProviderChallengeUpdate, submitFactorUpdate, submitProviderAnswerUpdate,
  type DeliveredCodeFactor, type RecoveryInput, type RecoveryStatus, type RecoveryWorkflow,
} from '../../workflows/recovery/messages.js';
import { requireAnyPermission, requirePermission } from '../auth/require-permission.js';
import { agentSignature } from '../auth/http-signatures.js';
import { signedInCaller } from '../auth/optional-bearer.js';
import {
  authorizeRecovery, checkBackupCode, checkDeliveredCode, checkPasskey, checkTotp, countChallenges, issuePasskeyChallenge,
  matchesCancelToken, recoveryTokenHeader, refundAttempt, reserveAttempt, type ProofCheck, type WebAuthnSettings,
} from '../auth/recovery-proofs.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { clientCountry, clientIp, takeOrRefuse, TokenBuckets } from '../middleware/rate-limit.js';
import type { ProblemKind } from '../../domain/problem.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';
import { failureTypeOf } from '../../domain/failures.js';
import { vaultOf } from '../adapters.js';
import { claimProviderChallenge, discardProviderAnswer, findProviderChallenge, takeProviderAuthorizationUrl } from '../auth/recovery-provider.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';
import { supportReadPermission } from './workflows.js';

export const recoveryApprovePermission = 'recovery:approve';

/** Recovery settings: `temporal.config.ts` and `domain/recovery.ts` defaults, overridden by the environment. */
export function recoverySettings(config: CraConfig) {
  const o = config.recovery ?? {};
  const durations: RecoveryInput['durations'] = {
    noticeInterval: o.noticeInterval ?? defaultDurations.recoveryNoticeInterval,
    coolingPeriod: o.coolingPeriod ?? defaultDurations.recoveryCoolingPeriod,
    expiry: o.expiry ?? defaultDurations.recoveryExpiry,
    codeTtl: o.codeTtl ?? defaultDurations.recoveryCodeTtl,
    ticketTtl: o.ticketTtl ?? defaultDurations.recoveryTicketTtl,
    minConnectionAge: o.minConnectionAge ?? defaultRecoveryLimits.minConnectionAge,
  };
  const publicUrl = new URL(config.publicUrl);
  const webauthn: WebAuthnSettings = {
    rpId: o.webauthnRpId ?? publicUrl.hostname,
    origins: o.webauthnOrigins ?? [publicUrl.origin],
    ttlMs: msToNumber(durations.codeTtl),
  };
  return {
    durations,
    webauthn,
    agentSignatureWindowSeconds: Math.round(msToNumber(o.agentSignatureWindow ?? defaultDurations.agentSignatureWindow) / 1000),
    rateLimit: {
      perIp: o.rateLimitPerIp ?? defaultRecoveryLimits.rateLimitPerIp,
      perEmail: o.rateLimitPerEmail ?? defaultRecoveryLimits.rateLimitPerEmail,
      windowMs: msToNumber(o.rateLimitWindow ?? defaultRecoveryLimits.rateLimitWindow),
    },
    trustedProxyHops: o.trustedProxyHops ?? 0,
    countryHeader: o.countryHeader,
    minConnectionAgeMs: msToNumber(o.minConnectionAge ?? defaultRecoveryLimits.minConnectionAge),
  };
}
type RecoverySettings = ReturnType<typeof recoverySettings>;

/** Per API process: settings and token buckets, made on first use. */
const perProcess = new WeakMap<ApiDeps, { settings: RecoverySettings; perIp: TokenBuckets; perEmail: TokenBuckets; steps: TokenBuckets }>();
export function recoveryContext(c: Context<ApiEnv>) {
  const deps = c.get('deps');
  let ctx = perProcess.get(deps);
  if (!ctx) {
    const settings = recoverySettings(deps.config);
    const { perIp, perEmail, windowMs } = settings.rateLimit;
    // Challenges and factors: generous, but a bound on codes sent and proofs tried from one network.
    ctx = { settings, perIp: new TokenBuckets(perIp, windowMs), perEmail: new TokenBuckets(perEmail, windowMs), steps: new TokenBuckets(perIp * 10, windowMs) };
    perProcess.set(deps, ctx);
  }
  return { ...ctx, deps, ip: clientIp(c, ctx.settings.trustedProxyHops) };
}

/** Paths that take no bearer token: the requester has only the recovery token (and agents sign). */
export function isPublicRecoveryPath(path: string): boolean {
  return /^\/v1\/recoveries(\/[^/]+(\/(challenges|factors|cancel))?)?$/.test(path) || path === '/v1/agents/recoveries';
}

/** Agents may sign any recovery request; a signature that is present must hold. */
export const optionalAgentSignature = agentSignature({ required: false, windowSeconds: (c) => recoveryContext(c).settings.agentSignatureWindowSeconds });

/**
 * Start `recovery/<id>`: the same work, the same answer and about the same time whether or not the address
 * has an account — the workflow finds out, and for an unknown address it rejects every factor.
 */
export async function startRecovery(c: Context<ApiEnv>, email: string): Promise<{ recoveryId: string; recoveryToken: string }> {
  const { deps, settings, perIp, perEmail, ip } = recoveryContext(c);
  takeOrRefuse(perIp, `ip:${networkOf(ip)}:${ip ?? 'unknown'}`, 'recovery requests from your address');
  takeOrRefuse(perEmail, emailHash(email), 'recovery requests for this email address');
  const agent = c.get('agent');
  const recoveryId = randomUUID();
  const recoveryToken = newOpaqueToken();
  const country = clientCountry(c, settings.countryHeader);
  await deps.db.collection<RecoveryDocument>(collections.recoveries).insertOne({
    _id: recoveryId, tokenHash: tokenHash(recoveryToken), email: email.trim(), emailHash: emailHash(email), createdAt: new Date().toISOString(),
    network: networkOf(ip), device: deviceOf(c.req.header('user-agent')), ...(country ? { country } : {}),
    ...(agent ? { agent: { agentId: agent.agentId, accountId: agent.accountId, name: agent.name } } : {}),
    failures: Object.fromEntries(recoveryFactors.map((f) => [f, 0])), cancelTokenHashes: [],
  });
  await deps.temporal.workflow.start<RecoveryWorkflow>(recoveryWorkflowType, {
    workflowId: workflowIds.recovery(recoveryId),
    taskQueue: taskQueueNames(deps.config.temporal.taskQueuePrefix).accounts,
    args: [{ recoveryId, durations: settings.durations, requestedVia: agent ? { kind: 'agent', agentId: agent.agentId } : { kind: 'person' } }],
    typedSearchAttributes: [
      { key: searchAttributes.process, value: 'recovery' },
      { key: searchAttributes.stage, value: 'verifying' },
      { key: searchAttributes.needsApproval, value: false },
    ],
  });
  return { recoveryId, recoveryToken };
}

const handleOf = (c: Context<ApiEnv>, recoveryId: string): WorkflowHandle<RecoveryWorkflow> =>
  c.get('deps').temporal.workflow.getHandle<RecoveryWorkflow>(workflowIds.recovery(recoveryId));

async function statusOf(c: Context<ApiEnv>, recoveryId: string): Promise<RecoveryStatus> {
  try {
    return await handleOf(c, recoveryId).query(recoveryStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ProblemError('not-found', `No recovery ${recoveryId}.`);
    throw err;
  }
}

/** An update the workflow refused (its validator said why) is a 409; so is one sent to a finished recovery. */
async function update<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new ProblemError('conflict', `The recovery refused this: ${err.cause?.message ?? 'no reason given'}.`);
    if (err instanceof WorkflowNotFoundError) throw new ProblemError('conflict', 'This recovery is over.');
    throw err;
  }
}

/** The account lookup runs in the workflow right after the start; proofs that need the account wait for it briefly. */
async function resolved(c: Context<ApiEnv>, request: RecoveryDocument): Promise<RecoveryDocument> {
  const recoveries = c.get('deps').db.collection<RecoveryDocument>(collections.recoveries);
  let current = request;
  for (let i = 0; !current.resolvedAt && i < 60; i++) {
    await new Promise((r) => setTimeout(r, 50));
    current = (await recoveries.findOne({ _id: request._id })) ?? current;
  }
  if (!current.resolvedAt) throw new ProblemError('unavailable', 'The recovery is still starting; try again in a moment.', { 'retry-after': '2' });
  return current;
}

/** What the OAuth callback answers for a recovery's provider sign-in (it renders it as JSON or a page). */
export type RecoveryCallbackAnswer =
  | { kind: 'problem'; problem: ProblemKind; detail: string }
  | { kind: 'outcome'; body: { recoveryId: string; factor: 'provider_reauth'; accepted: boolean; satisfied: string[]; remaining: number } };

/**
 * The provider's answer to a `provider_reauth` challenge, at `/v1/oauth/{provider}/callback`: undefined when
 * the state is not a recovery's. The state is single-use and expires; a wrong provider account, an unlinked
 * provider or an unknown address is a failed attempt like a wrong code, and answers alike.
 */
export async function recoveryProviderCallback(
  c: Context<ApiEnv>, provider: string, query: { state: string; code?: string; error?: string },
): Promise<RecoveryCallbackAnswer | undefined> {
  const { deps, settings } = recoveryContext(c);
  const challenge = await findProviderChallenge(deps.db, query.state);
  if (!challenge) return undefined;
  const problem = (kind: ProblemKind, detail: string): RecoveryCallbackAnswer => ({ kind: 'problem', problem: kind, detail });
  if (challenge.provider !== provider) return problem('link-state-invalid', 'This answer does not belong to a sign-in with this provider.');
  if (challenge.consumedAt) return problem('link-state-used', 'This answer was already used. Ask for a new sign-in link.');
  const now = new Date();
  if (challenge.expiresAt <= now.toISOString()) return problem('link-expired', 'The sign-in took too long. Ask for a new sign-in link.');
  // The answer is parked on the challenge (the code encrypted); the workflow's activity redeems it.
  const claimed = await claimProviderChallenge(deps.db, await vaultOf(deps), challenge._id, { ...(query.code ? { code: query.code } : {}), ...(query.error ? { error: query.error } : {}) }, now);
  if (!claimed) return problem('link-state-used', 'This answer was already used. Ask for a new sign-in link.');
  const recoveryId = claimed.recoveryId;
  let request = await deps.db.collection<RecoveryDocument>(collections.recoveries).findOne({ _id: recoveryId });
  if (!request || request.closedAt) {
    await discardProviderAnswer(deps.db, claimed._id);
    return problem('conflict', 'This recovery is over.');
  }
  request = await resolved(c, request);
  if (!(await reserveAttempt(deps.db, recoveryId, 'provider_reauth'))) {
    await discardProviderAnswer(deps.db, claimed._id);
    return problem('conflict', `The factor provider_reauth is locked after ${recoveryPolicy.maxFailures} failures.`);
  }
  const country = clientCountry(c, settings.countryHeader);
  let outcome;
  try {
    outcome = await update(() => handleOf(c, recoveryId).executeUpdate(submitProviderAnswerUpdate, {
      args: [{ challengeId: claimed._id, ...(country ? { country } : {}) }],
    }));
  } catch (err) {
    await discardProviderAnswer(deps.db, claimed._id);
    if (err instanceof ProblemError) return problem(err.kind, err.message);
    throw err;
  }
  if (outcome.accepted) await refundAttempt(deps.db, recoveryId, 'provider_reauth');
  return { kind: 'outcome', body: { recoveryId, factor: 'provider_reauth', accepted: outcome.accepted, satisfied: outcome.satisfied, remaining: outcome.remaining } };
}

// ---- Cancel links: the page a notice's link opens ------------------------------------------------

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The cancel page's button posts a plain form (the token in a hidden field); the app and the owner post JSON or nothing. */
const isFormPost = (c: Context<ApiEnv>) => /^application\/x-www-form-urlencoded\s*(;|$)/i.test(c.req.header('content-type') ?? '');

/** What a cancel link opens: nothing, or the recovery its token belongs to, where it stands and whose account it is. */
type CancelLink =
  | { kind: 'invalid' }
  | { kind: 'found'; token: string; request: RecoveryDocument; stage: RecoveryStatus['stage']; resetting: boolean; coolingEndsAt: string | null; email: string | undefined };

async function openCancelLink(c: Context<ApiEnv>, recoveryId: string, token: unknown): Promise<CancelLink> {
  const { db } = c.get('deps');
  if (typeof token !== 'string' || token.length < 20 || token.length > 200 || !uuidPattern.test(recoveryId)) return { kind: 'invalid' };
  const request = await db.collection<RecoveryDocument>(collections.recoveries).findOne({ _id: recoveryId });
  if (!request || !matchesCancelToken(request, token)) return { kind: 'invalid' };
  let status: RecoveryStatus | undefined;
  try {
    status = await handleOf(c, recoveryId).query(recoveryStatusQuery);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const account = request.accountId
    ? await db.collection<AccountDocument>(collections.accounts).findOne({ _id: request.accountId }, { projection: { rootIdentity: 1 } })
    : null;
  const stage = status?.stage ?? ((request.outcome as RecoveryStatus['stage'] | undefined) ?? 'expired');
  return {
    kind: 'found', token, request, stage, resetting: status?.resetting ?? false, coolingEndsAt: status?.coolingEndsAt ?? null,
    email: account?.rootIdentity.email,
  };
}

/** Every sentence of the cancel pages, in one place. */
const cancelText = {
  account: 'Account',
  started: 'Recovery asked for',
  stage: 'Where it stands',
  stages: {
    verifying: () => 'Checking proof of identity: not enough proof has been given yet.',
    cooling: (ends: string) => `Waiting period: enough proof was given. Nothing changes before ${ends}.`,
    awaiting_approval: () => 'Waiting for a person on our support team to approve it (the waiting period is over).',
  },
  ifNothing: 'If you do nothing',
  ifNothingText: (ends: string | null) =>
    `${ends ? `After ${ends}, once` : 'Once'} a person on our support team approves it, the password and sign-in methods of this account are reset and whoever asked can choose a new password.`,
  confirmTitle: 'Cancel the recovery of your account?',
  confirmText: [
    'Someone asked to recover the account below: to reset its password and sign-in methods so they can sign in without them.',
    'If that was you, you can close this page. If it was not you, press the button: the recovery stops at once and nothing about your account changes.',
  ],
  button: 'Cancel this recovery',
  confirmNote: 'Opening this page changed nothing; only the button cancels.',
  doneTitle: 'The recovery is cancelled',
  doneText: (email: string) => [
    `The recovery of ${email} is cancelled. Nothing about your account was changed, and the person who asked cannot continue it.`,
  ],
  nextSteps: (support: string) => [
    'Someone knew enough to start it. To keep them out: sign in to your account center, change your password, and check your connected providers and recovery methods — remove any you do not recognise, and make new backup codes.',
    `If you cannot sign in, or you see another recovery notice, contact our support team at ${support}.`,
  ],
  invalidTitle: 'This cancel link does not work',
  invalidText: (support: string) => [
    'Nothing was cancelled and nothing was changed. The link may be incomplete (some mail programs cut long links), or it was not made by us.',
    `Open the link again from the latest message about the recovery, copying the whole link. If you think someone is recovering your account, contact our support team at ${support}.`,
  ],
  alreadyCancelledTitle: 'This recovery is already cancelled',
  alreadyCancelledText: (email: string) => [`The recovery of ${email} was cancelled already. Nothing about your account was changed by it.`],
  completedTitle: 'Too late to cancel: this recovery is complete',
  completedText: (email: string, support: string) => [
    `The recovery of ${email} was completed: its password and sign-in methods were reset.`,
    `If you did not ask for it, contact our support team at once at ${support}.`,
  ],
  resettingTitle: 'Too late to cancel: the reset has begun',
  resettingText: (email: string, support: string) => [
    `The waiting period is over and our support team approved the recovery of ${email}; its sign-in methods are being reset now.`,
    `If you did not ask for it, contact our support team at once at ${support}.`,
  ],
  deniedTitle: 'Nothing to cancel: this recovery was refused',
  deniedText: (email: string) => [`Our support team refused the recovery of ${email}. Nothing about your account was changed.`],
  expiredTitle: 'Nothing to cancel: this recovery expired',
  expiredText: (email: string) => [`The recovery of ${email} was not completed in time and has ended. Nothing about your account was changed.`],
} as const;

type Rendered = { props: NoticePageProps; status: 200 | 404 | 409 | 410 };

/** The page for a cancel link as things stand: the question with its one button, or why there is nothing to cancel. */
function cancelLinkPage(c: Context<ApiEnv>, link: CancelLink): Rendered {
  const support = c.get('deps').config.supportEmail ?? defaultSupportEmail;
  if (link.kind === 'invalid') return { status: 404, props: { title: cancelText.invalidTitle, paragraphs: cancelText.invalidText(support) } };
  const email = link.email ? maskEmail(link.email) : 'your account';
  const next = cancelText.nextSteps(support);
  if (link.resetting || link.stage === 'completed') {
    return link.stage === 'completed'
      ? { status: 410, props: { title: cancelText.completedTitle, paragraphs: cancelText.completedText(email, support) } }
      : { status: 409, props: { title: cancelText.resettingTitle, paragraphs: cancelText.resettingText(email, support) } };
  }
  switch (link.stage) {
    case 'cancelled':
      return { status: 410, props: { title: cancelText.alreadyCancelledTitle, paragraphs: [...cancelText.alreadyCancelledText(email), ...next] } };
    case 'denied':
      return { status: 410, props: { title: cancelText.deniedTitle, paragraphs: cancelText.deniedText(email) } };
    case 'expired':
      return { status: 410, props: { title: cancelText.expiredTitle, paragraphs: cancelText.expiredText(email) } };
    default: {
      const ends = link.coolingEndsAt ? describeInstant(link.coolingEndsAt) : null;
      const stage = link.stage === 'cooling' ? cancelText.stages.cooling(ends ?? 'the end of the waiting period') : cancelText.stages[link.stage]();
      return {
        status: 200,
        props: {
          title: cancelText.confirmTitle, paragraphs: cancelText.confirmText,
          facts: [
            { label: cancelText.account, value: email },
            { label: cancelText.started, value: describeInstant(link.request.createdAt) },
            { label: cancelText.stage, value: stage },
            { label: cancelText.ifNothing, value: cancelText.ifNothingText(ends) },
          ],
          // The token goes in the body: the URL the form posts to carries none.
          form: { action: `/v1/recoveries/${link.request._id}/cancel`, fields: { token: link.token }, button: cancelText.button },
          note: cancelText.confirmNote,
        },
      };
    }
  }
}

/** The button's POST: cancel with the token from the form, and answer with a page whatever happens. */
async function cancelByForm(c: Context<ApiEnv>, recoveryId: string): Promise<Response> {
  const form = await c.req.parseBody();
  const token = typeof form.token === 'string' ? form.token : undefined;
  const link = await openCancelLink(c, recoveryId, token);
  if (link.kind === 'found' && !link.resetting && !finalRecoveryStages.includes(link.stage)) {
    try {
      await handleOf(c, recoveryId).executeUpdate(cancelRecoveryUpdate, { args: [{ by: 'link' }] });
      const support = c.get('deps').config.supportEmail ?? defaultSupportEmail;
      const email = link.email ? maskEmail(link.email) : 'your account';
      return renderNoticePage(c, { title: cancelText.doneTitle, paragraphs: [...cancelText.doneText(email), ...cancelText.nextSteps(support)] }, 200);
    } catch (err) {
      // Refused because it ended or the reset began meanwhile: say how it stands now.
      if (!(err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError)) throw err;
      const now = await openCancelLink(c, recoveryId, token);
      const page = cancelLinkPage(c, now);
      return renderNoticePage(c, page.props, page.status);
    }
  }
  const page = cancelLinkPage(c, link);
  return renderNoticePage(c, page.props, page.status);
}

// ---- Schemas -------------------------------------------------------------------------------------

const factorEnum = z.enum(recoveryFactors);
/** The email shape zod's z.email() checks; spelt out because a pipe cannot be described in OpenAPI. */
const emailPattern = /^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;
const recoveryIdParam = z.object({
  recoveryId: z.uuid().openapi({ param: { name: 'recoveryId', in: 'path' }, description: 'The recoveryId from POST /v1/recoveries' }),
});
export const recoveryStartSchema = z
  .object({ email: z.string().trim().max(254).regex(emailPattern, 'an email address').openapi({ example: 'ada@example.com', format: 'email' }) })
  .strict()
  .openapi('RecoveryStart');
export const recoveryStartedSchema = z
  .object({
    recoveryId: z.uuid(),
    recoveryToken: z.string().openapi({ description: `Shown once. Send it as ${recoveryTokenHeader} with every request about this recovery.` }),
  })
  .openapi('RecoveryStarted');
const publicStatusSchema = z
  .object({
    stage: z.enum(recoveryStages),
    satisfied: z.array(factorEnum),
    coolingEndsAt: z.string().nullable(),
    approvalsNeeded: z.number().int(),
  })
  .openapi('RecoveryStatus');
const challengeRequestSchema = z
  .object({
    factor: factorEnum,
    provider: z.enum(providerIds).optional().openapi({ description: 'For `provider_reauth`: the connected provider to sign in with', example: 'github' }),
  })
  .strict()
  .openapi('RecoveryChallengeRequest');
const challengeSchema = z
  .object({
    challengeId: z.uuid(),
    factor: factorEnum,
    expiresAt: z.string(),
    publicKey: z.object({
      challenge: z.string(), rpId: z.string(), timeout: z.number(), userVerification: z.literal('required'),
      // Always empty, so the options never tell whether a passkey (or an account) exists.
      allowCredentials: z.array(z.object({ id: z.string(), type: z.literal('public-key') })),
    }).optional().openapi({ description: 'For `passkey`: the options for navigator.credentials.get()' }),
    authorizationUrl: z.url().optional().openapi({
      description: 'For `provider_reauth`: send the person here (PKCE S256, single-use state, nonce for OpenID providers); the provider answers at /v1/oauth/{provider}/callback',
    }),
  })
  .openapi('RecoveryChallenge');
const assertionSchema = z.object({
  id: z.string().min(1).max(1024),
  rawId: z.string().min(1).max(1024),
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: z.string().max(8192), authenticatorData: z.string().max(8192), signature: z.string().max(1024), userHandle: z.string().max(1024).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});
const factorRequestSchema = z
  .object({
    factor: factorEnum,
    code: z.string().trim().min(1).max(64).optional().openapi({ description: 'email_code, sms_code, totp, backup_code' }),
    challengeId: z.uuid().optional().openapi({ description: 'The challenge the code or assertion answers; the latest one when omitted (codes only)' }),
    assertion: assertionSchema.optional().openapi({ description: 'passkey: the WebAuthn assertion (AuthenticationResponseJSON)' }),
  })
  .strict()
  .openapi('RecoveryFactor');
const factorOutcomeSchema = z
  .object({ accepted: z.boolean(), satisfied: z.array(factorEnum), remaining: z.number().int() })
  .openapi('RecoveryFactorOutcome');
const decisionSchema = z
  .object({ decision: z.enum(['approve', 'deny']), reason: z.string().trim().min(3).max(500) })
  .strict()
  .openapi('RecoveryDecision');
const documentCheckSchema = z
  .object({ verified: z.boolean(), reason: z.string().trim().min(3).max(500) })
  .strict()
  .openapi('RecoveryDocumentCheck');
const recoveryToken = [{ recoveryToken: [] }];
const bearer = [{ bearerAuth: [] }];

// ---- Public routes ---------------------------------------------------------------------------------

const startRoute = createRoute({
  method: 'post', path: '/v1/recoveries', summary: 'Start an account recovery (public)',
  description: 'The same 202 and shape whether or not the address has an account. Rate-limited per client address and per email address.',
  middleware: [optionalAgentSignature] as const,
  request: { body: { required: true, content: { 'application/json': { schema: recoveryStartSchema } } } },
  responses: {
    202: { description: 'The recovery runs; keep the token', content: { 'application/json': { schema: recoveryStartedSchema } } },
    ...problemResponses(400, 401, 413, 415, 429),
  },
});

const statusRoute = createRoute({
  method: 'get', path: '/v1/recoveries/{recoveryId}', summary: 'Where a recovery stands', security: recoveryToken,
  middleware: [optionalAgentSignature] as const,
  request: { params: recoveryIdParam },
  responses: {
    200: { description: 'Stage, accepted factors, end of the cooling period, approvals still needed', content: { 'application/json': { schema: publicStatusSchema } } },
    ...problemResponses(400, 401, 404),
  },
});

const challengeRoute = createRoute({
  method: 'post', path: '/v1/recoveries/{recoveryId}/challenges', summary: 'Send a code (email_code, sms_code), get a passkey challenge, or a provider sign-in URL (provider_reauth)', security: recoveryToken,
  description: 'Codes go only to the account’s verified address; the answer is the same when there is none. `provider_reauth` (with `provider`) answers an authorization URL for every address alike; the provider’s answer at the OAuth callback proves the factor when the provider account is the one the account has linked.',
  middleware: [optionalAgentSignature] as const,
  request: { params: recoveryIdParam, body: { required: true, content: { 'application/json': { schema: challengeRequestSchema } } } },
  responses: {
    202: { description: 'The challenge (a code is on its way)', content: { 'application/json': { schema: challengeSchema } } },
    ...problemResponses(400, 401, 404, 409, 413, 415, 429, 503),
  },
});

const factorRoute = createRoute({
  method: 'post', path: '/v1/recoveries/{recoveryId}/factors', summary: 'Prove a factor', security: recoveryToken,
  description: `Codes are single-use and expire; ${recoveryPolicy.maxFailures} failures lock a factor. Recovery needs ${recoveryPolicy.minFactors} factors over ${recoveryPolicy.minCategories} categories.`,
  middleware: [optionalAgentSignature] as const,
  request: { params: recoveryIdParam, body: { required: true, content: { 'application/json': { schema: factorRequestSchema } } } },
  responses: {
    200: { description: 'Whether the proof was accepted, and what is still needed', content: { 'application/json': { schema: factorOutcomeSchema } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

const cancelRoute = createRoute({
  method: 'post', path: '/v1/recoveries/{recoveryId}/cancel', summary: 'Cancel a recovery before the reset',
  description: `With the cancel link's \`token\` (sent to every verified channel), the owner's bearer token, or the requester's ${recoveryTokenHeader}.`,
  middleware: [optionalAgentSignature] as const,
  request: { params: recoveryIdParam, query: z.object({ token: z.string().min(20).max(200).optional() }) },
  responses: {
    200: {
      description: 'Cancelled; nothing changed. The cancel page’s button posts `token` as `application/x-www-form-urlencoded` and gets a page back (200 cancelled, 404/409/410 as for the page).',
      content: { 'application/json': { schema: z.object({ stage: z.literal('cancelled') }) } },
    },
    ...problemResponses(400, 401, 404, 409, 415),
  },
});

const cancelPageRoute = createRoute({
  method: 'get', path: '/v1/recoveries/{recoveryId}/cancel', summary: 'The page a notice’s cancel link opens (HTML)',
  description: 'Says which recovery the link would cancel (the account’s address masked, when it started, where it stands) with one button that POSTs the token as a form. Opening it changes nothing (mail scanners open links too). A wrong token is a 404 page, a recovery that ended a 410 page, one whose reset began a 409 page.',
  request: {
    // Checked by the handler, so a malformed link still gets a page rather than problem+json.
    params: z.object({ recoveryId: z.string().openapi({ param: { name: 'recoveryId', in: 'path' } }) }),
    query: z.object({ token: z.string().optional() }),
  },
  responses: {
    200: { description: 'What will be cancelled, and the button', content: { 'text/html': { schema: z.string() } } },
    404: { description: 'The link does not work (nothing changed)', content: { 'text/html': { schema: z.string() } } },
    409: { description: 'Too late: the reset began', content: { 'text/html': { schema: z.string() } } },
    410: { description: 'The recovery ended (cancelled, completed, refused or expired)', content: { 'text/html': { schema: z.string() } } },
  },
});

// ---- Support routes --------------------------------------------------------------------------------

const decisionRoute = createRoute({
  method: 'post', path: '/v1/support/recoveries/{recoveryId}/decision', summary: 'Approve or deny a recovery (support)', security: bearer,
  middleware: [requirePermission(recoveryApprovePermission)] as const,
  description: `Needs \`${recoveryApprovePermission}\`. Nobody approves twice, nor the recovery of their own account; approving does not shorten the cooling period.`,
  request: { params: recoveryIdParam, body: { required: true, content: { 'application/json': { schema: decisionSchema } } } },
  responses: {
    200: { description: 'The decision is recorded', content: { 'application/json': { schema: z.object({ stage: z.enum(recoveryStages), approvals: z.number().int(), approvalsNeeded: z.number().int() }) } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const documentCheckRoute = createRoute({
  method: 'post', path: '/v1/support/recoveries/{recoveryId}/document-check', summary: 'Record a verified (or refused) identity document (support)', security: bearer,
  middleware: [requirePermission(recoveryApprovePermission)] as const,
  description: `Needs \`${recoveryApprovePermission}\`: the \`document_check\` factor.`,
  request: { params: recoveryIdParam, body: { required: true, content: { 'application/json': { schema: documentCheckSchema } } } },
  responses: {
    200: { description: 'The factor outcome', content: { 'application/json': { schema: factorOutcomeSchema } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const supportStatusRoute = createRoute({
  method: 'get', path: '/v1/support/recoveries/{recoveryId}', summary: 'Everything about a recovery, risk flags with evidence (support)', security: bearer,
  middleware: [requireAnyPermission(supportReadPermission, recoveryApprovePermission)] as const,
  request: { params: recoveryIdParam },
  responses: {
    200: { description: 'The workflow’s view', content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('RecoverySupportView') } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const recoveryRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(startRoute, async (c) => c.json(await startRecovery(c, c.req.valid('json').email), 202))

  .openapi(statusRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    await authorizeRecovery(c, recoveryId);
    return c.json(publicRecoveryStatus(await statusOf(c, recoveryId)), 200);
  })

  .openapi(challengeRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const { factor, provider } = c.req.valid('json');
    const { deps, settings, steps, ip } = recoveryContext(c);
    if ((factor === 'provider_reauth') !== (provider !== undefined)) {
      throw new ProblemError('validation', factor === 'provider_reauth' ? 'provider_reauth needs the provider to sign in with.' : `No provider is named for ${factor}.`);
    }
    await authorizeRecovery(c, recoveryId);
    takeOrRefuse(steps, `ip:${ip ?? 'unknown'}`, 'recovery steps from your address');
    const challengeId = randomUUID();
    const now = new Date();
    if (factor === 'provider_reauth') {
      // The same checks and the same answer for every address: nothing here looks at the account.
      const status = await statusOf(c, recoveryId);
      if (status.stage !== 'verifying') throw new ProblemError('conflict', 'This recovery takes no more factors.');
      if (status.locked.includes(factor)) throw new ProblemError('conflict', `The factor ${factor} is locked after ${recoveryPolicy.maxFailures} failures.`);
      if (status.satisfied.includes(factor)) throw new ProblemError('conflict', `The factor ${factor} was accepted already.`);
      if ((await countChallenges(deps.db, recoveryId, factor)) >= recoveryPolicy.maxChallengesPerFactor) {
        throw new ProblemError('conflict', `At most ${recoveryPolicy.maxChallengesPerFactor} provider sign-ins are started per recovery.`);
      }
      // The workflow's activity makes the authorization request; its URL waits on the challenge, encrypted.
      const expiresAt = new Date(now.getTime() + msToNumber(settings.durations.codeTtl)).toISOString();
      let issued: { challengeId: string; expiresAt: string };
      try {
        issued = await handleOf(c, recoveryId).executeUpdate(requestProviderChallengeUpdate, { args: [{ challengeId, provider: provider!, expiresAt }] });
      } catch (err) {
        if (failureTypeOf(err) === 'ProviderNotConfigured') throw new ProblemError('provider-not-configured', `${providerCatalog[provider!].displayName} has no client credentials configured.`);
        if (err instanceof WorkflowUpdateFailedError) throw new ProblemError('conflict', `The recovery refused this: ${err.cause?.message ?? 'no reason given'}.`);
        if (err instanceof WorkflowNotFoundError) throw new ProblemError('conflict', 'This recovery is over.');
        throw err;
      }
      const authorizationUrl = await takeProviderAuthorizationUrl(deps.db, await vaultOf(deps), recoveryId, challengeId);
      if (!authorizationUrl) throw new ProblemError('conflict', 'This sign-in was handed out already. Ask for a new one.');
      return c.json({ challengeId, factor, expiresAt: issued.expiresAt, authorizationUrl }, 202);
    }
    if (factor === 'passkey') {
      if ((await countChallenges(deps.db, recoveryId, 'passkey')) >= recoveryPolicy.maxChallengesPerFactor) {
        throw new ProblemError('conflict', `At most ${recoveryPolicy.maxChallengesPerFactor} passkey challenges are issued per recovery.`);
      }
      const issued = await issuePasskeyChallenge(deps.db, recoveryId, challengeId, settings.webauthn, now);
      return c.json({ challengeId, factor, expiresAt: issued.expiresAt, publicKey: issued.publicKey }, 202);
    }
    if (!(deliveredCodeFactors as readonly string[]).includes(factor)) {
      throw new ProblemError('validation', `Nothing is sent for ${factor}: submit its proof to /factors directly.`);
    }
    // The workflow's validator decides; asking first lets the answer come before the code is sent.
    const status = await statusOf(c, recoveryId);
    if (status.stage !== 'verifying') throw new ProblemError('conflict', 'This recovery takes no more factors.');
    if (status.locked.includes(factor)) throw new ProblemError('conflict', `The factor ${factor} is locked after ${recoveryPolicy.maxFailures} failures.`);
    if ((status.challengesSent[factor] ?? 0) >= recoveryPolicy.maxChallengesPerFactor) {
      throw new ProblemError('conflict', `At most ${recoveryPolicy.maxChallengesPerFactor} codes are sent per factor.`);
    }
    const expiresAt = new Date(now.getTime() + msToNumber(settings.durations.codeTtl)).toISOString();
    await update(() => handleOf(c, recoveryId).startUpdate(requestChallengeUpdate, {
      args: [{ factor: factor as DeliveredCodeFactor, challengeId, expiresAt }], waitForStage: WorkflowUpdateStage.ACCEPTED,
    }));
    return c.json({ challengeId, factor, expiresAt }, 202);
  })

  .openapi(factorRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const body = c.req.valid('json');
    const { deps, settings, steps, ip } = recoveryContext(c);
    let request = await authorizeRecovery(c, recoveryId);
    takeOrRefuse(steps, `ip:${ip ?? 'unknown'}`, 'recovery steps from your address');
    const { factor } = body;
    if (factor === 'document_check') throw new ProblemError('forbidden', 'Identity documents are verified by support, not submitted here.');
    if (factor === 'provider_reauth') {
      throw new ProblemError('validation', 'provider_reauth is proven by signing in at the provider: POST /challenges {factor: "provider_reauth", provider} gives the URL.');
    }
    if (factor === 'passkey' ? !(body.assertion && body.challengeId) : !body.code) {
      throw new ProblemError('validation', factor === 'passkey' ? 'A passkey needs the challengeId and the assertion.' : `${factor} needs the code.`);
    }
    if (request.closedAt) throw new ProblemError('conflict', 'This recovery is over.');
    request = await resolved(c, request);
    if (!(await reserveAttempt(deps.db, recoveryId, factor))) {
      throw new ProblemError('conflict', `The factor ${factor} is locked after ${recoveryPolicy.maxFailures} failures.`);
    }
    const now = new Date();
    let check: ProofCheck;
    switch (factor) {
      case 'email_code':
      case 'sms_code':
        check = await checkDeliveredCode(deps.db, recoveryId, factor, body.code!, body.challengeId, now);
        break;
      case 'totp':
        check = await checkTotp(deps.db, await vaultOf(deps), request.accountId, body.code!, now);
        break;
      case 'backup_code':
        check = await checkBackupCode(deps.db, request.accountId, body.code!, now);
        break;
      case 'passkey':
        check = await checkPasskey(deps.db, recoveryId, request.accountId, body.challengeId!, body.assertion as never, settings.webauthn, now);
        break;
    }
    if (check.verified) await refundAttempt(deps.db, recoveryId, factor);
    const agent = c.get('agent');
    const country = clientCountry(c, settings.countryHeader);
    const outcome = await update(() => handleOf(c, recoveryId).executeUpdate(submitFactorUpdate, {
      args: [{
        factor, verified: check.verified, evidence: check.evidence, via: agent ? 'agent' : 'person',
        ...(agent ? { actor: { subject: agent.agentId } } : {}), ...(country ? { country } : {}),
      }],
    }));
    return c.json({ accepted: outcome.accepted, satisfied: outcome.satisfied, remaining: outcome.remaining }, 200);
  })

  .openapi(cancelPageRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const page = cancelLinkPage(c, await openCancelLink(c, recoveryId, c.req.valid('query').token));
    return renderNoticePage(c, page.props, page.status) as never;
  })

  .openapi(cancelRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    if (isFormPost(c)) return cancelByForm(c, recoveryId) as never;
    const { token } = c.req.valid('query');
    const request = await c.get('deps').db.collection<RecoveryDocument>(collections.recoveries).findOne({ _id: recoveryId });
    let by: 'link' | 'owner' | 'requester';
    let actor: string | undefined;
    if (token) {
      if (!request || !matchesCancelToken(request, token)) throw new ProblemError('not-found', 'No recovery with this id and cancel link.');
      by = 'link';
    } else if (c.req.header(recoveryTokenHeader)) {
      await authorizeRecovery(c, recoveryId);
      by = 'requester';
    } else if (c.req.header('authorization')) {
      const caller = await signedInCaller(c);
      if (caller instanceof Response) return caller as never;
      if (!request?.accountId || request.accountId !== caller.accountId) throw new ProblemError('not-found', 'No recovery of your account has this id.');
      by = 'owner';
      actor = caller.subject;
    } else {
      throw new ProblemError('unauthenticated', `Cancel with the link's token, your bearer token, or the ${recoveryTokenHeader}.`);
    }
    await update(() => handleOf(c, recoveryId).executeUpdate(cancelRecoveryUpdate, { args: [{ by, ...(actor ? { actor } : {}) }] }));
    return c.json({ stage: 'cancelled' as const }, 200);
  })

  .openapi(decisionRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const { decision, reason } = c.req.valid('json');
    const principal = c.get('principal');
    await statusOf(c, recoveryId);
    const outcome = await update(() => handleOf(c, recoveryId).executeUpdate(decideUpdate, {
      args: [{ decision, reason, approver: { subject: principal.subject, accountId: principal.accountId } }],
    }));
    return c.json(outcome, 200);
  })

  .openapi(documentCheckRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const { verified, reason } = c.req.valid('json');
    const principal = c.get('principal');
    await statusOf(c, recoveryId);
    const outcome = await update(() => handleOf(c, recoveryId).executeUpdate(submitFactorUpdate, {
      args: [{
        factor: 'document_check', verified, evidence: { verifiedBy: principal.subject, reason }, via: 'support',
        actor: { subject: principal.subject, accountId: principal.accountId },
      }],
    }));
    return c.json({ accepted: outcome.accepted, satisfied: outcome.satisfied, remaining: outcome.remaining }, 200);
  })

  .openapi(supportStatusRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    return c.json((await statusOf(c, recoveryId)) as unknown as Record<string, unknown>, 200);
  });

recoveryRoutes.openAPIRegistry.registerComponent('securitySchemes', 'recoveryToken', { type: 'apiKey', in: 'header', name: recoveryTokenHeader });
