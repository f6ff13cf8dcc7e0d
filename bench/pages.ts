/**
 * `npm run bench -- pages`: what a page pays for each API call it makes. The pages call the API in process
 * (`hc<AppType>` over `app.request`, as the browser session's person: `ui/api-client.ts`); scripts call it
 * over HTTP with a bearer token. Both are measured against a bare Hono route that answers the same JSON,
 * in the same run, on the same account: `GET /v1/me` (a MongoDB read, the account's sealed fields opened
 * with its data key, the consents still to answer).
 *
 *  1. bare Hono route, `app.request` (the baseline: Hono's own routing and JSON), and the raw MongoDB
 *     driver's `findOne` of the same account (the one read the route must make);
 *  2. CRA in process as the session's person (what every page call costs);
 *  3. CRA in process with a bearer token (the same, plus RS256 verification and the account look-up);
 *  4. CRA over real HTTP with a bearer token (what a script pays, plus the socket).
 */
import { loadavg } from 'node:os';
import { Hono } from 'hono';
import { pino } from 'pino';
import { createApp } from '../api/app.js';
import { accountIdForSubject } from '../domain/account-id.js';
import { collections } from '../domain/collections.js';
import { workflowIds } from '../domain/ids.js';
import { apiClientFor, principalOfSession } from '../ui/api-client.js';
import { boolFlag, intFlag, rejectUnknown, type Flags } from './flags.js';
import { percentile, perSecond, runPool, type Batch } from './measure.js';
import { fixed, machineSummary, markdownTable, writeSection } from './report.js';
import { decodingClient, startBenchStack, stopOnSignal } from './stack.js';

const defaults = { requests: 1000, concurrency: 8, rounds: 4, warmup: 200 } as const;

export const pagesBench = {
  summary:
    'a page’s in-process API call (hc<AppType>) vs a bare Hono route, and vs bearer calls in process and over HTTP',
  usage: [
    `             --requests N     requests per path per round (${defaults.requests})`,
    `             --concurrency C  requests in flight (${defaults.concurrency})`,
    `             --rounds R       rounds; the order of the paths rotates (${defaults.rounds})`,
    `             --warmup W       warm-up requests per path, not measured (${defaults.warmup})`,
    '             --no-write       print the results only; leave BENCHMARKS.md alone',
  ].join('\n'),
  run: runPagesBench,
};

const log = (line: string) => process.stderr.write(`[bench pages] ${line}\n`);

type PathName = 'bare' | 'mongo' | 'page' | 'bearer' | 'http';
const pathLabels: Record<PathName, string> = {
  bare: 'bare Hono route (app.request), same JSON',
  mongo: 'raw MongoDB driver, findOne of the account (no route)',
  page: 'CRA in process as the session (hc<AppType>), what a page pays',
  bearer: 'CRA in process, bearer token (app.request)',
  http: 'CRA over HTTP, bearer token (fetch)',
};

async function runPagesBench(flags: Flags): Promise<void> {
  rejectUnknown(flags, ['requests', 'concurrency', 'rounds', 'warmup', 'no-write']);
  const opts = {
    requests: intFlag(flags, 'requests', defaults.requests),
    concurrency: intFlag(flags, 'concurrency', defaults.concurrency, 1, 256),
    rounds: intFlag(flags, 'rounds', defaults.rounds, 1, 50),
    warmup: intFlag(flags, 'warmup', defaults.warmup, 0),
    write: !boolFlag(flags, 'no-write'),
  };
  const began = performance.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  log('starting Temporal, MongoDB, workers and API …');
  const stack = await startBenchStack({ log });
  stopOnSignal(stack, log);
  try {
    // One person with an account center, made by the real signup.
    const subject = 'auth0|bench-pages';
    const email = 'pages@example.com';
    const token = await stack.issuer.issue({ subject, email, ttlSeconds: 3600 });
    const signup = await fetch(`${stack.live.baseUrl}/v1/signup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        givenName: 'Page',
        familyName: 'Reader',
        consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
      }),
    });
    if (signup.status !== 202) throw new Error(`signup answered ${signup.status}: ${await signup.text()}`);
    await decodingClient(stack).workflow.getHandle(workflowIds.signup(subject)).result();

    // The API as api/main.ts builds it, in this process, over the stack's database and Temporal, with a client
    // that encrypts and decodes as api/main.ts's does (the codec-less stack.temporal cannot read the payloads).
    const app = createApp({
      config: stack.live.config,
      temporal: decodingClient(stack),
      db: stack.db,
      log: pino({ level: stack.live.config.logLevel }, { write: () => undefined }),
      jwks: stack.issuer.jwks(),
      vault: stack.vault,
    });
    const accountId = accountIdForSubject(subject);
    const api = apiClientFor(
      app,
      stack.live.config.publicUrl,
      principalOfSession({ subject, accountId, permissions: [], email }),
    );
    const sample = await (await app.request('/v1/me', { headers: { authorization: `Bearer ${token}` } })).text();
    if (!sample.includes(accountId)) throw new Error(`GET /v1/me did not answer the account: ${sample.slice(0, 200)}`);
    const accounts = stack.db.collection<{ _id: string }>(collections.accounts);
    const bare = new Hono().get('/v1/me', (c) => c.body(sample, 200, { 'content-type': 'application/json' }));

    const call: Record<PathName, () => Promise<void>> = {
      bare: async () => expectOk(await bare.request('/v1/me')),
      mongo: async () => {
        if (!(await accounts.findOne({ _id: accountId }))) throw new Error('the account is gone');
      },
      page: async () => expectOk(await api.v1.me.$get()),
      bearer: async () => expectOk(await app.request('/v1/me', { headers: { authorization: `Bearer ${token}` } })),
      http: async () =>
        expectOk(await fetch(`${stack.live.baseUrl}/v1/me`, { headers: { authorization: `Bearer ${token}` } })),
    };
    const paths = Object.keys(call) as PathName[];
    if (opts.warmup > 0) {
      log(`warm-up: ${opts.warmup} requests per path`);
      for (const p of paths) await runPool(opts.warmup, opts.concurrency, () => call[p]());
    }
    const batches: Record<PathName, Batch[]> = { bare: [], mongo: [], page: [], bearer: [], http: [] };
    for (let round = 0; round < opts.rounds; round++) {
      const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
      for (const p of order) batches[p].push(await runPool(opts.requests, opts.concurrency, () => call[p]()));
      log(`round ${round + 1}/${opts.rounds}: ${order.join(', ')}`);
    }
    const loadAfter = loadavg()[0] ?? Number.NaN;
    const total = (p: PathName) => {
      const all = batches[p];
      const ms = all.reduce((n, b) => n + b.wallMs, 0);
      const latencies = all.flatMap((b) => b.latenciesMs);
      return {
        count: latencies.length,
        rate: perSecond(latencies.length, ms),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      };
    };
    const results = Object.fromEntries(paths.map((p) => [p, total(p)])) as Record<PathName, ReturnType<typeof total>>;
    const rows = paths.map((p) => [
      pathLabels[p],
      String(results[p].count),
      fixed(results[p].rate, 0),
      fixed(results[p].p50, 2),
      fixed(results[p].p99, 2),
      p === 'bare' ? '1.00' : fixed(results[p].rate / results.bare.rate, 3),
      p === 'mongo' ? '1.00' : p === 'bare' ? '' : `**${fixed(results[p].rate / results.mongo.rate, 2)}**`,
    ]);
    const table = markdownTable(
      ['path, GET /v1/me', 'requests', 'requests/s', 'p50 ms', 'p99 ms', 'rate / bare route', 'rate / raw findOne'],
      rows,
    );
    const pageVsBearer = results.page.rate / results.bearer.rate;
    const m = machineSummary();
    const body = `## pages

\`npm run bench -- pages\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${fixed((performance.now() - began) / 1000, 0)} s in all.

- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; 1-minute load average ${fixed(loadBefore, 2)} before, ${fixed(loadAfter, 2)} after
- MongoDB: ${stack.versions.mongo}; the account's data key comes from the local keyring (cached by \`AccountKeys\`)
- Parameters: ${opts.requests} requests per path per round, ${opts.rounds} rounds (path order rotating), concurrency ${opts.concurrency}, ${opts.warmup} warm-up requests per path

${table}

**What the ratios mean.** *Rate / bare route*: requests per second over a bare Hono route that answers the
same JSON body from memory (1.0 would mean CRA's route costs nothing beyond Hono's routing). *Rate / raw
findOne*: over the raw MongoDB driver reading the same account document, the one read the route cannot do
without (1.0 would mean the route costs nothing beyond its read). The page's in-process call
(${fixed(results.page.rate / results.mongo.rate, 2)} of the raw read) adds opening the account's sealed fields
with its data key, the consents check and the route's validation; the bearer call in process adds RS256
verification and the account-id look-up (page / bearer: ${fixed(pageVsBearer, 2)}×); over HTTP the socket and
Node's HTTP server come on top.
A page makes one to four such calls, so its cost is the API's, not the client's: \`hc<AppType>\` over
\`app.request\` adds no socket and no token.
`;
    process.stdout.write(`${body}\n`);
    if (opts.write) writeSection('pages', body);
  } finally {
    await stack.stop();
  }
}

function expectOk(res: { status: number }): void {
  if (res.status !== 200) throw new Error(`GET /v1/me answered ${res.status}`);
}
