/**
 * Preloaded into the processes a soak measures (`NODE_OPTIONS=--import=<this file>`, plain JavaScript so it
 * loads before any TypeScript loader): appends the process's pid and `process.memoryUsage()` as one JSON line
 * to `$BENCH_MEMORY_FILE` every `$BENCH_MEMORY_INTERVAL_MS` (default 10 s), from the main thread only (worker
 * threads load it too). Only a process can read its own V8 heap. With `BENCH_MEMORY_GC=1` a full garbage
 * collection runs first, so the heap figure is what is still referenced (a leak), not garbage not yet
 * collected. The timer is unref'd, so the probe never keeps a process alive. Loaded by benchmarks only.
 */
import { appendFileSync } from 'node:fs';
import { setInterval } from 'node:timers';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';

const file = process.env.BENCH_MEMORY_FILE;
if (file && isMainThread) {
  const intervalMs = Number(process.env.BENCH_MEMORY_INTERVAL_MS ?? 10_000);
  let gc;
  if (process.env.BENCH_MEMORY_GC === '1') {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc');
  }
  const sample = () => {
    gc?.();
    const m = process.memoryUsage();
    const line = { pid: process.pid, at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  };
  setInterval(sample, intervalMs).unref();
}
