/**
 * The API as its own process for benchmarks: `node --import tsx api/main.ts` with a bench stack's
 * environment, as `npm run api` runs it. On its own so its memory is its own and the load generator does
 * not share its event loop. Its JSON log lines (one per request) are read off the pipe and dropped, as a
 * container runtime would take them; warnings and errors are passed on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, stopProcess } from '../deploy/local/services.js';
import { projectRoot } from '../deploy/local/tools.js';
import type { Log } from './stack.js';

const apiMain = join(projectRoot, 'api', 'main.ts');
const readyTimeoutMs = 120_000;

export interface BenchApiProcess {
  pid: number;
  baseUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the API on a free port; resolves once it logs `api ready`. `issuer` is the token issuer it accepts:
 * the stack's, so the tokens of the stack's embedded issuer (same keys, same data folder) are valid here too.
 * `nodeArgs` go before the entry (`--cpu-prof`, which NODE_OPTIONS refuses, to profile the API under load).
 */
export async function startApiProcess(
  env: Record<string, string>,
  issuer: string,
  log: Log,
  nodeArgs: readonly string[] = [],
): Promise<BenchApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', apiMain], {
    cwd: projectRoot,
    env: {
      ...process.env,
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
      CRA_PUBLIC_URL: `http://127.0.0.1:${port}`,
      AUTH_ISSUER: issuer,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  let isUp = false;
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    // Cheap test first: under load this runs for every request's log line.
    if (!isUp && line.includes('"api ready"')) {
      isUp = true;
      ready();
    } else if (!line.startsWith('{') || /"level":(4|5|6)\d/.test(line)) log(`api: ${line.slice(0, 500)}`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    });
  }
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`the API process did not start: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(
        new Error(`the API process exited before it was ready (${signal ?? `code ${code}`}):\n${tail.join('\n')}`),
      ),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the API process was not ready after ${readyTimeoutMs / 1000} s:\n${tail.join('\n')}`)),
      readyTimeoutMs,
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
  exited.catch(() => undefined);
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) log(`the API process exited unasked (${signal ?? `code ${code}`}):\n${tail.join('\n')}`);
  });
  if (child.pid === undefined) throw new Error('the API process has no pid');
  return {
    pid: child.pid,
    baseUrl: `http://127.0.0.1:${port}`,
    child,
    stop() {
      stopping = true;
      return stopProcess(child, 15_000);
    },
  };
}
