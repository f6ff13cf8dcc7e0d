/**
 * `npm run worker`: connects to Temporal and MongoDB named by the environment and runs the CRA workers
 * until SIGINT or SIGTERM, then lets running tasks finish and exits.
 */
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { mongoConnectError, newMongoClient } from '../activities/connections/mongo.js';
import { temporalConnectError, temporalNativeOptions } from '../activities/connections/temporal.js';
import { loggedVaultEvents } from '../activities/secrets/build.js';
import { ConfigError, loadConfig } from '../domain/config.js';
import { createLogger } from '../domain/logging.js';
import { taskQueueNames } from '../temporal.config.js';
import { buildWorkerDependencies } from './dependencies.js';
import { createWorkers } from './workers.js';

/**
 * What the SDK says on every start and stop that tells an operator nothing: the workflow bundle's webpack
 * report, each state change of each worker, and that the identity queue runs no workflows (by design). At
 * debug level they are still there (`LOG_LEVEL=debug`).
 */
const routine = (message: string) =>
  message.startsWith('asset workflow-bundle') ||
  message === 'Worker state changed' ||
  message.startsWith('No Nexus services registered') ||
  message.startsWith('No workflows registered');

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'cra-worker');
  const temporalLevel: LogLevel = config.logLevel === 'debug' || config.logLevel === 'trace' ? 'DEBUG' : 'INFO';
  Runtime.install({
    logger: new DefaultLogger(temporalLevel, (entry) => {
      const level = routine(entry.message)
        ? 'debug'
        : entry.level === 'TRACE'
          ? 'trace'
          : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      log[level]({ ...entry.meta, source: 'temporal' }, entry.message);
    }),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: `${config.worker.metricsHost}:${config.worker.metricsPort}` } },
    },
  });

  const mongo = newMongoClient(config.mongo, { serverSelectionTimeoutMS: 10_000 }, (address) =>
    log.warn({ address }, 'MongoDB heartbeat stalled on a closed socket; reconnecting'),
  );
  try {
    await mongo.connect();
  } catch (err) {
    throw mongoConnectError(config.mongo, err);
  }
  const connection = await NativeConnection.connect(temporalNativeOptions(config.temporal)).catch((err: unknown) => {
    throw temporalConnectError(config.temporal, err);
  });
  const deps = await buildWorkerDependencies(config, mongo.db(config.mongo.db), {
    vaultEvents: loggedVaultEvents(log),
  });
  const workers = await createWorkers({ config, connection, deps });
  const queues = taskQueueNames(config.temporal.taskQueuePrefix);
  log.info(
    {
      temporal: config.temporal.address,
      temporalTls: config.temporal.tls
        ? config.temporal.apiKey
          ? 'tls+api-key'
          : config.temporal.tls.clientCertPair
            ? 'mtls'
            : 'tls'
        : 'off',
      namespace: config.temporal.namespace,
      queues,
      identity: config.identity.kind,
      metrics: `http://${config.worker.metricsHost}:${config.worker.metricsPort}/metrics`,
    },
    'worker ready',
  );
  try {
    // The runtime turns SIGINT/SIGTERM into a graceful shutdown of every worker.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await connection.close();
    await mongo.close();
    log.info('worker stopped');
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`cra-worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 78 : 1);
});
