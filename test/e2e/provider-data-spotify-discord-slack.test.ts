/**
 * Spotify's, Discord's and Slack's data, synced through the sandbox playing each one's own API: Spotify's
 * `limit`/`offset` pages and `next` URLs (recently played paged back by `before`), Discord's guilds paged by
 * `after` the last snowflake, Slack's `users.conversations` cursors at its Tier 3 pace; each one's own 429
 * waited out; Discord's `X-RateLimit-*` quota never exceeded, Spotify's and Slack's (429 only, no counts) refusals
 * waited out; and a grant revoked at the provider ending in `reauth_required`.
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
const stack = useTestStack({ sandbox: true, env: providersEnabled(['spotify', 'discord', 'slack']) });

/** Requests served per kind of `provider` since `before` (a snapshot of the sandbox's counters). */
function servedSince(provider: ProviderId, before: Record<string, number>): Record<string, number> {
  const now = stack.sandbox!.stats().served[provider] ?? {};
  return Object.fromEntries(Object.entries(now).map(([kind, n]) => [kind, n - (before[kind] ?? 0)]));
}

describe('Spotify data through its Web API', () => {
  let person: SignedUp;
  const username = `sp-data-${suffix}`;

  it('pages playlists and saved tracks by offset and recently played back by before, each record Spotify’s JSON', async () => {
    const before = stack.sandbox!.stats().served.spotify ?? {};
    const linked = await linkedAndSynced(stack, 'spotify', username, {
      playlists: 120,
      saved_tracks: 60,
      recently_played: 75,
    });
    person = linked.person;
    expect(linked.first.totals).toMatchObject({
      playlists: { fetched: 120, written: 120 },
      saved_tracks: { fetched: 60 },
      recently_played: { fetched: 75 },
    });
    // 50 per page, Spotify's most.
    expect(servedSince('spotify', before)).toMatchObject({ playlists: 3, saved_tracks: 2, recently_played: 2 });
    const records = await storedRecords(stack, person, 'spotify');
    expectRecordsMatchProvider(stack, 'spotify', username, 'playlists', records, '/me/playlists');
    expectRecordsMatchProvider(stack, 'spotify', username, 'saved_tracks', records, '/me/tracks');
    expectRecordsMatchProvider(stack, 'spotify', username, 'recently_played', records, '/me/player/recently-played');
    const saved = records.find((r) => r.kind === 'saved_tracks')!;
    expect(saved.data).toMatchObject({ added_at: expect.any(String), track: { id: saved.externalId } });
    const play = records.find((r) => r.kind === 'recently_played')!;
    expect(play.externalId).toBe(`${(play.data.track as { id: string }).id}@${String(play.data.played_at)}`);
    // Later pages came from Spotify's `next` URLs: its offset, and its `before` cursor.
    expect(records.some((r) => new URL(r.origin.sourceUrl!).searchParams.get('offset') === '100')).toBe(true);
    expect(
      records.some((r) => r.kind === 'recently_played' && new URL(r.origin.sourceUrl!).searchParams.has('before')),
    ).toBe(true);
  }, 90_000);

  it('waits out Spotify’s 429 with Retry-After and ends with every record', async () => {
    stack.sandbox!.faults.inject('spotify', { status: 429, times: 2, retryAfterSeconds: 1, kind: 'playlists' });
    const fired = stack.sandbox!.stats().faultsFired.spotify?.['429'] ?? 0;
    const result = await syncNow(stack, person, 'spotify');
    expect(result.totals.playlists).toMatchObject({ fetched: 120, deleted: 0 });
    expect(stack.sandbox!.stats().faultsFired.spotify?.['429']).toBe(fired + 2);
  }, 60_000);

  it('completes a sync through the refusals of Spotify’s window, which sends no remaining count', async () => {
    stack.sandbox!.quotas.set('spotify', { limit: 3, windowSeconds: 2 });
    try {
      const exceeded = stack.sandbox!.quotas.exceeded().spotify ?? 0;
      // 7 pages against 3 per 2 seconds: only a 429 says the window is used up.
      const result = await syncNow(stack, person, 'spotify');
      expect(result.totals).toMatchObject({
        playlists: { fetched: 120, deleted: 0 },
        saved_tracks: { fetched: 60, deleted: 0 },
        recently_played: { fetched: 75, deleted: 0 },
      });
      expect(stack.sandbox!.quotas.exceeded().spotify ?? 0).toBeGreaterThan(exceeded);
    } finally {
      stack.sandbox!.quotas.clear();
    }
  }, 90_000);

  it('ends in reauth_required when the person removed CRA at Spotify', async () => {
    await expectReauthAfterRevocation(stack, person, 'spotify', username);
  }, 90_000);
});

describe('Discord data through its REST API', () => {
  let person: SignedUp;
  const username = `dc-data-${suffix}`;

  it('pages guilds after the last snowflake and reads connections whole, each record Discord’s JSON', async () => {
    const before = stack.sandbox!.stats().served.discord ?? {};
    const linked = await linkedAndSynced(stack, 'discord', username, { guilds: 230, connections: 6 });
    person = linked.person;
    expect(linked.first.totals).toMatchObject({
      guilds: { fetched: 230, written: 230 },
      connections: { fetched: 6, written: 6 },
    });
    // 100 per page asked (Discord serves up to 200): 3 pages of guilds, the last one short; connections unpaged.
    expect(servedSince('discord', before)).toMatchObject({ guilds: 3, connections: 1 });
    const records = await storedRecords(stack, person, 'discord');
    expectRecordsMatchProvider(stack, 'discord', username, 'guilds', records, '/users/@me/guilds');
    expectRecordsMatchProvider(stack, 'discord', username, 'connections', records, '/users/@me/connections');
    const connection = records.find((r) => r.kind === 'connections')!;
    expect(connection.externalId).toBe(`${String(connection.data.type)}:${String(connection.data.id)}`);
    // The later pages asked for the guilds after the previous page's last snowflake.
    const guildIds = records.filter((r) => r.kind === 'guilds').map((r) => BigInt(r.externalId));
    const afters = records
      .filter((r) => r.kind === 'guilds')
      .map((r) => new URL(r.origin.sourceUrl!).searchParams.get('after'))
      .filter((a): a is string => a !== null);
    expect(new Set(afters).size).toBe(2);
    for (const after of afters) expect(guildIds).toContain(BigInt(after));
  }, 90_000);

  it('waits out Discord’s 429 with retry_after and ends with every record', async () => {
    stack.sandbox!.faults.inject('discord', { status: 429, times: 2, retryAfterSeconds: 1, kind: 'guilds' });
    const fired = stack.sandbox!.stats().faultsFired.discord?.['429'] ?? 0;
    const result = await syncNow(stack, person, 'discord');
    expect(result.totals.guilds).toMatchObject({ fetched: 230, deleted: 0 });
    expect(stack.sandbox!.stats().faultsFired.discord?.['429']).toBe(fired + 2);
  }, 60_000);

  it('keeps within Discord’s X-RateLimit-Remaining and never goes over it', async () => {
    stack.sandbox!.quotas.set('discord', { limit: 3, windowSeconds: 2 });
    try {
      const exceeded = stack.sandbox!.quotas.exceeded().discord ?? 0;
      // 4 requests against 3 per 2 seconds: the headers say when to wait.
      const result = await syncNow(stack, person, 'discord');
      expect(result.totals).toMatchObject({ guilds: { fetched: 230 }, connections: { fetched: 6 } });
      expect(stack.sandbox!.quotas.exceeded().discord ?? 0).toBe(exceeded);
    } finally {
      stack.sandbox!.quotas.clear();
    }
  }, 90_000);

  it('ends in reauth_required when the person deauthorized CRA at Discord', async () => {
    await expectReauthAfterRevocation(stack, person, 'discord', username);
  }, 90_000);
});

describe('Slack data through its Web API', () => {
  let person: SignedUp;
  const username = `sl-data-${suffix}`;

  it('pages users.conversations by next_cursor to the empty cursor, each record Slack’s JSON', async () => {
    const before = stack.sandbox!.stats().served.slack ?? {};
    const started = Date.now();
    const linked = await linkedAndSynced(stack, 'slack', username, { channels: 250 });
    person = linked.person;
    expect(linked.first.totals).toMatchObject({ channels: { fetched: 250, written: 250 } });
    expect(servedSince('slack', before)).toMatchObject({ channels: 3 });
    // Tier 3's pace: the three pages at least 1.2 s apart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2400);
    const records = await storedRecords(stack, person, 'slack');
    expectRecordsMatchProvider(stack, 'slack', username, 'channels', records, '/users.conversations');
    expect(records.filter((r) => new URL(r.origin.sourceUrl!).searchParams.has('cursor')).length).toBe(150);
  }, 90_000);

  it('waits out Slack’s 429 with Retry-After and ends with every record', async () => {
    stack.sandbox!.faults.inject('slack', { status: 429, times: 2, retryAfterSeconds: 1, kind: 'channels' });
    const fired = stack.sandbox!.stats().faultsFired.slack?.['429'] ?? 0;
    const result = await syncNow(stack, person, 'slack');
    expect(result.totals.channels).toMatchObject({ fetched: 250, deleted: 0 });
    expect(stack.sandbox!.stats().faultsFired.slack?.['429']).toBe(fired + 2);
  }, 60_000);

  it('completes a sync through the refusals of Slack’s limit, which sends no remaining count', async () => {
    // Tighter than the Tier 3 pace: one request per 2 seconds, so the paced second page is refused.
    stack.sandbox!.quotas.set('slack', { limit: 1, windowSeconds: 2 });
    try {
      const exceeded = stack.sandbox!.quotas.exceeded().slack ?? 0;
      const result = await syncNow(stack, person, 'slack');
      expect(result.totals.channels).toMatchObject({ fetched: 250, deleted: 0 });
      expect(stack.sandbox!.quotas.exceeded().slack ?? 0).toBeGreaterThan(exceeded);
    } finally {
      stack.sandbox!.quotas.clear();
    }
  }, 90_000);

  it('ends in reauth_required when the token was revoked at Slack (ok: false, token error)', async () => {
    await expectReauthAfterRevocation(stack, person, 'slack', username);
  }, 90_000);
});
