/**
 * `npm run bench -- sync`: how fast CRA imports a provider's data, against the database's own floor.
 *
 *  1. Throughput: a bench person links GitHub through the sandbox (the real flow), the sandbox serves N
 *     repositories, and `POST /v1/me/providers/github/sync` runs the sync workflow (pages fetched with the
 *     connection's token, a content hash and an origin MAC per record, one `insertMany` per page, batches of
 *     pages per activity). Timed from the request to the workflow's result → records/s. Then the same data
 *     again (nothing changed: nothing may be written) → its time as a fraction of the first sync's; and once
 *     more after the memory sync stored another account's records → whether the deletion check grew.
 *  2. Baseline: the same N documents — built from the same pages with the same hash and MAC, before the
 *     clock starts — written with plain `insertMany` (ordered: false, batches of the page size) into a
 *     fresh collection with the same indexes, once before and once after the sync → records/s. The ratio
 *     sync / raw is the headline. Each part of the sync is also timed on its own, to say where time goes.
 *  3. Memory: the CRA workers run as a separate `workers/main.ts` process; its resident memory is sampled
 *     through every sync, and a second person's sync of M records gives its peak.
 *  4. Sealing: what sealing record content with the account's data key costs a sync. There is no switch to
 *     turn it off (there must not be one in production), so the page write path after the fetch — build the
 *     documents (content hash, origin, MAC), seal the content or keep it in clear, bulk upsert into the real
 *     database — runs both ways over the same pages, taking turns page by page, several rounds; the ratio of their
 *     records/s, and the full sync's records/s without the extra time sealing took, are reported.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { msToNumber, type Payload } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { dataReaderFor } from '../activities/providers/data/index.js';
import { ProviderQuota } from '../activities/providers/data/quota.js';
import { readPage } from '../activities/providers/data/read-page.js';
import { resolveProvider } from '../activities/providers/resolve.js';
import { openProviderToken, providerTokens } from '../activities/providers/stores.js';
import { contentHash, providerRecords, sealRecordData, signOrigins } from '../activities/records/store.js';
import { AccountKeys, type AccountKey } from '../activities/secrets/account-keys.js';
import type { PayloadEncryptionCodec } from '../activities/secrets/payload-codec.js';
import { loadConfig } from '../domain/config.js';
import { recordIdFor, type ProviderRecordDocument, type RecordOrigin } from '../domain/records.js';
import { activityOptions } from '../temporal.config.js';
import { syncStatusQuery, type SyncResult } from '../workflows/sync/messages.js';
import { activitySpans, type History } from '../test/support/history.js';
import { boolFlag, intFlag, rejectUnknown, type Flags } from './flags.js';
import { perSecond, within } from './measure.js';
import { benchmarksFile, fixed, machineSummary, markdownTable, writeSection } from './report.js';
import { linkedAccount, requestSync, sandboxOf, type LinkedAccount } from './sync-account.js';
import { memoryStatus, watchMemory, type MemoryWindow } from './sync-memory.js';
import { decodingClient, startBenchStack, type BenchStack } from './stack.js';

// 20 000 records for the throughput ratio, and a 100 000-record sync for the worker's peak memory, in pages of
// 1000 (SYNC_PAGE_SIZE's maximum, what a large account would be synced with).
const defaults = { records: 20_000, memoryRecords: 100_000, pageSize: 1000, sealRounds: 3 } as const;
/** The sandbox's largest dataset. */
const maxRecords = 999_999;

export const syncBench = {
  summary: 'records/s of a provider sync (fetch, origin MAC, bulk upsert) vs raw insertMany; worker peak memory',
  usage: [
    `             --records N              records synced and inserted raw for the throughput ratio (${defaults.records})`,
    `             --memory-records M       records of the sync whose worker peak memory is reported; 0 skips it (${defaults.memoryRecords})`,
    `             --page-size P            records per page: SYNC_PAGE_SIZE and the raw insertMany batch, 1 to 1000 (${defaults.pageSize})`,
    `             --seal-rounds R          rounds of the page write path sealed and in clear, alternating; 0 skips it (${defaults.sealRounds})`,
    '             --no-write               print the results only; leave BENCHMARKS.md alone',
  ].join('\n'),
  run: runSyncBench,
};

interface Options {
  records: number;
  memoryRecords: number;
  pageSize: number;
  sealRounds: number;
  write: boolean;
}

function options(flags: Flags): Options {
  rejectUnknown(flags, ['records', 'memory-records', 'page-size', 'seal-rounds', 'no-write']);
  return {
    records: intFlag(flags, 'records', defaults.records, 1, maxRecords),
    memoryRecords: intFlag(flags, 'memory-records', defaults.memoryRecords, 0, maxRecords),
    pageSize: intFlag(flags, 'page-size', defaults.pageSize, 1, 1000),
    sealRounds: intFlag(flags, 'seal-rounds', defaults.sealRounds, 0, 20),
    write: !boolFlag(flags, 'no-write'),
  };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const runId = randomBytes(3).toString('hex');
const provider = 'github';
const kind = 'repositories';

/** One timed step: how many records in how long. */
interface Timed {
  records: number;
  ms: number;
}

const rate = (t: Timed) => perSecond(t.records, t.ms);

async function timed(records: number, work: () => Promise<void>): Promise<Timed> {
  const started = performance.now();
  await work();
  return { records, ms: performance.now() - started };
}

/** A generous bound: a stuck sync ends the run with a message instead of hanging it. */
const syncTimeoutMs = (records: number) => Math.max(600_000, records * 200);

/** What the sandbox serves for the account, page by page as the sync reads it; also how long that took. */
interface Served {
  pages: Array<{ items: Array<{ externalId: string; data: Record<string, unknown> }>; sourceUrl: string }>;
  fetch: Timed;
}

/** The sync's own read path (the same client, endpoint and token), without CRA around it. */
async function fetchAll(
  stack: BenchStack,
  account: LinkedAccount,
  pageSize: number,
): Promise<Served & { providerAccountId: string }> {
  const config = loadConfig(stack.env);
  const resolved = await resolveProvider(provider, config.providers, stack.vault);
  const reader = dataReaderFor(provider);
  const apis = resolved.endpoints.dataApis;
  if (!reader || !apis) throw new Error(`${provider} has no data API`);
  const tokens = await providerTokens(stack.db).findOne({ _id: account.connectionId });
  if (!tokens) throw new Error(`no tokens for ${account.connectionId}`);
  const accessToken = await openProviderToken(
    new AccountKeys(stack.vault),
    stack.vault,
    tokens,
    'access',
    tokens.accessTokenCiphertext,
  );
  const pages: Served['pages'] = [];
  let count = 0;
  const fetch = await timed(0, async () => {
    // The sync's own quota ledger (a bench account of its own: nothing else reads it).
    const quota = new ProviderQuota(stack.db, `${account.accountId}-bench-read`, provider, {
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    let next: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof readPage>> = await readPage({
        reader,
        kind,
        apis,
        accessToken,
        providerAccountId: tokens.providerAccountId,
        next,
        pageSize,
        quota,
      });
      pages.push({ items: page.items, sourceUrl: page.sourceUrl });
      count += page.items.length;
      next = page.next;
    } while (next !== null);
  });
  return { pages, fetch: { ...fetch, records: count }, providerAccountId: tokens.providerAccountId };
}

/**
 * One page's documents built the way `syncPages` builds them: content hash, origin, MAC through the
 * SecretVault, and the content sealed with the account's key (`key`), or, for the comparison only, in clear.
 */
async function pageDocuments(
  stack: BenchStack,
  account: LinkedAccount,
  page: Served['pages'][number],
  providerAccountId: string,
  syncRunId: string,
  key: AccountKey | undefined,
): Promise<ProviderRecordDocument[]> {
  const fetchedAt = new Date().toISOString();
  const batch: ProviderRecordDocument[] = [];
  for (const { externalId, data: item } of page.items) {
    const _id = recordIdFor(account.accountId, provider, kind, externalId);
    const origin: RecordOrigin = {
      provider,
      providerAccountId,
      connectionId: account.connectionId,
      syncRunId,
      fetchedAt,
      sourceUrl: page.sourceUrl,
      contentHash: contentHash(item),
    };
    batch.push({
      _id,
      accountId: account.accountId,
      provider,
      kind,
      externalId,
      connectionId: account.connectionId,
      ...(key ? { sealedData: sealRecordData(key, _id, item) } : { data: item }),
      origin,
      originMac: '',
      status: 'active',
      lastSeenRunId: syncRunId,
      updatedAt: fetchedAt,
    });
  }
  // The page's MACs in one SecretVault call, as `syncPages` signs them.
  const macs = await signOrigins(stack.vault, batch);
  batch.forEach((doc, i) => (doc.originMac = macs[i]!));
  return batch;
}

/**
 * The documents the sync writes for these pages (sealed, as `syncPage` writes them), one batch per page.
 * Timed: that is the per-record work of a sync.
 */
async function documentsFor(
  stack: BenchStack,
  account: LinkedAccount,
  served: Served,
  providerAccountId: string,
  key: AccountKey,
): Promise<{ batches: ProviderRecordDocument[][]; sign: Timed }> {
  const batches: ProviderRecordDocument[][] = [];
  const syncRunId = `bench-raw-${runId}`;
  let count = 0;
  const sign = await timed(0, async () => {
    for (const page of served.pages) {
      const batch = await pageDocuments(stack, account, page, providerAccountId, syncRunId, key);
      count += batch.length;
      batches.push(batch);
    }
  });
  return { batches, sign: { ...sign, records: count } };
}

/** Sealing alone: the same records' canonical JSON sealed with the account's key, nothing else. */
async function sealOnly(served: Served, account: LinkedAccount, key: AccountKey): Promise<Timed> {
  let count = 0;
  const t = await timed(0, async () => {
    for (const page of served.pages)
      for (const item of page.items) {
        sealRecordData(key, recordIdFor(account.accountId, provider, kind, item.externalId), item.data);
        count++;
      }
  });
  return { ...t, records: count };
}

/** The page write path with and without sealing, per round: each way's time over every page. */
interface SealingRounds {
  sealed: Timed[];
  clear: Timed[];
  /** Each page's two ways, written one right after the other. */
  pairs: Array<{ records: number; clearMs: number; sealedMs: number }>;
  sealOnly: Timed;
}

/**
 * The page write path of a sync after the fetch — build one page's documents (hash, origin, MAC, and the
 * content sealed or in clear), then its bulk `replaceOne` upserts — into two fresh collections with
 * `provider_records`' indexes, one per way. Page by page, the two ways take turns going first, so a change
 * in the machine's load (other processes share it) falls on both alike.
 */
async function sealingCost(
  stack: BenchStack,
  account: LinkedAccount,
  served: Served,
  providerAccountId: string,
  key: AccountKey,
  rounds: number,
): Promise<SealingRounds> {
  const out: SealingRounds = { sealed: [], clear: [], pairs: [], sealOnly: await sealOnly(served, account, key) };
  for (let round = 0; round < rounds; round++) {
    const targets = {
      clear: await freshLikeRecords(stack, `bench_sync_clear_${round}_${runId}`),
      sealed: await freshLikeRecords(stack, `bench_sync_sealed_${round}_${runId}`),
    };
    const spent = { clear: { records: 0, ms: 0 }, sealed: { records: 0, ms: 0 } };
    const syncRunId = `bench-seal-${round}-${runId}`;
    for (const [index, page] of served.pages.entries()) {
      const order: Array<'clear' | 'sealed'> = (round + index) % 2 === 0 ? ['clear', 'sealed'] : ['sealed', 'clear'];
      const pair = { records: page.items.length, clearMs: 0, sealedMs: 0 };
      for (const how of order) {
        const started = performance.now();
        const docs = await pageDocuments(
          stack,
          account,
          page,
          providerAccountId,
          syncRunId,
          how === 'sealed' ? key : undefined,
        );
        await targets[how].bulkWrite(
          docs.map(({ _id, ...replacement }) => ({ replaceOne: { filter: { _id }, replacement, upsert: true } })),
          { ordered: false },
        );
        const ms = performance.now() - started;
        spent[how].ms += ms;
        spent[how].records += docs.length;
        pair[how === 'sealed' ? 'sealedMs' : 'clearMs'] = ms;
      }
      if (pair.records > 0) out.pairs.push(pair);
    }
    await Promise.all([targets.clear.drop(), targets.sealed.drop()]);
    out.clear.push(spent.clear);
    out.sealed.push(spent.sealed);
    log(`  round ${round + 1}: clear ${fixed(rate(spent.clear), 0)}, sealed ${fixed(rate(spent.sealed), 0)} records/s`);
  }
  return out;
}

/**
 * The secondary indexes `provider_records` has now (none while nobody has created the collection), so
 * the raw writes maintain the same indexes the sync does.
 */
async function recordIndexes(stack: BenchStack): Promise<Array<{ key: Record<string, number>; name: string }>> {
  const exists =
    (await stack.db.listCollections({ name: providerRecords(stack.db).collectionName }, { nameOnly: true }).toArray())
      .length > 0;
  if (!exists) return [];
  return (await providerRecords(stack.db).indexes())
    .filter((index) => index.name !== '_id_')
    .map((index) => ({ key: index.key as Record<string, number>, name: index.name ?? JSON.stringify(index.key) }));
}

async function freshLikeRecords(stack: BenchStack, name: string): Promise<Collection<ProviderRecordDocument>> {
  await stack.db
    .collection(name)
    .drop()
    .catch(() => undefined);
  await stack.db.createCollection(name);
  const target = stack.db.collection<ProviderRecordDocument>(name);
  for (const index of await recordIndexes(stack)) await target.createIndex(index.key, { name: index.name });
  return target;
}

/** One timed write, and each batch's time with how many records were stored before it. */
interface TimedWrites extends Timed {
  batches: Array<{ stored: number; records: number; ms: number }>;
}

/** Raw driver writes of the same documents: `insertMany`, or the sync's own `replaceOne` upserts; one call per page. */
async function rawWrite(
  stack: BenchStack,
  how: 'insert' | 'upsert',
  batches: readonly ProviderRecordDocument[][],
  tag: string,
): Promise<TimedWrites> {
  const target = await freshLikeRecords(stack, `bench_sync_${how}_${tag}_${runId}`);
  const records = batches.reduce((n, b) => n + b.length, 0);
  const perBatch: TimedWrites['batches'] = [];
  let stored = 0;
  const result = await timed(records, async () => {
    for (const batch of batches) {
      const started = performance.now();
      if (how === 'insert') {
        // Copies: the driver would otherwise write into the shared documents.
        await target.insertMany(
          batch.map((d) => ({ ...d })),
          { ordered: false },
        );
      } else {
        const ops: AnyBulkWriteOperation<ProviderRecordDocument>[] = batch.map(({ _id, ...replacement }) => ({
          replaceOne: { filter: { _id }, replacement, upsert: true },
        }));
        await target.bulkWrite(ops, { ordered: false });
      }
      perBatch.push({ stored, records: batch.length, ms: performance.now() - started });
      stored += batch.length;
    }
  });
  const count = await target.countDocuments();
  if (count !== records) throw new Error(`raw ${how}: ${count} documents stored, ${records} written`);
  // Dropped at once, so the later steps run against a database of the same size as the first.
  await target.drop();
  return { ...result, batches: perBatch };
}

/**
 * Least squares of the time per record written against the records already stored: `baseMs` per record
 * into an empty collection, plus `perThousandStoredMs` for every 1000 records stored. A write path whose
 * cost does not grow with the collection has a slope near 0; one that scans the collection does not.
 */
function costGrowth(batches: TimedWrites['batches']): { baseMs: number; perThousandStoredMs: number } {
  const points = batches.filter((b) => b.records > 0).map((b) => ({ x: b.stored / 1000, y: b.ms / b.records }));
  const n = points.length;
  if (n < 2) return { baseMs: points[0]?.y ?? Number.NaN, perThousandStoredMs: Number.NaN };
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const slope = sxx > 0 ? points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx : Number.NaN;
  return { baseMs: my - slope * mx, perThousandStoredMs: slope };
}

/** Seconds to write `records` into an empty collection one after the other at that growth: base·N + slope·N²/2 (a slope within noise of 0 counts as 0). */
function projectedSeconds(growth: { baseMs: number; perThousandStoredMs: number }, records: number): number {
  return (
    (Math.max(0, growth.baseMs) * records +
      ((Math.max(0, growth.perThousandStoredMs) / 1000) * records * records) / 2) /
    1000
  );
}

/** Per activity type: how many ran, their summed scheduled → closed time, and the attempts they took (retries show here only). */
type ActivityTimes = Map<string, { count: number; totalMs: number; attempts: number }>;

interface SyncHistory {
  times: ActivityTimes;
  runs: number;
  /**
   * Scheduled → closed of each page activity (`syncPages`: a batch of pages; `syncPage` before it: one page), in
   * order, with the records it read: whether a batch costs more as the collection grows.
   */
  batches: Array<{ ms: number; records: number }>;
}

/** The page activities' type names: batches since `sync-page-batches`, one page each before. */
const pageActivities = new Set(['syncPages', 'syncPage']);

/** `fetched` from a page activity's result: a JSON payload, encrypted by the workers' codec, so opened with it first. */
function fetchedOf(codec: PayloadEncryptionCodec, result: { payloads?: Payload[] | null } | null | undefined): number {
  const payload = result?.payloads?.[0];
  const data = payload && codec.openSync(payload).data;
  if (!data) return 0;
  const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { fetched?: number };
  return parsed.fetched ?? 0;
}

/** Scheduled → closed per activity type over every run of one sync (continue-as-new chains them, newest first). */
async function syncHistory(stack: BenchStack, workflowId: string): Promise<SyncHistory> {
  const times: ActivityTimes = new Map();
  const pagesByRun: Array<Array<{ ms: number; records: number }>> = [];
  let run: string | undefined = (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;
  while (run) {
    const history: History = await stack.temporal.workflow.getHandle(workflowId, run).fetchHistory();
    const events = history.events ?? [];
    const pages: Array<{ ms: number; records: number }> = [];
    const previous: string | undefined =
      events.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes
        ?.continuedExecutionRunId ?? undefined;
    for (const span of activitySpans(events)) {
      const entry = times.get(span.type) ?? { count: 0, totalMs: 0, attempts: 0 };
      entry.count++;
      entry.totalMs += span.ms;
      entry.attempts += span.attempt;
      times.set(span.type, entry);
      if (pageActivities.has(span.type))
        pages.push({
          ms: span.ms,
          records: fetchedOf(stack.codec, span.closed.activityTaskCompletedEventAttributes?.result),
        });
    }
    pagesByRun.unshift(pages);
    run = previous;
  }
  return { times, runs: pagesByRun.length, batches: pagesByRun.flat() };
}

interface SyncRun {
  records: number;
  /** Its history: activity times, runs, each page's time. */
  history: SyncHistory;
  timed: Timed;
  memory: MemoryWindow;
  result: SyncResult;
  workflowId: string;
}

/** Terminates the syncs being waited for: an interrupted run must not leave a long poll behind its connections. */
const inFlight = new Set<() => Promise<void>>();

/**
 * Wait for the sync's result, saying every so often how far it got and whether a page is being retried.
 * A page retried `stuckAttempts` times ends the run (a sync that cannot finish has no throughput to
 * report); so does the timeout. Either way the workflow is terminated, so no long poll for its result
 * outlives the run's connections.
 */
async function awaitSync(stack: BenchStack, workflowId: string, records: number): Promise<SyncResult> {
  // Decoding: the result and the status query's answer come back encrypted.
  const handle = decodingClient(stack).workflow.getHandle(workflowId);
  const result = handle.result() as Promise<SyncResult>;
  const started = performance.now();
  const giveUp = async () => {
    await handle.terminate('the benchmark gave up on it').catch(() => undefined);
    await result.catch(() => undefined);
  };
  inFlight.add(giveUp);
  let stuck!: (err: Error) => void;
  const isStuck = new Promise<never>((_, reject) => (stuck = reject));
  // Handled here too: a poll that finds the page stuck after the wait ended must not crash the run.
  isStuck.catch(() => undefined);
  const progress = setInterval(() => {
    void (async () => {
      const status = await handle.query(syncStatusQuery).catch(() => undefined);
      const pending = (await handle.describe().catch(() => undefined))?.raw.pendingActivities?.[0];
      const attempt = pending?.attempt ?? 1;
      const done = status ? `${status.checkpoint.pages} pages done` : 'no status yet';
      const retrying =
        attempt > 1 ? `; page attempt ${attempt}, last failure: ${pending?.lastFailure?.message ?? '?'}` : '';
      log(`  … ${fixed((performance.now() - started) / 1000, 0)} s: ${done}${retrying}`);
      if (attempt >= stuckAttempts) {
        stuck(
          new Error(
            `the sync of ${records} records is stuck: ${done}, the next one at attempt ${attempt} (${pending?.lastFailure?.message ?? '?'}); see the sync notes in BENCHMARKS.md`,
          ),
        );
      }
    })();
  }, progressEveryMs);
  try {
    return await within(syncTimeoutMs(records), `the sync of ${records} records`, Promise.race([result, isStuck]));
  } catch (err) {
    await giveUp();
    throw err;
  } finally {
    clearInterval(progress);
    inFlight.delete(giveUp);
  }
}

const progressEveryMs = 15_000;
/** A page this many attempts in is not going to succeed on the next one (see the sync notes in BENCHMARKS.md). */
const stuckAttempts = 5;

/** Serve `records` repositories to the account, request a sync over HTTP, wait for its result; watch the worker's memory throughout. */
async function timedSync(
  stack: BenchStack,
  account: LinkedAccount,
  records: number,
  expect: { written?: number } = {},
): Promise<SyncRun> {
  sandboxOf(stack).data.setCount(provider, account.username, kind, records);
  const watch = watchMemory(stack.workerProcess!.pid);
  let workflowId = '';
  let result: SyncResult | undefined;
  try {
    const t = await timed(records, async () => {
      workflowId = await requestSync(stack, account);
      result = await awaitSync(stack, workflowId, records);
    });
    const memory = watch.stop();
    const fetched = result?.totals[kind]?.fetched;
    if (fetched !== records) throw new Error(`the sync fetched ${String(fetched)} ${kind}, not ${records}`);
    const stored = await providerRecords(stack.db).countDocuments({
      accountId: account.accountId,
      kind,
      status: 'active',
    });
    if (stored !== records) throw new Error(`the sync left ${stored} active ${kind}, not ${records}`);
    const written = Object.values(result!.totals).reduce((n, t) => n + t.written, 0);
    if (expect.written !== undefined && written !== expect.written)
      throw new Error(`the sync wrote ${written} records, not ${expect.written}`);
    return { records, timed: t, memory, result: result!, workflowId, history: await syncHistory(stack, workflowId) };
  } catch (err) {
    watch.stop();
    throw err;
  }
}

interface Results {
  opts: Options;
  fetch: Timed;
  sign: Timed;
  insertBefore: TimedWrites;
  insertAfter: TimedWrites;
  upsert: TimedWrites;
  sync: SyncRun;
  /** The same account synced again with nothing changed at the provider. */
  resync: SyncRun;
  /** And again after the memory sync stored another account's records (absent with `--memory-records 0`). */
  resyncAfterOthers?: SyncRun;
  activities: SyncHistory;
  /** The secondary indexes the raw writes' collections had (those of `provider_records` at the time), and those `provider_records` had after the sync. */
  indexes: { raw: string[]; afterSync: string[] };
  memoryRun?: SyncRun;
  /** The page write path with and without sealing (absent with `--seal-rounds 0`). */
  sealing?: SealingRounds;
  /** The worker process when it was ready (idle, workflows bundled), and its peak up to then. */
  workerAtStart: { rssKiB: number; peakKiB: number };
  elapsedS: number;
  load: [number, number];
}

async function runSyncBench(flags: Flags): Promise<void> {
  const opts = options(flags);
  const began = performance.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  log('starting Temporal, MongoDB, the sandbox provider, the API and a worker process …');
  const stack = await startBenchStack({
    log,
    sandbox: true,
    workers: 'process',
    env: { SYNC_PAGE_SIZE: String(opts.pageSize) },
  });
  // Ctrl-C mid-run still stops the servers and the worker this run started, rather than leaving them behind.
  const interrupt = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping …`);
    void Promise.all([...inFlight].map((giveUp) => giveUp()))
      .then(() => stack.stop())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const workerPid = stack.workerProcess!.pid;
    const workerAtStart = memoryStatus(workerPid);
    log(
      `stack up in ${fixed((performance.now() - began) / 1000)} s; API at ${stack.live.baseUrl}; worker pid ${workerPid}, ${mib(workerAtStart.rssKiB)} MiB resident`,
    );

    const account = await linkedAccount(stack, `bench|${runId}-sync`, `bench-${runId}`);
    log(`${account.accountId} linked ${provider} (sandbox user ${account.username})`);
    sandboxOf(stack).data.setCount(provider, account.username, kind, opts.records);

    log(`reading ${opts.records} ${kind} from the sandbox data API, pages of ${opts.pageSize} …`);
    const served = await fetchAll(stack, account, opts.pageSize);
    if (served.fetch.records !== opts.records)
      throw new Error(`the sandbox served ${served.fetch.records} ${kind}, not ${opts.records}`);
    log(`fetch: ${fixed(rate(served.fetch), 0)} records/s; hashing, signing and sealing them …`);
    // The account's own data key (made when the link stored its tokens), as the worker seals with it.
    const key = await new AccountKeys(stack.vault).keyFor(account.accountId);
    const { batches, sign } = await documentsFor(stack, account, served, served.providerAccountId, key);
    log(`hash + origin MAC + seal: ${fixed(rate(sign), 0)} records/s`);
    let sealing: SealingRounds | undefined;
    if (opts.sealRounds > 0) {
      log(`the page write path sealed and in clear, ${opts.sealRounds} rounds …`);
      sealing = await sealingCost(stack, account, served, served.providerAccountId, key, opts.sealRounds);
    }
    served.pages.length = 0;

    const indexesRaw = (await recordIndexes(stack)).map((i) => i.name);
    const insertBefore = await rawWrite(stack, 'insert', batches, 'before');
    log(`raw insertMany: ${fixed(rate(insertBefore), 0)} records/s`);
    const upsert = await rawWrite(stack, 'upsert', batches, 'upsert');
    log(`raw bulk replaceOne upsert: ${fixed(rate(upsert), 0)} records/s`);

    log(`syncing ${opts.records} ${kind} through POST /v1/me/providers/${provider}/sync …`);
    const sync = await timedSync(stack, account, opts.records);
    log(`sync: ${fixed(rate(sync.timed), 0)} records/s, worker peak ${mib(sync.memory.peakKiB)} MiB`);
    const activities = sync.history;
    const indexesAfterSync = (await recordIndexes(stack)).map((i) => i.name);

    const insertAfter = await rawWrite(stack, 'insert', batches, 'after');
    batches.length = 0;
    log(`raw insertMany again: ${fixed(rate(insertAfter), 0)} records/s`);

    log(`syncing the same ${opts.records} ${kind} again, nothing changed at the provider …`);
    const resync = await timedSync(stack, account, opts.records, { written: 0 });
    log(
      `re-sync: ${seconds(resync.timed)} s (${ratioText(resync.timed.ms / sync.timed.ms)} of the first sync's time), ${writtenOf(resync)} written`,
    );

    let memoryRun: SyncRun | undefined;
    let resyncAfterOthers: SyncRun | undefined;
    if (opts.memoryRecords > 0) {
      const second = await linkedAccount(stack, `bench|${runId}-memory`, `bench-mem-${runId}`);
      log(`syncing ${opts.memoryRecords} ${kind} for a second account, for the worker's peak memory …`);
      memoryRun = await timedSync(stack, second, opts.memoryRecords);
      log(`sync: ${fixed(rate(memoryRun.timed), 0)} records/s, worker peak ${mib(memoryRun.memory.peakKiB)} MiB`);
      log(`the first account's ${opts.records} again, with the second account's records stored …`);
      resyncAfterOthers = await timedSync(stack, account, opts.records, { written: 0 });
      log(
        `re-sync: ${seconds(resyncAfterOthers.timed)} s, deletion check ${fixed(deletionCheckMs(resyncAfterOthers) / 1000, 2)} s (${fixed(deletionCheckMs(resync) / 1000, 2)} s before)`,
      );
    }

    const results: Results = {
      opts,
      fetch: served.fetch,
      sign,
      insertBefore,
      insertAfter,
      upsert,
      sync,
      resync,
      ...(resyncAfterOthers ? { resyncAfterOthers } : {}),
      activities,
      workerAtStart,
      ...(sealing ? { sealing } : {}),
      indexes: { raw: indexesRaw, afterSync: indexesAfterSync },
      ...(memoryRun ? { memoryRun } : {}),
      elapsedS: (performance.now() - began) / 1000,
      load: [loadBefore, loadavg()[0] ?? Number.NaN],
    };
    const tables = renderTables(results);
    process.stdout.write(
      `\n${tables}\n1-minute load average: ${fixed(results.load[0], 2)} before, ${fixed(results.load[1], 2)} after, on ${machineSummary().cores} cores.\n`,
    );
    if (opts.write) {
      writeSection('sync', renderSection(results, tables, stack));
      log(`results written to ${benchmarksFile}`);
    }
  } catch (err) {
    // Said before the teardown, which may itself go wrong and end the process.
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    log('stopping …');
    await stack.stop();
  }
  log(`done in ${fixed((performance.now() - began) / 1000)} s`);
}

const list = (names: readonly string[]) =>
  names.length > 0 ? `\`_id\` and ${names.map((n) => `\`${n}\``).join(', ')}` : 'only `_id`';
/** Two decimals, or three significant ones when small enough that two would round it away. */
const ratioText = (ratio: number) => fixed(ratio, ratio > 0 && ratio < 0.1 ? 3 : 2);

/** A projected duration in the unit a person reads it in. */
function duration(s: number): string {
  if (!Number.isFinite(s)) return 'n/a';
  if (s < 120) return `${fixed(s, 0)} s`;
  if (s < 7200) return `${fixed(s / 60, 0)} min`;
  return `${fixed(s / 3600, 1)} h`;
}
const mib = (kib: number) => fixed(kib / 1024, 0);
const seconds = (t: Timed) => fixed(t.ms / 1000, 1);

/** Both raw insertMany runs together: the baseline the ratio divides by. */
function rawBaseline(r: Results): Timed {
  return { records: r.insertBefore.records + r.insertAfter.records, ms: r.insertBefore.ms + r.insertAfter.ms };
}

function renderTables(r: Results): string {
  const raw = rawBaseline(r);
  const vsRaw = (t: Timed) => ratioText(rate(t) / rate(raw));
  const p = r.opts.pageSize;
  const throughput = markdownTable(
    [
      'write path (same records, same server, one page at a time)',
      'records',
      'seconds',
      'records/s',
      '× raw insertMany',
    ],
    [
      [
        `raw \`insertMany\`, ordered: false, batches of ${p} — before the sync`,
        String(r.insertBefore.records),
        seconds(r.insertBefore),
        fixed(rate(r.insertBefore), 0),
        vsRaw(r.insertBefore),
      ],
      [
        `raw \`insertMany\`, ordered: false, batches of ${p} — after the sync`,
        String(r.insertAfter.records),
        seconds(r.insertAfter),
        fixed(rate(r.insertAfter), 0),
        vsRaw(r.insertAfter),
      ],
      [
        'raw `bulkWrite` of `replaceOne` upserts (what a sync page wrote before `sync-page-batches`)',
        String(r.upsert.records),
        seconds(r.upsert),
        fixed(rate(r.upsert), 0),
        vsRaw(r.upsert),
      ],
      [
        `CRA sync: \`POST …/${provider}/sync\` → workflow result`,
        String(r.sync.records),
        seconds(r.sync.timed),
        fixed(rate(r.sync.timed), 0),
        `**${vsRaw(r.sync.timed)}**`,
      ],
    ],
  );

  const share = (ms: number) => `${fixed((100 * ms) / r.sync.timed.ms, 0)} %`;
  const syncPage = r.activities.times.get('syncPages') ?? r.activities.times.get('syncPage');
  const activityMs = [...r.activities.times.values()].reduce((n, t) => n + t.totalMs, 0);
  const parts = markdownTable(
    [
      'where a sync’s time goes (each part timed on its own, same records)',
      'seconds',
      'records/s',
      'share of the sync',
    ],
    [
      [
        `fetch every page from the sandbox data API (HTTP, JSON, pages of ${p})`,
        seconds(r.fetch),
        fixed(rate(r.fetch), 0),
        share(r.fetch.ms),
      ],
      [
        'content hash + origin MAC through the SecretVault + sealing, per record',
        seconds(r.sign),
        fixed(rate(r.sign), 0),
        share(r.sign.ms),
      ],
      [
        '`insertMany` of the pages (raw driver: what a first sync writes)',
        seconds(r.insertBefore),
        fixed(rate(r.insertBefore), 0),
        share(r.insertBefore.ms),
      ],
      [
        'sum of the three',
        fixed((r.fetch.ms + r.sign.ms + r.insertBefore.ms) / 1000, 1),
        '',
        share(r.fetch.ms + r.sign.ms + r.insertBefore.ms),
      ],
      ...(syncPage
        ? [
            [
              `in the sync: page activities (\`syncPages\`), scheduled → closed (${syncPage.count} batches, ${syncPage.attempts} attempts)`,
              fixed(syncPage.totalMs / 1000, 1),
              '',
              share(syncPage.totalMs),
            ],
          ]
        : []),
      [
        'in the sync: other activities (deletion check, audit)',
        fixed((activityMs - (syncPage?.totalMs ?? 0)) / 1000, 1),
        '',
        share(activityMs - (syncPage?.totalMs ?? 0)),
      ],
      [
        'in the sync: outside activities (HTTP start, workflow tasks, scheduling)',
        fixed((r.sync.timed.ms - activityMs) / 1000, 1),
        '',
        share(r.sync.timed.ms - activityMs),
      ],
    ],
  );

  const memoryRow = (label: string, s: SyncRun) => [
    label,
    String(s.records),
    seconds(s.timed),
    fixed(rate(s.timed), 0),
    mib(s.memory.startKiB),
    `**${mib(s.memory.peakKiB)}**`,
    mib(s.memory.peakKiB - s.memory.startKiB),
    mib(s.memory.endKiB),
  ];
  const memory = markdownTable(
    [
      'worker process (`workers/main.ts`)',
      'records',
      'seconds',
      'records/s',
      'RSS before MiB',
      'peak RSS MiB',
      'peak − before',
      'RSS after MiB',
    ],
    [
      [
        'ready, idle (workflows bundled, nothing run)',
        '',
        '',
        '',
        mib(r.workerAtStart.rssKiB),
        mib(r.workerAtStart.peakKiB),
        '',
        '',
      ],
      memoryRow('throughput sync (first account)', r.sync),
      ...(r.memoryRun ? [memoryRow('memory sync (second account)', r.memoryRun)] : []),
    ],
  );
  const exactness = [r.sync, r.memoryRun].every((s) => !s || s.memory.kernelPeak)
    ? 'Peaks are the kernel’s `VmHWM`, reset when each sync starts (exact), and never below the RSS polled every 100 ms.'
    : 'Peaks are the highest `VmRSS` polled every 100 ms (the kernel refused to reset `VmHWM`): spikes shorter than that can be missed.';
  const idlePeak = `The idle row's peak is \`VmHWM\` since the worker started, bundling the workflows included.`;
  // A sync's own batches in order: the repositories, each written onto the ones before (the empty kinds' pages left out).
  const pagesOf = (run: SyncRun) => {
    let stored = 0;
    return run.history.batches
      .filter((b) => b.records > 0)
      .map((b) => {
        const batch = { stored, records: b.records, ms: b.ms };
        stored += b.records;
        return batch;
      });
  };
  const syncPages = pagesOf(r.memoryRun ?? r.sync);
  const growthRow = (label: string, batches: TimedWrites['batches']) => {
    const g = costGrowth(batches);
    return [
      label,
      fixed(g.baseMs, 3),
      fixed(g.perThousandStoredMs, 3),
      duration(projectedSeconds(g, 20_000)),
      duration(projectedSeconds(g, 100_000)),
    ];
  };
  const growth = markdownTable(
    [
      'cost per record against records already stored (fit over the batches)',
      'ms per record, empty',
      '+ ms per 1000 stored',
      '20 000 records (projected)',
      '100 000 records (projected)',
    ],
    [
      growthRow('raw `insertMany` (before the sync)', r.insertBefore.batches),
      growthRow('raw `bulkWrite` of `replaceOne` upserts', r.upsert.batches),
      growthRow(`CRA sync of ${r.sync.records}, \`syncPages\` scheduled → closed`, pagesOf(r.sync)),
      ...(r.memoryRun
        ? [growthRow(`CRA sync of ${r.memoryRun.records} (memory run), \`syncPages\` scheduled → closed`, syncPages)]
        : []),
    ],
  );
  const sealing = r.sealing ? `\n\n${sealingTables(r, r.sealing)}` : '';
  const batchRecords = Math.max(1, ...(r.memoryRun ?? r.sync).history.batches.map((b) => b.records));
  return `${throughput}\n\n${resyncTable(r)}\n\n${parts}\n\n${pageLine(r.activities.batches)}\n\n${growth}\n${pageLimitLine(costGrowth(syncPages), batchRecords)}\n\n${memory}\n\n${exactness} ${idlePeak}${sealing}\n`;
}

const total = (ts: readonly Timed[]): Timed => ({
  records: ts.reduce((n, t) => n + t.records, 0),
  ms: ts.reduce((n, t) => n + t.ms, 0),
});

/** What sealing costs: the write path both ways, and the full sync with that cost taken out. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function sealingFigures(syncTimed: Timed, s: SealingRounds) {
  const sealed = total(s.sealed);
  const clear = total(s.clear);
  const perRound = s.sealed.map((t, i) => rate(t) / rate(s.clear[i]!));
  // Per page, the two ways ran back to back: the median of those pairs is what a load spike cannot move.
  const pageRatio = median(s.pairs.map((p) => p.clearMs / p.sealedMs));
  // The extra time per record of the sealed write path (median over the page pairs), over the sync's records.
  const extraMsPerRecord = median(s.pairs.map((p) => (p.sealedMs - p.clearMs) / p.records));
  const withoutMs = syncTimed.ms - extraMsPerRecord * syncTimed.records;
  return {
    sealed,
    clear,
    ratio: rate(sealed) / rate(clear),
    perRound,
    pageRatio,
    pages: s.pairs.length,
    extraMsPerRecord,
    sealOnlyMsPerRecord: s.sealOnly.ms / s.sealOnly.records,
    syncWithout: { records: syncTimed.records, ms: withoutMs },
    syncRatio: syncTimed.ms > 0 ? withoutMs / syncTimed.ms : Number.NaN,
  };
}

function sealingTables(r: Results, s: SealingRounds): string {
  const f = sealingFigures(r.sync.timed, s);
  const us = (ms: number) => fixed(ms * 1000, 1);
  const writePaths = markdownTable(
    [
      `page write path after the fetch, ${s.sealed.length} rounds (build documents: hash, origin MAC; bulk \`replaceOne\` upserts)`,
      'records',
      'seconds',
      'records/s',
      'sealed / clear',
    ],
    [
      [
        'content in clear (as records were written before per-account keys)',
        String(f.clear.records),
        seconds(f.clear),
        fixed(rate(f.clear), 0),
        '',
      ],
      [
        'content sealed with the account’s data key (what `syncPage` writes)',
        String(f.sealed.records),
        seconds(f.sealed),
        fixed(rate(f.sealed), 0),
        `**${ratioText(f.ratio)}**`,
      ],
    ],
  );
  const rounds = f.perRound.map((x) => ratioText(x)).join(', ');
  const cost = markdownTable(
    ['what sealing costs the sync', 'value'],
    [
      ['sealing alone (canonical JSON, AES-256-GCM in process), µs per record', us(f.sealOnlyMsPerRecord)],
      [
        `sealing alone over the sync's ${r.sync.records} records, share of the sync's time`,
        `${fixed((100 * f.sealOnlyMsPerRecord * r.sync.records) / r.sync.timed.ms, 1)} %`,
      ],
      [
        'extra time of the sealed write path, µs per record, median of the page pairs (below 0: sealed pages wrote faster)',
        us(f.extraMsPerRecord),
      ],
      [`CRA sync of ${r.sync.records} above (sealing), records/s`, fixed(rate(r.sync.timed), 0)],
      ['the same sync less that extra time (estimated, without sealing), records/s', fixed(rate(f.syncWithout), 0)],
      ['**sync with sealing / without**', `**${ratioText(f.syncRatio)}**`],
    ],
  );
  return `${writePaths}\n\nSealed / clear per round: ${rounds}; median over the ${f.pages} page pairs (each page written both ways back to back): ${ratioText(f.pageRatio)}.\n\n${cost}`;
}

/** The pages' durations in order, summarised: flat means a page costs the same however many records are stored. */
function pageLine(batches: ReadonlyArray<{ ms: number; records: number }>): string {
  if (batches.length === 0) return '';
  const s = (b: { ms: number; records: number }) => `${fixed(b.ms / 1000, 2)} (${b.records})`;
  const shown =
    batches.length <= 12
      ? batches.map(s).join(', ')
      : `${batches.slice(0, 4).map(s).join(', ')}, … ${batches.slice(-4).map(s).join(', ')}`;
  return `\`syncPages\` scheduled → closed per batch of pages, in order, s (records): ${shown}.`;
}

/** The deletion check of a sync: its `completeSyncRun` (or, before the ledger, `markMissingDeletedAll`). */
function deletionCheckMs(run: SyncRun): number {
  const t = run.history.times.get('completeSyncRun') ?? run.history.times.get('markMissingDeletedAll');
  return t?.totalMs ?? Number.NaN;
}

const writtenOf = (run: SyncRun) => Object.values(run.result.totals).reduce((n, t) => n + t.written, 0);

/** The first sync, then the same data again: what a re-sync writes, how long it takes, and its deletion check. */
function resyncTable(r: Results): string {
  const row = (label: string, run: SyncRun, others: number) => [
    label,
    String(run.records),
    seconds(run.timed),
    String(writtenOf(run)),
    run === r.sync ? '1' : `**${ratioText(run.timed.ms / r.sync.timed.ms)}**`,
    fixed(deletionCheckMs(run) / 1000, 2),
    String(others),
  ];
  return markdownTable(
    [
      'syncs of the first account',
      'records',
      'seconds',
      'records written',
      '× the first sync’s time',
      'deletion check s',
      'other accounts’ records stored',
    ],
    [
      row('first sync (the throughput row above)', r.sync, 0),
      row('re-sync, nothing changed at the provider', r.resync, 0),
      ...(r.resyncAfterOthers && r.memoryRun
        ? [row('re-sync, nothing changed, after the memory sync', r.resyncAfterOthers, r.memoryRun.records)]
        : []),
    ],
  );
}

/**
 * Where, at the measured growth, one page takes longer than the sync activity may run without a heartbeat
 * (or at all): past that point Temporal retries the page while the first attempt is still writing.
 */
function pageLimitLine(growth: { baseMs: number; perThousandStoredMs: number }, pageSize: number): string {
  const options: ActivityOptions = activityOptions.sync;
  const limits = [
    ...(options.heartbeatTimeout !== undefined
      ? [{ what: 'heartbeat timeout', ms: msToNumber(options.heartbeatTimeout) }]
      : []),
    ...(options.startToCloseTimeout !== undefined
      ? [{ what: 'start-to-close timeout', ms: msToNumber(options.startToCloseTimeout) }]
      : []),
  ].sort((a, b) => a.ms - b.ms);
  const limit = limits[0];
  // A slope under 1 % of the empty-collection cost per 1000 stored is the fit's noise, not growth.
  if (!limit || !(growth.perThousandStoredMs > 0.01 * Math.max(growth.baseMs, 0))) return '';
  const stored = ((limit.ms / pageSize - growth.baseMs) / growth.perThousandStoredMs) * 1000;
  return (
    `\nAt the sync pages' growth, one page of ${pageSize} takes longer than the sync activity's ${fixed(limit.ms / 1000, 0)} s ${limit.what} once about ` +
    `${Math.max(0, Math.round(stored / 100) * 100)} records are stored (all accounts together); past that the page is retried while the attempt it replaces is still writing.`
  );
}

function renderSection(r: Results, tables: string, stack: BenchStack): string {
  const m = machineSummary();
  const o = r.opts;
  const raw = rawBaseline(r);
  const ratio = rate(r.sync.timed) / rate(raw);
  const flags = process.argv.slice(3);
  const pages = Math.ceil(o.records / o.pageSize);
  const share = (t: Timed) => `${fixed((100 * t.ms) / r.sync.timed.ms, 0)} %`;
  const upsertGrowth = costGrowth(r.upsert.batches).perThousandStoredMs;
  const insertGrowth = costGrowth(r.insertBefore.batches).perThousandStoredMs;
  // Said only when the run shows it: a fixed write path would make this sentence wrong.
  const growthNote =
    upsertGrowth > 0.001 && upsertGrowth > 10 * Math.max(insertGrowth, 0)
      ? `On ${stack.versions.mongo.split(' ')[0]} an upsert that inserts a new document costs more the more documents the collection holds ` +
        `(+${fixed(upsertGrowth, 3)} ms per record for every 1000 stored, against ${fixed(insertGrowth, 3)} for \`insertMany\`): ` +
        'a sync from empty is quadratic in its size, so the ratio falls as `--records` grows. '
      : '';
  return `## sync

\`npm run bench -- sync${flags.length ? ` ${flags.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fixed(r.elapsedS, 0)} s in all.

- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; 1-minute load average ${fixed(r.load[0], 2)} before, ${fixed(r.load[1], 2)} after
- Temporal: ${stack.versions.temporalCli}, dev server in memory; MongoDB: ${stack.versions.mongo}; SecretVault: the embedded keyring
- The CRA workers run as their own process (\`workers/main.ts\`, the stack's environment); the bench process holds the
  API (real HTTP on 127.0.0.1), the sandbox provider serving the data, and the raw driver writes; the Temporal dev
  server and ${stack.versions.mongo.split(' ')[0]} run as separate processes on the same machine
- Parameters: ${o.records} GitHub repositories (other kinds empty), pages of ${o.pageSize} (\`SYNC_PAGE_SIZE\`; ${pages} pages,
  ${r.activities.runs} workflow run${r.activities.runs > 1 ? 's' : ''}); raw writes in batches of ${o.pageSize};
  ${r.memoryRun ? `memory sync of ${r.memoryRun.records} records for a second account, onto the first account's records; then the first account's re-sync again` : 'no memory sync (`--memory-records 0`)'}
- Indexes: the raw writes' collections had ${list(r.indexes.raw)}; \`provider_records\` had ${list(r.indexes.afterSync)} after the sync

${tables}
**What the ratio means.** *Sync / raw* ${ratioText(ratio)}: the records per second a whole sync imports, as a fraction of
what plain \`insertMany\` writes of the very same documents (same hash, MAC and sealed content, computed beforehand) into a fresh
collection with the same indexes, on the same server in the same run (the mean of a run before and one after the
sync). 1.0 would mean CRA imports as fast as the database accepts inserts; the gap is everything a sync does that a
bulk insert does not: reading the provider's pages over HTTP with the connection's token (and asking the token
custodian for a fresh one per batch, a Temporal update), hashing every record, signing its origin through the
SecretVault and sealing its content with the account's key, comparing each page with the last complete run's
in the sync ledger and writing it there, and Temporal's scheduling of one activity per batch of pages.
**A re-sync** with nothing changed asks GitHub for every page with its \`ETag\` (\`If-None-Match\`, several at once) and
writes nothing: each page is answered 304 and carried over from the ledger. Its deletion check reads no page when no
page dropped a record, so it costs the same with another account's records stored. **Where the time went:** timed on
their own, fetching took ${share(r.fetch)}, the content hash, origin MAC and sealing ${share(r.sign)} and the raw inserts ${share(r.insertBefore)}
of the sync's time; the rest is the activity and workflow machinery.
${growthNote}${sealingNote(r)}Compare ratios between runs with the same \`--records\` and \`--page-size\`, not the records per second.
`;
}

function sealingNote(r: Results): string {
  if (!r.sealing) return '';
  const f = sealingFigures(r.sync.timed, r.sealing);
  return (
    `\n**What sealing costs.** Record content is sealed with the account's data key and there is no switch to turn that off, so ` +
    `the part of a sync it touches is measured both ways instead: the page write path after the fetch (build the documents ` +
    `with hash, origin and MAC, seal the content or keep it in clear, bulk \`replaceOne\` upserts into the real database, ` +
    `fresh collections with \`provider_records\`' indexes) over the same pages, the two ways taking turns page by page, ${r.sealing.sealed.length} rounds. ` +
    `*Sealed / clear* ${ratioText(f.ratio)} (median of the page pairs ${ratioText(f.pageRatio)}): the write path's records/s with sealing as a fraction of without. ` +
    `Taking the extra time per record it showed (${fixed(f.extraMsPerRecord * 1000, 1)} µs) out of the whole sync above gives ` +
    `*sync with sealing / without* ${ratioText(f.syncRatio)}; the target is 0.90 or more (within 10 %). Everything else a sync does — the fetch, ` +
    `the token (one unwrap per page at most: the key is cached), Temporal — is the same either way.\n`
  );
}
