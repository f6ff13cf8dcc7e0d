/**
 * The signup workflow on the time-skipping test server (its timers pass in an instant) with the real
 * activities against FerretDB. Recorded histories are replayed in `replay.test.ts`.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountIdForSubject } from '../../domain/account-id.js';
import { workflowIds } from '../../domain/ids.js';
import { taskQueueNames } from '../../temporal.config.js';
import { accountDocumentOf } from '../support/account-documents.js';
import { timeSkippingOutbox, noticesTo } from '../support/outbox.js';
import { startTimeSkipping, type TimeSkipping } from '../support/time-skipping.js';
import {
  signupDetailsSignal,
  signupWorkflowType,
  type SignupDetails,
  type SignupWorkflow,
} from '../../workflows/signup/messages.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

let ts: TimeSkipping;
let env: TimeSkipping['env'];
let db: TimeSkipping['db'];
const queues = taskQueueNames('ts-');

beforeAll(async () => {
  ts = await startTimeSkipping();
  ({ env, db } = ts);
});
afterAll(async () => {
  await ts?.close();
});

const withWorkers = <T>(fn: () => Promise<T>): Promise<T> => ts.withWorkers('ts-', fn);

const details = (consents: SignupDetails['consents']): SignupDetails => ({
  source: 'api',
  requestedBy: 'auth0|tester',
  email: 'tester@example.com',
  emailVerified: true,
  givenName: 'Test',
  familyName: 'Er',
  consents,
});

describe('signup workflow (time-skipping)', () => {
  it('gives up with a clear failure when no details ever arrive (after its five-minute wait)', async () => {
    const subject = 'auth0|no-details';
    await withWorkers(async () => {
      const handle = await env.client.workflow.start<SignupWorkflow>(signupWorkflowType, {
        workflowId: workflowIds.signup(subject),
        taskQueue: queues.accounts,
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
          workflowId: workflowIds.signup(subject),
          taskQueue: queues.accounts,
          args: [{ subject, accountId }],
          signal: signupDetailsSignal,
          signalArgs: [d],
        });
      const first = await (await start(details([{ purpose: 'terms', version: '1', granted: true }]))).result();
      expect(first).toEqual({ accountId, created: true });
      const second = await (await start(details([{ purpose: 'terms', version: '1', granted: true }]))).result();
      expect(second).toEqual({ accountId, created: false });
    });
    const account = await db.collection('accounts').findOne({ _id: accountId as never });
    expect(account).toMatchObject({ roles: ['member'], consents: [{ purpose: 'terms', version: '1', granted: true }] });
    expect(await noticesTo(timeSkippingOutbox(ts), { accountId })).toHaveLength(1);
  });

  it('audits the role and consents a crashed attempt wrote before it could report them', async () => {
    // What a worker killed mid-signup leaves behind: the account, its role and its consent are written,
    // and Temporal retries the activities, which find nothing left to change.
    const subject = 'auth0|crashed-before-reporting';
    const accountId = accountIdForSubject(subject);
    const at = new Date().toISOString();
    await db.collection('accounts').insertOne(
      accountDocumentOf({
        subject,
        accountId,
        email: 'tester@example.com',
        at,
        profile: { givenName: 'Test', familyName: 'Er' },
        consents: [{ purpose: 'terms', version: '1', granted: true, recordedAt: at, source: 'api' }],
      }),
    );
    await withWorkers(async () => {
      const handle = await env.client.workflow.signalWithStart<SignupWorkflow, [SignupDetails]>(signupWorkflowType, {
        workflowId: workflowIds.signup(subject),
        taskQueue: queues.accounts,
        args: [{ subject, accountId }],
        signal: signupDetailsSignal,
        signalArgs: [details([{ purpose: 'terms', version: '1', granted: true }])],
      });
      await handle.result();
    });
    const actions = (await db.collection('audit_events').find({ accountId }).toArray()).map((e) => e.action);
    expect(actions.filter((a) => a === 'role.assigned')).toHaveLength(1);
    expect(actions.filter((a) => a === 'consent.granted')).toHaveLength(1);
    const account = await db.collection('accounts').findOne({ _id: accountId as never });
    expect(account).toMatchObject({ roles: ['member'], consents: [{ purpose: 'terms', version: '1', granted: true }] });
  });
});
