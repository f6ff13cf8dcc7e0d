/**
 * Reddit, X and Facebook data, synced through the sandbox playing each provider's own API: Reddit's Listings
 * paged by `after` fullnames (and `/api/v1/me` for the username), X's `meta.next_token` taken back as
 * `pagination_token`, Facebook's cursor `paging.next`; each provider's own rate-limit answer injected and
 * waited out; a small quota window kept to through each provider's own headers (Reddit's and X's counts,
 * Facebook's `X-App-Usage` percentages); and a grant revoked at the provider ending in `reauth_required`.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ProviderId } from '../../domain/providers.js';
import type { SignedUp } from '../support/accounts.js';
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
const stack = useTestStack({ sandbox: true, env: providersEnabled(['reddit', 'x', 'facebook']) });

interface Case {
  provider: ProviderId;
  name: string;
  /** Dataset sizes: each kind at least two pages of 100 except where said. */
  counts: Record<string, number>;
  /** The provider path each kind's records come from. */
  sources: (username: string) => Record<string, string>;
  /** A kind with more than one page, its page count, and what its later pages' URLs carry. */
  paged: { kind: string; pages: number; nextParam: string };
}

const cases: Case[] = [
  {
    provider: 'reddit',
    name: 'Reddit',
    counts: { subscriptions: 230, posts: 120 },
    sources: (username) => ({ subscriptions: '/subreddits/mine/subscriber', posts: `/user/${username}/submitted` }),
    paged: { kind: 'subscriptions', pages: 3, nextParam: 'after' },
  },
  {
    provider: 'x',
    name: 'X',
    counts: { posts: 150, followers: 120 },
    sources: () => ({ posts: '/tweets', followers: '/followers' }),
    paged: { kind: 'posts', pages: 2, nextParam: 'pagination_token' },
  },
  {
    provider: 'facebook',
    name: 'Facebook',
    counts: { friends: 150, pages: 120 },
    sources: () => ({ friends: '/me/friends', pages: '/me/accounts' }),
    paged: { kind: 'friends', pages: 2, nextParam: 'after' },
  },
];

for (const c of cases) {
  describe(`${c.name} data through its own API`, () => {
    let person: SignedUp;
    const username = `${c.provider}-data-${suffix}`;
    const kinds = Object.keys(c.counts);

    it(`pages every kind to its end, each record ${c.name}’s own JSON`, async () => {
      const before = stack.sandbox!.stats().served[c.provider] ?? {};
      const linked = await linkedAndSynced(stack, c.provider, username, c.counts);
      person = linked.person;
      for (const kind of kinds)
        expect(linked.first.totals[kind]).toMatchObject({ fetched: c.counts[kind], written: c.counts[kind] });
      const served = stack.sandbox!.stats().served[c.provider] ?? {};
      expect((served[c.paged.kind] ?? 0) - (before[c.paged.kind] ?? 0)).toBe(c.paged.pages);
      const records = await storedRecords(stack, person, c.provider);
      const sources = c.sources(username);
      for (const kind of kinds) expectRecordsMatchProvider(stack, c.provider, username, kind, records, sources[kind]!);
      // Later pages came from the provider's own next-page parameter.
      const later = records.filter(
        (r) => r.kind === c.paged.kind && new URL(r.origin.sourceUrl!).searchParams.has(c.paged.nextParam),
      );
      expect(later.length).toBe(c.counts[c.paged.kind]! - 100);
      // No stored URL carries a token.
      expect(records.every((r) => !new URL(r.origin.sourceUrl!).searchParams.has('access_token'))).toBe(true);
    }, 90_000);

    it(`waits out ${c.name}’s own rate-limit answer and ends with every record`, async () => {
      const kind = kinds[1]!;
      const fired = stack.sandbox!.stats().faultsFired[c.provider]?.['429'] ?? 0;
      stack.sandbox!.faults.inject(c.provider, { status: 429, times: 2, retryAfterSeconds: 1, kind });
      const result = await syncNow(stack, person, c.provider);
      expect(result.totals[kind]).toMatchObject({ fetched: c.counts[kind], deleted: 0 });
      expect(stack.sandbox!.stats().faultsFired[c.provider]?.['429']).toBe(fired + 2);
    }, 60_000);

    it(`keeps to a small ${c.name} quota through its headers and never goes over it`, async () => {
      stack.sandbox!.quotas.set(c.provider, { limit: 3, windowSeconds: 2 });
      try {
        const exceeded = stack.sandbox!.quotas.exceeded()[c.provider] ?? 0;
        const requests = () =>
          Object.values(stack.sandbox!.stats().requests[c.provider] ?? {}).reduce((a, b) => a + b, 0);
        const before = requests();
        const result = await syncNow(stack, person, c.provider);
        for (const kind of kinds) expect(result.totals[kind]).toMatchObject({ fetched: c.counts[kind] });
        // More requests than one window allows, so the sync had to wait for a window to end, and none went over.
        expect(requests() - before).toBeGreaterThan(3);
        expect(stack.sandbox!.quotas.exceeded()[c.provider] ?? 0).toBe(exceeded);
      } finally {
        stack.sandbox!.quotas.clear();
      }
    }, 90_000);

    it(`ends in reauth_required when the person revoked CRA at ${c.name}`, async () => {
      await expectReauthAfterRevocation(stack, person, c.provider, username);
    }, 90_000);
  });
}
