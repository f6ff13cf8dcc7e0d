/**
 * `npm run bench -- signup`: how much CRA's API costs on top of Temporal for signups.
 *
 *  1. Start throughput: N signups through `POST /v1/signup` (real HTTP, token check, validation) against
 *     N of the same signal-with-start made straight from `@temporalio/client` — same workflow, arguments,
 *     concurrency and run. Both go to task queues no worker polls, so only the start path is measured.
 *  2. End-to-end latency: request → workflow result for M signups against M one-activity no-op workflows,
 *     at concurrency 1 and C, with the real workers running them.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { accountIdForSubject } from '../domain/account-id.js';
import { collections } from '../domain/collections.js';
import { workflowIds } from '../domain/ids.js';
import { searchAttributesFor, taskQueueNames } from '../temporal.config.js';
import {
  signupDetailsSignal,
  signupWorkflowType,
  type SignupDetails,
  type SignupResult,
  type SignupWorkflow,
} from '../workflows/signup/messages.js';
import { activitySpans } from '../test/support/history.js';
import { boolFlag, intFlag, intListFlag, rejectUnknown, type Flags } from './flags.js';
import { percentile, perSecond, runPool, within, type Batch } from './measure.js';
import { benchmarksFile, fixed, machineSummary, markdownTable, writeSection } from './report.js';
import { decodingClient, startBenchStack, stopOnSignal, type BenchApi, type BenchStack } from './stack.js';
import type { noopWorkflow } from './workflows.js';

const defaults = { starts: 150, concurrency: 8, rounds: 6, latency: 20, warmup: 100 } as const;

export const signupBench = {
  summary: 'POST /v1/signup vs the raw Temporal client (start rate), signup vs a no-op workflow (latency)',
  usage: [
    `             --starts N               signups started per path per round (${defaults.starts})`,
    `             --concurrency C          requests in flight while starting (${defaults.concurrency})`,
    `             --rounds R               start rounds; the order of the two paths alternates (${defaults.rounds})`,
    `             --latency M              workflows per kind per latency level (${defaults.latency})`,
    `             --latency-concurrency L  comma-separated latency levels (1,C)`,
    `             --warmup W               warm-up starts per path and no-op workflows, not measured (${defaults.warmup})`,
    '             --no-write               print the results only; leave BENCHMARKS.md alone',
  ].join('\n'),
  run: runSignupBench,
};

interface Options {
  starts: number;
  concurrency: number;
  rounds: number;
  latency: number;
  latencyConcurrency: number[];
  warmup: number;
  write: boolean;
}

function options(flags: Flags): Options {
  rejectUnknown(flags, ['starts', 'concurrency', 'rounds', 'latency', 'latency-concurrency', 'warmup', 'no-write']);
  const concurrency = intFlag(flags, 'concurrency', defaults.concurrency, 1, 256);
  return {
    starts: intFlag(flags, 'starts', defaults.starts),
    concurrency,
    rounds: intFlag(flags, 'rounds', defaults.rounds, 1, 20),
    latency: intFlag(flags, 'latency', defaults.latency),
    latencyConcurrency: intListFlag(flags, 'latency-concurrency', concurrency === 1 ? [1] : [1, concurrency], 1, 256),
    warmup: intFlag(flags, 'warmup', defaults.warmup, 0),
    write: !boolFlag(flags, 'no-write'),
  };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** What a person sends to `POST /v1/signup`. */
const signupBody = {
  givenName: 'Ada',
  familyName: 'Lovelace',
  consents: [
    { purpose: 'terms', version: '2024-01', granted: true },
    { purpose: 'marketing:email', version: '1', granted: false },
  ],
};

/** One signup to make: its subject, and the token the HTTP path sends (issued before the clock starts). */
interface Signup {
  subject: string;
  email: string;
  token?: string;
}

/** The details the API builds from the token and the body (api/routes/signup.ts), for the raw path. */
function detailsOf(s: Signup): SignupDetails {
  return { source: 'api', requestedBy: s.subject, ...signupBody, email: s.email, emailVerified: true };
}

type Path = 'http' | 'raw';
const pathLabels: Record<Path, string> = {
  http: 'POST /v1/signup (HTTP, API)',
  raw: 'raw Temporal client (signalWithStart)',
};

/** Starts the signup workflow one way or the other; resolves with its id once Temporal has accepted it. */
type Starter = (s: Signup) => Promise<string>;

function starters(stack: BenchStack, api: BenchApi): Record<Path, Starter> {
  const accountsQueue = taskQueueNames(api.config.temporal.taskQueuePrefix).accounts;
  return {
    async http(s) {
      const res = await fetch(`${api.baseUrl}/v1/signup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(signupBody),
      });
      const text = await res.text();
      if (res.status !== 202) throw new Error(`POST /v1/signup answered ${res.status}: ${text.slice(0, 300)}`);
      return (JSON.parse(text) as { workflowId: string }).workflowId;
    },
    // The baseline: the same call api/processes/signup.ts makes, spelt out here so that anything the API
    // adds to its start path later shows up in the ratio instead of in both sides.
    async raw(s) {
      const accountId = accountIdForSubject(s.subject);
      const workflowId = workflowIds.signup(s.subject);
      await stack.temporal.workflow.signalWithStart<SignupWorkflow, [SignupDetails]>(signupWorkflowType, {
        workflowId,
        taskQueue: accountsQueue,
        args: [
          {
            subject: s.subject,
            accountId,
            ...(api.config.signup.detailsWait ? { detailsWait: api.config.signup.detailsWait } : {}),
          },
        ],
        signal: signupDetailsSignal,
        signalArgs: [detailsOf(s)],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: searchAttributesFor('signup', { accountId, stage: 'waiting_for_details' }),
      });
      return workflowId;
    },
  };
}

const runId = randomBytes(3).toString('hex');

/** Fresh subjects (one workflow each), with tokens when the HTTP path will use them. */
async function signups(stack: BenchStack, tag: string, count: number, withTokens: boolean): Promise<Signup[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const subject = `bench|${runId}-${tag}-${i}`;
      const email = `${runId}-${tag}-${i}@bench.example`;
      return {
        subject,
        email,
        ...(withTokens ? { token: await stack.issuer.issue({ subject, email, emailVerified: true }) } : {}),
      };
    }),
  );
}

async function awaitSignup(stack: BenchStack, workflowId: string, subject: string): Promise<void> {
  const result = await decodingClient(stack).workflow.getHandle<SignupWorkflow>(workflowId).result();
  if ((result as SignupResult).accountId !== accountIdForSubject(subject))
    throw new Error(`${workflowId} returned another account id`);
}

/** Bounds every end-to-end batch: a stuck workflow ends the run with a message instead of hanging it. */
const batchTimeoutMs = 180_000;

/** Start `count` signups on one path against the unpolled queues; they stay waiting, nothing runs them. */
async function startBatch(
  stack: BenchStack,
  path: Path,
  tag: string,
  count: number,
  concurrency: number,
): Promise<Batch> {
  const todo = await signups(stack, tag, count, path === 'http');
  const start = starters(stack, stack.unpolled)[path];
  return runPool(count, concurrency, async (i) => {
    await start(todo[i]!);
  });
}

/** Request → workflow result, per signup through the API; also the ids, to read their histories. */
async function signupLatency(
  stack: BenchStack,
  tag: string,
  count: number,
  concurrency: number,
): Promise<Batch & { workflowIds: string[] }> {
  const todo = await signups(stack, tag, count, true);
  const start = starters(stack, stack.live).http;
  const batch = await within(
    batchTimeoutMs,
    `signup latency at concurrency ${concurrency}`,
    runPool(count, concurrency, async (i) => {
      const s = todo[i]!;
      await awaitSignup(stack, await start(s), s.subject);
    }),
  );
  return { ...batch, workflowIds: todo.map((s) => workflowIds.signup(s.subject)) };
}

type ActivityTimes = Map<string, { count: number; totalMs: number }>;

/**
 * Scheduled → closed per activity type over finished signups, from their histories: it names the step
 * that grows when signups slow down (queueing and retries included, as a person waiting sees them).
 */
async function activityTimes(stack: BenchStack, ids: readonly string[]): Promise<ActivityTimes> {
  const times: ActivityTimes = new Map();
  for (const id of ids) {
    const events = (await stack.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
    for (const span of activitySpans(events)) {
      const entry = times.get(span.type) ?? { count: 0, totalMs: 0 };
      entry.count++;
      entry.totalMs += span.ms;
      times.set(span.type, entry);
    }
  }
  return times;
}

/** Start → result, per no-op workflow from the raw client. */
async function noopLatency(stack: BenchStack, tag: string, count: number, concurrency: number): Promise<Batch> {
  return within(
    batchTimeoutMs,
    `no-op latency at concurrency ${concurrency}`,
    runPool(count, concurrency, async (i) => {
      const handle = await stack.temporal.workflow.start<typeof noopWorkflow>('noopWorkflow', {
        workflowId: `noop/${runId}-${tag}-${i}`,
        taskQueue: stack.noopTaskQueue,
        args: [],
      });
      await handle.result();
    }),
  );
}

/** How many activities one signup runs, read from the history of one made through the API. */
async function activitiesPerSignup(stack: BenchStack): Promise<number> {
  const [s] = await signups(stack, 'probe', 1, true);
  const workflowId = await starters(stack, stack.live).http(s!);
  await awaitSignup(stack, workflowId, s!.subject);
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
}

interface Results {
  opts: Options;
  rounds: Array<Record<Path, Batch>>;
  latency: Array<{
    concurrency: number;
    noop: Batch;
    signup: Batch;
    auditEventsBefore: number;
    auditEventsAfter: number;
    activities: ActivityTimes;
  }>;
  activities: number;
  elapsedS: number;
  /** 1-minute load average before and after: other work on the machine skews every number. */
  load: [number, number];
}

async function runSignupBench(flags: Flags): Promise<void> {
  const opts = options(flags);
  const began = performance.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  log('starting Temporal, MongoDB, workers and API …');
  const stack = await startBenchStack({ log });
  const releaseSignals = stopOnSignal(stack, log);
  try {
    log(`stack up in ${fixed((performance.now() - began) / 1000)} s; API at ${stack.live.baseUrl}`);
    if (opts.warmup > 0) {
      // Few end-to-end signups: each one makes every later signup slower (see the audit note in the report).
      const e2e = Math.min(opts.warmup, 3);
      log(`warm-up: ${opts.warmup} starts per path, ${opts.warmup} no-op workflows, ${e2e} signups end to end`);
      await startBatch(stack, 'raw', 'warm-raw', opts.warmup, opts.concurrency);
      await startBatch(stack, 'http', 'warm-http', opts.warmup, opts.concurrency);
      await noopLatency(stack, 'warm', opts.warmup, opts.concurrency);
      await signupLatency(stack, 'warm', e2e, 1);
    }
    const activities = await activitiesPerSignup(stack);
    const auditEvents = () => stack.db.collection(collections.auditEvents).countDocuments();

    const rounds: Results['rounds'] = [];
    for (let r = 0; r < opts.rounds; r++) {
      // Alternating which path goes first cancels most of the drift between early and late batches.
      const order: Path[] = r % 2 === 0 ? ['raw', 'http'] : ['http', 'raw'];
      const round = {} as Record<Path, Batch>;
      for (const path of order) {
        round[path] = await startBatch(stack, path, `r${r}-${path}`, opts.starts, opts.concurrency);
        log(
          `round ${r + 1}/${opts.rounds} ${path.padEnd(4)}: ${fixed(perSecond(opts.starts, round[path].wallMs))} starts/s`,
        );
      }
      rounds.push(round);
    }

    const latency: Results['latency'] = [];
    for (const c of opts.latencyConcurrency) {
      const noop = await noopLatency(stack, `lat${c}`, opts.latency, c);
      const auditEventsBefore = await auditEvents();
      const signup = await signupLatency(stack, `lat${c}`, opts.latency, c);
      const auditEventsAfter = await auditEvents();
      log(
        `latency at concurrency ${c}: no-op p50 ${fixed(percentile(noop.latenciesMs, 50))} ms, signup p50 ${fixed(percentile(signup.latenciesMs, 50))} ms` +
          ` (audit log ${auditEventsBefore} → ${auditEventsAfter} events)`,
      );
      latency.push({
        concurrency: c,
        noop,
        signup,
        auditEventsBefore,
        auditEventsAfter,
        activities: await activityTimes(stack, signup.workflowIds),
      });
    }

    const results: Results = {
      opts,
      rounds,
      latency,
      activities,
      elapsedS: (performance.now() - began) / 1000,
      load: [loadBefore, loadavg()[0] ?? Number.NaN],
    };
    const tables = renderTables(results);
    process.stdout.write(
      `\n${tables}\n1-minute load average: ${fixed(results.load[0], 2)} before, ${fixed(results.load[1], 2)} after, on ${machineSummary().cores} cores.\n`,
    );
    if (opts.write) {
      writeSection('signup', renderSection(results, tables, stack));
      log(`results written to ${benchmarksFile}`);
    }
  } finally {
    releaseSignals();
    log('stopping …');
    await stack.stop();
  }
  log(`done in ${fixed((performance.now() - began) / 1000)} s`);
}

function combined(batches: Batch[]): { count: number; wallMs: number; latencies: number[] } {
  return {
    count: batches.reduce((n, b) => n + b.count, 0),
    wallMs: batches.reduce((n, b) => n + b.wallMs, 0),
    latencies: batches.flatMap((b) => b.latenciesMs),
  };
}

function startRates(results: Results) {
  const byPath = (path: Path) => {
    const all = combined(results.rounds.map((r) => r[path]));
    return { ...all, perSecond: perSecond(all.count, all.wallMs) };
  };
  const http = byPath('http');
  const raw = byPath('raw');
  const perRound = results.rounds.map(
    (r) => perSecond(r.http.count, r.http.wallMs) / perSecond(r.raw.count, r.raw.wallMs),
  );
  return { http, raw, ratio: http.perSecond / raw.perSecond, perRound, medianRound: percentile(perRound, 50) };
}

const ms = (samples: readonly number[], p: number) => fixed(percentile(samples, p));
const ratioOf = (a: readonly number[], b: readonly number[], p: number) => percentile(a, p) / percentile(b, p);

function renderTables(results: Results): string {
  const { http, raw, ratio, perRound, medianRound } = startRates(results);
  const c = String(results.opts.concurrency);
  const starts = markdownTable(
    ['start path (task queue nobody polls)', 'signups', 'concurrency', 'starts/s', 'start p50 ms', 'start p99 ms'],
    [
      [pathLabels.raw, String(raw.count), c, fixed(raw.perSecond), ms(raw.latencies, 50), ms(raw.latencies, 99)],
      [pathLabels.http, String(http.count), c, fixed(http.perSecond), ms(http.latencies, 50), ms(http.latencies, 99)],
      [
        '**ratio HTTP / raw**, all starts',
        '',
        '',
        `**${fixed(ratio, 2)}**`,
        fixed(ratioOf(http.latencies, raw.latencies, 50), 2),
        fixed(ratioOf(http.latencies, raw.latencies, 99), 2),
      ],
      ...(perRound.length > 1 ? [['ratio HTTP / raw, median of rounds', '', '', fixed(medianRound, 2), '', '']] : []),
    ],
  );
  const latencyRows = results.latency.flatMap(({ concurrency, noop, signup, auditEventsBefore, auditEventsAfter }) => [
    [
      String(concurrency),
      'no-op workflow, 1 activity (raw client)',
      String(noop.count),
      ms(noop.latenciesMs, 50),
      ms(noop.latenciesMs, 99),
      '',
    ],
    [
      String(concurrency),
      `signup via POST /v1/signup (${results.activities} activities)`,
      String(signup.count),
      ms(signup.latenciesMs, 50),
      ms(signup.latenciesMs, 99),
      `${auditEventsBefore} → ${auditEventsAfter}`,
    ],
    [
      String(concurrency),
      '**ratio signup / no-op**',
      '',
      `**${fixed(ratioOf(signup.latenciesMs, noop.latenciesMs, 50), 2)}**`,
      `**${fixed(ratioOf(signup.latenciesMs, noop.latenciesMs, 99), 2)}**`,
      '',
    ],
  ]);
  const latency = markdownTable(
    ['concurrency', 'request → workflow result', 'workflows', 'p50 ms', 'p99 ms', 'audit events'],
    latencyRows,
  );
  const types = [...new Set(results.latency.flatMap((l) => [...l.activities.keys()]))];
  const signupsAt = (l: Results['latency'][number]) => l.signup.count;
  const steps = markdownTable(
    [
      'signup activity (scheduled → closed)',
      'per signup',
      ...results.latency.map((l) => `mean ms at concurrency ${l.concurrency}`),
    ],
    types.map((type) => {
      const first = results.latency[0]?.activities.get(type);
      return [
        type,
        fixed((first?.count ?? 0) / (results.latency[0] ? signupsAt(results.latency[0]) : 1), 1),
        ...results.latency.map((l) => {
          const t = l.activities.get(type);
          return t ? fixed(t.totalMs / t.count) : '';
        }),
      ];
    }),
  );
  const rounds =
    perRound.length > 1
      ? `\nStart ratio HTTP / raw per round (path order alternating): ${perRound.map((r) => fixed(r, 2)).join(', ')}.\n`
      : '';
  return `${starts}\n${rounds}\n${latency}\n\n${steps}\n`;
}

function renderSection(results: Results, tables: string, stack: BenchStack): string {
  const m = machineSummary();
  const o = results.opts;
  const { ratio, perRound, medianRound } = startRates(results);
  const rows = results.latency.map(
    (l) => `${fixed(ratioOf(l.signup.latenciesMs, l.noop.latenciesMs, 50), 1)}× at concurrency ${l.concurrency}`,
  );
  const flags = process.argv.slice(3);
  return `## signup

\`npm run bench -- signup${flags.length ? ` ${flags.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fixed(results.elapsedS, 0)} s in all.

- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; 1-minute load average ${fixed(results.load[0], 2)} before, ${fixed(results.load[1], 2)} after
- Temporal: ${stack.versions.temporalCli}, dev server in memory; MongoDB: ${stack.versions.mongo}
- One Node process holds the CRA workers, the API (real HTTP on 127.0.0.1), the HTTP client and the raw
  Temporal client; the Temporal dev server and ${stack.versions.mongo.split(' ')[0]} run as separate processes on the same machine
- Parameters: ${o.starts} starts per path per round, ${o.rounds} round${o.rounds > 1 ? 's' : ''}, start concurrency ${o.concurrency};
  ${o.latency} workflows per kind at latency concurrency ${o.latencyConcurrency.join(' and ')}; ${o.warmup} warm-up starts per path

${tables}
**What the ratios mean.** *Start ratio* ${fixed(ratio, 2)} (all starts together; median of the paired rounds ${fixed(medianRound, 2)},
range ${fixed(Math.min(...perRound), 2)}–${fixed(Math.max(...perRound), 2)}): the signups per second \`POST /v1/signup\` starts, as a
fraction of what the raw Temporal client starts at the same concurrency. Both make the same
\`signalWithStart\` of the same \`signup\` workflow with the same arguments, on task queues no worker polls,
so the difference is only what the API adds — HTTP on both ends, RS256 token verification, body
validation, the request log line, the erasure check, the new account's data key and the seal of the
person's details with it, the payload encryption. 1.0 means that cost is lost next to Temporal's own start; well below
1.0 would mean the API, not Temporal, limits how fast people can sign up. *Latency ratios*
(p50 ${rows.join(', ')}): the time from the HTTP request to the workflow's result for a whole signup
(${results.activities} activities against MongoDB and the identity directory) over the same for the cheapest
workflow Temporal runs here (one no-op activity, started from the raw client). That is the price of the
signup's own steps on top of Temporal's floor; it rising with concurrency means signups slow each other
down beyond sharing the CPU. The last table says which step grows. Compare ratios between runs, not
milliseconds; with ${o.latency} samples per row, p99 is close to the slowest sample. The *audit events*
column is the size of the audit log while that row ran: signup latency depends on it (see the notes below).
`;
}
