/**
 * GitHub's data, synced through the sandbox playing GitHub's REST API: `/user/repos`, `/user/starred` and
 * `/user/orgs` paged by `Link` headers 100 at a time, GitHub's own 429 with `retry-after`, its `x-ratelimit-*`
 * quota shared by two syncs running at once (never exceeded), and a token revoked at GitHub ending in
 * `reauth_required`. (Revocation at disconnect: revocation-providers.test.ts; webhooks: webhooks.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openProviderToken, providerTokens } from '../../activities/providers/stores.js';
import { syncScheduleId } from '../../api/processes/sync.js';
import type { SyncResult } from '../../workflows/sync/messages.js';
import type { SignedUp } from '../support/accounts.js';
import { decodedPayloads } from '../support/history.js';
import {
  expectReauthAfterRevocation,
  expectRecordsMatchProvider,
  linkedAndSynced,
  storedRecords,
  syncNow,
} from '../support/provider-sync.js';
import { eventually, useTestStack } from '../support/stack.js';

const suffix = randomBytes(3).toString('hex');
// Batches of two pages, so a kind of three pages leaves a next-page URL in the workflow's checkpoint.
const stack = useTestStack({ sandbox: true, env: { SYNC_BATCH_PAGES: '2' } });

describe('GitHub data through its REST API', () => {
  let person: SignedUp;
  const username = `gh-data-${suffix}`;

  it('pages every kind to its end by the Link header, each record GitHub’s own JSON', async () => {
    const before = stack.sandbox!.stats().served.github ?? {};
    const linked = await linkedAndSynced(stack, 'github', username, {
      repositories: 230,
      starred: 45,
      organizations: 3,
    });
    person = linked.person;
    expect(linked.first.totals).toMatchObject({
      repositories: { fetched: 230, written: 230 },
      starred: { fetched: 45 },
      organizations: { fetched: 3 },
    });
    const served = stack.sandbox!.stats().served.github ?? {};
    // 100 per page, GitHub's most: 3 pages of repositories, 1 of each other kind.
    expect((served.repositories ?? 0) - (before.repositories ?? 0)).toBe(3);
    const records = await storedRecords(stack, person, 'github');
    expectRecordsMatchProvider(stack, 'github', username, 'repositories', records, '/user/repos');
    expectRecordsMatchProvider(stack, 'github', username, 'starred', records, '/user/starred');
    expectRecordsMatchProvider(stack, 'github', username, 'organizations', records, '/user/orgs');
    const repo = records.find((r) => r.kind === 'repositories')!;
    expect(repo.data).toMatchObject({
      id: Number(repo.externalId),
      full_name: expect.stringContaining('/'),
      owner: {},
    });
    // The later pages came from the Link header's next URL, which carries GitHub's own page parameter.
    expect(records.some((r) => new URL(r.origin.sourceUrl!).searchParams.get('page') === '3')).toBe(true);

    // The checkpoint's next-page URLs are sealed in the history; no token and no record content is in it.
    const history = await stack.temporal.workflow.getHandle(`sync/${person.accountId}/github`).fetchHistory();
    const payloads = [...decodedPayloads(history, stack.codec), JSON.stringify(history)];
    const tokens = await providerTokens(stack.db).findOne({ accountId: person.accountId, provider: 'github' });
    const accessToken = await openProviderToken(
      stack.deps.accountKeys,
      stack.deps.vault,
      tokens!,
      'access',
      tokens!.accessTokenCiphertext,
    );
    expect(payloads.filter((p) => p.includes(accessToken))).toEqual([]);
    expect(payloads.filter((p) => p.includes('/api/rest/user/'))).toEqual([]);
    expect(payloads.filter((p) => p.includes(String(repo.data.full_name)))).toEqual([]);
    expect(payloads.some((p) => p.includes('acct:1:'))).toBe(true);
  }, 90_000);

  it('waits out GitHub’s 429 with retry-after and ends with every record', async () => {
    stack.sandbox!.faults.inject('github', { status: 429, times: 2, retryAfterSeconds: 1, kind: 'starred' });
    const fired = stack.sandbox!.stats().faultsFired.github?.['429'] ?? 0;
    const result = await syncNow(stack, person, 'github');
    expect(result.totals.starred).toMatchObject({ fetched: 45, deleted: 0 });
    expect(stack.sandbox!.stats().faultsFired.github?.['429']).toBe(fired + 2);
  }, 60_000);

  it('shares GitHub’s quota between two syncs at once and never goes over it', async () => {
    stack.sandbox!.quotas.set('github', { limit: 3, windowSeconds: 2 });
    try {
      const exceeded = stack.sandbox!.quotas.exceeded().github ?? 0;
      // The schedule's run and a "sync now" at the same time: 2 × 5 requests against 3 per 2 seconds.
      const schedule = stack.temporal.schedule.getHandle(
        syncScheduleId({ accountId: person.accountId, provider: 'github' }),
      );
      await schedule.trigger();
      const scheduled = await eventually(async () => {
        const runs = stack.temporal.workflow.list({
          query: `WorkflowType = 'syncProvider' AND WorkflowId STARTS_WITH '${syncScheduleId({ accountId: person.accountId, provider: 'github' })}'`,
        });
        for await (const run of runs) return run.workflowId;
        return undefined;
      }, 'the scheduled sync run');
      const [now, fromSchedule] = await Promise.all([
        syncNow(stack, person, 'github'),
        stack.temporal.workflow.getHandle(scheduled).result() as Promise<SyncResult>,
      ]);
      for (const result of [now, fromSchedule]) expect(result.totals.repositories).toMatchObject({ fetched: 230 });
      expect(stack.sandbox!.quotas.exceeded().github ?? 0).toBe(exceeded);
    } finally {
      stack.sandbox!.quotas.clear();
    }
  }, 120_000);

  it('ends in reauth_required when the person revoked CRA at GitHub', async () => {
    await expectReauthAfterRevocation(stack, person, 'github', username);
  }, 90_000);
});
