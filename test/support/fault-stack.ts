/**
 * What the fault suite (`test/faults/`) breaks, and how: its own Temporal dev server (a SQLite file) and its
 * own MongoDB-compatible server, which it stops and starts again on the same port and files while workflows
 * run; worker processes it SIGKILLs and starts again, as an orchestrator would; and the ledger of every
 * fault injected, for the table the suite prints. The run's shared servers (global-setup) stay untouched.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  ConnectionCheckOutFailedEvent,
  ConnectionClosedEvent,
  ConnectionPoolClearedEvent,
  MongoClient,
  ServerDescriptionChangedEvent,
  ServerHeartbeatFailedEvent,
} from 'mongodb';
import { inject } from 'vitest';
import { restartablePort, startMongo, startTemporal, type RunningService } from '../../deploy/local/services.js';
import { ensureTools } from '../../deploy/local/tools.js';
import { startWorkerProcess, workerReady } from './worker-process.js';

const log = (line: string) => process.stderr.write(`[faults] ${line}\n`);

/** Every fault injected, by kind, in the order they came. */
export class FaultLedger {
  readonly counts = new Map<string, number>();
  readonly events: Array<{ at: number; kind: string }> = [];
  readonly #t0 = Date.now();

  record(kind: string, times = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + times);
    this.events.push({ at: Date.now() - this.#t0, kind });
  }
}

export interface FaultServers {
  temporalAddress: string;
  mongoUri: string;
  /** SIGTERM the Temporal dev server, then start it again on the same port and SQLite file. */
  restartTemporal(): Promise<void>;
  /** Stop the MongoDB-compatible server for `ms`, then start it again on the same port and data folder. */
  mongoOutage(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** A Temporal dev server on a SQLite file and a MongoDB-compatible server, both the suite's own to break. */
export async function startFaultServers(): Promise<FaultServers> {
  const tools = ensureTools(['temporal', 'mongo'], log);
  if (!tools.temporal || !tools.mongo)
    throw new Error('the fault suite needs the Temporal CLI and FerretDB: run `npm run tools`');
  const work = mkdtempSync(join(tmpdir(), 'cra-faults-'));
  const temporalOptions = {
    binary: tools.temporal,
    // Both are stopped and started again on their port: one the kernel never gives a client (see restartablePort).
    port: await restartablePort(),
    dbFile: join(work, 'temporal.db'),
    log,
  };
  const mongoOptions = {
    mongo: tools.mongo,
    port: await restartablePort(),
    dataDir: join(work, 'mongo'),
    log,
    // FerretDB logs errors only: after an outage, what it says is why connections fail.
    output: (line: string) => log(`ferretdb: ${line}`),
  };
  let temporal: RunningService = await startTemporal(temporalOptions);
  let mongo: RunningService & { uri: string } = await startMongo(mongoOptions);
  return {
    temporalAddress: `127.0.0.1:${temporalOptions.port}`,
    mongoUri: mongo.uri,
    async restartTemporal() {
      await temporal.stop(10_000);
      temporal = await startTemporal(temporalOptions);
    },
    async mongoOutage(ms) {
      await mongo.stop(10_000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      mongo = await startMongo(mongoOptions);
    },
    async stop() {
      await Promise.all([temporal.stop(5_000), mongo.stop(5_000)]);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * The worker processes (`workers/main.ts`, the prebuilt workflow bundle), kept at `size` as an orchestrator
 * keeps a deployment's replicas: one that exits (killed, or failing to start while a server is down) is
 * started again after a moment.
 */
export class WorkerFleet {
  readonly #env: Record<string, string>;
  readonly #children = new Set<ChildProcess>();
  #stopped = false;
  /** Starts, the first ones included. */
  starts = 0;

  constructor(stackEnv: Record<string, string>) {
    this.#env = { ...stackEnv, WORKFLOW_BUNDLE: inject('workflowBundlePath'), LOG_LEVEL: 'info' };
  }

  /** Start `size` workers and wait until each polls. */
  async start(size: number): Promise<void> {
    await Promise.all(Array.from({ length: size }, () => this.#spawn()));
  }

  async #spawn(): Promise<void> {
    if (this.#stopped) return;
    this.starts += 1;
    const child = await startWorkerProcess(this.#env, { LOG_LEVEL: 'info' });
    this.#children.add(child);
    child.once('exit', () => {
      this.#children.delete(child);
      if (!this.#stopped) setTimeout(() => void this.#spawn().catch(() => undefined), 1_000);
    });
    await workerReady(child).catch(() => undefined);
  }

  /** SIGKILL one running worker (the orchestrator starts another); resolves once it is gone. */
  async killOne(): Promise<boolean> {
    const [child] = [...this.#children];
    if (!child) return false;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    return true;
  }

  /** Resolves once `size` workers run (after a kill, the replacement may still be starting). */
  async running(size: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#children.size < size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }

  stop(): void {
    this.#stopped = true;
    for (const child of this.#children) child.kill('SIGKILL');
  }
}

/**
 * A person's retry of a request that failed because something behind the API was down: a network error or
 * a 5xx (the API's 503 "unavailable", or a 500 of a dependency's error) is tried again after a pause, up to
 * `patienceMs`; any other answer is returned as it is. Only requests the API makes idempotent are retried
 * this way (the same signup, the same link callback, the same disconnect choice). Also for an operator's
 * reads (anything without a `status`): tried again while they throw.
 */
export async function patiently<T>(
  request: () => Promise<T>,
  opts: { patienceMs?: number; retried?: () => void } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.patienceMs ?? 180_000);
  let pause = 500;
  for (;;) {
    let outcome: T | undefined;
    let failure: unknown;
    try {
      outcome = await request();
      const status = (outcome as { status?: unknown } | undefined)?.status;
      if (typeof status !== 'number' || status < 500) return outcome;
    } catch (err) {
      failure = err;
    }
    if (Date.now() > deadline) {
      if (outcome !== undefined) return outcome;
      throw failure instanceof Error ? failure : new Error(String(failure));
    }
    opts.retried?.();
    await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 4_000);
  }
}

/** Run `task` over `items` with at most `limit` at a time (a crowd arriving at once, but not all in one tick). */
export async function inParallel<T, R>(items: readonly T[], limit: number, task: (item: T, i: number) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i]!, i);
      }
    }),
  );
  return results;
}

/**
 * What the driver of a long-lived `MongoClient` sees while the fault suite runs (its own monitor's
 * heartbeats, pool clears, connections closed and check-outs that failed), logged every 5 s as counts with
 * the last reason of each: after an outage, this says whether the client or the server keeps a connection
 * from working. Returns a function that stops watching.
 */
export function watchMongoClient(client: MongoClient, name: string): () => void {
  const seen = new Map<string, { n: number; last: string }>();
  const count = (what: string, why = '') => {
    const entry = seen.get(what) ?? { n: 0, last: '' };
    entry.n += 1;
    if (why) entry.last = why.slice(0, 160);
    seen.set(what, entry);
  };
  const reason = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  const listeners: Array<[string, (...args: never[]) => void]> = [
    ['serverHeartbeatFailed', (e: ServerHeartbeatFailedEvent) => count('heartbeat failed', reason(e.failure))],
    ['serverHeartbeatSucceeded', () => count('heartbeat ok')],
    [
      'serverDescriptionChanged',
      (e: ServerDescriptionChangedEvent) =>
        count(`server ${e.newDescription.type}`, e.newDescription.error ? reason(e.newDescription.error) : ''),
    ],
    [
      'connectionPoolCleared',
      (e: ConnectionPoolClearedEvent) => count('pool cleared', `interrupt=${e.interruptInUseConnections}`),
    ],
    ['connectionClosed', (e: ConnectionClosedEvent) => count(`closed (${e.reason})`)],
    ['connectionCheckOutFailed', (e: ConnectionCheckOutFailedEvent) => count(`check-out failed (${e.reason})`)],
    ['connectionReady', () => count('connection ready')],
  ];
  for (const [event, fn] of listeners) client.on(event as 'connectionReady', fn as () => void);
  const timer = setInterval(() => {
    if (seen.size === 0) return;
    const line = [...seen].map(([what, { n, last }]) => `${what} ×${n}${last ? ` (${last})` : ''}`).join('; ');
    log(`${name}: ${line}`);
    seen.clear();
  }, 5_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    for (const [event, fn] of listeners) client.off(event as 'connectionReady', fn as () => void);
  };
}
