/**
 * The Schemathesis run of the fuzz test (test/fuzz/schemathesis.test.ts): its command line, and what its
 * reports say. `CRA_FUZZ_MAX_EXAMPLES` and `CRA_FUZZ_SEED` change the budget and replay a run (docs/fuzzing.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const minimumRequests = 1_000;

/** The `schemathesis` arguments: every check, every phase, as the person whose token is given. */
export function fuzzArguments(opts: { baseUrl: string; token: string; reportDir: string }): string[] {
  return [
    // The operations left out and the answers allowed per operation, each with its reason.
    '--config-file',
    fileURLToPath(new URL('schemathesis.toml', import.meta.url)),
    'run',
    `${opts.baseUrl}/openapi.json`,
    '--checks',
    'all',
    '--phases',
    'examples,coverage,fuzzing,stateful',
    // Test cases per operation and phase: about 2 000 requests over the 67 operations, in 2–3 minutes on 2 cores.
    '--max-examples',
    process.env.CRA_FUZZ_MAX_EXAMPLES ?? '5',
    // One worker: with two, Hypothesis (describing its strategies with ast.parse) failed on CPython 3.11.7 with
    // "SystemError: AST constructor recursion depth mismatch", an error of the run rather than of the API.
    '--workers',
    '1',
    ...(process.env.CRA_FUZZ_SEED ? ['--seed', process.env.CRA_FUZZ_SEED] : []),
    '--header',
    `Authorization: Bearer ${opts.token}`,
    '--report',
    'junit,json,ndjson',
    '--report-dir',
    opts.reportDir,
    // Nothing kept between runs: each run is its own (reproduce one with CRA_FUZZ_SEED=<its seed>).
    '--generation-database',
    'none',
    '--no-color',
  ];
}

/** What the JSON report (`--report json`) holds that the test reads. */
interface JsonReport {
  seed: number | string;
  running_time: number;
  operations: { selected: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number };
  failures: Array<{ code: string; title: string; count: number; operations: string[] }>;
  errors: Array<{ title: string; count: number; operations?: string[] }>;
}

export interface FuzzRun {
  /** HTTP requests sent: every interaction recorded in the NDJSON event stream. */
  requests: number;
  testCases: number;
  operations: { selected: number; tested: number };
  seconds: number;
  seed: string;
  /** One line per kind of failure (5xx, schema violation, …) and per error of the run itself. */
  failures: string[];
}

/** The one report of `kind` that Schemathesis wrote into `reportDir` (it names them `<kind>-<timestamp>`). */
function reportFile(reportDir: string, kind: 'json' | 'ndjson'): string {
  const name = readdirSync(reportDir).find((f) => f.startsWith(`${kind}-`));
  if (!name) throw new Error(`Schemathesis wrote no ${kind} report in ${reportDir}`);
  return join(reportDir, name);
}

export function readRun(reportDir: string): FuzzRun {
  let requests = 0;
  for (const line of readFileSync(reportFile(reportDir, 'ndjson'), 'utf8').split('\n')) {
    if (!line.startsWith('{"ScenarioFinished"')) continue;
    const event = JSON.parse(line) as { ScenarioFinished: { recorder: { interactions?: Record<string, unknown> } } };
    requests += Object.keys(event.ScenarioFinished.recorder.interactions ?? {}).length;
  }
  const text = readFileSync(reportFile(reportDir, 'json'), 'utf8');
  const report = JSON.parse(text) as JsonReport;
  return {
    requests,
    testCases: report.test_cases.generated,
    operations: { selected: report.operations.selected, tested: report.operations.tested },
    seconds: Math.round(report.running_time),
    // The seed is a 128-bit integer: read as text, as JSON.parse would round it.
    seed: /"seed":\s*(\d+)/.exec(text)?.[1] ?? String(report.seed),
    failures: [
      ...report.failures.map((f) => `${f.code} ${f.title} (${f.count}): ${f.operations.join(', ')}`),
      ...report.errors.map(
        (e) => `error: ${e.title} (${e.count})${e.operations ? `: ${e.operations.join(', ')}` : ''}`,
      ),
    ],
  };
}

export function summary(run: FuzzRun): string {
  const rows = [
    ['requests', String(run.requests)],
    ['test cases', String(run.testCases)],
    ['operations', `${run.operations.tested} tested of ${run.operations.selected} selected`],
    ['failures', String(run.failures.length)],
    ['time', `${run.seconds} s`],
    ['seed', run.seed],
  ];
  return [
    'Schemathesis against the API:',
    ...rows.map(([k, v]) => `  ${k!.padEnd(11)} ${v}`),
    ...run.failures.map((f) => `  ✗ ${f}`),
    '',
  ].join('\n');
}
