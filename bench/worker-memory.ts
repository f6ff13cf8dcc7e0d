/**
 * `npm run bench -- worker-memory`: the resident memory of today's development worker (`node --import tsx
 * workers/main.ts`, which bundles the workflows with webpack at start) against the production worker
 * (`npm run build`'s `workers/main.js` on plain `node`, loading the prebuilt bundle through `WORKFLOW_BUNDLE`).
 *
 * One run: build once into `.data/bench-dist` (inside the repo, so `node_modules` resolve), start one stack
 * (Temporal, MongoDB, the sandbox provider, the API), then for each worker in turn: start it as its own
 * process, read its RSS once it logs `worker ready` and has settled, link a fresh bench person's GitHub
 * and sync N repositories through `POST /v1/me/providers/github/sync`, with the worker's peak RSS over that
 * sync (`VmHWM` reset at its start). The built worker's sync writes onto the tsx worker's records (deleting
 * them first takes FerretDB minutes; the worker holds none of them in memory). Targets (issue 14): built worker ≤ 200 MiB when ready,
 * ≤ 250 MiB at its peak over a 100 000-record sync.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { providerRecords } from '../activities/records/store.js';
import { freePort } from '../deploy/local/services.js';
import { projectRoot } from '../deploy/local/tools.js';
import { syncStatusQuery, type SyncResult } from '../workflows/sync/messages.js';
import { boolFlag, intFlag, rejectUnknown, UsageError, type Flags } from './flags.js';
import { within } from './measure.js';
import { benchmarksFile, fixed, machineSummary, markdownTable, writeSection } from './report.js';
import { linkedAccount, requestSync, sandboxOf } from './sync-account.js';
import { memoryStatus, watchMemory, type MemoryStatus, type MemoryWindow } from './sync-memory.js';
import {
  decodingClient,
  startBenchStack,
  startWorkerProcess,
  stopOnSignal,
  type BenchStack,
  type BenchWorkerProcess,
} from './stack.js';

const defaults = { records: 100_000, pageSize: 1000, settleSeconds: 5 } as const;
/** Issue 14's targets for the built worker, MiB. */
const targets = { readyMiB: 200, peakMiB: 250 } as const;
const provider = 'github';
const kind = 'repositories';

/** The worker's node options in the image (`Dockerfile`, `deploy/k8s/worker.yaml`): a capped V8 heap. */
const imageNodeOptions = '--max-old-space-size=128 --max-semi-space-size=2';

export const workerMemoryBench = {
  summary: 'RSS of the built worker (plain node, prebuilt bundle) vs the tsx worker: when ready and over a big sync',
  usage: [
    `             --records N              repositories each worker syncs, pages of ${defaults.pageSize} (${defaults.records})`,
    `             --settle S               seconds to wait after \`worker ready\` before reading its RSS (${defaults.settleSeconds})`,
    `             --node-options O         NODE_OPTIONS for the built worker only (the image's heap cap: ${imageNodeOptions}; none: --node-options=none)`,
    '             --no-write               print the results only; leave BENCHMARKS.md alone',
  ].join('\n'),
  run: runWorkerMemoryBench,
};

interface Options {
  records: number;
  settleSeconds: number;
  /** NODE_OPTIONS of the built worker: by default the heap cap the image's worker command runs with. */
  nodeOptions?: string;
  write: boolean;
}

function options(flags: Flags): Options {
  rejectUnknown(flags, ['records', 'settle', 'node-options', 'no-write']);
  const nodeOptions = flags.get('node-options');
  if (nodeOptions === true)
    throw new UsageError('--node-options takes the options, e.g. --node-options=--max-old-space-size=256');
  const chosen = typeof nodeOptions === 'string' ? nodeOptions : imageNodeOptions;
  return {
    ...(chosen !== 'none' ? { nodeOptions: chosen } : {}),
    records: intFlag(flags, 'records', defaults.records, 1, 999_999),
    settleSeconds: intFlag(flags, 'settle', defaults.settleSeconds, 0, 120),
    write: !boolFlag(flags, 'no-write'),
  };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const runId = randomBytes(3).toString('hex');
const mib = (kib: number) => kib / 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `npm run build -- --out-dir <dir>`, in a child process (tsc, then webpack for the workflow bundle). */
function build(outDir: string): { seconds: number; bundleBytes: number } {
  const started = performance.now();
  const out = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'deploy', 'build.ts'), '--out-dir', outDir],
    {
      cwd: projectRoot,
      encoding: 'utf8',
    },
  );
  if (out.status !== 0) throw new Error(`npm run build failed (${out.signal ?? `exit ${out.status}`}):\n${out.stderr}`);
  return {
    seconds: (performance.now() - started) / 1000,
    bundleBytes: statSync(join(outDir, 'workflow-bundle.js')).size,
  };
}

interface WorkerRun {
  label: string;
  command: string;
  /** RSS after `worker ready` and the settle; `peakKiB` is `VmHWM` since the process started (bundling included). */
  ready: MemoryStatus;
  /** From `spawn` to `worker ready`. */
  startSeconds: number;
  sync: { seconds: number; memory: MemoryWindow };
}

/** Request a sync of `records` repositories for a fresh person and wait for it, watching the worker's memory. */
async function measuredSync(stack: BenchStack, worker: BenchWorkerProcess, tag: string, records: number) {
  const account = await linkedAccount(stack, `bench|${runId}-${tag}`, `bench-${tag}-${runId}`);
  sandboxOf(stack).data.setCount(provider, account.username, kind, records);
  const watch = watchMemory(worker.pid);
  const started = performance.now();
  let memory: MemoryWindow;
  try {
    const workflowId = await requestSync(stack, account);
    const handle = decodingClient(stack).workflow.getHandle(workflowId);
    const progress = setInterval(() => {
      void handle
        .query(syncStatusQuery)
        .then((s) => log(`  … ${fixed((performance.now() - started) / 1000, 0)} s: ${s.checkpoint.pages} pages done`))
        .catch(() => undefined);
    }, 15_000);
    try {
      const result = (await within(
        Math.max(600_000, records * 20),
        `the sync of ${records} records`,
        handle.result(),
      )) as SyncResult;
      const fetched = result.totals[kind]?.fetched;
      if (fetched !== records) throw new Error(`the sync fetched ${String(fetched)} ${kind}, not ${records}`);
    } finally {
      clearInterval(progress);
    }
  } finally {
    memory = watch.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const stored = await providerRecords(stack.db).countDocuments({
    accountId: account.accountId,
    kind,
    status: 'active',
  });
  if (stored !== records) throw new Error(`the sync left ${stored} active ${kind}, not ${records}`);
  return { account, seconds, memory };
}

async function measureWorker(
  stack: BenchStack,
  opts: Options,
  label: string,
  command: string,
  start: () => Promise<{ worker: BenchWorkerProcess; startSeconds: number }>,
  tag: string,
): Promise<WorkerRun> {
  log(`${label}: starting \`${command}\` …`);
  const { worker, startSeconds } = await start();
  try {
    await sleep(opts.settleSeconds * 1000);
    const ready = memoryStatus(worker.pid);
    log(
      `${label}: ready in ${fixed(startSeconds)} s, ${fixed(mib(ready.rssKiB), 0)} MiB resident (peak so far ${fixed(mib(ready.peakKiB), 0)})`,
    );
    log(`${label}: syncing ${opts.records} ${kind} …`);
    const { seconds, memory } = await measuredSync(stack, worker, tag, opts.records);
    log(`${label}: synced in ${fixed(seconds)} s, peak ${fixed(mib(memory.peakKiB), 0)} MiB`);
    return { label, command, ready, startSeconds, sync: { seconds, memory } };
  } finally {
    await worker.stop();
  }
}

async function runWorkerMemoryBench(flags: Flags): Promise<void> {
  const opts = options(flags);
  const began = performance.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const outDir = join(projectRoot, '.data', 'bench-dist');
  log(`building into ${outDir} (npm run build) …`);
  const built = build(outDir);
  log(`built in ${fixed(built.seconds)} s; workflow bundle ${fixed(built.bundleBytes / 2 ** 20, 1)} MiB`);

  log('starting Temporal, MongoDB, the sandbox provider and the API …');
  const stack = await startBenchStack({
    log,
    sandbox: true,
    workers: 'process',
    env: { SYNC_PAGE_SIZE: String(defaults.pageSize) },
  });
  const release = stopOnSignal(stack, log);
  try {
    // The stack's own worker process is today's: `node --import tsx workers/main.ts`, bundling at start.
    const tsx = await measureWorker(
      stack,
      opts,
      'tsx worker',
      'node --import tsx workers/main.ts',
      // Already running: the stack waited for its `worker ready` (its start time is not the worker's alone).
      async () => ({ worker: stack.workerProcess!, startSeconds: Number.NaN }),
      'tsx',
    );
    const bundle = join(outDir, 'workflow-bundle.js');
    const builtRun = await measureWorker(
      stack,
      opts,
      'built worker',
      `${opts.nodeOptions ? `NODE_OPTIONS='${opts.nodeOptions}' ` : ''}WORKFLOW_BUNDLE=${relative(bundle)} node ${relative(join(outDir, 'workers', 'main.js'))}`,
      async () => {
        const started = performance.now();
        const worker = await startWorkerProcess(
          {
            ...stack.env,
            METRICS_PORT: String(await freePort()),
            WORKFLOW_BUNDLE: bundle,
            ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
          },
          log,
          [join(outDir, 'workers', 'main.js')],
        );
        return { worker, startSeconds: (performance.now() - started) / 1000 };
      },
      'built',
    );
    const results: Results = {
      opts,
      build: built,
      runs: [tsx, builtRun],
      elapsedS: (performance.now() - began) / 1000,
      load: [loadBefore, loadavg()[0] ?? Number.NaN],
    };
    const tables = renderTables(results);
    process.stdout.write(`\n${tables}\n`);
    if (opts.write) {
      writeSection('worker-memory', renderSection(results, tables, stack));
      log(`results written to ${benchmarksFile}`);
    }
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  } finally {
    release();
    await stack.stop();
    rmSync(outDir, { recursive: true, force: true });
  }
}

const relative = (path: string) => path.slice(projectRoot.length).replace(/^\//, '');

interface Results {
  opts: Options;
  build: { seconds: number; bundleBytes: number };
  runs: [WorkerRun, WorkerRun];
  elapsedS: number;
  load: [number, number];
}

const met = (valueMiB: number, targetMiB: number) =>
  valueMiB <= targetMiB ? `met (≤ ${targetMiB})` : `**missed** (> ${targetMiB})`;

export function renderTables(r: Results): string {
  const [tsx, built] = r.runs;
  const ratio = (a: number, b: number) => fixed(a / b, 2);
  const row = (run: WorkerRun) => [
    `${run.label}: \`${run.command}\``,
    fixed(mib(run.ready.rssKiB), 0),
    fixed(mib(run.ready.peakKiB), 0),
    String(r.opts.records),
    fixed(run.sync.seconds, 1),
    `**${fixed(mib(run.sync.memory.peakKiB), 0)}**`,
    fixed(mib(run.sync.memory.endKiB), 0),
  ];
  const table = markdownTable(
    [
      'worker process',
      'RSS when ready MiB',
      'peak up to ready MiB',
      'records synced',
      'sync s',
      'peak RSS over the sync MiB',
      'RSS after MiB',
    ],
    [
      row(tsx),
      row(built),
      [
        '**built / tsx**',
        `**${ratio(built.ready.rssKiB, tsx.ready.rssKiB)}**`,
        ratio(built.ready.peakKiB, tsx.ready.peakKiB),
        '',
        ratio(built.sync.seconds, tsx.sync.seconds),
        `**${ratio(built.sync.memory.peakKiB, tsx.sync.memory.peakKiB)}**`,
        ratio(built.sync.memory.endKiB, tsx.sync.memory.endKiB),
      ],
    ],
  );
  const goals = markdownTable(
    ['target (issue 14), built worker', 'measured MiB', 'result'],
    [
      ['RSS when ready ≤ 200 MiB', fixed(mib(built.ready.rssKiB), 0), met(mib(built.ready.rssKiB), targets.readyMiB)],
      [
        `peak over a ${r.opts.records}-record sync ≤ 250 MiB`,
        fixed(mib(built.sync.memory.peakKiB), 0),
        met(mib(built.sync.memory.peakKiB), targets.peakMiB),
      ],
    ],
  );
  return `${table}\n\n${goals}\n`;
}

function renderSection(r: Results, tables: string, stack: BenchStack): string {
  const m = machineSummary();
  const flags = process.argv.slice(3);
  const exact = r.runs.every((run) => run.sync.memory.kernelPeak)
    ? 'Peaks over a sync are the kernel’s `VmHWM`, reset when the sync starts (exact), and never below the RSS polled every 100 ms.'
    : 'Peaks over a sync are the highest `VmRSS` polled every 100 ms (the kernel refused to reset `VmHWM`): shorter spikes can be missed.';
  return `## worker-memory

\`npm run bench -- worker-memory${flags.length ? ` ${flags.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fixed(r.elapsedS, 0)} s in all.

- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; 1-minute load average ${fixed(r.load[0], 2)} before, ${fixed(r.load[1], 2)} after
- Temporal: ${stack.versions.temporalCli}, dev server in memory; MongoDB: ${stack.versions.mongo}; SecretVault: the embedded keyring
- Built once with \`npm run build -- --out-dir .data/bench-dist\` (${fixed(r.build.seconds, 0)} s; workflow bundle ${fixed(r.build.bundleBytes / 2 ** 20, 1)} MiB), removed after the run
- Each worker in turn runs as its own process against the same stack (API, sandbox provider, Temporal dev server,
  ${stack.versions.mongo.split(' ')[0]}), with the stack's environment; RSS when ready is read ${r.opts.settleSeconds} s after it logs \`worker ready\`
- Then a fresh bench person links GitHub through the sandbox and \`POST …/github/sync\` imports ${r.opts.records} repositories
  (pages of ${defaults.pageSize}); the built worker's sync writes onto the tsx worker's ${r.opts.records} records (the worker holds none of them in memory)

${tables}
${exact} *Peak up to ready* is \`VmHWM\` since the process started: for the tsx worker it includes webpack bundling
the workflows, which the built worker never runs.
`;
}
