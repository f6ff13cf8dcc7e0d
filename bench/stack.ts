/**
 * A whole CRA stack in this process for benchmarks: its own Temporal dev server and MongoDB-compatible
 * server on free ports, the real workers, the real API over real HTTP on 127.0.0.1, and one extra worker
 * for the no-op baseline workflow. `stop()` tears everything down and removes the temp folder.
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
import { MongoClient } from 'mongodb';
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

export interface BenchMachine {
  cores: number;
  cpu: string;
  node: string;
  temporalCli: string;
  mongo: string;
}

export interface BenchStack {
  config: CraConfig;
  baseUrl: string;
  issuer: EmbeddedIssuer;
  /** A Temporal client of its own, not the API's: what a caller without CRA's API would hold. */
  temporal: Client;
  noopTaskQueue: string;
  versions: Pick<BenchMachine, 'temporalCli' | 'mongo'>;
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
    mongo: `${tools.mongo.kind} ${firstLine(tools.mongo.path, ['--version']).replace(/^(db )?version:?\s*/i, '')}`,
  };

  const work = mkdtempSync(join(tmpdir(), 'cra-bench-'));
  // Undo in reverse order; each step registers its own teardown as soon as it exists.
  const teardown: Array<() => Promise<unknown>> = [async () => rmSync(work, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of teardown.reverse()) await step().catch((err: unknown) => log(`teardown: ${String(err)}`));
  };
  try {
    const services: RunningService[] = [];
    teardown.push(() => Promise.all(services.map((s) => s.stop(5_000))));
    const [temporalPort, mongoPort] = [await freePort(), await freePort()];
    const [temporalServer, mongoServer] = await Promise.all([
      startTemporal({ binary: tools.temporal, port: temporalPort, log }),
      startMongo({ mongo: tools.mongo, port: mongoPort, dataDir: join(work, 'mongo'), log }),
    ]);
    services.push(temporalServer, mongoServer);

    const config = loadConfig({
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
    });

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
    teardown.push(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    });

    // Like api/main.ts, but the lines go nowhere: serialising them is part of the API's cost, printing is not.
    const apiLog = pino(
      { level: config.logLevel, base: { service: 'cra-api' }, redact: { paths: redactedLogPaths, censor: '[redacted]' } },
      { write: () => undefined },
    );
    const issuer = await EmbeddedIssuer.load({ dataDir: config.dataDir, issuer: config.auth.issuer, audience: config.auth.audience });
    const apiTemporal = new Client({ connection: apiConnection, namespace: config.temporal.namespace });
    const app = createApp({ config, temporal: apiTemporal, db, log: apiLog, jwks: issuer.jwks() });
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    teardown.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const temporal = new Client({ connection: rawConnection, namespace: config.temporal.namespace });
    return { config, baseUrl, issuer, temporal, noopTaskQueue, versions, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
