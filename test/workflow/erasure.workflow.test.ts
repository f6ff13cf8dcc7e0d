/**
 * The erasure workflow on the time-skipping test server (the 7-day grace window and the 612-day tombstone
 * retention pass in an instant) with the real activities against FerretDB: a cancel inside the grace window,
 * a cancel after it refused, a legal hold that pauses the erasure and whose release resumes it, and the
 * tombstone purged by the abandoned purge child.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { erasures, legalHolds } from '../../activities/erasure/store.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import { searchAttributes, taskQueueNames } from '../../temporal.config.js';
import {
  cancelErasureUpdate,
  erasureStateQuery,
  erasureWorkflowType,
  legalHoldChangedSignal,
  type ErasureInput,
  type ErasureResult,
  type ErasurePurgeResult,
} from '../../workflows/erasure/messages.js';
import { insertExistingPerson } from '../support/account-documents.js';
import { startTimeSkipping, type TimeSkipping } from '../support/time-skipping.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

let ts: TimeSkipping;
let env: TimeSkipping['env'];
let db: TimeSkipping['db'];
const prefix = 'ts-erasure-';
const queues = taskQueueNames(prefix);

beforeAll(async () => {
  ts = await startTimeSkipping();
  ({ env, db } = ts);
});
afterAll(async () => {
  await ts?.close();
});

/**
 * The real workers (`ts.withWorkers`). The activities that talk to Temporal itself (sync
 * schedules, the account's other executions) use the dev server: the time-skipping server serves neither
 * schedules nor visibility queries, and the account has no other execution to stop or delete here
 * (`test/integration/erasure-steps.test.ts` covers those steps).
 */
function withWorkers<T>(fn: () => Promise<T>): Promise<T> {
  return ts.withWorkers(prefix, fn, undefined, { TEMPORAL_ADDRESS: inject('temporalAddress') });
}

/** The test server's own service (lock and unlock time skipping): present on a time-skipping environment. */
function timeSkipping() {
  const service = env.connection.testService;
  if (!service) throw new Error('not a time-skipping environment');
  return service;
}

async function person(): Promise<{ accountId: string; subject: string; email: string }> {
  const accountId = randomUUID();
  const p = {
    accountId,
    subject: `auth0|erase-${accountId.slice(0, 8)}`,
    email: `erase-${accountId.slice(0, 8)}@example.com`,
  };
  await insertExistingPerson(db, {
    ...p,
    at: '2025-01-01T00:00:00.000Z',
    profile: { givenName: 'Ada', familyName: 'Erased' },
  });
  return p;
}

async function startErasure(accountId: string, overrides: Partial<ErasureInput> = {}) {
  const input: ErasureInput = {
    accountId,
    requestedAt: new Date(await env.currentTimeMs()).toISOString(),
    requestedBy: { type: 'user', id: accountId },
    gracePeriod: '7 days',
    tombstoneRetention: '612 days',
    ...overrides,
  };
  return env.client.workflow.start(erasureWorkflowType, {
    workflowId: workflowIds.erasure(accountId),
    taskQueue: queues.accounts,
    args: [input],
  });
}

const accountStatus = async (accountId: string) =>
  (await db.collection(collections.accounts).findOne({ _id: accountId as never }))?.status as string | undefined;

/** Until the workflow answers its query with the stage (the workers run in this process, so it is quick). */
async function untilStage(accountId: string, stage: string): Promise<void> {
  const handle = env.client.workflow.getHandle(workflowIds.erasure(accountId));
  for (let i = 0; i < 200; i++) {
    if ((await handle.query(erasureStateQuery).catch(() => undefined))?.stage === stage) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`erasure of ${accountId} never reached stage ${stage}`);
}

/**
 * The run's outcome, waited for by polling its status and read from its state: `result()` lets the test
 * server skip time, and the 612-day purge timer is then the next thing due, so the tombstone would be gone
 * before the test looks at it.
 */
async function resultWithoutSkipping(accountId: string): Promise<ErasureResult> {
  const handle = env.client.workflow.getHandle(workflowIds.erasure(accountId));
  for (let i = 0; i < 400 && (await handle.describe()).status.name === 'RUNNING'; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect((await handle.describe()).status.name).toBe('COMPLETED');
  const state = await handle.query(erasureStateQuery);
  return state.certificate ? { status: 'erased', certificate: state.certificate } : { status: 'cancelled' };
}

async function placeHold(accountId: string, active: boolean): Promise<void> {
  const at = new Date(await env.currentTimeMs()).toISOString();
  await legalHolds(db).updateOne(
    { _id: accountId },
    {
      $set: { active, updatedAt: at },
      $push: { history: { action: active ? 'placed' : 'released', reason: 'litigation', by: 'support-agent', at } },
    },
    { upsert: true },
  );
  await env.client.workflow.getHandle(workflowIds.erasure(accountId)).signal(legalHoldChangedSignal);
}

describe('erasure workflow (time-skipping)', () => {
  it('is cancelled inside the grace window: the account gets its status back and nothing is deleted', async () => {
    const { accountId } = await person();
    await db.collection(collections.accounts).updateOne({ _id: accountId as never }, { $set: { status: 'suspended' } });
    await withWorkers(async () => {
      const handle = await startErasure(accountId);
      await untilStage(accountId, 'grace');
      for (let i = 0; i < 50 && (await accountStatus(accountId)) !== 'pending_deletion'; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await accountStatus(accountId)).toBe('pending_deletion');
      const state = await handle.query(erasureStateQuery);
      expect(Date.parse(state.graceEndsAt) - Date.parse(state.requestedAt)).toBe(7 * 24 * 3600 * 1000);

      await expect(handle.executeUpdate(cancelErasureUpdate, { args: [{ by: 'user' }] })).resolves.toEqual({
        cancelled: true,
      });
      expect(await handle.result()).toEqual({ status: 'cancelled' });
      expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.stage)).toBe('cancelled');
    });
    // The status it had before the request, not `active`.
    expect(await accountStatus(accountId)).toBe('suspended');
    expect(await erasures(db).findOne({ _id: accountId })).toMatchObject({ stage: 'cancelled' });
    const events = await db.collection(collections.auditEvents).find({ accountId }).toArray();
    expect(events.map((e) => e.action)).toContain('erasure.cancelled');
    expect(
      await db.collection(collections.identityUsers).countDocuments({ 'app_metadata.cra_account_id': accountId }),
    ).toBe(1);
  });

  it('refuses a cancel after the grace window, waits on a legal hold placed during it, and erases once it is released', async () => {
    const { accountId, subject } = await person();
    await withWorkers(async () => {
      const handle = await startErasure(accountId, { gracePeriod: '1 hour' });
      await untilStage(accountId, 'grace');
      await placeHold(accountId, true);
      // Past the grace window: the hold keeps the erasure waiting.
      await env.sleep('2 hours');
      await untilStage(accountId, 'on_hold');
      const held = await handle.query(erasureStateQuery);
      expect(held).toMatchObject({ stage: 'on_hold', onLegalHold: true, steps: [] });
      expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.stage)).toBe('on_hold');
      expect(await erasures(db).findOne({ _id: accountId })).toMatchObject({ stage: 'on_hold' });
      // Nothing was erased while held.
      expect(await accountStatus(accountId)).toBe('pending_deletion');

      const refused = await handle
        .executeUpdate(cancelErasureUpdate, { args: [{ by: 'user' }] })
        .catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refused as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'ErasureNotCancellable' });

      await placeHold(accountId, false);
      const result = await resultWithoutSkipping(accountId);
      expect(result.status).toBe('erased');
      if (result.status !== 'erased') return;
      expect(result.certificate).toMatchObject({ format: 'cra-erasure-certificate/1', accountId });
      expect(result.certificate.steps.map((s) => s.store)).toContain('account_document');
      expect(result.certificate.steps.find((s) => s.store === 'account_document')?.deleted).toBe(1);
      expect(result.certificate.steps.find((s) => s.store === 'identity_directory')?.deleted).toBe(1);
    });
    expect(await accountStatus(accountId)).toBeUndefined();
    expect(await db.collection(collections.identityUsers).countDocuments({ _id: subject as never })).toBe(0);
  });

  it('purges the tombstone 612 days after the erasure, by a purge that outlives the erasure run', async () => {
    const { accountId } = await person();
    await withWorkers(async () => {
      // Time stands still (the purge timer of an earlier test's erasure would otherwise let it run on) until
      // the test waits for the purge; the one-second grace window ends in real time.
      await timeSkipping().lockTimeSkipping({});
      await startErasure(accountId, { gracePeriod: '1 second' });
      const result = await resultWithoutSkipping(accountId);
      expect(result.status).toBe('erased');
      if (result.status !== 'erased') return;
      const tombstone = await erasures(db).findOne({ _id: accountId });
      expect(tombstone).toMatchObject({ stage: 'erased', certificate: result.certificate });
      expect(Date.parse(result.certificate.purgeAt) - Date.parse(result.certificate.erasedAt)).toBe(
        612 * 24 * 3600 * 1000,
      );
      const purge = env.client.workflow.getHandle(workflowIds.erasurePurge(accountId));
      expect((await purge.describe()).status.name).toBe('RUNNING');
      const history = await purge.fetchHistory();
      const timer = history.events?.find((e) => e.timerStartedEventAttributes)?.timerStartedEventAttributes;
      expect(Number(timer?.startToFireTimeout?.seconds)).toBeGreaterThan(611 * 24 * 3600);

      await timeSkipping().unlockTimeSkipping({});
      expect((await purge.result()) as ErasurePurgeResult).toEqual({ purged: true });
    });
    expect(await erasures(db).findOne({ _id: accountId })).toBeNull();
  });
});
