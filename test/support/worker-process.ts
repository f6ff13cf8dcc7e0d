/**
 * `npm run worker` as a separate process, the way it runs in production, for the tests that SIGKILL it or
 * read what it logs. node itself with tsx's loader, not the tsx wrapper: SIGKILL must reach the worker, not a
 * parent of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../deploy/local/services.js';

/** Kill every worker started by the file in its `afterAll`. */
export const workerProcesses: ChildProcess[] = [];

/**
 * Every line the file's worker processes wrote (stdout: pino's JSON lines, Temporal's runtime log among them;
 * stderr), in order, for scans of what an operator's log would keep.
 */
export const workerLog: string[] = [];

export async function startWorkerProcess(
  stackEnv: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<ChildProcess> {
  // JSON records: `workerReady` reads them (`worker ready`), as a log shipper would.
  const env = {
    ...process.env,
    ...stackEnv,
    METRICS_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  collectLines(child.stdout!);
  collectLines(child.stderr!, (chunk) => (stderr += chunk));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM')
      process.stderr.write(`worker exited ${code}: ${stderr}\n`);
  });
  workerProcesses.push(child);
  return child;
}

/** Resolves once a worker process said it polls (`worker ready`; logged at info, so start it with LOG_LEVEL=info). */
export async function workerReady(child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker process did not get ready')), timeoutMs);
    const onData = (chunk: Buffer) => {
      if (!chunk.toString('utf8').includes('"worker ready"')) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve();
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error('the worker process exited before it got ready'));
    });
  });
}

function collectLines(stream: NodeJS.ReadableStream, also?: (chunk: string) => void): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    also?.(text);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    workerLog.push(...lines.filter((l) => l.length > 0));
  });
  stream.on('end', () => {
    if (partial) workerLog.push(partial);
    partial = '';
  });
}
