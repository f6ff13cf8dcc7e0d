/**
 * The sync ledger (`sync_ledger`): what each page of a sync run held, per connection and kind, so the next
 * run can tell an unchanged page without reading the records, and the deletion check reads only this
 * connection's pages instead of the whole `provider_records` collection.
 *
 * - A page: `page|<connectionId>|<kind>|<syncRunId>|<n>` — the external ids on the run's n-th page of the
 *   kind, in order, each one's content hash, and the page's URL, ETag and next link. Written after the page's
 *   records, so a page in the ledger always names records that exist; a run that finds a page unchanged
 *   writes none and keeps the earlier run's.
 * - The head: `head|<connectionId>|<kind>` — the last complete run of the kind, how many pages it had and
 *   which run's document holds each place. Moved by the deletion check of the next complete run, which then
 *   deletes the documents it replaced.
 * - A run's changes: `changes|<connectionId>|<kind>|<syncRunId>` — the places it wrote, and those where it no
 *   longer lists a record the head's page did (the only pages the deletion check then needs to read).
 *
 * Every read and write is by exact `_id` (the one lookup every MongoDB-compatible server serves from its
 * index), so the cost of a sync's bookkeeping does not grow with other accounts' data. Holds ids and hashes,
 * never content; erasure deletes the account's documents, a disconnect the connection's.
 */
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';

export interface LedgerPage {
  _id: string;
  type: 'page';
  accountId: string;
  connectionId: string;
  kind: string;
  syncRunId: string;
  n: number;
  /** The page's external ids, in the order the provider listed them. */
  ids: string[];
  /** `hashes[i]`: SHA-256 of `ids[i]`'s canonical content. */
  hashes: string[];
  /** The page's URL, and the provider's ETag for it: the next run may ask whether it changed (`If-None-Match`). */
  sourceUrl?: string;
  etag?: string;
  /** The next page's URL as this page gave it: where a run goes on after a `304 Not Modified`. */
  next?: string | null;
}

export interface LedgerHead {
  _id: string;
  type: 'head';
  accountId: string;
  connectionId: string;
  kind: string;
  syncRunId: string;
  pages: number;
  /**
   * Which run's page document holds each place: `runs[pageRun[n]]` (a page a later run found unchanged stays
   * the earlier run's document, so an unchanged re-sync writes no page). Absent: every page is `syncRunId`'s.
   */
  runs?: string[];
  pageRun?: number[];
  /** Records the run marked deleted at the provider, per kind (what a retried deletion check answers). */
  deleted: number;
  completedAt: string;
}

/**
 * `changes|<connectionId>|<kind>|<syncRunId>`: what a run changed in the ledger. `pages`: its pages that no longer
 * list every record the last complete run's page at the same place did; without any (and no fewer pages than that
 * run), nothing can be missing, and the deletion check reads no page at all. `written`: the places it wrote a page
 * document of its own; every other place is the last complete run's page, unchanged.
 */
export interface LedgerChanges {
  _id: string;
  type: 'changes';
  accountId: string;
  connectionId: string;
  kind: string;
  syncRunId: string;
  pages: number[];
  written?: number[];
}

/** The run whose page document holds place `n` of a head (null beyond its pages). */
export function pageRunOf(head: LedgerHead, n: number): string | null {
  if (n >= head.pages) return null;
  const index = head.pageRun?.[n];
  return index !== undefined && head.runs ? (head.runs[index] ?? head.syncRunId) : head.syncRunId;
}

/** `runs` / `pageRun` for a head whose place n is held by `runOf(n)`. */
export function pageRuns(count: number, runOf: (n: number) => string): { runs: string[]; pageRun: number[] } {
  const runs: string[] = [];
  const pageRun: number[] = [];
  for (let n = 0; n < count; n++) {
    const run = runOf(n);
    let index = runs.indexOf(run);
    if (index < 0) index = runs.push(run) - 1;
    pageRun.push(index);
  }
  return { runs, pageRun };
}

export type LedgerDocument = LedgerPage | LedgerHead | LedgerChanges;

export function syncLedger(db: Db): Collection<LedgerDocument> {
  return db.collection<LedgerDocument>(collections.syncLedger);
}

export const ledgerIds = {
  head: (connectionId: string, kind: string) => `head|${connectionId}|${kind}`,
  page: (connectionId: string, kind: string, syncRunId: string, n: number) =>
    `page|${connectionId}|${kind}|${syncRunId}|${n}`,
  changes: (connectionId: string, kind: string, syncRunId: string) => `changes|${connectionId}|${kind}|${syncRunId}`,
};

/** Whether a page holds exactly these records with exactly this content, in this order. */
export function samePage(page: Pick<LedgerPage, 'ids' | 'hashes'>, ids: string[], hashes: string[]): boolean {
  if (page.ids.length !== ids.length) return false;
  for (let i = 0; i < ids.length; i++) if (page.ids[i] !== ids[i] || page.hashes[i] !== hashes[i]) return false;
  return true;
}

/** At most `limit` lookups in flight: a thousand pages are read in a few round trips' time, not one by one. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class SyncLedger {
  readonly #col: Collection<LedgerDocument>;

  constructor(db: Db) {
    this.#col = syncLedger(db);
  }

  async head(connectionId: string, kind: string): Promise<LedgerHead | null> {
    const doc = await this.#col.findOne({ _id: ledgerIds.head(connectionId, kind) });
    return doc?.type === 'head' ? doc : null;
  }

  async page(connectionId: string, kind: string, syncRunId: string, n: number): Promise<LedgerPage | null> {
    const doc = await this.#col.findOne({ _id: ledgerIds.page(connectionId, kind, syncRunId, n) });
    return doc?.type === 'page' ? doc : null;
  }

  /** Pages 0 … count-1 of a run (a page never written, by a run cut short, is left out). */
  async pages(connectionId: string, kind: string, syncRunId: string, count: number): Promise<LedgerPage[]> {
    const pages = await mapLimited(
      Array.from({ length: count }, (_, n) => n),
      16,
      (n) => this.page(connectionId, kind, syncRunId, n),
    );
    return pages.filter((p): p is LedgerPage => p !== null);
  }

  /** Idempotent: a retried batch writes the same pages again. */
  async putPages(pages: LedgerPage[]): Promise<void> {
    if (pages.length === 0) return;
    await this.#col.bulkWrite(
      pages.map((p) => ({ replaceOne: { filter: { _id: p._id }, replacement: p, upsert: true } })),
      { ordered: false },
    );
  }

  async putHead(head: Omit<LedgerHead, '_id' | 'type'>): Promise<void> {
    const _id = ledgerIds.head(head.connectionId, head.kind);
    await this.#col.replaceOne({ _id }, { type: 'head', ...head }, { upsert: true });
  }

  async changes(connectionId: string, kind: string, syncRunId: string): Promise<LedgerChanges | null> {
    const doc = await this.#col.findOne({ _id: ledgerIds.changes(connectionId, kind, syncRunId) });
    return doc?.type === 'changes' ? doc : null;
  }

  /** Notes a run's pages that dropped a record of the last complete run's page, and those it wrote; idempotent. */
  async noteChanges(
    at: Omit<LedgerChanges, '_id' | 'type' | 'pages' | 'written'>,
    changes: { pages: number[]; written: number[] },
  ): Promise<void> {
    if (changes.pages.length === 0 && changes.written.length === 0) return;
    await this.#col.updateOne(
      { _id: ledgerIds.changes(at.connectionId, at.kind, at.syncRunId) },
      {
        $set: { type: 'changes', ...at },
        $addToSet: { pages: { $each: changes.pages }, written: { $each: changes.written } },
      } as never,
      { upsert: true },
    );
  }

  /** Deletes the page documents at these places, each of the run that holds it. */
  async dropPagesAt(connectionId: string, kind: string, at: Array<{ syncRunId: string; n: number }>): Promise<void> {
    for (let i = 0; i < at.length; i += 500) {
      await this.#col.bulkWrite(
        at.slice(i, i + 500).map((p) => ({
          deleteOne: { filter: { _id: ledgerIds.page(connectionId, kind, p.syncRunId, p.n) } },
        })),
        { ordered: false },
      );
    }
  }

  async dropChanges(connectionId: string, kind: string, syncRunId: string): Promise<void> {
    await this.#col.deleteOne({ _id: ledgerIds.changes(connectionId, kind, syncRunId) });
  }

  /** Deletes pages 0 … count-1 of a run (those that exist). */
  async dropPages(connectionId: string, kind: string, syncRunId: string, count: number): Promise<void> {
    for (let n = 0; n < count; n += 500) {
      const ids = Array.from({ length: Math.min(500, count - n) }, (_, i) =>
        ledgerIds.page(connectionId, kind, syncRunId, n + i),
      );
      await this.#col.bulkWrite(
        ids.map((_id) => ({ deleteOne: { filter: { _id } } })),
        { ordered: false },
      );
    }
  }
}
