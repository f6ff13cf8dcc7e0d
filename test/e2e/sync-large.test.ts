/**
 * A huge account: 100 000 Google records (contacts, calendar events, Drive files: the People, Calendar and
 * Drive APIs serve up to 1 000 a page) synced through the real stack in pages of 1 000, continuing as new every
 * 20 pages. Every record arrives once, with one sync-run id across all runs; each run's history stays small;
 * a second sync of the same data writes nothing and duplicates nothing.
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordContent } from '../../activities/records/store.js';
import { collections } from '../../domain/collections.js';
import { recordIdFor, type ProviderRecordDocument } from '../../domain/records.js';
import type { SyncResult } from '../../workflows/sync/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack } from '../support/stack.js';

const pageSize = 1000;
const pagesPerRun = 20;
const provider = 'google';
const largest = 'contacts';
const counts: Record<string, number> = { contacts: 97_000, calendar_events: 1_000, drive_files: 2_000 };
const total = Object.values(counts).reduce((n, c) => n + c, 0);

const stack = useTestStack({
  sandbox: true,
  env: { SYNC_PAGE_SIZE: String(pageSize), SYNC_MAX_PAGES_PER_RUN: String(pagesPerRun) },
});
let person: SignedUp;
const username = `huge-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  person = await signedUp(stack, `auth0|${username}`);
  for (const kind of stack.sandbox!.data.kinds(provider))
    stack.sandbox!.data.setCount(provider, username, kind, counts[kind] ?? 0);
});

interface Preview {
  records: { total: number; byKind: Record<string, number> };
}

/** Every run of a workflow id, first to last, by following each run's continued-as-new event. */
async function runsOf(
  workflowId: string,
  firstRunId: string,
): Promise<Array<{ runId: string; status: string; events: number }>> {
  const runs: Array<{ runId: string; status: string; events: number }> = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const handle: WorkflowHandle = stack.temporal.workflow.getHandle(workflowId, runId);
    const description: WorkflowExecutionDescription = await handle.describe();
    const events: NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']> =
      (await handle.fetchHistory()).events ?? [];
    runs.push({ runId, status: description.status.name, events: events.length });
    const next: string | null | undefined =
      events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    runId = next ?? undefined;
  }
  return runs;
}

describe('a 100 000-record account', () => {
  it('syncs every record once, continuing as new every 20 pages', async () => {
    const { answer } = await linkThroughSandbox(stack, person, provider, username);
    expect(answer.body).toMatchObject({ status: 'linked' });
    const workflowId = `sync/${person.accountId}/${provider}`;
    const first = await stack.temporal.workflow.getHandle(workflowId).describe();
    // result() follows the chain of runs to the last one.
    const result: SyncResult = await stack.temporal.workflow.getHandle(workflowId, first.runId).result();

    for (const [kind, count] of Object.entries(counts))
      expect(result.totals[kind]).toMatchObject({ fetched: count, written: count, deleted: 0 });
    expect(result.pages).toBe(Object.values(counts).reduce((n, c) => n + Math.max(1, Math.ceil(c / pageSize)), 0));
    // Origins carry one sync-run id across continue-as-new: the first run's.
    expect(result.syncRunId).toBe(first.runId);

    const runs = await runsOf(workflowId, first.runId);
    expect(runs.length).toBe(Math.ceil(result.pages / pagesPerRun));
    expect(runs.slice(0, -1).every((r) => r.status === 'CONTINUED_AS_NEW')).toBe(true);
    expect(runs.at(-1)!.status).toBe('COMPLETED');
    // Each run's history is bounded by its pages, not by the account's size.
    for (const r of runs) expect(r.events).toBeLessThan(pagesPerRun * 12 + 60);

    // What the person sees before disconnecting: every record, by kind.
    const preview = await call<Preview>(stack, 'GET', `/v1/me/providers/${provider}/disconnect-preview`, {
      token: person.token,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.records).toEqual({ total, byKind: counts });

    const records = stack.db.collection<ProviderRecordDocument>(collections.providerRecords);
    expect(
      await records.countDocuments({
        accountId: person.accountId,
        provider,
        status: 'active',
        'origin.syncRunId': first.runId,
      }),
    ).toBe(total);

    // The last page of the largest kind is there, as the provider serves it.
    const lastId = stack.sandbox!.data.ids(provider, username, largest).at(-1)!;
    const served = stack.sandbox!.providerItem(provider, username, largest, lastId)!;
    const stored = await records.findOne({ _id: recordIdFor(person.accountId, provider, largest, served.externalId) });
    expect(stored).not.toHaveProperty('data');
    expect(await recordContent(stack.deps.accountKeys, stored!)).toEqual(served.item);
  }, 900_000);

  it('writes nothing when the same 100 000 records are synced again, and duplicates none', async () => {
    const res = await call<{ workflowId: string }>(stack, 'POST', `/v1/me/providers/${provider}/sync`, {
      token: person.token,
    });
    expect(res.status).toBe(202);
    const again: SyncResult = await stack.temporal.workflow.getHandle(res.body.workflowId).result();
    expect(Object.values(again.totals).reduce((n, t) => n + t.fetched, 0)).toBe(total);
    // Nothing changed at the provider: every page matched the first sync's in the sync ledger.
    for (const kind of Object.keys(counts)) expect(again.totals[kind]).toMatchObject({ written: 0, deleted: 0 });
    const preview = await call<Preview>(stack, 'GET', `/v1/me/providers/${provider}/disconnect-preview`, {
      token: person.token,
    });
    expect(preview.body.records.total).toBe(total);
    const records = stack.db.collection<ProviderRecordDocument>(collections.providerRecords);
    expect(
      await records.countDocuments({
        accountId: person.accountId,
        provider,
        status: 'active',
      }),
    ).toBe(total);
    // Untouched: each record's origin still names the run that fetched its content.
    expect(
      await records.countDocuments({ accountId: person.accountId, provider, 'origin.syncRunId': again.syncRunId }),
    ).toBe(0);
  }, 900_000);
});
