/**
 * `npm run bench -- api`: what a bearer request costs the API under load. `GET /v1/me` with a valid access
 * token of the embedded issuer, for an account made by the real signup, against `GET /healthz` on the same
 * server (a bare Hono route: no I/O, the same middleware), both driven by autocannon over real HTTP with the
 * same connections, in alternating rounds. The API runs as its own process (`api/main.ts`, as `npm run api`),
 * so the load generator never shares its event loop; the workers run as another.
 *
 * `npm run bench -- api-soak`: the same API and worker processes under load for ten minutes (`GET /v1/me`
 * flat out, plus a trickle of signups the worker runs), with both processes' RSS and V8 heap sampled every
 * ten seconds: start, end, least-squares slope after a warm-up, and a verdict.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { accountIdForSubject } from '../domain/account-id.js';
import { workflowIds } from '../domain/ids.js';
import { projectRoot } from '../deploy/local/tools.js';
import { startApiProcess, type BenchApiProcess } from './api-process.js';
import { boolFlag, intFlag, rejectUnknown, type Flags } from './flags.js';
import { percentile } from './measure.js';
import { fixed, machineSummary, markdownTable, writeSection } from './report.js';
import { memoryStatus } from './sync-memory.js';
import { startBenchStack, stopOnSignal, type BenchStack } from './stack.js';

const log = (line: string) => process.stderr.write(`[bench api] ${line}\n`);
const runId = randomBytes(3).toString('hex');

const defaults = { seconds: 10, connections: 16, rounds: 4, warmup: 5 } as const;

export const apiBench = {
  summary: 'GET /v1/me with a bearer token vs a bare Hono route (/healthz), autocannon, same API process',
  usage: [
    `             --seconds S              seconds per path per round (${defaults.seconds})`,
    `             --connections C          autocannon connections (${defaults.connections})`,
    `             --rounds R               rounds; the order of the two paths alternates (${defaults.rounds})`,
    `             --warmup W               warm-up seconds per path, not measured (${defaults.warmup})`,
    '             --no-write               print the results only; leave BENCHMARKS.md alone',
  ].join('\n'),
  run: runApiBench,
};

/** One person with an account center, made by the real signup through the API. */
async function signedUpPerson(
  stack: BenchStack,
  tag: string,
  ttlSeconds = 3600,
): Promise<{ subject: string; token: string; accountId: string }> {
  const subject = `auth0|bench-api-${runId}-${tag}`;
  const token = await stack.issuer.issue({ subject, email: `${runId}-${tag}@bench.example`, ttlSeconds });
  const signup = await fetch(`${stack.live.baseUrl}/v1/signup`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      givenName: 'Api',
      familyName: 'Bench',
      consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
    }),
  });
  if (signup.status !== 202) throw new Error(`signup answered ${signup.status}: ${await signup.text()}`);
  // The raw client cannot decode the (encrypted) result; its status says the account is made.
  const handle = stack.temporal.workflow.getHandle(workflowIds.signup(subject));
  for (let status = ''; status !== 'COMPLETED';) {
    status = (await handle.describe()).status.name;
    if (status !== 'RUNNING' && status !== 'COMPLETED') throw new Error(`signup of ${subject} ended ${status}`);
    if (status === 'RUNNING') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { subject, token, accountId: accountIdForSubject(subject) };
}

export interface LoadRun {
  /** autocannon's mean of the per-second request counts. */
  perSecond: number;
  requests: number;
  p50: number;
  p99: number;
  /** CPU µs per answered request, of the API process and of the database server (api bench only). */
  apiCpuUs?: number;
  dbCpuUs?: number;
}

/** Drive `url` for `seconds` with autocannon; any error or non-2xx answer ends the run with the reason. */
export async function load(
  url: string,
  opts: { seconds: number; connections: number; headers?: Record<string, string>; overallRate?: number },
): Promise<LoadRun> {
  const result = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.seconds,
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
  });
  if (result.errors > 0 || result.non2xx > 0)
    throw new Error(
      `${url}: ${result.errors} connection errors, ${result.non2xx} non-2xx answers (4xx ${result['4xx']}, 5xx ${result['5xx']})`,
    );
  return {
    perSecond: result.requests.average,
    requests: result['2xx'],
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/** CPU time (user + system) a process has used so far, ms, from `/proc/<pid>/stat` (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The MongoDB-compatible server the stack started: a child of this process named ferretdb or mongod. */
function databasePid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (parent !== process.pid) continue;
      if (/ferretdb|mongod/.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

type Path = 'bare' | 'me';
const pathLabels: Record<Path, string> = {
  bare: 'GET /healthz (bare Hono route, no I/O)',
  me: 'GET /v1/me, bearer token (embedded issuer)',
};

async function runApiBench(flags: Flags): Promise<void> {
  rejectUnknown(flags, ['seconds', 'connections', 'rounds', 'warmup', 'no-write']);
  const opts = {
    seconds: intFlag(flags, 'seconds', defaults.seconds, 1, 600),
    connections: intFlag(flags, 'connections', defaults.connections, 1, 1024),
    rounds: intFlag(flags, 'rounds', defaults.rounds, 1, 50),
    warmup: intFlag(flags, 'warmup', defaults.warmup, 0, 600),
    write: !boolFlag(flags, 'no-write'),
  };
  const began = performance.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  log('starting Temporal, MongoDB, the worker process and the API process …');
  const stack = await startBenchStack({ log, workers: 'process' });
  const releaseSignals = stopOnSignal(stack, log);
  let api: BenchApiProcess | undefined;
  try {
    api = await startApiProcess(stack.env, stack.live.config.auth.issuer, log);
    const person = await signedUpPerson(stack, 'me');
    const headers = { authorization: `Bearer ${person.token}` };
    const sample = await fetch(`${api.baseUrl}/v1/me`, { headers });
    const body = await sample.text();
    if (sample.status !== 200 || !body.includes(person.accountId))
      throw new Error(`GET /v1/me answered ${sample.status}: ${body.slice(0, 300)}`);
    const urls: Record<Path, string> = { bare: `${api.baseUrl}/healthz`, me: `${api.baseUrl}/v1/me` };
    const dbPid = databasePid();
    const run = async (path: Path, seconds: number): Promise<LoadRun> => {
      const before = { api: cpuMsOf(api!.pid), db: dbPid ? cpuMsOf(dbPid) : Number.NaN };
      const done = await load(urls[path], {
        seconds,
        connections: opts.connections,
        ...(path === 'me' ? { headers } : {}),
      });
      const perRequest = (ms: number) => (ms * 1000) / done.requests;
      return {
        ...done,
        apiCpuUs: perRequest(cpuMsOf(api!.pid) - before.api),
        dbCpuUs: dbPid ? perRequest(cpuMsOf(dbPid) - before.db) : Number.NaN,
      };
    };
    if (opts.warmup > 0) {
      log(`warm-up: ${opts.warmup} s per path`);
      await run('bare', opts.warmup);
      await run('me', opts.warmup);
    }
    const rounds: Array<Record<Path, LoadRun>> = [];
    for (let r = 0; r < opts.rounds; r++) {
      const order: Path[] = r % 2 === 0 ? ['bare', 'me'] : ['me', 'bare'];
      const round = {} as Record<Path, LoadRun>;
      for (const path of order) round[path] = await run(path, opts.seconds);
      log(
        `round ${r + 1}/${opts.rounds}: /healthz ${fixed(round.bare.perSecond, 0)} req/s, /v1/me ${fixed(round.me.perSecond, 0)} req/s (${fixed(round.me.perSecond / round.bare.perSecond, 2)}×)`,
      );
      rounds.push(round);
    }
    const results: ApiResults = {
      opts,
      rounds,
      load: [loadBefore, loadavg()[0] ?? Number.NaN],
      elapsedS: (performance.now() - began) / 1000,
      mongo: stack.versions.mongo,
    };
    const section = renderApiSection(results);
    process.stdout.write(`\n${section}\n`);
    if (opts.write) {
      writeSection('api', section);
      log('results written to BENCHMARKS.md');
    }
  } finally {
    releaseSignals();
    log('stopping …');
    await api?.stop();
    await stack.stop();
  }
}

interface ApiResults {
  opts: { seconds: number; connections: number; rounds: number; warmup: number };
  rounds: Array<Record<Path, LoadRun>>;
  load: [number, number];
  elapsedS: number;
  mongo: string;
}

const median = (values: readonly number[]) => percentile(values, 50);

function renderApiSection(results: ApiResults): string {
  const { opts, rounds } = results;
  const ratios = rounds.map((r) => r.me.perSecond / r.bare.perSecond);
  const row = (path: Path) => {
    const runs = rounds.map((r) => r[path]);
    return [
      pathLabels[path],
      String(runs.reduce((n, r) => n + r.requests, 0)),
      fixed(median(runs.map((r) => r.perSecond)), 0),
      fixed(median(runs.map((r) => r.p50)), 0),
      fixed(median(runs.map((r) => r.p99)), 0),
      fixed(median(runs.map((r) => r.apiCpuUs ?? Number.NaN)), 0),
      fixed(median(runs.map((r) => r.dbCpuUs ?? Number.NaN)), 0),
    ];
  };
  const table = markdownTable(
    [
      'path (autocannon, one API process)',
      'requests',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'API CPU µs/request',
      'DB CPU µs/request',
    ],
    [
      row('bare'),
      row('me'),
      ['**ratio /v1/me / bare**, median of rounds', '', `**${fixed(median(ratios), 2)}**`, '', '', '', ''],
    ],
  );
  const m = machineSummary();
  const flags = process.argv.slice(3);
  return `## api

\`npm run bench -- api${flags.length ? ` ${flags.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fixed(results.elapsedS, 0)} s in all.

- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; 1-minute load average ${fixed(results.load[0], 2)} before, ${fixed(results.load[1], 2)} after
- The API is its own process (\`node --import tsx api/main.ts\`, JSON log line per request to a pipe), the
  workers another; autocannon runs in the bench process. MongoDB: ${results.mongo}
- Parameters: ${opts.connections} connections, ${opts.seconds} s per path per round, ${opts.rounds} rounds (order alternating), ${opts.warmup} s warm-up per path

${table}

Ratio per round: ${ratios.map((r) => fixed(r, 2)).join(', ')} (every column is the median of the rounds). *CPU µs/request*: the
CPU time the API process and the database server (${results.mongo.split(' ')[0]}) used during a run, from \`/proc/<pid>/stat\`,
over the requests answered: what each request costs whatever else the machine runs.

**What the ratio means.** Requests per second \`GET /v1/me\` answers with a bearer token, as a fraction of
what \`GET /healthz\` answers on the same server at the same connections. Both pass the same middleware
(request id and log line, header and body limits); \`/v1/me\` adds RS256 verification, the bearer checks
(sessions revoked? which account?), the account read, opening its sealed fields and the consents still to
answer. 1.0 would mean the bearer path costs nothing; issue 15's target is ≥ 0.5.
`;
}

// ——— soak ———

const soakDefaults = { minutes: 10, sample: 10, connections: 16, signupsPerMinute: 6, warmupS: 60 } as const;
/** Flat: a least-squares slope after the warm-up below these, in MiB per minute. */
const flatMiBPerMinute = { rss: 1, heap: 0.5 } as const;

export const apiSoakBench = {
  summary: 'API and worker memory (RSS, V8 heap) over a 10-minute soak: GET /v1/me flat out plus signups',
  usage: [
    `             --minutes M              soak length (${soakDefaults.minutes})`,
    `             --sample S               seconds between memory samples (${soakDefaults.sample})`,
    `             --connections C          autocannon connections on GET /v1/me (${soakDefaults.connections})`,
    `             --rate N                 cap GET /v1/me at N requests/s in all (none)`,
    `             --signups N              signups per minute the worker runs meanwhile (${soakDefaults.signupsPerMinute}; 0: none)`,
    '             --no-write               print the results only; leave BENCHMARKS.md alone',
  ].join('\n'),
  run: runApiSoak,
};

interface MemorySample {
  pid: number;
  at: number;
  rss: number;
  heapUsed: number;
}

const mibOf = (bytes: number) => bytes / 2 ** 20;

/** Least-squares slope of `value` over time, per minute. */
function slopePerMinute(samples: readonly MemorySample[], value: (s: MemorySample) => number): number {
  if (samples.length < 2) return Number.NaN;
  const xs = samples.map((s) => s.at / 60_000);
  const ys = samples.map(value);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : Number.NaN;
}

async function runApiSoak(flags: Flags): Promise<void> {
  rejectUnknown(flags, ['minutes', 'sample', 'connections', 'rate', 'signups', 'no-write']);
  const opts = {
    minutes: intFlag(flags, 'minutes', soakDefaults.minutes, 1, 240),
    sampleS: intFlag(flags, 'sample', soakDefaults.sample, 1, 600),
    connections: intFlag(flags, 'connections', soakDefaults.connections, 1, 1024),
    rate: flags.has('rate') ? intFlag(flags, 'rate', 0, 1, 1_000_000) : undefined,
    signupsPerMinute: intFlag(flags, 'signups', soakDefaults.signupsPerMinute, 0, 600),
    write: !boolFlag(flags, 'no-write'),
  };
  const began = performance.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const work = mkdtempSync(join(tmpdir(), 'cra-soak-'));
  const memoryFile = join(work, 'memory.jsonl');
  // Both processes load the probe; each line names its pid.
  const probeEnv = {
    NODE_OPTIONS: `--import=${join(projectRoot, 'bench', 'memory-probe.mjs')}`,
    BENCH_MEMORY_FILE: memoryFile,
    BENCH_MEMORY_INTERVAL_MS: String(opts.sampleS * 1000),
    // A full collection before each sample: the heap figure is then what is still referenced.
    BENCH_MEMORY_GC: '1',
  };
  log('starting Temporal, MongoDB, the worker process and the API process …');
  const stack = await startBenchStack({ log, workers: 'process', env: probeEnv });
  const releaseSignals = stopOnSignal(stack, log);
  let api: BenchApiProcess | undefined;
  let signupTimer: NodeJS.Timeout | undefined;
  try {
    api = await startApiProcess(stack.env, stack.live.config.auth.issuer, log);
    const worker = stack.workerProcess!;
    const person = await signedUpPerson(stack, 'soak', opts.minutes * 60 + 3600);
    log(
      `soak: ${opts.minutes} min of GET /v1/me at ${opts.connections} connections, ${opts.signupsPerMinute} signups/min`,
    );
    const soakStart = Date.now();
    let signups = 0;
    let signupFailures = 0;
    const signingUp = new Set<Promise<void>>();
    if (opts.signupsPerMinute > 0) {
      signupTimer = setInterval(() => {
        const n = signups++;
        const done = signedUpPerson(stack, `soak-${n}`).then(
          () => undefined,
          (err: unknown) => {
            signupFailures++;
            log(`signup ${n} failed: ${err instanceof Error ? err.message : String(err)}`);
          },
        );
        signingUp.add(done);
        void done.finally(() => signingUp.delete(done));
      }, 60_000 / opts.signupsPerMinute);
    }
    const rss0 = { api: memoryStatus(api.pid).rssKiB, worker: memoryStatus(worker.pid).rssKiB };
    const run = await load(`${api.baseUrl}/v1/me`, {
      seconds: opts.minutes * 60,
      connections: opts.connections,
      headers: { authorization: `Bearer ${person.token}` },
      ...(opts.rate ? { overallRate: opts.rate } : {}),
    });
    clearInterval(signupTimer);
    const soakEnd = Date.now();
    await Promise.all(signingUp);
    const rss1 = { api: memoryStatus(api.pid).rssKiB, worker: memoryStatus(worker.pid).rssKiB };
    const samples = readFileSync(memoryFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as MemorySample)
      .filter((s) => s.at >= soakStart && s.at <= soakEnd);
    const processes = { api: api.pid, worker: worker.pid };
    const rows = Object.entries(processes).map(([name, pid]) => {
      const all = samples.filter((s) => s.pid === pid);
      const settled = all.filter((s) => s.at >= soakStart + soakDefaults.warmupS * 1000);
      const first = all[0];
      const last = all.at(-1);
      const rssSlope = slopePerMinute(settled, (s) => mibOf(s.rss));
      const heapSlope = slopePerMinute(settled, (s) => mibOf(s.heapUsed));
      const flat = rssSlope <= flatMiBPerMinute.rss && heapSlope <= flatMiBPerMinute.heap;
      return {
        name,
        samples: all.length,
        flat,
        cells: [
          name === 'api' ? 'API (api/main.ts)' : 'worker (workers/main.ts)',
          String(all.length),
          `${fixed(mibOf(first?.rss ?? Number.NaN))} → ${fixed(mibOf(last?.rss ?? Number.NaN))}`,
          fixed(Math.max(...all.map((s) => mibOf(s.rss)))),
          fixed(rssSlope, 2),
          `${fixed(mibOf(first?.heapUsed ?? Number.NaN))} → ${fixed(mibOf(last?.heapUsed ?? Number.NaN))}`,
          fixed(heapSlope, 2),
          settled.length < 3 ? 'too short' : flat ? '**flat**' : '**growing**',
        ],
      };
    });
    const table = markdownTable(
      [
        'process',
        'samples',
        'RSS MiB start → end',
        'RSS max',
        'RSS slope MiB/min',
        'heap used MiB start → end',
        'heap slope MiB/min',
        'verdict',
      ],
      rows.map((r) => r.cells),
    );
    const m = machineSummary();
    const loadAfter = loadavg()[0] ?? Number.NaN;
    const flagsShown = process.argv.slice(3);
    const section = `## api-soak

\`npm run bench -- api-soak${flagsShown.length ? ` ${flagsShown.join(' ')}` : ''}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fixed((performance.now() - began) / 1000, 0)} s in all.

- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; 1-minute load average ${fixed(loadBefore, 2)} before, ${fixed(loadAfter, 2)} after
- ${opts.minutes} min of \`GET /v1/me\` (bearer) at ${opts.connections} connections${opts.rate ? `, capped at ${opts.rate} requests/s` : ', flat out'}: ${run.requests} answers, ${fixed(run.perSecond, 0)} requests/s, p50 ${fixed(run.p50, 0)} ms, p99 ${fixed(run.p99, 0)} ms;
  meanwhile ${signups} signups started (${opts.signupsPerMinute}/min, ${signupFailures} failed), run by the worker process
- Memory sampled every ${opts.sampleS} s inside each process, right after a full garbage collection (\`bench/memory-probe.mjs\`: \`process.memoryUsage()\`); slopes are
  least-squares over the samples after the first ${soakDefaults.warmupS} s; *flat* means RSS slope ≤ ${flatMiBPerMinute.rss} MiB/min and heap slope ≤ ${flatMiBPerMinute.heap} MiB/min.
  RSS from /proc before and after the load: API ${fixed(rss0.api / 1024)} → ${fixed(rss1.api / 1024)} MiB, worker ${fixed(rss0.worker / 1024)} → ${fixed(rss1.worker / 1024)} MiB

${table}
`;
    process.stdout.write(`\n${section}\n`);
    if (opts.write) {
      writeSection('api-soak', section);
      log('results written to BENCHMARKS.md');
    }
  } finally {
    clearInterval(signupTimer);
    releaseSignals();
    log('stopping …');
    await api?.stop();
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
