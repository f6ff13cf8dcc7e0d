/**
 * A bench's own CRA process (the API or the worker, `node --import tsx …`) watched until it says it is
 * ready: its output read line by line off both pipes, the last 20 lines kept for the error a failed start
 * reports, and an exit or a timeout before it is ready turned into that error (the process is stopped).
 * After it is ready an exit nobody asked for is logged, not thrown: the run reports it.
 */
import type { ChildProcess } from 'node:child_process';
import { stopProcess } from '../deploy/local/services.js';

export interface ReadyChild {
  pid: number;
  child: ChildProcess;
  /** SIGTERM (the process drains and exits), SIGKILL if it is still there after 15 s. */
  stop(): Promise<void>;
}

export interface WatchOptions {
  /** How errors name it: `the API process`, `the worker process`. */
  name: string;
  readyTimeoutMs: number;
  log: (line: string) => void;
  /** Called for every non-blank line; calls `ready()` on the line that says it is. */
  onLine(line: string, ready: () => void): void;
}

export async function untilReady(child: ChildProcess, opts: WatchOptions): Promise<ReadyChild> {
  const tail: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        opts.onLine(line, ready);
      }
    });
  }
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`${opts.name} did not start: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(new Error(`${opts.name} exited before it was ready (${signal ?? `code ${code}`}):\n${tail.join('\n')}`)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${opts.name} was not ready after ${opts.readyTimeoutMs / 1000} s:\n${tail.join('\n')}`)),
      opts.readyTimeoutMs,
    );
  });
  try {
    await Promise.race([isReady, exited, timeout]);
  } catch (err) {
    await stopProcess(child, 5_000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // From here an exit is the run's problem to report, not a rejection nobody awaits.
  exited.catch(() => undefined);
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) opts.log(`${opts.name} exited unasked (${signal ?? `code ${code}`}):\n${tail.join('\n')}`);
  });
  if (child.pid === undefined) throw new Error(`${opts.name} has no pid`);
  return {
    pid: child.pid,
    child,
    stop() {
      stopping = true;
      return stopProcess(child, 15_000);
    },
  };
}
