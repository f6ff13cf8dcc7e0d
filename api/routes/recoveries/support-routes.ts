/** Support's recovery routes: approve or deny, record an identity document check, see everything. */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import type { ApiEnv } from '../../context.js';
import { defaultHook } from '../../problem.js';
import { decideRecovery, recoveryStatus, submitFactor } from '../../processes/recovery.js';
import { problemResponses } from '../openapi.js';
import { supportReadPermission } from '../workflows.js';
import {
  decisionOutcomeSchema,
  decisionSchema,
  documentCheckSchema,
  factorOutcomeSchema,
  recoveryIdParam,
} from './schemas.js';
import { recoveryApprovePermission } from './settings.js';

const decisionRoute = secured(auth.permission(recoveryApprovePermission), {
  method: 'post',
  path: '/v1/support/recoveries/{recoveryId}/decision',
  summary: 'Approve or deny a recovery (support)',
  description: `Needs \`${recoveryApprovePermission}\`. Nobody approves twice, nor the recovery of their own account; approving does not shorten the cooling period.`,
  request: {
    params: recoveryIdParam,
    body: { required: true, content: { 'application/json': { schema: decisionSchema } } },
  },
  responses: {
    200: {
      description: 'The decision is recorded',
      content: { 'application/json': { schema: decisionOutcomeSchema } },
    },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const documentCheckRoute = secured(auth.permission(recoveryApprovePermission), {
  method: 'post',
  path: '/v1/support/recoveries/{recoveryId}/document-check',
  summary: 'Record a verified (or refused) identity document (support)',
  description: `Needs \`${recoveryApprovePermission}\`: the \`document_check\` factor.`,
  request: {
    params: recoveryIdParam,
    body: { required: true, content: { 'application/json': { schema: documentCheckSchema } } },
  },
  responses: {
    200: { description: 'The factor outcome', content: { 'application/json': { schema: factorOutcomeSchema } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const supportStatusRoute = secured(auth.anyPermission(supportReadPermission, recoveryApprovePermission), {
  method: 'get',
  path: '/v1/support/recoveries/{recoveryId}',
  summary: 'Everything about a recovery, risk flags with evidence (support)',
  request: { params: recoveryIdParam },
  responses: {
    200: {
      description: 'The workflow’s view',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('RecoverySupportView') } },
    },
    ...problemResponses(400, 401, 403, 404),
  },
});

export const recoverySupportRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(decisionRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const { decision, reason } = c.req.valid('json');
    const principal = c.get('principal');
    await recoveryStatus(c.get('deps'), recoveryId);
    const outcome = await decideRecovery(c.get('deps'), recoveryId, {
      decision,
      reason,
      approver: { subject: principal.subject, accountId: principal.accountId },
    });
    return c.json(outcome, 200);
  })

  .openapi(documentCheckRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const { verified, reason } = c.req.valid('json');
    const principal = c.get('principal');
    await recoveryStatus(c.get('deps'), recoveryId);
    const outcome = await submitFactor(c.get('deps'), recoveryId, {
      factor: 'document_check',
      verified,
      evidence: { verifiedBy: principal.subject, reason },
      via: 'support',
      actor: { subject: principal.subject, accountId: principal.accountId },
    });
    return c.json({ accepted: outcome.accepted, satisfied: outcome.satisfied, remaining: outcome.remaining }, 200);
  })

  .openapi(supportStatusRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    return c.json((await recoveryStatus(c.get('deps'), recoveryId)) as unknown as Record<string, unknown>, 200);
  });
