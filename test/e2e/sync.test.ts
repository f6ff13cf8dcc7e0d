/**
 * Syncing provider data end to end: the link starts a first sync; records land with signed origins;
 * repeats write nothing new; changes and removals at the provider show up; 429 and 500 storms still end
 * with every record; an edited origin is detected.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import type { SyncResult } from '../../workflows/sync/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack } from '../support/stack.js';

const run = promisify(execFile);
const suffix = randomBytes(3).toString('hex');
let person: SignedUp;
const username = `sync-${suffix}`;

interface RecordPage {
  items: Array<{
    recordId: string;
    kind: string;
    externalId: string;
    status: string;
    data: Record<string, unknown>;
    origin: Record<string, string>;
  }>;
  nextCursor: string | null;
}

const stack = useTestStack({ sandbox: true });
beforeAll(async () => {
  person = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, person, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
});

const syncId = () => `sync/${person.accountId}/github`;
const kinds = ['repositories', 'organizations', 'starred'];

async function allRecords(query = 'provider=github'): Promise<RecordPage['items']> {
  const out: RecordPage['items'] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: RecordPage } = await call<RecordPage>(
      stack,
      'GET',
      `/v1/me/data?${query}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      { token: person.token },
    );
    expect(res.status).toBe(200);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

/** The run that fetched the records' content, as their origins say (one run for all of them). */
const firstRunOf = (records: RecordPage['items']) => records[0]!.origin.syncRunId;

async function syncNow(): Promise<SyncResult> {
  const res = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
    token: person.token,
  });
  expect(res.status).toBe(202);
  return stack.temporal.workflow.getHandle(res.body.workflowId).result();
}

describe('provider data sync', () => {
  it('imports every record of every kind on the first sync, each with its origin', async () => {
    const first: SyncResult = await stack.temporal.workflow.getHandle(syncId()).result();
    const sandbox = stack.sandbox!.data;
    for (const kind of kinds) expect(first.totals[kind]?.fetched).toBe(sandbox.count('github', username, kind));
    const records = await allRecords();
    expect(records).toHaveLength(kinds.reduce((n, k) => n + sandbox.count('github', username, k), 0));
    expect(new Set(records.map((r) => r.recordId)).size).toBe(records.length);
    const repo = records.find((r) => r.kind === 'repositories')!;
    expect(repo.status).toBe('active');
    expect(repo.origin).toMatchObject({
      provider: 'github',
      providerAccountId: `github:${username}`,
      syncRunId: first.syncRunId,
      sourceUrl: expect.stringContaining('/github/api/rest/user/repos?'),
      contentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The record is GitHub's own JSON for the repository, as the provider's API served it.
    const datasetId = stack.sandbox!.datasetIdOf('github', username, 'repositories', repo.externalId)!;
    expect(repo.data).toEqual(stack.sandbox!.providerItem('github', username, 'repositories', datasetId)!.item);
    expect(repo.data).toMatchObject({ id: Number(repo.externalId), full_name: expect.stringContaining('/') });
    // The MAC is for CRA, not for callers.
    expect(JSON.stringify(records)).not.toContain('originMac');
  });

  it('converges on the same records when nothing changed, and picks up changes and removals', async () => {
    const sandbox = stack.sandbox!.data;
    const before = await allRecords();
    const statsBefore = stack.sandbox!.stats();
    const again = await syncNow();
    // Nothing changed at the provider: every record accounted for, none written, none gone.
    for (const kind of kinds)
      expect(again.totals[kind]).toMatchObject({
        fetched: sandbox.count('github', username, kind),
        written: 0,
        deleted: 0,
      });
    // GitHub answered every page 304 Not Modified to the ETag the first sync kept: no page was sent again.
    const statsAfter = stack.sandbox!.stats();
    for (const kind of kinds) {
      const pages = again.totals[kind]!.pages!;
      expect(pages).toBeGreaterThanOrEqual(1);
      expect((statsAfter.notModified.github?.[kind] ?? 0) - (statsBefore.notModified.github?.[kind] ?? 0)).toBe(pages);
      expect(statsAfter.served.github?.[kind]).toBe(statsBefore.served.github?.[kind]);
    }
    // The sync ledger wrote no page for it either: the run is the head, its places held by the first run's pages.
    const ledger = await stack.db.collection(collections.syncLedger).find({ accountId: person.accountId }).toArray();
    expect(ledger.filter((d) => d.type === 'page' && d.syncRunId === again.syncRunId)).toEqual([]);
    expect(ledger.filter((d) => d.type === 'head').map((h) => [h.kind, h.syncRunId, h.runs])).toEqual(
      expect.arrayContaining(kinds.map((k) => [k, again.syncRunId, [firstRunOf(before)]])),
    );
    const afterRepeat = await allRecords();
    expect(afterRepeat).toEqual(before);
    // Same content, same hash, same origin: it names the run that fetched this content, which is still the first.
    const hashes = new Map(before.map((r) => [r.recordId, r.origin.contentHash]));
    const firstRun = before[0]!.origin.syncRunId;
    for (const r of afterRepeat) {
      expect(r.origin.contentHash).toBe(hashes.get(r.recordId));
      expect(r.origin.syncRunId).toBe(firstRun);
    }

    const [changed, removed] = sandbox.ids('github', username, 'repositories');
    const removedExternalId = stack.sandbox!.providerItem('github', username, 'repositories', removed!)!.externalId;
    sandbox.change('github', username, 'repositories', changed!, { description: 'rewritten at the provider' });
    sandbox.remove('github', username, 'repositories', removed!);
    const third = await syncNow();
    // Only the changed record is written; the removed one is found gone.
    expect(third.totals.repositories).toMatchObject({ written: 1, deleted: 1 });
    const after = await allRecords('provider=github&kind=repositories');
    const externalIdOf = (id: string) =>
      stack.sandbox!.providerItem('github', username, 'repositories', id)?.externalId;
    const changedRecord = after.find((r) => r.externalId === externalIdOf(changed!))!;
    expect(changedRecord).toMatchObject({
      status: 'active',
      data: { description: 'rewritten at the provider' },
      origin: { syncRunId: third.syncRunId },
    });
    expect(changedRecord.origin.contentHash).not.toBe(hashes.get(changedRecord.recordId));
    expect(after.find((r) => r.externalId === removedExternalId)).toMatchObject({ status: 'deleted_at_provider' });
    expect(after).toHaveLength(before.filter((r) => r.kind === 'repositories').length);
  });

  it('still ends with every record through storms of 429 and 500', async () => {
    const sandbox = stack.sandbox!;
    sandbox.data.setCount('github', username, 'starred', 450);
    sandbox.faults.inject('github', { status: 429, times: 3, retryAfterSeconds: 1, kind: 'starred' });
    sandbox.faults.inject('github', { status: 500, times: 2, kind: 'starred' });
    const result = await syncNow();
    expect(result.totals.starred?.fetched).toBe(450);
    expect(sandbox.stats().faultsFired.github).toMatchObject({ 429: 3, 500: 2 });
    const starred = await allRecords('provider=github&kind=starred');
    expect(starred.filter((r) => r.status === 'active')).toHaveLength(450);
    const history = await stack.temporal.workflow.getHandle(syncId()).fetchHistory();
    // Retries happen inside activities: no failure reaches the workflow.
    expect(history.events?.some((e) => e.activityTaskFailedEventAttributes)).toBe(false);
  }, 90_000);

  it('writes only what changed when every page shifts: one removed from the first page, two added at the end', async () => {
    const sandbox = stack.sandbox!.data;
    // 450 starred from the test above: pages of 100, so removing the first moves a record onto every earlier page.
    const [first] = sandbox.ids('github', username, 'starred');
    const firstExternalId = stack.sandbox!.providerItem('github', username, 'starred', first!)!.externalId;
    sandbox.remove('github', username, 'starred', first!);
    sandbox.setCount('github', username, 'starred', 452);
    const before = new Map((await allRecords('provider=github&kind=starred')).map((r) => [r.recordId, r]));
    const result = await syncNow();
    expect(result.totals.starred).toMatchObject({ fetched: 451, written: 2, deleted: 1 });
    const after = await allRecords('provider=github&kind=starred');
    expect(after.filter((r) => r.status === 'active')).toHaveLength(451);
    expect(after.find((r) => r.externalId === firstExternalId)).toMatchObject({ status: 'deleted_at_provider' });
    // The records that only moved to another page are as they were, origin and all.
    const moved = after.filter((r) => before.has(r.recordId) && r.externalId !== firstExternalId);
    expect(moved).toHaveLength(449);
    for (const r of moved) expect(r).toEqual(before.get(r.recordId));
    const added = after.filter((r) => !before.has(r.recordId));
    expect(added.map((r) => r.origin.syncRunId)).toEqual([result.syncRunId, result.syncRunId]);
  }, 90_000);

  it('finds removals in records stored before the sync ledger, once, by their connection', async () => {
    const sandbox = stack.sandbox!.data;
    // As a connection whose last complete sync ran before the ledger existed: no head, no pages.
    await stack.db.collection(collections.syncLedger).deleteMany({ accountId: person.accountId });
    const [gone] = sandbox.ids('github', username, 'organizations');
    const goneExternalId = stack.sandbox!.providerItem('github', username, 'organizations', gone!)!.externalId;
    sandbox.remove('github', username, 'organizations', gone!);
    const result = await syncNow();
    expect(result.totals.organizations).toMatchObject({ written: 0, deleted: 1 });
    expect(result.totals.repositories).toMatchObject({ written: 0, deleted: 0 });
    const orgs = await allRecords('provider=github&kind=organizations');
    expect(orgs.find((r) => r.externalId === goneExternalId)).toMatchObject({ status: 'deleted_at_provider' });
    // The run that found it is now the ledger's head for every kind: one per kind, its pages only.
    const ledger = await stack.db.collection(collections.syncLedger).find({ accountId: person.accountId }).toArray();
    const heads = ledger.filter((d) => d.type === 'head');
    expect(heads.map((h) => [h.kind, h.syncRunId]).sort()).toEqual(kinds.map((k) => [k, result.syncRunId]).sort());
    expect(ledger.filter((d) => d.type === 'page').every((p) => p.syncRunId === result.syncRunId)).toBe(true);
  }, 90_000);

  it('finds a record whose origin was edited', async () => {
    const records = stack.db.collection(collections.providerRecords);
    const victim = await records.findOne({ accountId: person.accountId, kind: 'organizations' });
    await records.updateOne({ _id: victim!._id }, { $set: { 'origin.connectionId': 'conn_forged' } });
    const { stdout, stderr } = await run('node_modules/.bin/tsx', ['deploy/cli/origin-verify.ts'], {
      env: { ...process.env, ...stack.env },
    }).catch((e: { stdout: string; stderr: string; code: number }) => ({ ...e }));
    expect(`${stdout}${stderr}`).toContain(String(victim!._id));
    expect(`${stdout}${stderr}`).toContain('origin_changed');
  });
});
