/**
 * `npm run bench -- <name> [--flag value …]`: runs one benchmark. Each benchmark measures CRA against a
 * baseline in the same run and reports ratios, so numbers from different machines stay comparable.
 */
import { allBench } from './all.js';
import { apiBench, apiSoakBench } from './api.js';
import { parseFlags, UsageError, type Flags } from './flags.js';
import { exportBench } from './export-memory.js';
import { pagesBench } from './pages.js';
import { signupBench } from './signup.js';
import { syncBench } from './sync.js';
import { workerMemoryBench } from './worker-memory.js';

interface Bench {
  summary: string;
  usage: string;
  run(flags: Flags): Promise<void>;
}

const benches: Record<string, Bench> = {
  signup: signupBench,
  sync: syncBench,
  export: exportBench,
  pages: pagesBench,
  'worker-memory': workerMemoryBench,
  api: apiBench,
  'api-soak': apiSoakBench,
};
benches.all = allBench({ ...benches });

function usage(): string {
  const names = Object.entries(benches).map(([name, b]) => `  ${name.padEnd(10)} ${b.summary}\n${b.usage}`);
  return `usage: npm run bench -- <name> [flags]\n\nbenchmarks:\n${names.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name !== undefined && ['-h', '--help', 'help'].includes(name)) {
    process.stdout.write(usage());
    return 0;
  }
  const bench = name === undefined ? undefined : benches[name];
  if (!bench) {
    process.stderr.write(`${name === undefined ? '' : `unknown benchmark "${name}"\n\n`}${usage()}`);
    return 2;
  }
  let flags: Flags;
  try {
    flags = parseFlags(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage()}`);
    return 2;
  }
  if (flags.has('help')) {
    process.stdout.write(usage());
    return 0;
  }
  try {
    await bench.run(flags);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage()}`);
    return 2;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
