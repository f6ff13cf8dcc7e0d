/**
 * Cancelling each cancellable workflow — sync, disconnect, link, token custody — while a step is under way,
 * on the Temporal dev server with the real workers, FerretDB and the sandbox provider. What is checked is
 * what an operator sees in Temporal Web (status Cancelled, `CraStage = cancelled`), the audit trail, and
 * that nothing is left half-done (no page written after the cancel, no tokens of a discarded attempt).
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEvent } from '../../activities/audit/audit-log.js';
import type { AccountCenter, ConnectedProviderNode } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { searchAttributes } from '../../temporal.config.js';
import { createWorkers } from '../../workers/workers.js';
import { disconnectStateQuery, type DisconnectResult } from '../../workflows/disconnect/messages.js';
import { linkStateQuery } from '../../workflows/link/messages.js';
import { custodyStateQuery, freshTokenUpdate } from '../../workflows/tokens/messages.js';
import { expectEndedCancelled } from '../support/cancellation.js';
import { deliverCallback, linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
const run = randomBytes(3).toString('hex');

beforeAll(async () => {
  stack = await startTestStack({ sandbox: true });
});
afterAll(async () => {
  await stack?.stop();
});

const stageOf = async (handle: WorkflowHandle) =>
  (await handle.describe()).typedSearchAttributes.get(searchAttributes.stage);
const auditOf = (accountId: string, action: string) =>
  stack.db.collection<AuditEvent>(collections.auditEvents).find({ accountId, action }).toArray();
const records = () => stack.db.collection<ProviderRecordDocument>(collections.providerRecords);
const tokens = () =>
  stack.db.collection<{ _id: string; accountId: string; status: string; version: number }>(collections.providerTokens);
const me = async (who: SignedUp) => (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body;
const githubOf = async (who: SignedUp): Promise<ConnectedProviderNode | undefined> =>
  (await me(who)).connected_providers.nodes.find((n) => n.provider === 'github');

/** The run's activity of this type that Temporal Web lists as pending, once it is (optionally: on a later attempt). */
function pendingActivity(handle: WorkflowHandle, type: string, opts: { started?: boolean; minAttempt?: number } = {}) {
  return eventually(
    async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const found = pending.find((a) => a.activityType?.name === type);
      if (!found) return undefined;
      if (opts.started && String(found.state) !== 'PENDING_ACTIVITY_STATE_STARTED' && found.state !== 2)
        return undefined;
      if ((found.attempt ?? 1) < (opts.minAttempt ?? 1)) return undefined;
      return found;
    },
    `a pending ${type}`,
    45_000,
  );
}

/** The history's events by type, in order (to show what ran before what). */
async function eventTypes(handle: WorkflowHandle): Promise<Array<{ type: string; activity?: string }>> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  return (history.events ?? []).map((e) => {
    if (e.activityTaskScheduledEventAttributes) {
      const name = e.activityTaskScheduledEventAttributes.activityType?.name ?? '';
      scheduled.set(String(e.eventId), name);
      return { type: 'scheduled', activity: name };
    }
    if (e.activityTaskCanceledEventAttributes)
      return {
        type: 'canceled',
        activity: scheduled.get(String(e.activityTaskCanceledEventAttributes.scheduledEventId)) ?? '',
      };
    return { type: 'other' };
  });
}

/** A person with GitHub connected through the sandbox (a few records, so the first sync is quick). */
async function connected(name: string): Promise<SignedUp & { username: string; node: ConnectedProviderNode }> {
  const username = `${name}-${run}`;
  for (const kind of stack.sandbox!.data.kinds('github')) stack.sandbox!.data.setCount('github', username, kind, 2);
  const who = await signedUp(stack, `auth0|${username}`);
  const { answer } = await linkThroughSandbox(stack, who, 'github', username);
  expect(answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(workflowIds.sync(who.accountId, 'github')).result();
  return { ...who, username, node: (await githubOf(who))! };
}

/** Start a sync whose first page the sandbox holds back, and wait until the page is being fetched. */
async function syncStuckOnAPage(who: SignedUp): Promise<WorkflowHandle> {
  stack.sandbox!.faults.inject('github', { delayMs: 60_000 });
  const res = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', { token: who.token });
  expect(res.status).toBe(202);
  const handle = stack.temporal.workflow.getHandle(res.body.workflowId);
  await pendingActivity(handle, 'syncPages', { started: true });
  return handle;
}

/** The sync's page in flight stopped before the sync wrote its audit event, and wrote nothing. */
async function expectPageStoppedFirst(handle: WorkflowHandle): Promise<void> {
  const events = (await eventTypes(handle)).filter((e) => e.type !== 'other');
  const canceledPage = events.findIndex((e) => e.type === 'canceled' && e.activity === 'syncPages');
  const audit = events.findIndex((e) => e.type === 'scheduled' && e.activity === 'appendAuditEvent');
  expect(canceledPage, 'the page reports its cancellation').toBeGreaterThanOrEqual(0);
  expect(audit, 'the audit write comes after the page stopped').toBeGreaterThan(canceledPage);
  const { runId } = await handle.describe();
  expect(await records().countDocuments({ 'origin.syncRunId': runId })).toBe(0);
}

describe('cancelling a workflow mid-step', () => {
  it(
    'a sync cancelled mid-page ends cancelled after the page stopped, with its audit event',
    { timeout: 90_000 },
    async () => {
      const who = await connected('sync-cancel');
      const before = await records().countDocuments({ accountId: who.accountId });
      const sync = await syncStuckOnAPage(who);
      await sync.cancel();
      await expectEndedCancelled(sync);
      await expectPageStoppedFirst(sync);
      const [event] = await auditOf(who.accountId, 'provider.sync_cancelled');
      expect(event).toMatchObject({
        actor: { type: 'system', id: 'sync' },
        workflowId: sync.workflowId,
        details: { provider: 'github', pages: 0, written: 0 },
      });
      expect(await auditOf(who.accountId, 'provider.sync_failed')).toEqual([]);
      expect(await records().countDocuments({ accountId: who.accountId })).toBe(before);
      stack.sandbox!.faults.clear();
    },
  );

  it(
    'a disconnect cancels a sync mid-page, which audits it; a disconnect cancelled while it waits leaves the connection claimed, and the next one finishes it',
    { timeout: 120_000 },
    async () => {
      const who = await connected('disconnect-sync');
      const before = await records().countDocuments({ connectionId: who.node.connectionId });
      expect(before).toBe(6);
      const sync = await syncStuckOnAPage(who);

      const res = await call<{ workflowId: string }>(stack, 'DELETE', '/v1/me/providers/github', {
        token: who.token,
        json: { retention: 'delete' },
      });
      expect(res.status).toBe(202);
      // The bug this fixes: the sync ended `failed`, its audit write cancelled before it started.
      await expectEndedCancelled(sync);
      await expectPageStoppedFirst(sync);
      expect(await auditOf(who.accountId, 'provider.sync_cancelled')).toHaveLength(1);
      expect(await auditOf(who.accountId, 'provider.sync_failed')).toEqual([]);

      const disconnect = stack.temporal.workflow.getHandle(res.body.workflowId);
      await eventually(
        async () => ((await disconnect.query(disconnectStateQuery)).stage === 'waiting_for_sync' ? true : undefined),
        'the wait for the cancelled sync',
      );
      await disconnect.cancel();
      await expectEndedCancelled(disconnect);
      const [cancelled] = await auditOf(who.accountId, 'provider.disconnect_cancelled');
      expect(cancelled).toMatchObject({
        workflowId: disconnect.workflowId,
        details: { provider: 'github', retention: 'delete', stage: 'waiting_for_sync', deleted: 0 },
      });
      // Claimed and its tokens gone (revoked before the wait), its records untouched: a later disconnect picks it up.
      expect(await githubOf(who)).toMatchObject({ connectionId: who.node.connectionId, status: 'disconnected' });
      expect(await tokens().countDocuments({ _id: who.node.connectionId })).toBe(0);
      expect(await records().countDocuments({ connectionId: who.node.connectionId })).toBe(before);
      expect(await auditOf(who.accountId, 'provider.disconnected')).toEqual([]);

      const again = await call<{ workflowId: string }>(stack, 'DELETE', '/v1/me/providers/github', {
        token: who.token,
        json: { retention: 'delete' },
      });
      expect(again.status).toBe(202);
      const done: DisconnectResult = await stack.temporal.workflow.getHandle(again.body.workflowId).result();
      expect(done).toMatchObject({ status: 'disconnected', deleted: before });
      expect(await githubOf(who)).toBeUndefined();
      expect(await records().countDocuments({ connectionId: who.node.connectionId })).toBe(0);
    },
  );

  it(
    'a disconnect cancelled while the directory cannot be reached ends cancelled, its tokens gone and the identity still linked',
    { timeout: 90_000 },
    async () => {
      const who = await connected('disconnect-directory');
      // Only the accounts worker runs: the directory call waits on the identity queue, as when the directory's worker is down.
      await stack.stopWorkers();
      const connection = await NativeConnection.connect({ address: stack.config.temporal.address });
      const [accounts, identity] = await createWorkers({
        config: stack.config,
        connection,
        deps: stack.deps,
        workflowBundle: { codePath: inject('workflowBundlePath') },
      });
      try {
        await accounts!.runUntil(async () => {
          const res = await call<{ workflowId: string }>(stack, 'DELETE', '/v1/me/providers/github', {
            token: who.token,
            json: { retention: 'keep' },
          });
          expect(res.status).toBe(202);
          const disconnect = stack.temporal.workflow.getHandle(res.body.workflowId);
          await pendingActivity(disconnect, 'unlinkDirectoryIdentity');
          expect(await stageOf(disconnect)).toBe('unlinking');
          await disconnect.cancel();
          await expectEndedCancelled(disconnect);
          const [event] = await auditOf(who.accountId, 'provider.disconnect_cancelled');
          expect(event).toMatchObject({
            details: { provider: 'github', retention: 'keep', stage: 'unlinking', detached: 0 },
          });
        });
        await identity!.runUntil(async () => undefined);
      } finally {
        await connection.close();
        await stack.startWorkers();
      }
      expect(await githubOf(who)).toMatchObject({ status: 'disconnected' });
      expect(await tokens().countDocuments({ _id: who.node.connectionId })).toBe(0);
      const user = await stack.db
        .collection<{ _id: string; identities?: Array<{ provider: string }> }>(collections.identityUsers)
        .findOne({ _id: who.subject });
      expect(user?.identities?.some((i) => i.provider === 'github')).toBe(true);
      // Nothing was kept or deleted: the records stay as they were, active.
      expect(await records().countDocuments({ connectionId: who.node.connectionId, status: 'active' })).toBe(6);
    },
  );

  it('a link cancelled while it waits for the provider discards its attempt and ends cancelled', async () => {
    const who = await signedUp(stack, `auth0|link-wait-${run}`);
    const started = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/link', {
      token: who.token,
      json: {},
    });
    expect(started.status).toBe(202);
    const link = stack.temporal.workflow.getHandle(started.body.workflowId);
    await link.cancel();
    await expectEndedCancelled(link);
    expect(await link.query(linkStateQuery)).toMatchObject({
      stage: 'cancelled',
      outcome: { status: 'failed', detail: expect.stringContaining('cancelled') },
    });
    const [event] = await auditOf(who.accountId, 'provider.link_cancelled');
    expect(event).toMatchObject({ details: { provider: 'github', stage: 'awaiting_callback' } });
    const attempts = await stack.db
      .collection(collections.linkAttempts)
      .find({ workflowId: link.workflowId })
      .toArray();
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      status: 'discarded',
      codeVerifierCiphertext: null,
      authorizationUrlCiphertext: null,
    });
    expect(await githubOf(who)).toBeUndefined();
  });

  it('a link cancelled while support reviews a conflict drops the tokens it obtained and clears the review flag', async () => {
    const owner = await connected('link-owner');
    const other = await signedUp(stack, `auth0|link-other-${run}`);
    const { workflowId, answer } = await linkThroughSandbox(stack, other, 'github', owner.username);
    expect(answer.body).toMatchObject({ status: 'pending_review' });
    const link = stack.temporal.workflow.getHandle(workflowId);
    expect((await link.describe()).typedSearchAttributes.get(searchAttributes.needsApproval)).toBe(true);
    expect(await tokens().countDocuments({ _id: { $regex: /^pending:/ } as never, accountId: other.accountId })).toBe(
      1,
    );
    await link.cancel();
    await expectEndedCancelled(link);
    expect((await link.describe()).typedSearchAttributes.get(searchAttributes.needsApproval)).toBe(false);
    expect(await tokens().countDocuments({ _id: { $regex: /^pending:/ } as never, accountId: other.accountId })).toBe(
      0,
    );
    const [event] = await auditOf(other.accountId, 'provider.link_cancelled');
    expect(event).toMatchObject({ details: { provider: 'github', stage: 'awaiting_support' } });
    // The first account keeps its connection, untouched.
    expect(await githubOf(owner)).toMatchObject({ connectionId: owner.node.connectionId, status: 'active' });
    expect(await githubOf(other)).toBeUndefined();
  });

  describe('with the provider unreachable (the sandbox closed)', () => {
    let custodian: SignedUp & { node: ConnectedProviderNode };
    let linking: SignedUp;
    let callback: URL;
    beforeAll(async () => {
      custodian = await connected('custody-cancel');
      linking = await signedUp(stack, `auth0|link-exchange-${run}`);
      const started = await call<{ workflowId: string; authorizationUrl: string }>(
        stack,
        'POST',
        '/v1/me/providers/github/link',
        { token: linking.token, json: {} },
      );
      expect(started.status).toBe(202);
      callback = await completeConsent(started.body.authorizationUrl, { username: `link-exchange-${run}` });
      await stack.sandbox!.close();
    });

    it(
      'a link cancelled mid-exchange answers the callback, discards the attempt and ends cancelled',
      { timeout: 90_000 },
      async () => {
        const answer = deliverCallback(stack, callback, { as: linking });
        const link = stack.temporal.workflow.getHandle(workflowIds.link(linking.accountId, 'github'));
        await pendingActivity(link, 'completeLinkExchange', { minAttempt: 2 });
        await link.cancel();
        await expectEndedCancelled(link);
        const answered = await answer;
        expect(answered.status).toBeGreaterThanOrEqual(400);
        expect(answered.body.detail).toContain('cancelled');
        const [event] = await auditOf(linking.accountId, 'provider.link_cancelled');
        expect(event).toMatchObject({ details: { provider: 'github', stage: 'exchanging' } });
        const [attempt] = await stack.db
          .collection(collections.linkAttempts)
          .find({ workflowId: link.workflowId })
          .toArray();
        expect(attempt).toMatchObject({ status: 'discarded', code: null, codeVerifierCiphertext: null });
        expect(await tokens().countDocuments({ accountId: linking.accountId })).toBe(0);
        expect(await githubOf(linking)).toBeUndefined();
      },
    );

    it(
      'token custody cancelled mid-refresh ends cancelled with the tokens as they were',
      { timeout: 90_000 },
      async () => {
        const custody = stack.temporal.workflow.getHandle(workflowIds.tokens(custodian.accountId, 'github'));
        // A token asked for a day ahead: custody refreshes now, and the provider does not answer.
        const asked = custody.executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds: 86_400 }] }).then(
          () => 'answered',
          (err: unknown) => err,
        );
        await pendingActivity(custody, 'refreshConnectionTokens', { minAttempt: 2 });
        expect((await custody.query(custodyStateQuery)).status).toBe('refreshing');
        await custody.cancel();
        await expectEndedCancelled(custody);
        expect(await asked).toBeInstanceOf(Error);
        const [event] = await auditOf(custodian.accountId, 'provider.token_custody_cancelled');
        expect(event).toMatchObject({
          details: { provider: 'github', connectionId: custodian.node.connectionId, tokenVersion: 1, refreshCount: 0 },
        });
        expect(await tokens().findOne({ _id: custodian.node.connectionId })).toMatchObject({
          status: 'active',
          version: 1,
        });
        expect(await custody.query(custodyStateQuery)).toMatchObject({ status: 'stopped', tokenVersion: 1 });
      },
    );
  });
});
