/** Timing helpers shared by the benchmarks: a bounded-concurrency runner and percentiles. */

export interface Batch {
  count: number;
  concurrency: number;
  /** From the first task's start to the last task's end. */
  wallMs: number;
  /** One per task, in completion order. */
  latenciesMs: number[];
}

/** Run `task(0 … count-1)` with at most `concurrency` in flight; the first failure stops the batch. */
export async function runPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<Batch> {
  const latenciesMs: number[] = [];
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < count) {
      const index = next++;
      const started = performance.now();
      try {
        await task(index);
      } catch (err) {
        failed = true;
        throw err;
      }
      latenciesMs.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { count, concurrency, wallMs: performance.now() - started, latenciesMs };
}

/** Nearest-rank percentile (p in 0–100): with few samples p99 is the slowest one, not an interpolation. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/** Reject after `ms` so a stuck workflow ends the run with a message instead of hanging it. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
