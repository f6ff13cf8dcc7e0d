/**
 * The API as its own process for benchmarks: `node --import tsx api/main.ts` with a bench stack's
 * environment, as `npm run api` runs it. On its own so its memory is its own and the load generator does
 * not share its event loop. Its JSON log lines (one per request) are read off the pipe and dropped, as a
 * container runtime would take them; warnings and errors are passed on.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../deploy/local/services.js';
import { projectRoot } from '../deploy/local/tools.js';
import { untilReady, type ReadyChild } from './child-process.js';
import type { Log } from './stack.js';

const apiMain = join(projectRoot, 'api', 'main.ts');
const readyTimeoutMs = 120_000;

export interface BenchApiProcess extends ReadyChild {
  baseUrl: string;
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
  let isUp = false;
  const running = await untilReady(child, {
    name: 'the API process',
    readyTimeoutMs,
    log,
    onLine(line, ready) {
      // Cheap test first: under load this runs for every request's log line.
      if (!isUp && line.includes('"api ready"')) {
        isUp = true;
        ready();
      } else if (!line.startsWith('{') || /"level":(4|5|6)\d/.test(line)) log(`api: ${line.slice(0, 500)}`);
    },
  });
  return { ...running, baseUrl: `http://127.0.0.1:${port}` };
}
