/**
 * A sync interrupted by killing its worker resumes from its checkpoint: no duplicates, no gaps, and the
 * pages fetched before the crash are not fetched again from the start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/services.js';
import { collections } from '../../domain/collections.js';
import { syncStatusQuery, type SyncResult } from '../../workflows/sync/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack } from '../support/stack.js';

let person: SignedUp;
const username = `crash-${randomBytes(3).toString('hex')}`;
const children: ChildProcess[] = [];

const stack = useTestStack({ sandbox: true, env: { SYNC_PAGE_SIZE: '50' } });
beforeAll(async () => {
  person = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, person, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(`sync/${person.accountId}/github`).result();
  // From here on the syncs run in a separate worker process that the test can kill.
  await stack.stopWorkers();
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

async function workerProcess(): Promise<ChildProcess> {
  const env = { ...process.env, ...stack.env, METRICS_PORT: String(await freePort()), LOG_LEVEL: 'warn' };
  // node itself with tsx's loader, not the tsx wrapper: SIGKILL must reach the worker, not a parent of it.
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], { env, stdio: 'ignore' });
  children.push(child);
  return child;
}

it('resumes from its checkpoint after the worker is killed mid-way', async () => {
  const { data, faults } = stack.sandbox!;
  data.setCount('github', username, 'repositories', 2_000);
  data.setCount('github', username, 'organizations', 0);
  data.setCount('github', username, 'starred', 0);
  // Slow pages, so the kill lands in the middle: 40 pages of 50 at ≥ 150 ms each.
  faults.inject('github', { delayMs: 150, times: 1_000, kind: 'repositories' });
  const servedBefore = stack.sandbox!.stats().served?.github?.repositories ?? 0;

  const first = await workerProcess();
  const res = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
    token: person.token,
  });
  const handle = stack.temporal.workflow.getHandle(res.body.workflowId);
  const atKill = await eventually(
    async () => {
      const status = await handle.query(syncStatusQuery).catch(() => undefined);
      return status && status.checkpoint.pages >= 10 ? status : undefined;
    },
    'ten pages',
    60_000,
  );
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  expect((await handle.describe()).status.name).toBe('RUNNING');

  await workerProcess();
  const result: SyncResult = await handle.result();
  expect(result.totals.repositories?.fetched).toBe(2_000);
  const records = stack.db.collection(collections.providerRecords);
  expect(await records.countDocuments({ accountId: person.accountId, kind: 'repositories', status: 'active' })).toBe(
    2_000,
  );
  expect(new Set(await records.distinct('_id', { accountId: person.accountId, kind: 'repositories' })).size).toBe(
    2_000,
  );
  // 40 pages plus the one the crash cut short (and perhaps one in flight): not 40 + the 10 done before.
  const pagesServed = (stack.sandbox!.stats().served?.github?.repositories ?? 0) - servedBefore;
  expect(atKill.checkpoint.pages).toBeGreaterThanOrEqual(10);
  expect(pagesServed).toBeLessThanOrEqual(42);
}, 180_000);
