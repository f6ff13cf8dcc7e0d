/**
 * Support's queue of what waits for a human (the console reads it), and an account's support view:
 * - `GET /v1/support/queue` (`support:read`): every running workflow with `CraNeedsApproval = true`, from
 *   Temporal visibility (eventually consistent), with its risk level and time left from the workflow's query;
 * - `GET /v1/support/accounts/{accountId}` (`support:read`): the account's flag decisions and overrides, its
 *   legal hold, and its recent audit events (without their personal values).
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { msToNumber } from '@temporalio/common';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { AuditEvent } from '../../activities/audit/audit-log.js';
import { personalDetailKeys } from '../../activities/audit/audit-log.js';
import { legalHolds } from '../../activities/erasure/store.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { staffPermissions } from '../../domain/roles.js';
import { flagNameFor } from '../../domain/provider-catalog.js';
import { processOfWorkflowId, workflowIds } from '../../domain/ids.js';
import { providerIds } from '../../domain/providers.js';
import { searchAttributes, taskQueueNames } from '../../temporal.config.js';
import type { LinkState } from '../../workflows/link/messages.js';
import type { RecoveryStatus } from '../../workflows/recovery/messages.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { linkStateIfRunning } from '../processes/link.js';
import { recoveryStatusIfRunning } from '../processes/recovery.js';
import { approvalQueueQuery } from '../processes/status.js';
import { defaultHook, ProblemError } from '../problem.js';
import { flagOverrides, providerFlagsFor } from '../provider-flags.js';
import { problemResponses } from './openapi.js';
import { recoverySettings } from './recoveries/settings.js';

export const queueProcesses = ['recovery', 'link'] as const;
export type QueueProcess = (typeof queueProcesses)[number];
export const riskLevels = ['low', 'normal', 'high'] as const;
export type RiskLevel = (typeof riskLevels)[number];

const queueItemSchema = z
  .object({
    workflowId: z.string(),
    process: z.enum(queueProcesses),
    /** The recovery's id (`recovery/<recoveryId>`), for its detail page. */
    recoveryId: z.string().optional(),
    provider: z.enum(providerIds).optional(),
    accountId: z.string().optional(),
    stage: z.string(),
    startedAt: z.string().openapi({ description: 'When the workflow started (its age counts from here)' }),
    risk: z.enum(riskLevels).openapi({
      description:
        '`high`: a recovery that needs two approvers, or a link whose provider account’s verified address is the other account’s; `normal`: risk flags or a conflict without such evidence; `low`: none.',
    }),
    riskFlags: z.array(z.string()),
    approvalsNeeded: z.number().int().optional(),
    deadline: z
      .object({
        kind: z.enum(['cooling_ends', 'expires']),
        at: z.string(),
      })
      .nullable()
      .openapi({ description: 'The next time that matters: the end of the cooling period, or when it expires' }),
  })
  .openapi('SupportQueueItem');
export type SupportQueueItem = z.infer<typeof queueItemSchema>;

const queueRoute = secured(auth.permission(staffPermissions.supportRead), {
  method: 'get',
  path: '/v1/support/queue',
  summary: 'Every workflow waiting for a human (support)',
  description:
    'From Temporal visibility (`CraNeedsApproval = true`, running), oldest first. Visibility is eventually consistent: a workflow that has just begun waiting appears within seconds.',
  request: {
    query: z.object({
      process: z.enum(queueProcesses).optional(),
      risk: z.enum(riskLevels).optional(),
    }),
  },
  responses: {
    200: {
      description: 'The queue',
      content: {
        'application/json': { schema: z.object({ items: z.array(queueItemSchema) }).openapi('SupportQueue') },
      },
    },
    ...problemResponses(400, 401, 403),
  },
});

const accountIdParam = z.object({
  accountId: z.uuid().openapi({ param: { name: 'accountId', in: 'path' } }),
});

const auditEventSchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    action: z.string(),
    actorType: z.enum(['user', 'system', 'support']),
    workflowId: z.string().optional(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  })
  .openapi('SupportAuditEvent');

const accountViewSchema = z
  .object({
    accountId: z.string(),
    status: z.string(),
    legalHold: z.object({ active: z.boolean(), updatedAt: z.string().optional() }),
    flags: z.array(
      z.object({
        flag: z.string(),
        provider: z.enum(providerIds),
        enabled: z.boolean(),
        reason: z.string(),
        override: z
          .object({ enabled: z.boolean(), reason: z.string(), setBy: z.string(), setAt: z.string() })
          .optional(),
      }),
    ),
    auditEvents: z.array(auditEventSchema),
  })
  .openapi('SupportAccountView');

const accountRoute = secured(auth.permission(staffPermissions.supportRead), {
  method: 'get',
  path: '/v1/support/accounts/{accountId}',
  summary: 'An account as support sees it: flags, legal hold, recent audit events (support)',
  description: 'Audit events are the newest 25, without the values the audit log keeps as personal data.',
  request: { params: accountIdParam },
  responses: {
    200: { description: 'The account', content: { 'application/json': { schema: accountViewSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

/** Two approvers needed is high; any flag is normal. */
function recoveryRisk(status: RecoveryStatus): RiskLevel {
  if (status.approvalsRequired >= 2) return 'high';
  return status.riskFlags.length > 0 ? 'normal' : 'low';
}

/** Evidence that the provider account is the other person's is high; the requester's own address is low. */
export function linkRisk(state: LinkState): RiskLevel {
  const c = state.conflict;
  if (!c) return 'normal';
  if (c.verifiedEmailMatchesOther && !c.verifiedEmailMatchesRequester) return 'high';
  if (c.verifiedEmailMatchesRequester && !c.verifiedEmailMatchesOther) return 'low';
  return 'normal';
}

async function queueItem(
  deps: ApiDeps,
  run: WorkflowExecutionInfo,
  expiryMs: number,
): Promise<SupportQueueItem | undefined> {
  const process = processOfWorkflowId(run.workflowId);
  const attrs = run.typedSearchAttributes;
  const accountId = attrs.get(searchAttributes.accountId);
  const base = {
    workflowId: run.workflowId,
    startedAt: run.startTime.toISOString(),
    ...(accountId !== undefined ? { accountId } : {}),
  };
  if (process === 'recovery') {
    const status = await recoveryStatusIfRunning(deps, run.workflowId.slice(workflowIds.recovery('').length));
    // Finished between the listing and the query: no longer waiting.
    if (!status) return undefined;
    const coolingEndsAt = status.coolingEndsAt ? Date.parse(status.coolingEndsAt) : undefined;
    // The run's expiry is in its input; the configured one is what every run of this deployment started with.
    const expiresAt = Math.max(run.startTime.getTime() + expiryMs, coolingEndsAt ?? 0);
    return {
      ...base,
      process,
      recoveryId: status.recoveryId,
      ...(status.accountId ? { accountId: status.accountId } : {}),
      stage: status.stage,
      risk: recoveryRisk(status),
      riskFlags: status.riskFlags.map((f) => f.flag),
      approvalsNeeded: status.approvalsNeeded,
      deadline:
        coolingEndsAt !== undefined && coolingEndsAt > Date.now()
          ? { kind: 'cooling_ends', at: new Date(coolingEndsAt).toISOString() }
          : { kind: 'expires', at: new Date(expiresAt).toISOString() },
    };
  }
  if (process === 'link') {
    // Undefined as for a recovery: it finished in between.
    const state = await linkStateIfRunning(deps, run.workflowId);
    if (!state) return undefined;
    return {
      ...base,
      process,
      provider: state.provider,
      stage: state.stage,
      risk: linkRisk(state),
      riskFlags: state.conflict ? [`conflict_${state.conflict.kind}`] : [],
      deadline: null,
    };
  }
  return undefined;
}

const auditLimit = 25;

/** An audit event without the values the log treats as personal data (and no actor id). */
function supportAuditEvent(e: AuditEvent): z.infer<typeof auditEventSchema> {
  const details = Object.fromEntries(Object.entries(e.details ?? {}).filter(([key]) => !personalDetailKeys.has(key)));
  return {
    seq: e.seq,
    at: e.at,
    action: e.action,
    actorType: e.actor.type,
    ...(e.workflowId && !e.workflowId.startsWith('signup/') ? { workflowId: e.workflowId } : {}),
    details,
  };
}

export const supportQueueRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(queueRoute, async (c) => {
    const deps = c.get('deps');
    const { temporal, config } = deps;
    const { process, risk } = c.req.valid('query');
    const processes = process ? [process] : queueProcesses;
    const query = approvalQueueQuery(processes, taskQueueNames(config.temporal.taskQueuePrefix).accounts);
    const expiryMs = msToNumber(recoverySettings(config).durations.expiry);
    const runs: WorkflowExecutionInfo[] = [];
    for await (const run of temporal.workflow.list({ query })) {
      runs.push(run);
      if (runs.length >= 200) break;
    }
    const items = (await Promise.all(runs.map((run) => queueItem(deps, run, expiryMs))))
      .filter((i): i is SupportQueueItem => i !== undefined && (!risk || i.risk === risk))
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    return c.json({ items }, 200);
  })
  .openapi(accountRoute, async (c) => {
    const { db, config } = c.get('deps');
    const { accountId } = c.req.valid('param');
    const account = await db
      .collection<AccountDocument>(collections.accounts)
      .findOne({ _id: accountId }, { projection: { status: 1 } });
    if (!account) throw new ProblemError('not-found', `No account ${accountId}.`);
    const [decisions, overrides, hold, events] = await Promise.all([
      providerFlagsFor(db, config, accountId),
      flagOverrides(db).find({ accountId }).toArray(),
      legalHolds(db).findOne({ _id: accountId }),
      db
        .collection<AuditEvent>(collections.auditEvents)
        .find({ accountId }, { sort: { seq: -1 }, limit: auditLimit })
        .toArray(),
    ]);
    const overrideOf = new Map(overrides.map((o) => [o.flag, o]));
    return c.json(
      {
        accountId,
        status: String(account.status),
        legalHold: { active: hold?.active === true, ...(hold?.updatedAt ? { updatedAt: hold.updatedAt } : {}) },
        flags: providerIds.map((provider) => {
          const flag = flagNameFor(provider);
          const o = overrideOf.get(flag);
          return {
            flag,
            provider,
            enabled: decisions[provider].enabled,
            reason: decisions[provider].reason,
            ...(o ? { override: { enabled: o.enabled, reason: o.reason, setBy: o.setBy, setAt: o.setAt } } : {}),
          };
        }),
        auditEvents: events.map(supportAuditEvent),
      },
      200,
    );
  });
