/**
 * `npm run bench -- signup`: how much CRA's API costs on top of Temporal for signups.
 *
 *  1. Start throughput: N signups through `POST /v1/signup` (real HTTP, token check, validation) against
 *     N of the same signal-with-start made straight from `@temporalio/client` — same workflow, arguments,
 *     concurrency and run. Each batch is drained (every workflow finished) before the next one starts.
 *  2. End-to-end latency: request → workflow result for M signups against M one-activity no-op workflows,
 *     at concurrency 1 and C.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { accountIdForSubject } from '../domain/account-id.js';
import { workflowIds } from '../domain/ids.js';
import { searchAttributes, taskQueueNames } from '../temporal.config.js';
import {
  signupDetailsSignal, signupWorkflowType,
  type SignupDetails, type SignupResult, type SignupWorkflow,
} from '../workflows/signup/messages.js';
import { boolFlag, intFlag, intListFlag, rejectUnknown, type Flags } from './flags.js';
import { percentile, perSecond, runPool, within, type Batch } from './measure.js';
import { benchmarksFile, fixed, machineSummary, markdownTable, writeSection } from './report.js';
import { startBenchStack, type BenchStack } from './stack.js';
import type { noopWorkflow } from './workflows.js';

const defaults = { starts: 200, concurrency: 8, rounds: 2, latency: 40, warmup: 20 } as const;

export const signupBench = {
  summary: 'POST /v1/signup vs the raw Temporal client (start rate), signup vs a no-op workflow (latency)',
  usage: [
    `             --starts N               signups started per path per round (${defaults.starts})`,
    `             --concurrency C          requests in flight while starting (${defaults.concurrency})`,
    `             --rounds R               start rounds; the order of the two paths alternates (${defaults.rounds})`,
    `             --latency M              workflows per kind per latency level (${defaults.latency})`,
    `             --latency-concurrency L  comma-separated latency levels (1,C)`,
    `             --warmup W               warm-up workflows per path, not measured (${defaults.warmup})`,
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

function starters(stack: BenchStack): Record<Path, Starter> {
  const accountsQueue = taskQueueNames(stack.config.temporal.taskQueuePrefix).accounts;
  return {
    async http(s) {
      const res = await fetch(`${stack.baseUrl}/v1/signup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(signupBody),
      });
      const text = await res.text();
      if (res.status !== 202) throw new Error(`POST /v1/signup answered ${res.status}: ${text.slice(0, 300)}`);
      return (JSON.parse(text) as { workflowId: string }).workflowId;
    },
    // The baseline: the same call api/signup-starter.ts makes, spelt out here so that anything the API
    // adds to its start path later shows up in the ratio instead of in both sides.
    async raw(s) {
      const accountId = accountIdForSubject(s.subject);
      const workflowId = workflowIds.signup(s.subject);
      await stack.temporal.workflow.signalWithStart<SignupWorkflow, [SignupDetails]>(signupWorkflowType, {
        workflowId,
        taskQueue: accountsQueue,
        args: [{ subject: s.subject, accountId, ...(stack.config.signup.detailsWait ? { detailsWait: stack.config.signup.detailsWait } : {}) }],
        signal: signupDetailsSignal,
        signalArgs: [detailsOf(s)],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [
          { key: searchAttributes.accountId, value: accountId },
          { key: searchAttributes.process, value: 'signup' },
          { key: searchAttributes.stage, value: 'waiting_for_details' },
          { key: searchAttributes.needsApproval, value: false },
        ],
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
      return { subject, email, ...(withTokens ? { token: await stack.issuer.issue({ subject, email, emailVerified: true }) } : {}) };
    }),
  );
}

async function awaitSignup(stack: BenchStack, workflowId: string, subject: string): Promise<void> {
  const result = await stack.temporal.workflow.getHandle<SignupWorkflow>(workflowId).result();
  if ((result as SignupResult).accountId !== accountIdForSubject(subject)) throw new Error(`${workflowId} returned another account id`);
}

const drainTimeoutMs = 180_000;

/** Start `count` signups on one path, then wait until all of them have finished (not timed). */
async function startBatch(stack: BenchStack, path: Path, tag: string, count: number, concurrency: number): Promise<Batch> {
  const todo = await signups(stack, tag, count, path === 'http');
  const start = starters(stack)[path];
  const started: Array<Promise<void>> = [];
  const batch = await runPool(count, concurrency, async (i) => {
    const s = todo[i]!;
    const workflowId = await start(s);
    // Awaited after the clock stops; the catch keeps an early failure from being unhandled meanwhile.
    const done = awaitSignup(stack, workflowId, s.subject);
    done.catch(() => undefined);
    started.push(done);
  });
  await within(drainTimeoutMs, `draining ${count} ${path} signups`, Promise.all(started));
  return batch;
}

/** Request → workflow result, per signup through the API. */
async function signupLatency(stack: BenchStack, tag: string, count: number, concurrency: number): Promise<Batch> {
  const todo = await signups(stack, tag, count, true);
  const start = starters(stack).http;
  return within(drainTimeoutMs, `signup latency at concurrency ${concurrency}`, runPool(count, concurrency, async (i) => {
    const s = todo[i]!;
    await awaitSignup(stack, await start(s), s.subject);
  }));
}

/** Start → result, per no-op workflow from the raw client. */
async function noopLatency(stack: BenchStack, tag: string, count: number, concurrency: number): Promise<Batch> {
  return within(drainTimeoutMs, `no-op latency at concurrency ${concurrency}`, runPool(count, concurrency, async (i) => {
    const handle = await stack.temporal.workflow.start<typeof noopWorkflow>('noopWorkflow', {
      workflowId: `noop/${runId}-${tag}-${i}`,
      taskQueue: stack.noopTaskQueue,
      args: [],
    });
    await handle.result();
  }));
}

/** How many activities one signup runs, read from the history of one made through the API. */
async function activitiesPerSignup(stack: BenchStack): Promise<number> {
  const [s] = await signups(stack, 'probe', 1, true);
  const workflowId = await starters(stack).http(s!);
  await awaitSignup(stack, workflowId, s!.subject);
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
}

interface Results {
  opts: Options;
  rounds: Array<Record<Path, Batch>>;
  latency: Array<{ concurrency: number; noop: Batch; signup: Batch }>;
  activities: number;
  elapsedS: number;
}

async function runSignupBench(flags: Flags): Promise<void> {
  const opts = options(flags);
  const began = performance.now();
  log('starting Temporal, MongoDB, workers and API …');
  const stack = await startBenchStack({ log });
  try {
    log(`stack up in ${fixed((performance.now() - began) / 1000)} s; API at ${stack.baseUrl}`);
    if (opts.warmup > 0) {
      log(`warm-up: ${opts.warmup} signups per path, ${opts.warmup} no-op workflows`);
      await startBatch(stack, 'raw', 'warm-raw', opts.warmup, opts.concurrency);
      await startBatch(stack, 'http', 'warm-http', opts.warmup, opts.concurrency);
      await noopLatency(stack, 'warm', opts.warmup, opts.concurrency);
    }
    const activities = await activitiesPerSignup(stack);

    const rounds: Results['rounds'] = [];
    for (let r = 0; r < opts.rounds; r++) {
      // Alternating which path goes first cancels most of the drift between early and late batches.
      const order: Path[] = r % 2 === 0 ? ['raw', 'http'] : ['http', 'raw'];
      const round = {} as Record<Path, Batch>;
      for (const path of order) {
        round[path] = await startBatch(stack, path, `r${r}-${path}`, opts.starts, opts.concurrency);
        log(`round ${r + 1}/${opts.rounds} ${path.padEnd(4)}: ${fixed(perSecond(opts.starts, round[path].wallMs))} starts/s`);
      }
      rounds.push(round);
    }

    const latency: Results['latency'] = [];
    for (const c of opts.latencyConcurrency) {
      const noop = await noopLatency(stack, `lat${c}`, opts.latency, c);
      const signup = await signupLatency(stack, `lat${c}`, opts.latency, c);
      log(`latency at concurrency ${c}: no-op p50 ${fixed(percentile(noop.latenciesMs, 50))} ms, signup p50 ${fixed(percentile(signup.latenciesMs, 50))} ms`);
      latency.push({ concurrency: c, noop, signup });
    }

    const results: Results = { opts, rounds, latency, activities, elapsedS: (performance.now() - began) / 1000 };
    const tables = renderTables(results);
    process.stdout.write(`\n${tables}\n`);
    if (opts.write) {
      writeSection('signup', renderSection(results, tables, stack));
      log(`results written to ${benchmarksFile}`);
    }
  } finally {
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
  const perRound = results.rounds.map((r) => perSecond(r.http.count, r.http.wallMs) / perSecond(r.raw.count, r.raw.wallMs));
  return { http, raw, ratio: http.perSecond / raw.perSecond, perRound };
}

function renderTables(results: Results): string {
  const { http, raw, ratio, perRound } = startRates(results);
  const ms = (samples: number[], p: number) => fixed(percentile(samples, p));
  const starts = markdownTable(
    ['start path', 'signups', 'concurrency', 'starts/s', 'start p50 ms', 'start p99 ms'],
    [
      [pathLabels.raw, String(raw.count), String(results.opts.concurrency), fixed(raw.perSecond), ms(raw.latencies, 50), ms(raw.latencies, 99)],
      [pathLabels.http, String(http.count), String(results.opts.concurrency), fixed(http.perSecond), ms(http.latencies, 50), ms(http.latencies, 99)],
      ['**ratio HTTP / raw**', '', '', `**${fixed(ratio, 2)}**`, fixed(percentile(http.latencies, 50) / percentile(raw.latencies, 50), 2), fixed(percentile(http.latencies, 99) / percentile(raw.latencies, 99), 2)],
    ],
  );
  const latencyRows = results.latency.flatMap(({ concurrency, noop, signup }) => [
    [String(concurrency), 'no-op workflow, 1 activity (raw client)', String(noop.count), ms(noop.latenciesMs, 50), ms(noop.latenciesMs, 99)],
    [String(concurrency), `signup via POST /v1/signup (${results.activities} activities)`, String(signup.count), ms(signup.latenciesMs, 50), ms(signup.latenciesMs, 99)],
    [String(concurrency), '**ratio signup / no-op**', '',
      `**${fixed(percentile(signup.latenciesMs, 50) / percentile(noop.latenciesMs, 50), 2)}**`,
      `**${fixed(percentile(signup.latenciesMs, 99) / percentile(noop.latenciesMs, 99), 2)}**`],
  ]);
  const latency = markdownTable(['concurrency', 'request → workflow result', 'workflows', 'p50 ms', 'p99 ms'], latencyRows);
  const rounds = perRound.length > 1 ? `\nStart ratio HTTP / raw per round: ${perRound.map((r) => fixed(r, 2)).join(', ')}.\n` : '';
  return `${starts}\n${rounds}\n${latency}\n`;
}

function renderSection(results: Results, tables: string, stack: BenchStack): string {
  const m = machineSummary();
  const o = results.opts;
  const { ratio } = startRates(results);
  const first = results.latency[0];
  const p50Ratio = first ? percentile(first.signup.latenciesMs, 50) / percentile(first.noop.latenciesMs, 50) : Number.NaN;
  return `## signup

\`npm run bench -- signup${process.argv.slice(3).length ? ` ${process.argv.slice(3).join(' ')}` : ''}\` — run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fixed(results.elapsedS, 0)} s in all.

- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}
- Temporal: ${stack.versions.temporalCli}, dev server in memory; MongoDB: ${stack.versions.mongo}
- Everything on this machine, in one Node process apart from the two servers: the CRA workers, the API
  (over HTTP on 127.0.0.1), the HTTP client and the raw Temporal client
- Parameters: ${o.starts} starts per path per round, ${o.rounds} round${o.rounds > 1 ? 's' : ''} (path order alternating), start
  concurrency ${o.concurrency}; ${o.latency} workflows per kind at latency concurrency ${o.latencyConcurrency.join(' and ')}; ${o.warmup} warm-up per path

${tables}
**What the ratios mean.** The start ratio (${fixed(ratio, 2)}) is the API's start rate as a fraction of
the raw Temporal client's: both make the same \`signalWithStart\` of the same \`signup\` workflow with the
same arguments, so the difference is what \`POST /v1/signup\` adds — HTTP on both ends, RS256 token
verification, body validation, the request log line — on a machine whose two cores are also running the
workers that execute the started signups. 1.0 would mean the API is free; the gap is CPU spent per
request, so it narrows when the API has cores of its own. The latency ratios compare a whole signup
(HTTP request, then ${results.activities} activities against MongoDB and the identity directory, until the
workflow's result) with the cheapest workflow Temporal can run here (one no-op activity): at concurrency
${first?.concurrency ?? 1} a signup takes ${fixed(p50Ratio, 1)}× the no-op at p50, roughly the price of its
activity round trips and database writes. Compare ratios between runs, not the milliseconds; with
${o.latency} samples per row, p99 is close to the slowest sample.
`;
}
