/**
 * Google's and Microsoft's data, synced through the sandbox playing their own APIs: People, Calendar and Drive
 * paged by `nextPageToken`/`pageToken`, Graph's contacts, events and drive delta paged by `@odata.nextLink`,
 * each provider's own 429 with Retry-After waited out, a quota the sync runs into (neither provider sends a
 * remaining count, so the sync can only be refused and wait), and a grant revoked at the provider ending in
 * `reauth_required`.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openProviderToken, providerTokens } from '../../activities/providers/stores.js';
import type { ProviderId } from '../../domain/providers.js';
import type { SignedUp } from '../support/accounts.js';
import { decodedPayloads } from '../support/history.js';
import {
  expectReauthAfterRevocation,
  expectRecordsMatchProvider,
  linkedAndSynced,
  providersEnabled,
  storedRecords,
  syncNow,
} from '../support/provider-sync.js';
import { useTestStack } from '../support/stack.js';

const suffix = randomBytes(3).toString('hex');
const stack = useTestStack({ sandbox: true, env: providersEnabled(['google', 'microsoft']) });

interface Case {
  provider: ProviderId;
  /** The provider's path of each kind, as the records' source URLs name it. */
  paths: Record<string, string>;
  /** The query parameter that carries a later page's place, in the next-page URLs the provider gives. */
  pageParam: string;
  /** The kind whose dataset needs 3 pages of 100. */
  bigKind: string;
  /** A value of a record of the big kind found nowhere else (record content that must stay out of history). */
  content(data: Record<string, unknown>): string;
}

const cases: Case[] = [
  {
    provider: 'google',
    paths: { contacts: '/people/me/connections', calendar_events: '/calendars/primary/events', drive_files: '/files' },
    pageParam: 'pageToken',
    bigKind: 'drive_files',
    content: (data) => String(data.webViewLink),
  },
  {
    provider: 'microsoft',
    paths: { contacts: '/me/contacts', calendar_events: '/me/events', drive_files: '/me/drive/root/delta' },
    pageParam: '$skip',
    bigKind: 'contacts',
    content: (data) => String(data.changeKey),
  },
];

for (const c of cases) {
  describe(`${c.provider} data through its own APIs`, () => {
    let person: SignedUp;
    const username = `${c.provider.slice(0, 2)}-data-${suffix}`;
    const counts: Record<string, number> = { contacts: 120, calendar_events: 45, drive_files: 120 };
    counts[c.bigKind] = 230;

    it('pages every kind to its end the provider’s way, each record the provider’s own JSON', async () => {
      const before = stack.sandbox!.stats().served[c.provider] ?? {};
      const linked = await linkedAndSynced(stack, c.provider, username, counts);
      person = linked.person;
      for (const [kind, count] of Object.entries(counts))
        expect(linked.first.totals[kind]).toMatchObject({ fetched: count, written: count });
      const served = stack.sandbox!.stats().served[c.provider] ?? {};
      // 100 per page: 3 pages of the big kind.
      expect((served[c.bigKind] ?? 0) - (before[c.bigKind] ?? 0)).toBe(3);
      const records = await storedRecords(stack, person, c.provider);
      for (const [kind, path] of Object.entries(c.paths))
        expectRecordsMatchProvider(stack, c.provider, username, kind, records, path);
      // Later pages came from the provider's next-page links, which carry its own page parameter.
      const later = records.filter(
        (r) => r.kind === c.bigKind && new URL(r.origin.sourceUrl!).searchParams.has(c.pageParam),
      );
      expect(later.length).toBe(counts[c.bigKind]! - 100);

      // The checkpoint's next-page URLs are sealed in the history; no token and no record content is in it.
      const history = await stack.temporal.workflow.getHandle(`sync/${person.accountId}/${c.provider}`).fetchHistory();
      const payloads = [...decodedPayloads(history, stack.codec), JSON.stringify(history)];
      const tokens = await providerTokens(stack.db).findOne({ accountId: person.accountId, provider: c.provider });
      const accessToken = await openProviderToken(
        stack.deps.accountKeys,
        stack.deps.vault,
        tokens!,
        'access',
        tokens!.accessTokenCiphertext,
      );
      expect(payloads.filter((p) => p.includes(accessToken))).toEqual([]);
      expect(payloads.filter((p) => p.includes(`/${c.provider}/api/`))).toEqual([]);
      expect(payloads.filter((p) => p.includes(c.content(later[0]!.data)))).toEqual([]);
    }, 90_000);

    it('waits out the provider’s 429 with Retry-After and ends with every record', async () => {
      stack.sandbox!.faults.inject(c.provider, {
        status: 429,
        times: 2,
        retryAfterSeconds: 1,
        kind: 'calendar_events',
      });
      const fired = stack.sandbox!.stats().faultsFired[c.provider]?.['429'] ?? 0;
      const result = await syncNow(stack, person, c.provider);
      expect(result.totals.calendar_events).toMatchObject({ fetched: 45, deleted: 0 });
      expect(stack.sandbox!.stats().faultsFired[c.provider]?.['429']).toBe(fired + 2);
    }, 60_000);

    it('completes a sync of several pages against a small quota, refused and waiting as the provider says', async () => {
      stack.sandbox!.quotas.set(c.provider, { limit: 2, windowSeconds: 4 });
      try {
        const refused = stack.sandbox!.quotas.exceeded()[c.provider] ?? 0;
        // 6 pages against 2 requests per 4 seconds: without remaining counts, only refusals say when to wait.
        const result = await syncNow(stack, person, c.provider);
        for (const [kind, count] of Object.entries(counts))
          expect(result.totals[kind]).toMatchObject({ fetched: count, deleted: 0 });
        expect(stack.sandbox!.quotas.exceeded()[c.provider] ?? 0).toBeGreaterThan(refused);
      } finally {
        stack.sandbox!.quotas.clear();
      }
    }, 120_000);

    it('ends in reauth_required when the person revoked CRA at the provider', async () => {
      await expectReauthAfterRevocation(stack, person, c.provider, username);
    }, 90_000);
  });
}
