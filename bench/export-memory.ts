/**
 * `npm run bench -- export`: the export's worker memory. Two accounts get provider records inserted
 * directly, sealed and signed as the sync writes them (a small one and a 100 000-record one); each asks
 * for an export over HTTP, and the worker process (`workers/main.ts`) has its resident memory sampled
 * from the request until the archive is ready. Reported: the peak over the RSS just before the export, the
 * archive's size and the time. The archive streams, so the peak must not grow with the account: the ratio
 * of the large account's peak increase to the small one's is the figure to compare between machines.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { dataExports } from '../activities/exports/store.js';
import { contentHash, providerRecords, sealRecordData, signOrigin } from '../activities/records/store.js';
import { AccountKeys } from '../activities/secrets/account-keys.js';
import { accountIdForSubject } from '../domain/account-id.js';
import { recordIdFor, type ProviderRecordDocument, type RecordOrigin } from '../domain/records.js';
import { boolFlag, intFlag, rejectUnknown, type Flags } from './flags.js';
import { within } from './measure.js';
import { fixed, machineSummary, markdownTable, writeSection, benchmarksFile } from './report.js';
import { memoryStatus, watchMemory, type MemoryWindow } from './sync-memory.js';
import { decodingClient, startBenchStack, stopOnSignal, type BenchStack } from './stack.js';

const defaults = { records: 100_000, smallRecords: 10_000 } as const;

export const exportBench = {
  summary: 'worker peak memory of a data export (100 000 provider records) over its idle RSS, archive size and time',
  usage: [
    `             --records N              provider records of the large account (${defaults.records})`,
    `             --small-records S        provider records of the small account, the comparison (${defaults.smallRecords})`,
    '             --no-write               print the results only; leave BENCHMARKS.md alone',
  ].join('\n'),
  run: runExportBench,
};

interface Options {
  records: number;
  smallRecords: number;
  write: boolean;
}

function options(flags: Flags): Options {
  rejectUnknown(flags, ['records', 'small-records', 'no-write']);
  return {
    records: intFlag(flags, 'records', defaults.records, 1, 1_000_000),
    smallRecords: intFlag(flags, 'small-records', defaults.smallRecords, 1, 1_000_000),
    write: !boolFlag(flags, 'no-write'),
  };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const runId = randomBytes(3).toString('hex');
const mib = (kib: number) => fixed(kib / 1024, 0);
const insertBatch = 1000;
const exportTimeoutMs = 30 * 60_000;

/** A bench person: signed up over HTTP; their records are inserted directly, under one connection id. */
interface BenchAccount {
  accountId: string;
  token: string;
  username: string;
  connectionId: string;
}

async function signedUpAccount(stack: BenchStack, name: string): Promise<BenchAccount> {
  const subject = `bench|${runId}-${name}`;
  const username = `bench-${name}-${runId}`;
  const token = await stack.issuer.issue({ subject, email: `${username}@bench.example`, emailVerified: true });
  const res = await fetch(`${stack.live.baseUrl}/v1/signup`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      givenName: 'Ada',
      familyName: 'Lovelace',
      consents: [{ purpose: 'terms', version: '2024-01', granted: true }],
    }),
  });
  const body = (await res.json()) as { workflowId: string };
  if (res.status !== 202) throw new Error(`POST /v1/signup answered ${res.status}: ${JSON.stringify(body)}`);
  await within(120_000, `signup of ${subject}`, decodingClient(stack).workflow.getHandle(body.workflowId).result());
  return {
    accountId: accountIdForSubject(subject),
    token,
    username,
    connectionId: `bench-connection-${name}-${runId}`,
  };
}

/** A repository as the GitHub sandbox serves one: about 600 bytes of JSON. */
function repository(i: number, owner: string): Record<string, unknown> {
  return {
    id: 10_000_000 + i,
    name: `project-${i}`,
    full_name: `${owner}/project-${i}`,
    private: i % 7 === 0,
    description: `Repository ${i} of the export benchmark: a line of text like the ones people write about their code.`,
    html_url: `https://github.com/${owner}/project-${i}`,
    language: ['TypeScript', 'Go', 'Rust', 'Python'][i % 4],
    stargazers_count: (i * 37) % 1000,
    forks_count: (i * 13) % 100,
    topics: ['bench', `topic-${i % 50}`],
    default_branch: 'main',
    created_at: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
    updated_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
  };
}

/** Insert `count` records for the account, sealed with its data key and signed, as the sync's page writes them. */
async function insertRecords(stack: BenchStack, account: BenchAccount, count: number): Promise<number> {
  const keys = new AccountKeys(stack.vault);
  const key = await keys.keyFor(account.accountId);
  const started = performance.now();
  const fetchedAt = new Date().toISOString();
  const syncRunId = `bench-${runId}`;
  for (let from = 0; from < count; from += insertBatch) {
    const docs: ProviderRecordDocument[] = [];
    for (let i = from; i < Math.min(count, from + insertBatch); i++) {
      const data = repository(i, account.username);
      const externalId = String(data.id);
      const _id = recordIdFor(account.accountId, 'github', 'repositories', externalId);
      const origin: RecordOrigin = {
        provider: 'github',
        providerAccountId: `github:${account.username}`,
        connectionId: account.connectionId,
        syncRunId,
        fetchedAt,
        sourceUrl: `https://api.github.com/users/${account.username}/repos`,
        contentHash: contentHash(data),
      };
      docs.push({
        _id,
        accountId: account.accountId,
        provider: 'github',
        kind: 'repositories',
        externalId,
        connectionId: account.connectionId,
        sealedData: sealRecordData(key, _id, data),
        origin,
        originMac: await signOrigin(stack.vault, {
          _id,
          accountId: account.accountId,
          kind: 'repositories',
          externalId,
          origin,
        }),
        status: 'active',
        lastSeenRunId: syncRunId,
        updatedAt: fetchedAt,
      });
    }
    await providerRecords(stack.db).insertMany(docs, { ordered: false });
  }
  return performance.now() - started;
}

interface ExportRun {
  records: number;
  insertMs: number;
  /** The worker's RSS right before the request. */
  baselineKiB: number;
  memory: MemoryWindow;
  ms: number;
  archiveBytes: number;
  /** The JSON Lines inside, uncompressed: what an export held in memory would have to hold. */
  contentBytes: number;
}

async function timedExport(stack: BenchStack, account: BenchAccount, records: number): Promise<ExportRun> {
  log(`inserting ${records} sealed, signed records for ${account.accountId} …`);
  const insertMs = await insertRecords(stack, account, records);
  // Let the worker settle (its GC, the sync's leftovers) before the baseline is read.
  await new Promise((r) => setTimeout(r, 3000));
  const pid = stack.workerProcess!.pid;
  const baselineKiB = memoryStatus(pid).rssKiB;
  const watch = watchMemory(pid, 50);
  const started = performance.now();
  try {
    const res = await fetch(`${stack.live.baseUrl}/v1/me/exports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${account.token}` },
    });
    const body = (await res.json()) as { exportId: string; workflowId: string };
    if (res.status !== 202) throw new Error(`POST /v1/me/exports answered ${res.status}: ${JSON.stringify(body)}`);
    const exports = dataExports(stack.db);
    const doc = await within(
      exportTimeoutMs,
      `the export of ${records} records`,
      (async () => {
        for (;;) {
          const d = await exports.findOne({ _id: body.exportId });
          if (d?.status === 'ready') return d;
          if (d?.status === 'failed') throw new Error(`the export failed: ${d.detail ?? ''}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      })(),
    );
    const ms = performance.now() - started;
    const memory = watch.stop();
    if (doc.progress.recordsWritten !== records)
      throw new Error(`the archive holds ${doc.progress.recordsWritten} records, not ${records}`);
    const archiveBytes = doc.archive?.bytes ?? 0;
    const contentBytes = (doc.archive?.files ?? []).reduce((n, f) => n + f.bytes, 0);
    return { records, insertMs, baselineKiB, memory, ms, archiveBytes, contentBytes };
  } catch (err) {
    watch.stop();
    throw err;
  }
}

function renderTables(runs: ExportRun[]): string {
  return markdownTable(
    [
      'account',
      'worker RSS before (MiB)',
      'peak (MiB)',
      'peak over before (MiB)',
      'JSON in the archive (MiB)',
      'zip (MiB)',
      'time (s)',
      'records/s',
    ],
    runs.map((r) => [
      `${r.records} records`,
      mib(r.baselineKiB),
      mib(r.memory.peakKiB),
      mib(r.memory.peakKiB - r.baselineKiB),
      fixed(r.contentBytes / 2 ** 20, 0),
      fixed(r.archiveBytes / 2 ** 20, 1),
      fixed(r.ms / 1000, 1),
      fixed((r.records * 1000) / r.ms, 0),
    ]),
  );
}

function renderSection(runs: [ExportRun, ExportRun], tables: string, stack: BenchStack): string {
  const [small, large] = runs;
  const growth = (large.memory.peakKiB - large.baselineKiB) / Math.max(1, small.memory.peakKiB - small.baselineKiB);
  const m = machineSummary();
  return `## export

\`npm run bench -- export\` — ${new Date().toISOString().slice(0, 10)}, ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.os};
Temporal CLI ${stack.versions.temporalCli}; ${stack.versions.mongo}.

${tables}

- **Ratio: the ${large.records}-record account's peak increase is ${fixed(growth, 2)}× the ${small.records}-record one's**, for
  ${fixed(large.records / small.records, 0)}× the records and ${fixed(large.contentBytes / Math.max(1, small.contentBytes), 1)}× the JSON; the ${large.records}-record peak increase is
  ${fixed(((large.memory.peakKiB - large.baselineKiB) * 1024 * 100) / Math.max(1, large.contentBytes), 1)} % of the JSON the archive holds.
- The worker is its own process (\`workers/main.ts\`, the stack's environment); its RSS is read from
  \`/proc/<pid>/status\` every 50 ms from the request until the export is \`ready\`${large.memory.kernelPeak ? ', and the kernel\u2019s own peak (`VmHWM`, reset at the start) is included' : ' (the kernel refused the `VmHWM` reset: polled samples only)'}.
- Records are inserted directly (sealed with the account's data key and signed, as the sync writes them),
  so the figure is the export's alone; the time includes the workflow, opening and verifying every record,
  the zip and the GridFS upload (chunks of 255 KiB into the MongoDB-compatible server).
- Records are read with one unsorted cursor. The first runs sorted it by \`_id\`: FerretDB 1.24 on SQLite sorts
  in memory, so the server grew past 8 GiB and the export of 100 000 records fell to about 40 records/s before
  it was stopped (a keyset page of 1000 by \`_id\` took 13–18 s at 110 000 documents). Unsorted, the same
  cursor reads 100 000 records in about 15 s.
`;
}

async function runExportBench(flags: Flags): Promise<void> {
  const opts = options(flags);
  const loadBefore = loadavg()[0] ?? Number.NaN;
  log('starting Temporal, MongoDB, the API and a worker process …');
  const stack = await startBenchStack({ log, workers: 'process' });
  stopOnSignal(stack, log);
  try {
    const runs: ExportRun[] = [];
    for (const [name, records] of [
      ['small', opts.smallRecords],
      ['large', opts.records],
    ] as const) {
      const account = await signedUpAccount(stack, `export-${name}`);
      const run = await timedExport(stack, account, records);
      log(
        `${records} records: ${fixed(run.ms / 1000, 1)} s, worker ${mib(run.baselineKiB)} → peak ${mib(run.memory.peakKiB)} MiB, zip ${fixed(run.archiveBytes / 2 ** 20, 1)} MiB`,
      );
      runs.push(run);
    }
    const tables = renderTables(runs);
    process.stdout.write(
      `\n${tables}\n1-minute load average: ${fixed(loadBefore, 2)} before, ${fixed(loadavg()[0] ?? Number.NaN, 2)} after.\n`,
    );
    if (opts.write) {
      writeSection('export', renderSection(runs as [ExportRun, ExportRun], tables, stack));
      log(`results written to ${benchmarksFile}`);
    }
  } finally {
    await stack.stop();
  }
}
