/** The sync ledger's pure parts: when a page counts as unchanged, and the bounded lookups the ledger reads with. */
import { describe, expect, it } from 'vitest';
import {
  ledgerIds,
  mapLimited,
  pageRunOf,
  pageRuns,
  samePage,
  type LedgerHead,
} from '../../activities/records/ledger.js';

describe('samePage', () => {
  const page = { ids: ['1', '2', '3'], hashes: ['a', 'b', 'c'] };

  it('is true only for the same records with the same content in the same order', () => {
    expect(samePage(page, ['1', '2', '3'], ['a', 'b', 'c'])).toBe(true);
    expect(samePage(page, ['1', '2', '3'], ['a', 'b', 'x']), 'one record changed').toBe(false);
    expect(samePage(page, ['1', '3', '2'], ['a', 'c', 'b']), 'reordered').toBe(false);
    expect(samePage(page, ['1', '2'], ['a', 'b']), 'one fewer').toBe(false);
    expect(samePage(page, ['1', '2', '3', '4'], ['a', 'b', 'c', 'd']), 'one more').toBe(false);
    expect(samePage({ ids: [], hashes: [] }, [], []), 'an empty page stays empty').toBe(true);
  });
});

describe('mapLimited', () => {
  it('keeps the order of its inputs and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimited(
      Array.from({ length: 50 }, (_, i) => i),
      4,
      async (i) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, (i * 7) % 5));
        inFlight--;
        return i * 2;
      },
    );
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(most).toBe(4);
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
  });
});

describe('ledgerIds', () => {
  it('keys a page by connection, kind, run and place, and the head by connection and kind', () => {
    expect(ledgerIds.page('conn_1', 'starred', 'run-a', 3)).toBe('page|conn_1|starred|run-a|3');
    expect(ledgerIds.head('conn_1', 'starred')).toBe('head|conn_1|starred');
    expect(ledgerIds.page('conn_1', 'starred', 'run-a', 3)).not.toBe(ledgerIds.page('conn_1', 'starred', 'run-b', 3));
  });
});

describe('pageRuns and pageRunOf', () => {
  const head = (extra: Partial<LedgerHead>): LedgerHead => ({
    _id: 'head|c|k',
    type: 'head',
    accountId: 'a',
    connectionId: 'c',
    kind: 'k',
    syncRunId: 'run-3',
    pages: 4,
    deleted: 0,
    completedAt: '2026-12-02T00:00:00.000Z',
    ...extra,
  });

  it('names the run whose document holds each place, each run once', () => {
    const holders = ['run-1', 'run-3', 'run-1', 'run-2'];
    const runs = pageRuns(4, (n) => holders[n]!);
    expect(runs).toEqual({ runs: ['run-1', 'run-3', 'run-2'], pageRun: [0, 1, 0, 2] });
    const h = head(runs);
    expect([0, 1, 2, 3].map((n) => pageRunOf(h, n))).toEqual(holders);
    expect(pageRunOf(h, 4), 'beyond the last page').toBeNull();
  });

  it('takes every place as the head run’s own when the head says nothing else', () => {
    const h = head({});
    expect([0, 3].map((n) => pageRunOf(h, n))).toEqual(['run-3', 'run-3']);
    expect(pageRunOf(h, 4)).toBeNull();
  });
});
