/**
 * A whole CRA stack in this process for benchmarks: its own Temporal dev server and MongoDB-compatible
 * server on free ports, the real workers, the real API over real HTTP on 127.0.0.1, and one extra worker
 * for the no-op baseline workflow. `stop()` tears everything down and removes the temp folder.
 *
 * The API is served twice: once on the task queues the workers poll (end-to-end runs), and once on
 * queues nobody polls, so start-rate runs measure the start path without the workers taking CPU from it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { createApp } from '../api/app.js';
import { EmbeddedIssuer } from '../api/auth/embedded-issuer.js';
import { freePort, startMongo, startTemporal, type RunningService } from '../deploy/local/services.js';
import { ensureTools } from '../deploy/local/tools.js';
import { loadConfig, type CraConfig } from '../domain/config.js';
import { redactedLogPaths } from '../domain/redaction.js';
import { buildWorkerDependencies } from '../workers/dependencies.js';
import { createWorkers } from '../workers/workers.js';
import { benchActivities } from './activities.js';

export const benchWorkflowsPath = fileURLToPath(new URL('./workflows.ts', import.meta.url));

/** One API server and the configuration it runs with. */
export interface BenchApi {
  config: CraConfig;
  baseUrl: string;
}

export interface BenchStack {
  /** Task queues the CRA workers poll: signups started here run to completion. */
  live: BenchApi;
  /** Same API and workflow, task queues no worker polls: started signups wait, untouched. */
  unpolled: BenchApi;
  db: Db;
  issuer: EmbeddedIssuer;
  /** A Temporal client of its own, not the API's: what a caller without CRA's API would hold. */
  temporal: Client;
  noopTaskQueue: string;
  /** What ran, for the report: `temporal --version` and the MongoDB-compatible server's version. */
  versions: { temporalCli: string; mongo: string };
  stop(): Promise<void>;
}

export type Log = (line: string) => void;

function firstLine(cmd: string, args: string[]): string {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  return (out.stdout || out.stderr || '').split('\n').find((l) => l.trim())?.trim() ?? 'unknown';
}

let runtimeInstalled = false;

export async function startBenchStack(opts: { log: Log; env?: Record<string, string> }): Promise<BenchStack> {
  const { log } = opts;
  if (!runtimeInstalled) {
    // Core SDK logs at INFO would interleave with the results; warnings and errors still show.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const tools = ensureTools(['temporal', 'mongo'], log);
  if (!tools.temporal) throw new Error('The Temporal CLI is missing: run `npm run tools` and read its output.');
  if (!tools.mongo) throw new Error('No MongoDB-compatible server: run `npm run tools` (FerretDB needs Go) or install mongod.');
  const versions = {
    temporalCli: firstLine(tools.temporal, ['--version']),
    mongo: `${tools.mongo.kind} ${firstLine(tools.mongo.path, ['--version']).replace(/^(db )?version:?\s*/i, '')}${tools.mongo.kind === 'ferretdb' ? ' (SQLite backend)' : ''}`,
  };

  const work = mkdtempSync(join(tmpdir(), 'cra-bench-'));
  // Undo in reverse order; each step registers its own teardown as soon as it exists.
  const teardown: Array<() => Promise<unknown>> = [async () => rmSync(work, { recursive: true, force: true })];
  let stopped: Promise<void> | undefined;
  // Once only: an interrupt and the normal end of a run may both ask.
  const stop = () =>
    (stopped ??= (async () => {
      for (const step of teardown.reverse()) await step().catch((err: unknown) => log(`teardown: ${String(err)}`));
    })());
  try {
    const services: RunningService[] = [];
    teardown.push(() => Promise.all(services.map((s) => s.stop(5_000))));
    const [temporalPort, mongoPort] = [await freePort(), await freePort()];
    const [temporalServer, mongoServer] = await Promise.all([
      startTemporal({ binary: tools.temporal, port: temporalPort, log }),
      startMongo({ mongo: tools.mongo, port: mongoPort, dataDir: join(work, 'mongo'), log }),
    ]);
    services.push(temporalServer, mongoServer);

    const env = {
      CRA_ENV: 'test',
      TEMPORAL_ADDRESS: temporalServer.address,
      MONGODB_URI: mongoServer.uri,
      MONGODB_DB: 'cra_bench',
      CRA_DATA_DIR: join(work, 'data'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      WORKER_SHUTDOWN_GRACE: '1s',
      ...opts.env,
    };
    const config = loadConfig(env);
    const unpolledConfig = loadConfig({ ...env, TEMPORAL_TASK_QUEUE_PREFIX: `${config.temporal.taskQueuePrefix}unpolled-` });

    const mongo = await new MongoClient(config.mongo.uri).connect();
    teardown.push(() => mongo.close());
    const db = mongo.db(config.mongo.db);
    const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    teardown.push(() => nativeConnection.close());
    const apiConnection = await Connection.connect({ address: config.temporal.address });
    teardown.push(() => apiConnection.close());
    const rawConnection = await Connection.connect({ address: config.temporal.address });
    teardown.push(() => rawConnection.close());

    log('bundling workflows …');
    const bundle = await bundleWorkflowCode({
      workflowsPath: benchWorkflowsPath,
      logger: { info() {}, warn: log, error: log, debug() {}, trace() {}, log() {} },
    });
    const workflowBundle = { codePath: join(work, 'workflow-bundle.js') };
    writeFileSync(workflowBundle.codePath, bundle.code);

    const deps = await buildWorkerDependencies(config, db);
    const noopTaskQueue = `${config.temporal.taskQueuePrefix}bench-noop`;
    const workers = [
      ...(await createWorkers({ config, connection: nativeConnection, deps, workflowBundle })),
      await Worker.create({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue: noopTaskQueue,
        workflowBundle,
        activities: benchActivities,
        shutdownGraceTime: config.worker.shutdownGrace,
      }),
    ];
    const running = Promise.all(workers.map((w) => w.run()));
    // A worker that dies leaves its batch to time out; say why instead of dying on an unhandled rejection.
    running.catch((err: unknown) => log(`a worker stopped: ${err instanceof Error ? err.message : String(err)}`));
    teardown.push(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running.catch(() => undefined);
    });

    // Like api/main.ts, but the lines go nowhere: serialising them is part of the API's cost, printing is not.
    const apiLog = pino(
      { level: config.logLevel, base: { service: 'cra-api' }, redact: { paths: redactedLogPaths, censor: '[redacted]' } },
      { write: () => undefined },
    );
    const issuer = await EmbeddedIssuer.load({ dataDir: config.dataDir, issuer: config.auth.issuer, audience: config.auth.audience });
    const apiTemporal = new Client({ connection: apiConnection, namespace: config.temporal.namespace });
    const serveApi = async (apiConfig: CraConfig): Promise<BenchApi> => {
      const app = createApp({ config: apiConfig, temporal: apiTemporal, db, log: apiLog, jwks: issuer.jwks() });
      const server: ServerType = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
      });
      teardown.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return { config: apiConfig, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    };
    const live = await serveApi(config);
    const unpolled = await serveApi(unpolledConfig);

    const temporal = new Client({ connection: rawConnection, namespace: config.temporal.namespace });
    return { live, unpolled, db, issuer, temporal, noopTaskQueue, versions, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
