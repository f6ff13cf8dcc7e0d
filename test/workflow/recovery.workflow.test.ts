/**
 * The recovery workflow on the time-skipping test server: its 24-hour notices, 48-hour cooling period and
 * 7-day expiry pass in seconds, with the real activities against FerretDB and the embedded directory.
 * The factor updates here carry verified facts, as the API sends them after checking a proof.
 * Recorded histories are replayed in `replay.test.ts`.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEventsOf } from '../../activities/audit/audit-log.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import { insertExistingPerson } from '../support/account-documents.js';
import { timeSkippingOutbox, noticesTo } from '../support/outbox.js';
import { emailHash, type RecoveryDocument } from '../../domain/recovery.js';
import { searchAttributes } from '../../temporal.config.js';
import { startRecoveryWorkflow } from '../../api/processes/recovery.js';
import { loadConfig } from '../../domain/config.js';
import { expectEndedCancelled } from '../support/cancellation.js';
import { startTimeSkipping, type TimeSkipping } from '../support/time-skipping.js';
import {
  cancelRecoveryUpdate,
  decideUpdate,
  recoveryStatusQuery,
  requestChallengeUpdate,
  submitFactorUpdate,
  type FactorSubmission,
  type RecoveryFactor,
  type RecoveryInput,
  type RecoveryWorkflow,
} from '../../workflows/recovery/messages.js';
import { decodedPayloads } from '../support/history.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

let ts: TimeSkipping;
let env: TimeSkipping['env'];
let db: TimeSkipping['db'];
const hour = 3_600_000;
const durations: RecoveryInput['durations'] = {
  noticeInterval: '24 hours',
  coolingPeriod: '48 hours',
  expiry: '7 days',
  codeTtl: '10 minutes',
  ticketTtl: '15 minutes',
};

beforeAll(async () => {
  ts = await startTimeSkipping();
  ({ env, db } = ts);
});
afterAll(async () => {
  await ts?.close();
});

/** `uncached`: no sticky queue, so a new worker gets every task at once and rebuilds the run from history alone. */
const withWorkers = <T>(fn: () => Promise<T>, opts: { uncached?: boolean } = {}): Promise<T> =>
  ts.withWorkers('tsr-', fn, opts.uncached ? { maxCachedWorkflows: 0 } : undefined);

/**
 * An active account with a verified email, its identity in the embedded directory, and a phone it enrolled
 * from its home network (a request from there raises no `new_device_or_network`; one network per test keeps
 * `velocity` out of the way).
 */
async function seedAccount(
  name: string,
): Promise<{ subject: string; accountId: string; email: string; network: string }> {
  const subject = `auth0|${name}`;
  const accountId = accountIdForSubject(subject);
  const email = `${name}@example.com`;
  const network = `home-${name}`;
  const at = new Date(Date.now() - 90 * 24 * hour).toISOString();
  await insertExistingPerson(db, { subject, accountId, email, at });
  await db.collection(collections.recoveryFactors).insertOne({
    _id: randomUUID() as never,
    accountId,
    kind: 'phone',
    number: '+15550100',
    verified: true,
    enrolledAt: at,
    network,
  });
  return { subject, accountId, email, network };
}

/** What `POST /v1/recoveries` stores before it starts the workflow. */
async function startRecovery(email: string, network: string): Promise<WorkflowHandle<RecoveryWorkflow>> {
  const recoveryId = randomUUID();
  const request: RecoveryDocument = {
    _id: recoveryId,
    tokenHash: 'not-used-here',
    email,
    emailHash: emailHash(email),
    createdAt: new Date().toISOString(),
    network,
    device: 'test-device',
    failures: {},
    cancelTokenHashes: [],
  };
  await db.collection<RecoveryDocument>(collections.recoveries).insertOne(request);
  // Started as the API starts it: through the recovery process's one starter.
  const { workflowId } = await startRecoveryWorkflow(
    { temporal: env.client, config: loadConfig({ TEMPORAL_TASK_QUEUE_PREFIX: 'tsr-' }) },
    {
      recoveryId,
      durations,
      requestedVia: { kind: 'person' },
    },
  );
  return env.client.workflow.getHandle<RecoveryWorkflow>(workflowId);
}

const proof = (factor: RecoveryFactor, extra: Partial<FactorSubmission> = {}): FactorSubmission => ({
  factor,
  verified: true,
  evidence: { check: 'test' },
  via: 'person',
  ...extra,
});

/** Three factors over two categories (possession, knowledge). */
async function proveEnough(handle: WorkflowHandle<RecoveryWorkflow>): Promise<void> {
  for (const factor of ['email_code', 'totp', 'backup_code'] as const) {
    const outcome = await handle.executeUpdate(submitFactorUpdate, { args: [proof(factor)] });
    expect(outcome.accepted).toBe(true);
  }
}

const approver = (name: string) => ({
  subject: `auth0|support-${name}`,
  accountId: accountIdForSubject(`auth0|support-${name}`),
});
const approve = (handle: WorkflowHandle<RecoveryWorkflow>, name: string, reason = 'documents and factors check out') =>
  handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', reason, approver: approver(name) }] });

/** Event times (ms) of the activities a run scheduled, by activity name. */
async function activityTimes(handle: WorkflowHandle<RecoveryWorkflow>): Promise<Array<{ name: string; at: number }>> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => ({
      name: e.activityTaskScheduledEventAttributes!.activityType!.name!,
      at: Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6),
    }));
}

/** The history as text, every payload decoded, so nothing can hide in an encoding. */
async function historyText(handle: WorkflowHandle<RecoveryWorkflow>): Promise<string> {
  const history = await handle.fetchHistory();
  const decoded = decodedPayloads(history, ts.codec);
  return [JSON.stringify(history), ...decoded].join('\n');
}

/** The reset came after the whole 48-hour cooling period (measured on the workflow's own clock), and promptly. */
async function expectResetAfterFullCooling(handle: WorkflowHandle<RecoveryWorkflow>): Promise<void> {
  const times = await activityTimes(handle);
  const firstNotice = times.find((t) => t.name === 'sendRecoveryNotices')!.at;
  const reset = times.find((t) => t.name === 'resetRecoveredCredentials')!.at;
  const coolingEndsAt = Date.parse((await handle.query(recoveryStatusQuery)).coolingEndsAt!);
  expect(Math.abs(coolingEndsAt - 48 * hour - firstNotice)).toBeLessThan(5_000);
  expect(reset).toBeGreaterThanOrEqual(coolingEndsAt);
  expect(reset - coolingEndsAt).toBeLessThan(60_000);
}

/** The account's notices of a template, oldest first. */
async function noticesOf(accountId: string, template: string) {
  return (await noticesTo(timeSkippingOutbox(ts), { accountId, template })).reverse();
}

describe('recovery workflow (time-skipping)', () => {
  it('runs the whole 48-hour path in seconds: factors, notice, cooling, approval, reset', async () => {
    const owner = await seedAccount('full-path');
    await withWorkers(async () => {
      const handle = await startRecovery(owner.email, owner.network);
      await proveEnough(handle);
      const status = await handle.query(recoveryStatusQuery);
      expect(status).toMatchObject({
        stage: 'cooling',
        accountId: owner.accountId,
        approvalsRequired: 1,
        riskFlags: [],
      });
      expect(Date.parse(status.coolingEndsAt!) - Date.now()).toBeGreaterThan(47 * hour);
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(searchAttributes.needsApproval)).toBe(true);
      expect(description.typedSearchAttributes.get(searchAttributes.accountId)).toBe(owner.accountId);
      await approve(handle, 'ada');
      expect(await handle.result()).toMatchObject({ outcome: 'completed' });

      await expectResetAfterFullCooling(handle);
      const final = await handle.describe();
      expect(final.typedSearchAttributes.get(searchAttributes.stage)).toBe('completed');
      expect(final.typedSearchAttributes.get(searchAttributes.needsApproval)).toBe(false);
      expect(final.typedSearchAttributes.get(searchAttributes.process)).toBe('recovery');
    });
    // Every verified channel (email and the phone) heard at the start and at hour 24, then of the reset.
    expect((await noticesOf(owner.accountId, 'recovery-started')).map((n) => n.channel).sort()).toEqual([
      'email',
      'sms',
    ]);
    expect((await noticesOf(owner.accountId, 'recovery-reminder')).map((n) => n.channel).sort()).toEqual([
      'email',
      'sms',
    ]);
    expect((await noticesOf(owner.accountId, 'recovery-completed')).map((n) => n.channel).sort()).toEqual([
      'email',
      'sms',
    ]);
    const [started] = await noticesOf(owner.accountId, 'recovery-started');
    expect(started?.body).toMatch(/\/v1\/recoveries\/[0-9a-f-]+\/cancel\?token=[A-Za-z0-9_-]{43}/);
    // The embedded directory's effects of a reset.
    const user = await db.collection(collections.identityUsers).findOne({ _id: owner.subject as never });
    expect(user).toMatchObject({ password_reset_required: true, mfa_enrollments: [] });
    expect(typeof user?.sessions_revoked_at).toBe('string');
    const actions = (await auditEventsOf(db, { accountId: owner.accountId })).map((e) => e.action);
    // The approval may land while the first notice is being queued: compare the set, then the order that matters.
    expect([...actions].sort()).toEqual([
      'recovery.approved',
      'recovery.closed',
      'recovery.cooling_started',
      'recovery.credentials_reset',
      'recovery.factor_accepted',
      'recovery.factor_accepted',
      'recovery.factor_accepted',
      'recovery.notice_queued',
      'recovery.notice_queued',
      'recovery.notice_queued',
      'recovery.started',
    ]);
    expect(actions[0]).toBe('recovery.started');
    expect(actions.at(-1)).toBe('recovery.closed');
    expect(actions.indexOf('recovery.credentials_reset')).toBeGreaterThan(actions.indexOf('recovery.approved'));
  });

  it('does not shorten the cooling period for an approval given at hour 1', async () => {
    const owner = await seedAccount('early-approval');
    await withWorkers(async () => {
      const handle = await startRecovery(owner.email, owner.network);
      await proveEnough(handle);
      await env.sleep('1 hour');
      const decision = await approve(handle, 'early');
      expect(decision).toMatchObject({ stage: 'cooling', approvals: 1, approvalsNeeded: 0 });
      expect(await handle.result()).toMatchObject({ outcome: 'completed' });
      await expectResetAfterFullCooling(handle);
    });
  });

  it('stops for good when the owner cancels at hour 47', async () => {
    const owner = await seedAccount('cancel-47');
    await withWorkers(async () => {
      const handle = await startRecovery(owner.email, owner.network);
      await proveEnough(handle);
      await approve(handle, 'approver');
      await env.sleep('47 hours');
      expect((await handle.query(recoveryStatusQuery)).stage).toBe('cooling');
      expect(await handle.executeUpdate(cancelRecoveryUpdate, { args: [{ by: 'link' }] })).toEqual({
        stage: 'cancelled',
      });
      expect(await handle.result()).toMatchObject({ outcome: 'cancelled' });
      expect((await activityTimes(handle)).map((t) => t.name)).not.toContain('resetRecoveredCredentials');
      await expect(approve(handle, 'late')).rejects.toThrow();
    });
    const user = await db.collection(collections.identityUsers).findOne({ _id: owner.subject as never });
    expect(user?.password_reset_required).toBeUndefined();
    expect(await noticesOf(owner.accountId, 'recovery-cancelled')).toHaveLength(2);
  });

  it('ends as cancelled when cancelled through Temporal in the cooling period: the owner hears, the audit says so, nothing is reset', async () => {
    const owner = await seedAccount('temporal-cancel-cooling');
    let recoveryId = '';
    await withWorkers(async () => {
      const handle = await startRecovery(owner.email, owner.network);
      recoveryId = (await handle.query(recoveryStatusQuery)).recoveryId;
      await proveEnough(handle);
      await env.sleep('5 hours');
      expect((await handle.query(recoveryStatusQuery)).stage).toBe('cooling');
      await handle.cancel();
      await expectEndedCancelled(handle);
      expect((await handle.query(recoveryStatusQuery)).stage).toBe('cancelled');
      expect((await activityTimes(handle)).map((t) => t.name)).not.toContain('resetRecoveredCredentials');
    });
    const user = await db.collection(collections.identityUsers).findOne({ _id: owner.subject as never });
    expect(user?.password_reset_required).toBeUndefined();
    // Both verified channels heard it began, and that it ended.
    expect((await noticesOf(owner.accountId, 'recovery-cancelled')).map((n) => n.channel).sort()).toEqual([
      'email',
      'sms',
    ]);
    const events = await auditEventsOf(db, { accountId: owner.accountId });
    expect(events.find((e) => e.action === 'recovery.cancelled')?.details).toMatchObject({
      by: 'operator',
      stage: 'cooling',
    });
    expect(events.at(-1)).toMatchObject({ action: 'recovery.closed', details: { outcome: 'cancelled' } });
    expect(await db.collection<RecoveryDocument>(collections.recoveries).findOne({ _id: recoveryId })).toMatchObject({
      outcome: 'cancelled',
      closedAt: expect.any(String),
    });
  });

  it('tells every channel again every 24 hours while the recovery waits for approval', async () => {
    const owner = await seedAccount('reminders');
    await withWorkers(async () => {
      const handle = await startRecovery(owner.email, owner.network);
      await proveEnough(handle);
      await env.sleep('80 hours');
      expect((await handle.query(recoveryStatusQuery)).stage).toBe('awaiting_approval');
      expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.needsApproval)).toBe(true);
      await approve(handle, 'late-but-in-time');
      expect(await handle.result()).toMatchObject({ outcome: 'completed' });
      const notices = (await activityTimes(handle)).filter((t) => t.name === 'sendRecoveryNotices').map((t) => t.at);
      // started, then hours 24, 48 and 72, then the completion notice.
      expect(notices).toHaveLength(5);
      const gaps = notices.slice(1, 4).map((at, i) => at - notices[i]!);
      for (const gap of gaps) {
        // Event times trail the workflow's clock by a few milliseconds either way.
        expect(Math.abs(gap - 24 * hour)).toBeLessThan(60_000);
      }
    });
    expect((await noticesOf(owner.accountId, 'recovery-reminder')).filter((n) => n.channel === 'email')).toHaveLength(
      3,
    );
  });

  it('expires after seven days without enough factors, and after the deadline without approval', async () => {
    const owner = await seedAccount('expiry');
    await withWorkers(async () => {
      const idle = await startRecovery(owner.email, owner.network);
      expect(await idle.result()).toMatchObject({ outcome: 'expired' });
      const history = await idle.fetchHistory();
      const timer = history.events?.find((e) => e.timerStartedEventAttributes)?.timerStartedEventAttributes;
      // Seven days from the start, less the moment the account lookup took.
      expect(Number(timer?.startToFireTimeout?.seconds)).toBeGreaterThan(7 * 24 * 3600 - 60);
      expect(Number(timer?.startToFireTimeout?.seconds)).toBeLessThanOrEqual(7 * 24 * 3600);
      expect((await idle.describe()).typedSearchAttributes.get(searchAttributes.stage)).toBe('expired');

      const unapproved = await startRecovery(owner.email, owner.network);
      await proveEnough(unapproved);
      expect(await unapproved.result()).toMatchObject({ outcome: 'expired' });
      expect((await activityTimes(unapproved)).map((t) => t.name)).not.toContain('resetRecoveredCredentials');
    });
    expect(await noticesOf(owner.accountId, 'recovery-expired')).toHaveLength(2);
    const closed = await db
      .collection<RecoveryDocument>(collections.recoveries)
      .find({ accountId: owner.accountId })
      .toArray();
    expect(closed.map((r) => r.outcome)).toEqual(['expired', 'expired']);
  });

  it('keeps the cooling clock when the worker is restarted during the cooling period', async () => {
    const owner = await seedAccount('restart');
    let handle!: WorkflowHandle<RecoveryWorkflow>;
    let coolingEndsAt!: string;
    await withWorkers(
      async () => {
        handle = await startRecovery(owner.email, owner.network);
        await proveEnough(handle);
        await approve(handle, 'before-restart');
        coolingEndsAt = (await handle.query(recoveryStatusQuery)).coolingEndsAt!;
        await env.sleep('30 hours');
      },
      { uncached: true },
    );
    // No worker now; a new one picks the run up from its history.
    await withWorkers(
      async () => {
        expect((await handle.query(recoveryStatusQuery)).coolingEndsAt).toBe(coolingEndsAt);
        expect(await handle.result()).toMatchObject({ outcome: 'completed' });
      },
      { uncached: true },
    );
    const times = await activityTimes(handle);
    const reset = times.find((t) => t.name === 'resetRecoveredCredentials')!.at;
    expect(reset).toBeGreaterThanOrEqual(Date.parse(coolingEndsAt));
    expect(reset - Date.parse(coolingEndsAt)).toBeLessThan(60_000);
  });

  it('needs two different approvers when the risk is high, never the owner, never the same person twice', async () => {
    const owner = await seedAccount('high-risk');
    await withWorkers(async () => {
      // From a network the owner never used, and the second country shows up with a factor.
      const handle = await startRecovery(owner.email, 'far-away-network');
      await expect(approve(handle, 'too-early')).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await handle.executeUpdate(submitFactorUpdate, { args: [proof('email_code', { country: 'DE' })] });
      await handle.executeUpdate(submitFactorUpdate, { args: [proof('totp', { country: 'BR' })] });
      await handle.executeUpdate(submitFactorUpdate, { args: [proof('backup_code', { country: 'DE' })] });
      const status = await handle.query(recoveryStatusQuery);
      expect(status.riskFlags.map((f) => f.flag).sort()).toEqual(['countries_differ', 'new_device_or_network']);
      expect(status.riskFlags.find((f) => f.flag === 'countries_differ')?.evidence).toEqual({ countries: 'BR,DE' });
      expect(status.approvalsRequired).toBe(2);

      const ownAccount = { subject: owner.subject, accountId: owner.accountId };
      await expect(
        handle.executeUpdate(decideUpdate, {
          args: [{ decision: 'approve', reason: 'it is me', approver: ownAccount }],
        }),
      ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      expect(await approve(handle, 'first')).toMatchObject({ approvals: 1, approvalsNeeded: 1 });
      await expect(approve(handle, 'first', 'again')).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await env.sleep('49 hours');
      expect((await handle.query(recoveryStatusQuery)).stage).toBe('awaiting_approval');
      expect(await approve(handle, 'second')).toMatchObject({ approvals: 2, approvalsNeeded: 0 });
      expect(await handle.result()).toMatchObject({ outcome: 'completed' });
    });
    const approvals = (await auditEventsOf(db, { accountId: owner.accountId })).filter(
      (e) => e.action === 'recovery.approved',
    );
    expect(approvals.map((e) => [e.actor.id, e.details?.reason])).toEqual([
      ['auth0|support-first', 'documents and factors check out'],
      ['auth0|support-second', 'documents and factors check out'],
    ]);
  });

  it('flags a provider linked during the cooling period before the reset, and then waits for a second approver', async () => {
    const owner = await seedAccount('linked-in-cooling');
    await withWorkers(async () => {
      const handle = await startRecovery(owner.email, owner.network);
      await proveEnough(handle);
      expect(await approve(handle, 'first')).toMatchObject({ approvals: 1, approvalsNeeded: 0 });
      await env.sleep('10 hours');
      // Someone with a session of the account links a provider while the recovery is pending.
      const node = {
        provider: 'github',
        providerAccountId: 'gh-4242',
        connectionId: randomUUID(),
        scopes: ['read:user'],
        status: 'active',
        connectedAt: new Date().toISOString(),
        linkOrigin: { workflowId: 'link/test/github', requestedBy: owner.subject },
      };
      await db
        .collection(collections.accounts)
        .updateOne({ _id: owner.accountId as never }, { $push: { 'connected_providers.nodes': node as never } });
      await env.sleep('40 hours');
      const status = await handle.query(recoveryStatusQuery);
      expect(status).toMatchObject({ stage: 'awaiting_approval', approvalsRequired: 2, approvalsNeeded: 1 });
      const flag = status.riskFlags.find((f) => f.flag === 'linked_during_recovery');
      expect(flag?.evidence).toMatchObject({
        provider: 'github',
        connectionId: node.connectionId,
        connectedAt: node.connectedAt,
        links: 1,
      });
      expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.needsApproval)).toBe(true);
      expect((await activityTimes(handle)).map((t) => t.name)).not.toContain('resetRecoveredCredentials');
      expect(await approve(handle, 'second')).toMatchObject({ approvals: 2, approvalsNeeded: 0 });
      expect(await handle.result()).toMatchObject({ outcome: 'completed' });
    });
    const flagged = (await auditEventsOf(db, { accountId: owner.accountId })).filter(
      (e) => e.action === 'recovery.risk_flagged',
    );
    expect(flagged.map((e) => e.details?.flag)).toEqual(['linked_during_recovery']);
  });

  it('rejects every factor of an unknown address and locks a factor after five failures', async () => {
    await withWorkers(async () => {
      const handle = await startRecovery('nobody-here@example.com', 'some-network');
      for (let i = 1; i <= 5; i++) {
        const outcome = await handle.executeUpdate(submitFactorUpdate, { args: [proof('email_code')] });
        expect(outcome).toEqual({ accepted: false, satisfied: [], remaining: 3, locked: i === 5 });
      }
      await expect(handle.executeUpdate(submitFactorUpdate, { args: [proof('email_code')] })).rejects.toBeInstanceOf(
        WorkflowUpdateFailedError,
      );
      await expect(
        handle.executeUpdate(submitFactorUpdate, { args: [{ ...proof('document_check'), via: 'person' }] }),
      ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      const status = await handle.query(recoveryStatusQuery);
      expect(status).toMatchObject({ stage: 'verifying', locked: ['email_code'], riskFlags: [] });
      expect(status.accountId).toBeUndefined();
      expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.accountId)).toBeUndefined();
      await handle.executeUpdate(cancelRecoveryUpdate, { args: [{ by: 'requester' }] });
      expect(await handle.result()).toMatchObject({ outcome: 'cancelled' });
    });
  });

  it('sends a code by email without the code ever entering history', async () => {
    const owner = await seedAccount('code-by-mail');
    await withWorkers(async () => {
      const handle = await startRecovery(owner.email, owner.network);
      const challengeId = randomUUID();
      await handle.executeUpdate(requestChallengeUpdate, {
        args: [{ factor: 'email_code', challengeId, expiresAt: new Date(Date.now() + 600_000).toISOString() }],
      });
      const [notice] = await noticesOf(owner.accountId, 'recovery-code');
      expect(notice).toMatchObject({ channel: 'email', to: owner.email });
      const code = String(notice?.data?.code);
      expect(code).toMatch(/^\d{8}$/);
      const stored = await db.collection(collections.recoveryChallenges).findOne({ _id: challengeId as never });
      expect(stored).toMatchObject({ factor: 'email_code', deliveredVia: 'email' });
      expect(JSON.stringify(stored)).not.toContain(code);
      const history = await historyText(handle);
      expect(history).toContain(challengeId);
      expect(history).not.toContain(code);
      await handle.executeUpdate(cancelRecoveryUpdate, { args: [{ by: 'requester' }] });
      await handle.result();
    });
  });
});
