/**
 * The requester's recovery routes: start, where it stands, challenges and proofs. They authenticate with
 * the recovery token (`X-Recovery-Token`; agents also sign) and answer alike whether or not the address
 * has an account. What each factor issues and checks is its strategy (`strategies.ts`).
 */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import { publicRecoveryStatus, recoveryPolicy } from '../../../workflows/recovery/messages.js';
import { authorizeRecovery, refundAttempt, reserveAttempt } from '../../auth/recovery-proofs.js';
import type { ApiEnv } from '../../context.js';
import { clientCountry, takeOrRefuse } from '../../middleware/rate-limit.js';
import { defaultHook, ProblemError } from '../../problem.js';
import { recoveryStatus, submitFactor } from '../../processes/recovery.js';
import { problemResponses } from '../openapi.js';
import {
  challengeRequestSchema,
  challengeSchema,
  factorOutcomeSchema,
  factorRequestSchema,
  publicStatusSchema,
  recoveryIdParam,
  recoveryStartedSchema,
  recoveryStartSchema,
} from './schemas.js';
import { optionalAgentSignature, recoveryContext } from './settings.js';
import { resolved, startRecovery } from './requests.js';
import { factorStrategies } from './strategies.js';

/** The requester's token, checked by the handler; an agent's signature, when present, must hold. */
const requester = auth.recoveryToken([optionalAgentSignature], { agentSignature: [] });

const startRoute = secured(auth.public, {
  method: 'post',
  path: '/v1/recoveries',
  summary: 'Start an account recovery (public)',
  description:
    'The same 202 and shape whether or not the address has an account. Rate-limited per client address and per email address.',
  middleware: [optionalAgentSignature] as const,
  request: { body: { required: true, content: { 'application/json': { schema: recoveryStartSchema } } } },
  responses: {
    202: {
      description: 'The recovery runs; keep the token',
      content: { 'application/json': { schema: recoveryStartedSchema } },
    },
    ...problemResponses(400, 401, 413, 415, 429),
  },
});

const statusRoute = secured(requester, {
  method: 'get',
  path: '/v1/recoveries/{recoveryId}',
  summary: 'Where a recovery stands',
  request: { params: recoveryIdParam },
  responses: {
    200: {
      description: 'Stage, accepted factors, end of the cooling period, approvals still needed',
      content: { 'application/json': { schema: publicStatusSchema } },
    },
    ...problemResponses(400, 401, 404),
  },
});

const challengeRoute = secured(requester, {
  method: 'post',
  path: '/v1/recoveries/{recoveryId}/challenges',
  summary: 'Send a code (email_code, sms_code), get a passkey challenge, or a provider sign-in URL (provider_reauth)',
  description:
    'Codes go only to the account’s verified address; the answer is the same when there is none. `provider_reauth` (with `provider`) answers an authorization URL for every address alike; the provider’s answer at the OAuth callback proves the factor when the provider account is the one the account has linked.',
  request: {
    params: recoveryIdParam,
    body: { required: true, content: { 'application/json': { schema: challengeRequestSchema } } },
  },
  responses: {
    202: {
      description: 'The challenge (a code is on its way)',
      content: { 'application/json': { schema: challengeSchema } },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415, 429, 503),
  },
});

const factorRoute = secured(requester, {
  method: 'post',
  path: '/v1/recoveries/{recoveryId}/factors',
  summary: 'Prove a factor',
  description: `Codes are single-use and expire; ${recoveryPolicy.maxFailures} failures lock a factor. Recovery needs ${recoveryPolicy.minFactors} factors over ${recoveryPolicy.minCategories} categories.`,
  request: {
    params: recoveryIdParam,
    body: { required: true, content: { 'application/json': { schema: factorRequestSchema } } },
  },
  responses: {
    200: {
      description: 'Whether the proof was accepted, and what is still needed',
      content: { 'application/json': { schema: factorOutcomeSchema } },
    },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

export const recoveryRequesterRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(startRoute, async (c) => c.json(await startRecovery(c, c.req.valid('json').email), 202))

  .openapi(statusRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    await authorizeRecovery(c, recoveryId);
    return c.json(publicRecoveryStatus(await recoveryStatus(c.get('deps'), recoveryId)), 200);
  })

  .openapi(challengeRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const { factor, provider } = c.req.valid('json');
    const { steps, ip } = recoveryContext(c);
    const strategy = factorStrategies[factor];
    if (Boolean(strategy.takesProvider) !== (provider !== undefined)) {
      throw new ProblemError(
        'validation',
        strategy.takesProvider
          ? `${factor} needs the provider to sign in with.`
          : `No provider is named for ${factor}.`,
      );
    }
    await authorizeRecovery(c, recoveryId);
    takeOrRefuse(steps, `ip:${ip ?? 'unknown'}`, 'recovery steps from your address');
    if (!strategy.challenge)
      throw new ProblemError('validation', `Nothing is sent for ${factor}: submit its proof to /factors directly.`);
    const challengeId = randomUUID();
    const issued = await strategy.challenge({ c, recoveryId, challengeId, provider, now: new Date() });
    return c.json({ challengeId, factor, ...issued }, 202);
  })

  .openapi(factorRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const body = c.req.valid('json');
    const { deps, settings, steps, ip } = recoveryContext(c);
    let request = await authorizeRecovery(c, recoveryId);
    takeOrRefuse(steps, `ip:${ip ?? 'unknown'}`, 'recovery steps from your address');
    const { factor } = body;
    const { proof, refusal } = factorStrategies[factor];
    if (!proof)
      throw new ProblemError(refusal?.kind ?? 'validation', refusal?.detail ?? `${factor} is not proven here.`);
    const missing = proof.missing(body);
    if (missing) throw new ProblemError('validation', missing);
    if (request.closedAt) throw new ProblemError('conflict', 'This recovery is over.');
    request = await resolved(c, request);
    if (!(await reserveAttempt(deps.db, recoveryId, factor))) {
      throw new ProblemError(
        'conflict',
        `The factor ${factor} is locked after ${recoveryPolicy.maxFailures} failures.`,
      );
    }
    const check = await proof.check({ c, recoveryId, request, body, now: new Date() });
    if (check.verified) await refundAttempt(deps.db, recoveryId, factor);
    const agent = c.get('agent');
    const country = clientCountry(c, settings.countryHeader);
    const outcome = await submitFactor(deps, recoveryId, {
      factor,
      verified: check.verified,
      evidence: check.evidence,
      via: agent ? 'agent' : 'person',
      ...(agent ? { actor: { subject: agent.agentId } } : {}),
      ...(country ? { country } : {}),
    });
    return c.json({ accepted: outcome.accepted, satisfied: outcome.satisfied, remaining: outcome.remaining }, 200);
  });
