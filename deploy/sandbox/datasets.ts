/**
 * The sandbox's provider data: per (provider, username, kind) a dataset of `count` generated records
 * (data-kinds.ts) plus an overlay of the changes and removals made through the control API. Nothing is
 * stored per record unless it was changed or removed, so a 100 000-record dataset is a number.
 */
import { usernamePattern } from './accounts.js';
import {
  generateRecord,
  kindSpecFor,
  seedOf,
  type KindSpec,
  type RecordFields,
  type SandboxRecord,
} from './data-kinds.js';

export type { RecordFields, SandboxRecord } from './data-kinds.js';

/** Ids are zero-padded to this width, so that their lexical order is their index order. */
const idDigits = 6;
const idDigitsPattern = new RegExp(`^\\d{${idDigits}}$`);
export const maxRecordCount = 10 ** idDigits - 1;
export const maxPageSize = 1000;
export const defaultPageSize = 100;

/** A failure the HTTP layer answers with `status` and `{ error: code, message }`. */
export class SandboxDataError extends Error {
  constructor(
    readonly status: 400 | 404,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DataPage {
  items: SandboxRecord[];
  /** The last id served, encoded; null once nothing follows. */
  nextCursor: string | null;
}

/** Control of the data a provider's data API serves; every method throws `SandboxDataError` for an unknown provider, kind, user or record. */
export interface SandboxData {
  /** The kinds the provider serves: its `dataKinds` in CRA's catalog. */
  kinds(provider: string): readonly string[];
  /** How many records the dataset has now (removed ones not counted). */
  count(provider: string, username: string, kind: string): number;
  /** Grows the dataset with new records at the end, or drops the ones beyond `count` (0 to 999 999). */
  setCount(provider: string, username: string, kind: string, count: number): void;
  /** Edits a record: a new `updatedAt` and the given fields, or by default one of its fields. Returns it as now served. */
  change(provider: string, username: string, kind: string, id: string, fields?: RecordFields): SandboxRecord;
  /** The record is no longer served. */
  remove(provider: string, username: string, kind: string, id: string): void;
  /** Every id the dataset would serve, in order. */
  ids(provider: string, username: string, kind: string): string[];
  /** One record as served, or undefined when it does not exist (or was removed). */
  record(provider: string, username: string, kind: string, id: string): SandboxRecord | undefined;
}

interface Change {
  revision: number;
  updatedAtMs: number;
  fields: RecordFields;
}

interface Dataset {
  provider: string;
  username: string;
  kind: string;
  spec: KindSpec;
  seed: number;
  /** Records are indexes 1..count, less the removed ones. */
  count: number;
  changes: Map<number, Change>;
  removed: Set<number>;
}

export class SandboxDatasets implements SandboxData {
  readonly #datasets = new Map<string, Dataset>();
  readonly #kindsOf: (provider: string) => readonly string[] | undefined;

  /** `kindsOf` answers undefined for a provider the sandbox does not serve. */
  constructor(kindsOf: (provider: string) => readonly string[] | undefined) {
    this.#kindsOf = kindsOf;
  }

  kinds(provider: string): readonly string[] {
    const kinds = this.#kindsOf(provider);
    if (!kinds) throw new SandboxDataError(404, 'unknown_provider', `the sandbox serves no provider "${provider}"`);
    return kinds;
  }

  count(provider: string, username: string, kind: string): number {
    const ds = this.#dataset(provider, username, kind);
    return ds.count - ds.removed.size;
  }

  setCount(provider: string, username: string, kind: string, count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > maxRecordCount) {
      throw new SandboxDataError(
        400,
        'invalid_request',
        `a record count is a whole number from 0 to ${maxRecordCount} (got ${String(count)})`,
      );
    }
    const ds = this.#dataset(provider, username, kind);
    // Records beyond the new count are gone; if the count grows again, new records take their ids.
    for (const index of ds.changes.keys()) if (index > count) ds.changes.delete(index);
    for (const index of ds.removed) if (index > count) ds.removed.delete(index);
    ds.count = count;
  }

  change(provider: string, username: string, kind: string, id: string, fields?: RecordFields): SandboxRecord {
    const ds = this.#dataset(provider, username, kind);
    const index = this.#existing(ds, id);
    if (fields !== undefined && (typeof fields !== 'object' || fields === null || Array.isArray(fields))) {
      throw new SandboxDataError(400, 'invalid_request', 'the changed fields are a JSON object');
    }
    const reserved = Object.keys(fields ?? {}).filter((name) => name === 'id' || name === 'updatedAt');
    if (reserved.length > 0)
      throw new SandboxDataError(
        400,
        'invalid_request',
        `${reserved.join(' and ')} cannot be changed: the sandbox sets them`,
      );
    const before = ds.changes.get(index);
    const revision = (before?.revision ?? 0) + 1;
    const edited = fields && Object.keys(fields).length > 0 ? fields : ds.spec.edit(this.#record(ds, index)!, revision);
    // Strictly later than the version it replaces, even for two changes in one millisecond.
    const updatedAtMs = Math.max(Date.now(), (before?.updatedAtMs ?? 0) + 1);
    ds.changes.set(index, { revision, updatedAtMs, fields: { ...before?.fields, ...edited } });
    return this.#record(ds, index)!;
  }

  remove(provider: string, username: string, kind: string, id: string): void {
    const ds = this.#dataset(provider, username, kind);
    const index = this.#existing(ds, id);
    ds.removed.add(index);
    ds.changes.delete(index);
  }

  ids(provider: string, username: string, kind: string): string[] {
    const ds = this.#dataset(provider, username, kind);
    const ids: string[] = [];
    for (let index = 1; index <= ds.count; index++) if (!ds.removed.has(index)) ids.push(this.#idOf(ds, index));
    return ids;
  }

  record(provider: string, username: string, kind: string, id: string): SandboxRecord | undefined {
    const ds = this.#dataset(provider, username, kind);
    const index = this.#indexOf(ds, id);
    return index === undefined ? undefined : this.#record(ds, index);
  }

  /** Throws a 404 `unknown_provider` or `unknown_kind` unless the provider serves this kind. */
  checkKind(provider: string, kind: string): void {
    this.#spec(provider, kind);
  }

  /** Throws a 400 `invalid_cursor` for a cursor this kind did not hand out, before anything else happens to the request. */
  checkCursor(provider: string, kind: string, cursor: string | undefined): void {
    this.#afterCursor(this.#spec(provider, kind), cursor);
  }

  /** The records after `cursor` (or from the start), in id order, at most `limit`. */
  page(provider: string, username: string, kind: string, cursor: string | undefined, limit: number): DataPage {
    const ds = this.#dataset(provider, username, kind);
    const items: SandboxRecord[] = [];
    let index = this.#afterCursor(ds.spec, cursor) + 1;
    for (; index <= ds.count && items.length < limit; index++) {
      const record = this.#record(ds, index);
      if (record) items.push(record);
    }
    while (index <= ds.count && ds.removed.has(index)) index++;
    const last = items.at(-1);
    return { items, nextCursor: last && index <= ds.count ? Buffer.from(last.id).toString('base64url') : null };
  }

  /**
   * The records after the one with id `afterId` (or from the start), at most `limit`, and whether more follow:
   * paging by "after this record", as Discord's `after`, Reddit's `after` and cursors made of a last id do. An id
   * that is not of this kind answers 400 `invalid_cursor`; a record removed since still marks the place.
   */
  pageAfter(
    provider: string,
    username: string,
    kind: string,
    afterId: string | undefined,
    limit: number,
  ): { items: SandboxRecord[]; more: boolean } {
    const ds = this.#dataset(provider, username, kind);
    const start = afterId === undefined ? 0 : indexIn(ds.spec, afterId);
    if (start === undefined)
      throw new SandboxDataError(400, 'invalid_cursor', 'the cursor is not one this data API handed out for this kind');
    const items: SandboxRecord[] = [];
    let index = start + 1;
    for (; index <= ds.count && items.length < limit; index++) {
      const record = this.#record(ds, index);
      if (record) items.push(record);
    }
    while (index <= ds.count && ds.removed.has(index)) index++;
    return { items, more: index <= ds.count };
  }

  /** The records at positions `offset` to `offset + limit - 1` (removed ones not counted), and how many there are. */
  pageAt(
    provider: string,
    username: string,
    kind: string,
    offset: number,
    limit: number,
  ): { items: SandboxRecord[]; total: number } {
    const ds = this.#dataset(provider, username, kind);
    const total = ds.count - ds.removed.size;
    const items: SandboxRecord[] = [];
    if (offset < total) {
      // Without removals a position is an index; with them, count past the removed ones before it.
      let index = offset + 1;
      if (ds.removed.size > 0) {
        let skipped = 0;
        index = 1;
        while (index <= ds.count && (ds.removed.has(index) || skipped < offset)) {
          if (!ds.removed.has(index)) skipped++;
          index++;
        }
      }
      for (; index <= ds.count && items.length < limit; index++) {
        const record = this.#record(ds, index);
        if (record) items.push(record);
      }
    }
    return { items, total };
  }

  #spec(provider: string, kind: string): KindSpec {
    const kinds = this.kinds(provider);
    if (!kinds.includes(kind)) {
      throw new SandboxDataError(
        404,
        'unknown_kind',
        `${provider} has no data of kind "${kind}" (${kinds.length > 0 ? `it has ${kinds.join(', ')}` : 'it has none'})`,
      );
    }
    return kindSpecFor(kind);
  }

  #dataset(provider: string, username: string, kind: string): Dataset {
    const spec = this.#spec(provider, kind);
    if (!usernamePattern.test(username))
      throw new SandboxDataError(400, 'invalid_request', `"${username}" is not a sandbox username`);
    const key = `${provider}\u0000${username}\u0000${kind}`;
    let ds = this.#datasets.get(key);
    if (!ds) {
      const seed = seedOf(key);
      // 30 to 60 records, different per user and kind, so the console shows something that looks real.
      ds = { provider, username, kind, spec, seed, count: 30 + (seed % 31), changes: new Map(), removed: new Set() };
      this.#datasets.set(key, ds);
    }
    return ds;
  }

  /** The cursor is the last id served: resuming from it skips nothing and repeats nothing, whatever changed elsewhere. */
  #afterCursor(spec: KindSpec, cursor: string | undefined): number {
    if (cursor === undefined) return 0;
    const id = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
    const index = indexIn(spec, id);
    if (index === undefined)
      throw new SandboxDataError(400, 'invalid_cursor', 'the cursor is not one this data API handed out for this kind');
    return index;
  }

  #indexOf(ds: Dataset, id: string): number | undefined {
    const index = indexIn(ds.spec, id);
    return index !== undefined && index >= 1 && index <= ds.count && !ds.removed.has(index) ? index : undefined;
  }

  #existing(ds: Dataset, id: string): number {
    const index = this.#indexOf(ds, id);
    if (index === undefined)
      throw new SandboxDataError(
        404,
        'unknown_record',
        `${ds.provider} ${ds.username}'s ${ds.kind} has no record "${id}"`,
      );
    return index;
  }

  #idOf(ds: Dataset, index: number): string {
    return `${ds.spec.idPrefix}-${String(index).padStart(idDigits, '0')}`;
  }

  #generated(ds: Dataset, index: number): SandboxRecord {
    return generateRecord(ds.spec, ds.seed, this.#idOf(ds, index), ds.provider, ds.username, index);
  }

  #record(ds: Dataset, index: number): SandboxRecord | undefined {
    if (index < 1 || index > ds.count || ds.removed.has(index)) return undefined;
    const record = this.#generated(ds, index);
    const change = ds.changes.get(index);
    return change
      ? { ...record, ...change.fields, id: record.id, updatedAt: new Date(change.updatedAtMs).toISOString() }
      : record;
  }
}

function indexIn(spec: KindSpec, id: string): number | undefined {
  const digits = id.startsWith(`${spec.idPrefix}-`) ? id.slice(spec.idPrefix.length + 1) : '';
  return idDigitsPattern.test(digits) ? Number(digits) : undefined;
}
