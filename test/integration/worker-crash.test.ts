/**
 * A worker killed in the middle of a signup: the workflow waits, a new worker picks it up from history,
 * and the person still ends up with exactly one account, one welcome notice and an unbroken audit trail.
 */
import { afterAll, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { noticesTo } from '../support/outbox.js';
import { call, eventually, useTestStack, tokenFor } from '../support/stack.js';
import { startWorkerProcess as startWorker, workerProcesses } from '../support/worker-process.js';

const stack = useTestStack({ workers: false });
afterAll(() => {
  for (const child of workerProcesses) child.kill('SIGKILL');
});

it('survives the worker being killed mid-signup', async () => {
  const subject = 'auth0|crash-test';
  const token = await tokenFor(stack, subject, { email: 'crash@example.com' });
  // A slow identity queue (one call every 10 s) leaves a wide gap between the first and second identity step.
  const first = await startWorker(stack.env, { IDENTITY_ACTIVITIES_PER_SECOND: '0.1' });

  const started = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
    token,
    json: { givenName: 'Crash', familyName: 'Test', consents: [{ purpose: 'terms', version: '1', granted: true }] },
  });
  expect(started.status).toBe(202);
  const handle = stack.temporal.workflow.getHandle(started.body.workflowId);

  // Kill it once the account exists but the signup has not finished.
  await eventually(
    async () =>
      (await stack.db.collection(collections.accounts).countDocuments({ _id: started.body.accountId as never })) ===
        1 || undefined,
    'the account document',
    60_000,
  );
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  expect((await handle.describe()).status.name).toBe('RUNNING');
  const history = await handle.fetchHistory();
  const completedActivities = history.events?.filter((e) => e.activityTaskCompletedEventAttributes).length ?? 0;
  expect(completedActivities).toBeGreaterThan(0);

  await startWorker(stack.env);
  const result = await handle.result();
  expect(result).toEqual({ accountId: started.body.accountId, created: true });

  expect(await stack.db.collection(collections.accounts).countDocuments({ 'rootIdentity.subject': subject })).toBe(1);
  expect(await stack.db.collection(collections.identityUsers).countDocuments({ _id: subject as never })).toBe(1);
  expect(await noticesTo(stack, { to: 'crash@example.com' })).toHaveLength(1);
  const me = await call<{ roles: string[]; consents: unknown[] }>(stack, 'GET', '/v1/me', { token });
  expect(me.body.roles).toEqual(['member']);
  expect(me.body.consents).toHaveLength(1);
  const audit = await stack.deps.auditLog.list({ accountId: started.body.accountId });
  expect(audit.map((e) => e.action)).toEqual(['account.created', 'role.assigned', 'consent.granted', 'notice.queued']);
  expect(await stack.deps.auditLog.verify()).toMatchObject({ ok: true });
}, 120_000);
