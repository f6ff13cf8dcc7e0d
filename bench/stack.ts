/**
 * A whole CRA stack in this process for benchmarks: its own Temporal dev server and MongoDB-compatible
 * server on free ports, the real workers, the real API over real HTTP on 127.0.0.1, and one extra worker
 * for the no-op baseline workflow. `stop()` tears everything down and removes the temp folder.
 *
 * The API is served twice: once on the task queues the workers poll (end-to-end runs), and once on
 * queues nobody polls, so start-rate runs measure the start path without the workers taking CPU from it.
 *
 * Options for benchmarks that need more: `sandbox` starts the sandbox OAuth provider (CRA registered as
 * its client, as `npm start` does), and `workers: 'process'` runs the CRA workers as a separate
 * `workers/main.ts` process instead, so that process's memory can be measured on its own.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { newMongoClient } from '../activities/connections/mongo.js';
import { pino } from 'pino';
import { createApp } from '../api/app.js';
import { EmbeddedIssuer } from '../api/auth/embedded-issuer.js';
import type { SecretVault } from '../activities/secrets/port.js';
import { freePort, startMongo, startTemporal, type RunningService } from '../deploy/local/services.js';
import { ensureTools, projectRoot } from '../deploy/local/tools.js';
import { defaultSandboxClients } from '../deploy/sandbox/default-clients.js';
import { registerSandboxClients } from '../deploy/sandbox/register.js';
import { startSandboxProvider, type SandboxProvider } from '../deploy/sandbox/sandbox-provider.js';
import { loadConfig, type CraConfig } from '../domain/config.js';
import { providerIds } from '../domain/providers.js';
import { redactedLogPaths } from '../domain/redaction.js';
import { buildWorkerDependencies } from '../workers/dependencies.js';
import { createWorkers } from '../workers/workers.js';
import { dataConverterWith, failureConverterPath } from '../activities/connections/temporal.js';
import { PayloadEncryptionCodec } from '../activities/secrets/payload-codec.js';
import { benchActivities } from './activities.js';
import { untilReady, type ReadyChild } from './child-process.js';

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
  /**
   * A Temporal client of its own, not the API's: what a caller without CRA's API would hold. It has no codec,
   * so it cannot read the (encrypted) results; `decodingClient(stack)` can.
   */
  temporal: Client;
  /** The payload codec the API and the workers encrypt with (open history payloads with it). */
  codec: PayloadEncryptionCodec;
  noopTaskQueue: string;
  /** What ran, for the report: `temporal --version` and the MongoDB-compatible server's version. */
  versions: { temporalCli: string; mongo: string };
  /** The environment the configuration was read from: what a worker process of this stack needs. */
  env: Record<string, string>;
  /** The same SecretVault the workers use (the keyring under the stack's data folder). */
  vault: SecretVault;
  /** The sandbox OAuth provider, with `sandbox: true`. */
  sandbox?: SandboxProvider;
  /** The worker process, with `workers: 'process'`. */
  workerProcess?: BenchWorkerProcess;
  stop(): Promise<void>;
}

export interface BenchStackOptions {
  log: Log;
  env?: Record<string, string>;
  /** Start the sandbox OAuth provider for every provider and point CRA at it. */
  sandbox?: boolean;
  /**
   * `in-process` (default): the CRA workers and the no-op worker run in this process. `process`: the CRA
   * workers run as `workers/main.ts` in a child process and nothing polls the no-op task queue.
   */
  workers?: 'in-process' | 'process';
}

/** A CRA worker process (`workers/main.ts` with the stack's environment), ready once its workers poll. */
export type BenchWorkerProcess = ReadyChild;

export type Log = (line: string) => void;

function firstLine(cmd: string, args: string[]): string {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  return (
    (out.stdout || out.stderr || '')
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? 'unknown'
  );
}

let runtimeInstalled = false;

export async function startBenchStack(opts: BenchStackOptions): Promise<BenchStack> {
  const { log } = opts;
  const inProcess = (opts.workers ?? 'in-process') === 'in-process';
  if (!runtimeInstalled) {
    // Core SDK logs at INFO would interleave with the results; warnings and errors still show.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const tools = ensureTools(['temporal', 'mongo'], log);
  if (!tools.temporal) throw new Error('The Temporal CLI is missing: run `npm run tools` and read its output.');
  if (!tools.mongo)
    throw new Error('No MongoDB-compatible server: run `npm run tools` (FerretDB needs Go) or install mongod.');
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

    const env: Record<string, string> = {
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
    let sandbox: SandboxProvider | undefined;
    if (opts.sandbox) {
      // The API's address is fixed before the config is read: it is the redirect URI the sandbox registers.
      const apiPort = await freePort();
      env.PORT = String(apiPort);
      env.CRA_PUBLIC_URL = `http://127.0.0.1:${apiPort}`;
      const sandboxPort = await freePort();
      env.CRA_SANDBOX_URL = `http://127.0.0.1:${sandboxPort}`;
      const started = await startSandboxProvider({
        port: sandboxPort,
        publicUrl: env.CRA_SANDBOX_URL,
        providers: providerIds,
        clients: defaultSandboxClients(env.CRA_PUBLIC_URL, providerIds),
        log: (line) => log(`sandbox: ${line}`),
      });
      sandbox = started;
      teardown.push(() => started.close());
    }
    const config = loadConfig(env);
    const unpolledConfig = loadConfig({
      ...env,
      TEMPORAL_TASK_QUEUE_PREFIX: `${config.temporal.taskQueuePrefix}unpolled-`,
    });

    const mongo = await newMongoClient(config.mongo).connect();
    teardown.push(() => mongo.close());
    const db = mongo.db(config.mongo.db);
    const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    teardown.push(() => nativeConnection.close());
    const apiConnection = await Connection.connect({ address: config.temporal.address });
    teardown.push(() => apiConnection.close());
    const rawConnection = await Connection.connect({ address: config.temporal.address });
    teardown.push(() => rawConnection.close());

    const deps = await buildWorkerDependencies(config, db);
    if (sandbox) await registerSandboxClients(deps.vault, defaultSandboxClients(config.publicUrl, providerIds));
    const noopTaskQueue = `${config.temporal.taskQueuePrefix}bench-noop`;
    let workerProcess: BenchWorkerProcess | undefined;
    if (inProcess) {
      log('bundling workflows …');
      const bundle = await bundleWorkflowCode({
        workflowsPath: benchWorkflowsPath,
        failureConverterPath,
        logger: { info() {}, warn: log, error: log, debug() {}, trace() {}, log() {} },
      });
      const workflowBundle = { codePath: join(work, 'workflow-bundle.js') };
      writeFileSync(workflowBundle.codePath, bundle.code);

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
    } else {
      log('starting the worker process (it bundles the workflows itself) …');
      const started = await startWorkerProcess({ ...env, METRICS_PORT: String(await freePort()) }, log);
      workerProcess = started;
      teardown.push(() => started.stop());
    }

    // Like api/main.ts, but the lines go nowhere: serialising them is part of the API's cost, printing is not.
    const apiLog = pino(
      {
        level: config.logLevel,
        base: { service: 'cra-api' },
        redact: { paths: redactedLogPaths, censor: '[redacted]' },
      },
      { write: () => undefined },
    );
    const issuer = await EmbeddedIssuer.load({
      dataDir: config.dataDir,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    });
    // The API's client encrypts like api/main.ts's; the raw baseline client below does not.
    const codec = await PayloadEncryptionCodec.create(deps.vault);
    const apiTemporal = new Client({
      connection: apiConnection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverterWith(codec),
    });
    const serveApi = async (apiConfig: CraConfig, port: number): Promise<BenchApi> => {
      const app = createApp({ config: apiConfig, temporal: apiTemporal, db, log: apiLog, jwks: issuer.jwks() });
      const server: ServerType = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => resolve(s));
      });
      teardown.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return { config: apiConfig, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    };
    const live = await serveApi(config, opts.sandbox ? config.port : 0);
    const unpolled = await serveApi(unpolledConfig, 0);

    const temporal = new Client({ connection: rawConnection, namespace: config.temporal.namespace });
    return {
      live,
      unpolled,
      db,
      issuer,
      temporal,
      codec,
      noopTaskQueue,
      versions,
      stop,
      env,
      vault: deps.vault,
      ...(sandbox ? { sandbox } : {}),
      ...(workerProcess ? { workerProcess } : {}),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The workers encrypt every payload (the codec), so workflow results and query answers are read through a
 * client that decodes, on the raw client's connection; `stack.temporal` stays codec-less, as the start
 * baselines must. One per stack.
 */
const decodingClients = new WeakMap<BenchStack, Client>();
export function decodingClient(stack: BenchStack): Client {
  let client = decodingClients.get(stack);
  if (!client) {
    client = new Client({
      connection: stack.temporal.connection,
      namespace: stack.temporal.options.namespace,
      dataConverter: dataConverterWith(stack.codec),
    });
    decodingClients.set(stack, client);
  }
  return client;
}

const workerMain = join(projectRoot, 'workers', 'main.ts');
const workerReadyTimeoutMs = 180_000;

/**
 * `node --import tsx workers/main.ts`, not the `tsx` command: that one runs the worker in a child of its
 * own, and the pid here must be the process whose memory is measured. `nodeArgs` runs another worker
 * entry instead (the built `dist/workers/main.js`). Ready once it logs `worker ready`; its warnings and
 * errors are passed on to `log`, the rest of its output is dropped.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  log: Log,
  nodeArgs: readonly string[] = ['--import', 'tsx', workerMain],
): Promise<BenchWorkerProcess> {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: projectRoot,
    env: { ...process.env, ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return untilReady(child, {
    name: 'the worker process',
    readyTimeoutMs: workerReadyTimeoutMs,
    log,
    onLine(line, ready) {
      let entry: { level?: number; msg?: string } | undefined;
      try {
        entry = JSON.parse(line) as { level?: number; msg?: string };
      } catch {
        log(`worker: ${line}`);
        return;
      }
      if (entry.msg === 'worker ready') ready();
      else if ((entry.level ?? 0) >= 40) log(`worker: ${line.slice(0, 500)}`);
    },
  });
}

/**
 * Ctrl-C or SIGTERM mid-run still stops the servers this run started, rather than leaving them behind.
 * Returns what removes the handlers again.
 */
export function stopOnSignal(stack: Pick<BenchStack, 'stop'>, log: Log): () => void {
  const interrupt = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping …`);
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  return () => {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  };
}
