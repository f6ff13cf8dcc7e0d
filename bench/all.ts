/**
 * `npm run bench -- all`: every benchmark in turn, each with its defaults, each rewriting its own section of
 * BENCHMARKS.md (hand-written text between the sections stays). Long: the sync and soak benchmarks alone take
 * tens of minutes. `--only a,b` / `--skip a,b` choose benchmarks; `--no-write` is passed to each. A benchmark
 * that fails is reported and the others still run; the run then exits non-zero.
 */
import { boolFlag, rejectUnknown, UsageError, type Flags } from './flags.js';

interface Runnable {
  summary: string;
  usage: string;
  run(flags: Flags): Promise<void>;
}

const log = (line: string) => process.stderr.write(`[bench all] ${line}\n`);

function names(flags: Flags, flag: string, known: readonly string[]): string[] | undefined {
  const raw = flags.get(flag);
  if (raw === undefined) return undefined;
  const list = raw === true ? [] : raw.split(',').map((n) => n.trim());
  const unknown = list.filter((n) => !known.includes(n));
  if (list.length === 0 || unknown.length > 0)
    throw new UsageError(`--${flag} takes benchmark names separated by commas, from: ${known.join(', ')}`);
  return list;
}

/** The `all` entry over the given benchmarks (in their order). */
export function allBench(benches: Readonly<Record<string, Runnable>>): Runnable {
  return {
    summary: 'every benchmark in turn, each rewriting its section of BENCHMARKS.md',
    usage: [
      '             --only a,b               these benchmarks only',
      '             --skip a,b               all but these',
      '             --no-write               print the results only; leave BENCHMARKS.md alone',
    ].join('\n'),
    async run(flags) {
      rejectUnknown(flags, ['only', 'skip', 'no-write']);
      const known = Object.keys(benches);
      const only = names(flags, 'only', known);
      const skip = names(flags, 'skip', known) ?? [];
      const chosen = (only ?? known).filter((n) => !skip.includes(n));
      const passed: Flags = new Map(boolFlag(flags, 'no-write') ? [['no-write', true]] : []);
      const failed: string[] = [];
      const began = performance.now();
      for (const [i, name] of chosen.entries()) {
        log(`${i + 1}/${chosen.length}: ${name}`);
        // Each section names the command that made it: `npm run bench -- <name>`, not `all`.
        process.argv = [...process.argv.slice(0, 2), name];
        const started = performance.now();
        try {
          await benches[name]!.run(new Map(passed));
          log(`${name} done in ${Math.round((performance.now() - started) / 1000)} s`);
        } catch (err) {
          failed.push(name);
          log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
      log(
        `${chosen.length - failed.length}/${chosen.length} done in ${Math.round((performance.now() - began) / 1000)} s`,
      );
      if (failed.length > 0) throw new Error(`these benchmarks failed: ${failed.join(', ')}`);
    },
  };
}
