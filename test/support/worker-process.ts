/**
 * `npm run worker` as a separate process, the way it runs in production, for the tests that SIGKILL it.
 * node itself with tsx's loader, not the tsx wrapper: SIGKILL must reach the worker, not a parent of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../deploy/local/services.js';

/** Kill every worker started by the file in its `afterAll`. */
export const workerProcesses: ChildProcess[] = [];

export async function startWorkerProcess(
  stackEnv: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<ChildProcess> {
  const env = { ...process.env, ...stackEnv, METRICS_PORT: String(await freePort()), LOG_LEVEL: 'warn', ...extraEnv };
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM')
      process.stderr.write(`worker exited ${code}: ${stderr}\n`);
  });
  workerProcesses.push(child);
  return child;
}
