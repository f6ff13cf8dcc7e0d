/**
 * Records one completed history of every workflow type into `test/histories/`, driving the real API, the
 * real workers and the sandbox provider as the e2e tests do. Not part of `npm test`; rerun it with
 *
 *   npx vitest run --config test/support/record-histories.config.ts
 *
 * It never overwrites a file: recorded histories are what older code wrote and the replay test needs them as
 * they are. Set `CRA_HISTORIES_OUT=<dir>` to record a fresh set elsewhere (then copy over what you mean to add).
 *
 * Sync: `sync-completed` and `sync-deletion-check` were recorded before `sync-page-batches` (one page per
 * activity, the `deletion-check-once` marker); `sync-batches-*` after it. Every completed run passes the
 * `patched('deletion-check-once')` marker, so both older sync histories hold it. A history from before that patch (one `markMissingDeleted` per kind) cannot be produced with today's
 * code — `patched()` is true for every new run — so none is recorded here.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { workflowIds } from '../../domain/ids.js';
import type { CustodyResult } from '../../workflows/tokens/messages.js';
import { custodyStateQuery } from '../../workflows/tokens/messages.js';
import type { SyncResult } from '../../workflows/sync/messages.js';
import { disconnectStateQuery } from '../../workflows/disconnect/messages.js';
import { startExport } from '../../api/processes/export.js';
import { cancelErasure, startErasure } from '../../api/processes/erasure.js';
import { erasureStateQuery, type ErasureResult } from '../../workflows/erasure/messages.js';
import type { ExportResult } from '../../workflows/export/messages.js';
import { linkThroughSandbox, longStandingAccount, signedUp } from './accounts.js';
import { openedHistory } from './history.js';
import { call, eventually, startTestStack, type TestStack } from './stack.js';

const outDir = resolve(process.env.CRA_HISTORIES_OUT ?? join(process.cwd(), 'test', 'histories'));
const run = randomBytes(3).toString('hex');
let stack: TestStack;

beforeAll(async () => {
  // Access tokens live 20 s and are refreshed 15 s early, so the custodian refreshes before it is stopped.
  stack = await startTestStack({ sandbox: { accessTokenTtlSeconds: 20 }, env: { TOKEN_REFRESH_MARGIN: '15 seconds' } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Save a closed workflow's history as `<name>.json`, in the format the Temporal CLI and `historyFromJSON` use. */
async function save(
  name: string,
  workflowId: string,
  runId?: string,
  ended: 'COMPLETED' | 'CANCELLED' = 'COMPLETED',
): Promise<void> {
  const handle = stack.temporal.workflow.getHandle(workflowId, runId);
  if (ended === 'CANCELLED') await handle.result().catch(() => undefined);
  const { status } = await handle.describe();
  expect(status.name, `${workflowId} should have ended ${ended.toLowerCase()} before its history is recorded`).toBe(
    ended,
  );
  const file = join(outDir, `${name}.json`);
  if (existsSync(file)) {
    process.stderr.write(`[record-histories] kept ${file} (already recorded)\n`);
    return;
  }
  mkdirSync(outDir, { recursive: true });
  // Opened: the replay test's worker has no codec (and the recording stack's key is gone with it).
  const history = openedHistory(await handle.fetchHistory(), stack.codec);
  writeFileSync(file, JSON.stringify(JSON.parse(historyToJSON(history)), null, 2));
  process.stderr.write(`[record-histories] wrote ${file}\n`);
}

const runIdOf = async (workflowId: string) => (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;

it('records signup, link, token custody, sync (twice) and disconnect of one connection', async () => {
  const username = `history-${run}`;
  const sandbox = stack.sandbox!.data;
  // Small datasets keep the sync histories short; one page per kind.
  for (const kind of sandbox.kinds('github')) sandbox.setCount('github', username, kind, 3);
  const person = await signedUp(stack, `auth0|${username}`);
  await save('signup-completed', workflowIds.signup(person.subject));

  const { workflowId: linkId, answer } = await linkThroughSandbox(stack, person, 'github', username);
  expect(answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(linkId).result();
  await save('link-completed', linkId);

  // The link starts the first sync: a complete run, then its deletion check (nothing is missing yet).
  const syncId = workflowIds.sync(person.accountId, 'github');
  const firstSync = await runIdOf(syncId);
  await stack.temporal.workflow.getHandle(syncId, firstSync).result();
  await save('sync-completed', syncId, firstSync);

  // A record gone at the provider: the second run's deletion check marks it deleted.
  const [removed] = sandbox.ids('github', username, 'repositories');
  sandbox.remove('github', username, 'repositories', removed!);
  const again = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
    token: person.token,
  });
  expect(again.status).toBe(202);
  const secondSync = await runIdOf(again.body.workflowId);
  const second: SyncResult = await stack.temporal.workflow.getHandle(again.body.workflowId, secondSync).result();
  expect(second.totals.repositories).toMatchObject({ deleted: 1 });
  await save('sync-deletion-check', again.body.workflowId, secondSync);

  // The custodian refreshes at least once, then the disconnect stops it.
  const custodyId = workflowIds.tokens(person.accountId, 'github');
  const custody = stack.temporal.workflow.getHandle(custodyId);
  await eventually(
    async () => {
      const state = await custody.query(custodyStateQuery);
      return state.refreshCount >= 1 && state.status !== 'refreshing' ? state : undefined;
    },
    'a token refresh',
    40_000,
  );
  const disconnect = await call<{ workflowId: string }>(stack, 'DELETE', '/v1/me/providers/github', {
    token: person.token,
    json: { retention: 'delete' },
  });
  expect(disconnect.status).toBe(202);
  await stack.temporal.workflow.getHandle(disconnect.body.workflowId).result();
  const custodyResult: CustodyResult = await custody.result();
  expect(custodyResult.status).toBe('stopped');
  await save('token-custody-completed', custodyId);
  await save('disconnect-completed', disconnect.body.workflowId);
});

it('records a sync in batches of pages and its ledger deletion check (after sync-page-batches)', async () => {
  const username = `history-batches-${run}`;
  const sandbox = stack.sandbox!.data;
  // Two pages of starred (GitHub's 100 a page) in one batch; one page of the other kinds.
  for (const kind of sandbox.kinds('github')) sandbox.setCount('github', username, kind, 3);
  sandbox.setCount('github', username, 'starred', 150);
  const person = await signedUp(stack, `auth0|${username}`);
  const { answer } = await linkThroughSandbox(stack, person, 'github', username);
  expect(answer.body).toMatchObject({ status: 'linked' });
  const syncId = workflowIds.sync(person.accountId, 'github');
  const firstSync = await runIdOf(syncId);
  await stack.temporal.workflow.getHandle(syncId, firstSync).result();
  await save('sync-batches-completed', syncId, firstSync);

  // One record changed and one gone: the second run writes one and its ledger deletion check marks one.
  const [changed, removed] = sandbox.ids('github', username, 'starred');
  sandbox.change('github', username, 'starred', changed!, { description: 'changed at the provider' });
  sandbox.remove('github', username, 'starred', removed!);
  const again = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
    token: person.token,
  });
  expect(again.status).toBe(202);
  const secondSync = await runIdOf(again.body.workflowId);
  const second: SyncResult = await stack.temporal.workflow.getHandle(again.body.workflowId, secondSync).result();
  expect(second.totals.starred).toMatchObject({ fetched: 149, written: 1, deleted: 1, pages: 2 });
  await save('sync-batches-deletion-check', again.body.workflowId, secondSync);
});

it('records a recovery the owner cancels', async () => {
  const owner = await longStandingAccount(stack, `history-recovery-${run}`);
  const started = await call<{ recoveryId: string }>(stack, 'POST', '/v1/recoveries', { json: { email: owner.email } });
  expect(started.status).toBe(202);
  const recoveryId = workflowIds.recovery(started.body.recoveryId);
  // The owner, signed in, stops a recovery they did not ask for.
  await eventually(
    async () =>
      (await call(stack, 'POST', `/v1/recoveries/${started.body.recoveryId}/cancel`, { token: owner.token })).status ===
      200
        ? true
        : undefined,
    'the cancel',
  );
  await stack.temporal.workflow.getHandle(recoveryId).result();
  await save('recovery-completed', recoveryId);
});

it('records a recovery proven in part by a provider sign-in the workflow redeems (after recovery-provider-answer-activity)', async () => {
  // Imported here so the entries above keep their import lines as they were.
  const { completeConsent } = await import('../../deploy/sandbox/driver.js');
  const { collections } = await import('../../domain/collections.js');
  const username = `history-reauth-${run}`;
  const owner = await longStandingAccount(stack, username);
  const linked = await linkThroughSandbox(stack, owner, 'github', username);
  expect(linked.answer.body).toMatchObject({ status: 'linked' });
  // Older than RECOVERY_MIN_CONNECTION_AGE, so the sign-in counts.
  const accounts = stack.db.collection(collections.accounts);
  const account = await accounts.findOne({ _id: owner.accountId as never });
  const longAgo = new Date(Date.now() - 30 * 24 * 3600_000).toISOString();
  await accounts.updateOne(
    { _id: owner.accountId as never },
    {
      $set: {
        'connected_providers.nodes': (account!.connected_providers.nodes as Array<Record<string, unknown>>).map(
          (n) => ({ ...n, connectedAt: longAgo }),
        ),
      },
    },
  );
  const started = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
    json: { email: owner.email },
  });
  expect(started.status).toBe(202);
  const headers = { 'x-recovery-token': started.body.recoveryToken };
  const challenge = await call<{ authorizationUrl: string }>(
    stack,
    'POST',
    `/v1/recoveries/${started.body.recoveryId}/challenges`,
    { json: { factor: 'provider_reauth', provider: 'github' }, headers },
  );
  expect(challenge.status).toBe(202);
  const back = await completeConsent(challenge.body.authorizationUrl, { username });
  const answer = await call<{ accepted: boolean }>(stack, 'GET', `${back.pathname}${back.search}`, {
    headers: { accept: 'application/json' },
  });
  expect(answer.body).toMatchObject({ accepted: true });
  await call(stack, 'POST', `/v1/recoveries/${started.body.recoveryId}/cancel`, { headers });
  const recoveryId = workflowIds.recovery(started.body.recoveryId);
  await stack.temporal.workflow.getHandle(recoveryId).result();
  await save('recovery-provider-reauth', recoveryId);
});

/** Like `save`, for a run that ended cancelled (the cancellation paths after `sync-cancellation` and its siblings). */
const saveCancelled = (name: string, workflowId: string, runId?: string) => save(name, workflowId, runId, 'CANCELLED');

it('records a sync cancelled by a disconnect mid-page, that disconnect cancelled, and a link and a custodian cancelled (after the *-cancellation patches)', async () => {
  const username = `history-cancel-${run}`;
  const sandbox = stack.sandbox!;
  for (const kind of sandbox.data.kinds('github')) sandbox.data.setCount('github', username, kind, 2);
  const person = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, person, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(workflowIds.sync(person.accountId, 'github')).result();

  // A page the sandbox holds back, then the disconnect that cancels its sync.
  sandbox.faults.inject('github', { delayMs: 60_000 });
  const sync = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
    token: person.token,
  });
  expect(sync.status).toBe(202);
  const syncHandle = stack.temporal.workflow.getHandle(sync.body.workflowId);
  await eventually(
    async () =>
      ((await syncHandle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'syncPages') ||
      undefined,
    'a page in flight',
  );
  const syncRun = (await syncHandle.describe()).runId;
  const disconnect = await call<{ workflowId: string }>(stack, 'DELETE', '/v1/me/providers/github', {
    token: person.token,
    json: { retention: 'keep' },
  });
  expect(disconnect.status).toBe(202);
  await saveCancelled('sync-cancelled-by-disconnect', sync.body.workflowId, syncRun);
  sandbox.faults.clear();

  // The disconnect waits for the cancelled sync's page; an operator cancels it there.
  const disconnectHandle = stack.temporal.workflow.getHandle(disconnect.body.workflowId);
  await eventually(
    async () => ((await disconnectHandle.query(disconnectStateQuery)).stage === 'waiting_for_sync' ? true : undefined),
    'the wait for the sync',
  );
  await disconnectHandle.cancel();
  await saveCancelled('disconnect-cancelled', disconnect.body.workflowId);

  // A second person: a link cancelled while it waits for the provider, and a custodian cancelled while it waits.
  const other = await signedUp(stack, `auth0|${username}-2`);
  const link = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/link', {
    token: other.token,
    json: {},
  });
  expect(link.status).toBe(202);
  await stack.temporal.workflow.getHandle(link.body.workflowId).cancel();
  await saveCancelled('link-cancelled', link.body.workflowId);

  for (const kind of sandbox.data.kinds('github')) sandbox.data.setCount('github', `${username}-2`, kind, 1);
  expect((await linkThroughSandbox(stack, other, 'github', `${username}-2`)).answer.body).toMatchObject({
    status: 'linked',
  });
  await stack.temporal.workflow.getHandle(workflowIds.sync(other.accountId, 'github')).result();
  const custodyId = workflowIds.tokens(other.accountId, 'github');
  await stack.temporal.workflow.getHandle(custodyId).cancel();
  await saveCancelled('token-custody-cancelled', custodyId);
});

it('records a recovery cancelled through Temporal during its account lookup (after recovery-cancellation)', async () => {
  const owner = await longStandingAccount(stack, `history-recovery-cancelled-${run}`);
  const started = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
    json: { email: owner.email },
  });
  expect(started.status).toBe(202);
  const recoveryId = workflowIds.recovery(started.body.recoveryId);
  // An operator cancels the run as it starts (the recorded one while openRecovery ran): its clean-up (audit,
  // release, close) runs non-cancellable and the run ends cancelled.
  await stack.temporal.workflow.getHandle(recoveryId).cancel();
  await saveCancelled('recovery-cancelled', recoveryId);
});

it('records an export: the archive built, ready, then expired when its link does', async () => {
  const username = `history-export-${run}`;
  const sandbox = stack.sandbox!.data;
  for (const kind of sandbox.kinds('github')) sandbox.setCount('github', username, kind, 2);
  const person = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, person, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(workflowIds.sync(person.accountId, 'github')).result();
  // Through the starter, with a link that lives seconds, so the recorded run reaches its expiry.
  const config = { ...stack.config, dataRights: { ...stack.config.dataRights, exportLinkTtl: '3 seconds' } };
  const started = await startExport(
    { temporal: stack.temporal, config, db: stack.db },
    { account: { _id: person.accountId, status: 'active' }, requestedBy: person.subject },
  );
  const result: ExportResult = await stack.temporal.workflow.getHandle(started.workflowId).result();
  expect(result).toMatchObject({ status: 'expired', records: 6 });
  await save('export-completed', started.workflowId);
});

it('records an erasure cancelled in its grace window, one that erases an account with a connection, and its tombstone purge', async () => {
  const deps = { temporal: stack.temporal, config: stack.config };
  const request = (accountId: string, gracePeriod: string, tombstoneRetention: string) => ({
    accountId,
    requestedAt: new Date().toISOString(),
    requestedBy: { type: 'user' as const, id: accountId },
    gracePeriod,
    tombstoneRetention,
  });

  const changedMind = await signedUp(stack, `auth0|history-erasure-cancel-${run}`);
  const cancelId = (await startErasure(deps, request(changedMind.accountId, '1 hour', '612 days'))).workflowId;
  await eventually(
    async () =>
      (await stack.temporal.workflow.getHandle(cancelId).query(erasureStateQuery)).stage === 'grace' || undefined,
    'the grace window',
  );
  await cancelErasure(deps, changedMind.accountId, 'user');
  expect(await stack.temporal.workflow.getHandle(cancelId).result()).toEqual({ status: 'cancelled' });
  await save('erasure-cancelled', cancelId);

  const username = `history-erasure-${run}`;
  const sandbox = stack.sandbox!.data;
  for (const kind of sandbox.kinds('github')) sandbox.setCount('github', username, kind, 2);
  const person = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, person, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(workflowIds.sync(person.accountId, 'github')).result();
  // A grace window and a retention of seconds, so the recorded runs reach their ends.
  const erasureId = (await startErasure(deps, request(person.accountId, '1 second', '3 seconds'))).workflowId;
  const result: ErasureResult = await stack.temporal.workflow.getHandle(erasureId).result();
  expect(result.status).toBe('erased');
  await save('erasure-completed', erasureId);
  const purgeId = workflowIds.erasurePurge(person.accountId);
  expect(await stack.temporal.workflow.getHandle(purgeId).result()).toEqual({ purged: true });
  await save('erasure-purge-completed', purgeId);
});

it('records an erasure that retires the account id as its subject’s (patch erasure-retires-subject)', async () => {
  const deps = { temporal: stack.temporal, config: stack.config };
  const person = await signedUp(stack, `auth0|history-erasure-retired-${run}`);
  const erasureId = (
    await startErasure(deps, {
      accountId: person.accountId,
      requestedAt: new Date().toISOString(),
      requestedBy: { type: 'user', id: person.accountId },
      gracePeriod: '1 second',
      tombstoneRetention: '3 seconds',
    })
  ).workflowId;
  const result: ErasureResult = await stack.temporal.workflow.getHandle(erasureId).result();
  const retired = result.status === 'erased' && result.certificate.steps.find((s) => s.store === 'subject_account');
  expect(retired).toMatchObject({ deleted: 1 });
  await save('erasure-completed-retired-subject', erasureId);
  expect(await stack.temporal.workflow.getHandle(workflowIds.erasurePurge(person.accountId)).result()).toEqual({
    purged: true,
  });
});

it('records a signup and a link whose personal values travel sealed (patch signup-personal-sealed; the exchange’s sealed profile)', async () => {
  const username = `history-sealed-${run}`;
  const person = await signedUp(stack, `auth0|${username}`);
  await save('signup-completed-sealed', workflowIds.signup(person.subject));
  const { workflowId: linkId, answer } = await linkThroughSandbox(stack, person, 'github', username);
  expect(answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(linkId).result();
  await save('link-completed-sealed', linkId);
});
