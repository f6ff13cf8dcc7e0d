/**
 * Preloaded into the processes a soak measures (`NODE_OPTIONS=--import=<this file>`, plain JavaScript so it
 * loads before any TypeScript loader): appends the process's pid and `process.memoryUsage()` as one JSON line
 * to `$BENCH_MEMORY_FILE` every `$BENCH_MEMORY_INTERVAL_MS` (default 10 s). Only a process can read its own
 * V8 heap. The timer is unref'd, so the probe never keeps a process alive. Loaded by benchmarks only.
 */
import { appendFileSync } from 'node:fs';
import { setInterval } from 'node:timers';

const file = process.env.BENCH_MEMORY_FILE;
if (file) {
  const intervalMs = Number(process.env.BENCH_MEMORY_INTERVAL_MS ?? 10_000);
  const sample = () => {
    const m = process.memoryUsage();
    const line = { pid: process.pid, at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  };
  setInterval(sample, intervalMs).unref();
}
