/**
 * The signup workflow on the time-skipping test server (its timers pass in an instant) with the real
 * activities against FerretDB, and a replay of a recorded history against today's workflow code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { accountIdForSubject } from '../../domain/account-id.js';
import { loadConfig } from '../../domain/config.js';
import { workflowIds } from '../../domain/ids.js';
import { buildWorkerDependencies } from '../../workers/dependencies.js';
import { createWorkers } from '../../workers/workers.js';
import { searchAttributeRegistrations, taskQueueNames } from '../../temporal.config.js';
import { signupDetailsSignal, signupWorkflowType, type SignupDetails, type SignupWorkflow } from '../../workflows/signup/messages.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

let env: TestWorkflowEnvironment;
let mongo: MongoClient;
let db: Db;
const queues = taskQueueNames('ts-');

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalTestServerPath') } },
  });
  // The Java test server starts without CRA's search attributes; register them the way an operator would.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(searchAttributeRegistrations.map(([name, type]) => [
      name, type === 'Bool' ? temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL : temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    ])),
  });
  mongo = await new MongoClient(inject('mongoUri')).connect();
  db = mongo.db(`cra_wf_${randomBytes(4).toString('hex')}`);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await mongo?.close();
  await env?.teardown();
});

async function withWorkers<T>(fn: () => Promise<T>): Promise<T> {
  const config = loadConfig({ TEMPORAL_TASK_QUEUE_PREFIX: 'ts-', WORKER_SHUTDOWN_GRACE: '1s' });
  const deps = await buildWorkerDependencies(config, db);
  const workers = await createWorkers({ config, connection: env.nativeConnection, deps, workflowBundle: { codePath: inject('workflowBundlePath') } });
  const [accounts, ...others] = workers;
  return accounts!.runUntil(async () => {
    const running = others.map((w) => w.run());
    try {
      return await fn();
    } finally {
      for (const w of others) w.shutdown();
      await Promise.all(running);
    }
  });
}

const details = (consents: SignupDetails['consents']): SignupDetails => ({
  source: 'api', requestedBy: 'auth0|tester', email: 'tester@example.com', emailVerified: true, givenName: 'Test', familyName: 'Er', consents,
});

describe('signup workflow (time-skipping)', () => {
  it('gives up with a clear failure when no details ever arrive (after its five-minute wait)', async () => {
    const subject = 'auth0|no-details';
    await withWorkers(async () => {
      const handle = await env.client.workflow.start<SignupWorkflow>(signupWorkflowType, {
        workflowId: workflowIds.signup(subject), taskQueue: queues.accounts,
        args: [{ subject, accountId: accountIdForSubject(subject) }],
      });
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'SignupDetailsMissing' });
      const history = await handle.fetchHistory();
      const timer = history.events?.find((e) => e.timerStartedEventAttributes)?.timerStartedEventAttributes;
      expect(Number(timer?.startToFireTimeout?.seconds)).toBe(300);
    });
    expect(await db.collection('accounts').countDocuments({ 'rootIdentity.subject': subject })).toBe(0);
  });

  it('signs a person up with the real activities, and a second run changes nothing', async () => {
    const subject = 'auth0|time-skipper';
    const accountId = accountIdForSubject(subject);
    await withWorkers(async () => {
      const start = (d: SignupDetails) =>
        env.client.workflow.signalWithStart<SignupWorkflow, [SignupDetails]>(signupWorkflowType, {
          workflowId: workflowIds.signup(subject), taskQueue: queues.accounts,
          args: [{ subject, accountId }], signal: signupDetailsSignal, signalArgs: [d],
        });
      const first = await (await start(details([{ purpose: 'terms', version: '1', granted: true }]))).result();
      expect(first).toEqual({ accountId, created: true });
      const second = await (await start(details([{ purpose: 'terms', version: '1', granted: true }]))).result();
      expect(second).toEqual({ accountId, created: false });
    });
    const account = await db.collection('accounts').findOne({ _id: accountId as never });
    expect(account).toMatchObject({ roles: ['member'], consents: [{ purpose: 'terms', version: '1', granted: true }] });
    expect(await db.collection('notification_outbox').countDocuments({ accountId })).toBe(1);
  });
});

describe('replay', () => {
  const dir = join(process.cwd(), 'test', 'histories');
  const files = readdirSync(dir).filter((f) => f.startsWith('signup-') && f.endsWith('.json'));

  it('has recorded signup histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('today’s signup code replays %s without non-determinism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, `replay-${file}`)).resolves.toBeUndefined();
  });
});

