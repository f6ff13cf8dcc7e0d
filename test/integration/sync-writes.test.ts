/**
 * What a sync writes (issue 12, item 8), through the real stack: the sandbox provider, the sync workflow on
 * the Temporal dev server, FerretDB. A re-sync of unchanged data writes no record at all (the stored
 * documents stay byte for byte what the first sync wrote); a change writes that record only; a page
 * replayed, or two attempts of one page racing, converge on the same records with origins that verify;
 * the deletion check still finds a record removed at the provider, and leaves no seen pages behind.
 */
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import {
  createRecordActivities,
  type SyncPageInput,
  type SyncPageResult,
} from '../../activities/records/activities.js';
import { checkRecordOrigin, providerRecords, recordContent, seenPages } from '../../activities/records/store.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { recordIdFor } from '../../domain/records.js';
import type { SyncResult } from '../../workflows/sync/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack } from '../support/stack.js';

const suffix = randomBytes(3).toString('hex');
const stack = useTestStack({ sandbox: true });

/** A linked person with a known dataset, the link's first sync finished. */
async function syncedPerson(name: string): Promise<{ who: SignedUp; username: string; connectionId: string }> {
  const username = `${name}-${suffix}`;
  const sandbox = stack.sandbox!.data;
  sandbox.setCount('github', username, 'repositories', 25);
  sandbox.setCount('github', username, 'organizations', 2);
  sandbox.setCount('github', username, 'starred', 3);
  const who = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, who, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(`sync/${who.accountId}/github`).result();
  const account = await stack.db.collection<AccountDocument>(collections.accounts).findOne({ _id: who.accountId });
  const node = account!.connected_providers.nodes.find((n) => n.provider === 'github')!;
  return { who, username, connectionId: node.connectionId };
}

async function syncNow(who: SignedUp): Promise<SyncResult> {
  const res = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', { token: who.token });
  expect(res.status).toBe(202);
  return stack.temporal.workflow.getHandle(res.body.workflowId).result();
}

const storedOf = (accountId: string) => providerRecords(stack.db).find({ accountId }).sort({ _id: 1 }).toArray();

function recordActivities() {
  return createRecordActivities({
    db: stack.db,
    vault: stack.deps.vault,
    accountKeys: stack.deps.accountKeys,
    consentPurposes: stack.config.dataRights.consentPurposes,
    providers: stack.config.providers,
    temporal: stack.temporal,
  });
}

describe('what a sync writes', () => {
  it('writes nothing when nothing changed, and only the changed record when one did', async () => {
    const { who, username } = await syncedPerson('unchanged');
    const before = await storedOf(who.accountId);
    expect(before).toHaveLength(30);

    const again = await syncNow(who);
    for (const kind of ['repositories', 'organizations', 'starred'])
      expect(again.totals[kind]).toMatchObject({ written: 0, deleted: 0 });
    // Not one field of one record was rewritten: same ciphertext, same origin, same time of writing.
    expect(await storedOf(who.accountId)).toEqual(before);
    // What the run saw is kept for the next run's deletion check; the run before's is gone.
    expect(await seenPages(stack.db).countDocuments({ syncRunId: again.syncRunId, recordIds: { $exists: true } })).toBe(
      3,
    );
    const previous = before[0]!.origin.syncRunId;
    expect(await seenPages(stack.db).countDocuments({ syncRunId: previous, recordIds: { $exists: true } })).toBe(0);

    const sandbox = stack.sandbox!.data;
    const [changed, removed] = sandbox.ids('github', username, 'repositories');
    sandbox.change('github', username, 'repositories', changed!, { description: 'rewritten at the provider' });
    sandbox.remove('github', username, 'repositories', removed!);
    const third = await syncNow(who);
    expect(third.totals.repositories).toMatchObject({ written: 1, deleted: 1 });
    const after = await storedOf(who.accountId);
    const byId = new Map(before.map((d) => [d._id, d]));
    const rewritten = after.filter((d) => JSON.stringify(d) !== JSON.stringify(byId.get(d._id)));
    expect(rewritten.map((d) => [d.externalId, d.status])).toEqual(
      [
        [changed, 'active'],
        [removed, 'deleted_at_provider'],
        // In `_id` order, as stored: the ids share their prefix, so that is the external ids' order.
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    const changedDoc = after.find((d) => d.externalId === changed)!;
    expect(changedDoc.origin.syncRunId).toBe(third.syncRunId);
    expect(await recordContent(stack.deps.accountKeys, changedDoc)).toMatchObject({
      description: 'rewritten at the provider',
    });
    expect(await checkRecordOrigin(stack.deps.accountKeys, stack.deps.vault, changedDoc)).toEqual({ ok: true });
  });

  it('converges on the same records when a page is replayed, or two attempts of it race', async () => {
    const { who, username, connectionId } = await syncedPerson('replayed');
    const sandbox = stack.sandbox!.data;
    const [changed] = sandbox.ids('github', username, 'repositories');
    sandbox.change('github', username, 'repositories', changed!, { description: 'changed before the replay' });
    // A record new at the provider: both attempts of the page insert it, and one meets the other's insert.
    sandbox.setCount('github', username, 'repositories', 26);
    const added = sandbox.ids('github', username, 'repositories').at(-1)!;
    const addedId = recordIdFor(who.accountId, 'github', 'repositories', added);

    const activities = recordActivities();
    const input: SyncPageInput = {
      accountId: who.accountId,
      provider: 'github',
      connectionId,
      kind: 'repositories',
      cursor: null,
      syncRunId: `replay-${suffix}`,
      pageSize: 100,
    };
    const runPage = () =>
      new MockActivityEnvironment().run<[SyncPageInput], SyncPageResult, typeof activities.syncPage>(
        activities.syncPage,
        input,
      );
    const [first, racing] = await Promise.all([runPage(), runPage()]);
    for (const page of [first, racing]) expect(page).toMatchObject({ fetched: 26, nextCursor: null });
    // The changed and the new record were written, by one attempt or both; neither failed on the other's insert.
    expect(first.written + racing.written).toBeGreaterThanOrEqual(2);
    expect(first.written + racing.written).toBeLessThanOrEqual(4);
    const converged = await storedOf(who.accountId);
    const replayed = await runPage();
    expect(replayed.written).toBe(0);
    expect(await storedOf(who.accountId)).toEqual(converged);

    const repositories = converged.filter((d) => d.kind === 'repositories');
    expect(repositories).toHaveLength(26);
    for (const doc of repositories) {
      expect(await checkRecordOrigin(stack.deps.accountKeys, stack.deps.vault, doc)).toEqual({ ok: true });
      expect(await recordContent(stack.deps.accountKeys, doc)).toEqual(
        sandbox.record('github', username, 'repositories', doc.externalId),
      );
    }
    expect(repositories.find((d) => d._id === addedId)).toMatchObject({ status: 'active' });

    // The replayed run's deletion check, run twice (a retried activity), finds nothing gone and says so both times.
    const check = { connectionId, kinds: ['repositories'], syncRunId: input.syncRunId };
    const env = new MockActivityEnvironment();
    type Marked = { deletedByKind: Record<string, number> };
    const marked = await env.run<[typeof check], Marked, typeof activities.markMissingDeletedAll>(
      activities.markMissingDeletedAll,
      check,
    );
    const retried = await env.run<[typeof check], Marked, typeof activities.markMissingDeletedAll>(
      activities.markMissingDeletedAll,
      check,
    );
    expect(marked).toEqual({ deletedByKind: { repositories: 0 } });
    expect(retried).toEqual(marked);
    expect((await storedOf(who.accountId)).filter((d) => d.status !== 'active')).toEqual([]);
  });
});
