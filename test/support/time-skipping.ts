/**
 * The time-skipping test server (timers pass in an instant) with CRA's search attributes registered the
 * way an operator would, a database of its own, and the real workers on demand.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import type { WorkerOptions } from '@temporalio/worker';
import { MongoClient, type Db } from 'mongodb';
import { inject } from 'vitest';
import { loadConfig } from '../../domain/config.js';
import { searchAttributeRegistrations } from '../../temporal.config.js';
import { buildWorkerDependencies } from '../../workers/dependencies.js';
import { createWorkers } from '../../workers/workers.js';
import { dataConverterWith } from '../../activities/connections/temporal.js';
import { KeyringVault } from '../../activities/secrets/keyring-vault.js';
import { PayloadEncryptionCodec } from '../../activities/secrets/payload-codec.js';
import type { SecretVault } from '../../activities/secrets/port.js';

export interface TimeSkipping {
  env: TestWorkflowEnvironment;
  db: Db;
  /** The payload codec of the test client and the workers (decode histories with it). */
  codec: PayloadEncryptionCodec;
  /** The keyring the workers use (payload keys, account keys: read the outbox with it). */
  vault: SecretVault;
  /**
   * Run `fn` while the CRA workers (on `<prefix>` task queues) poll; they stop when it returns. `configEnv` adds
   * to the workers' environment (e.g. `TEMPORAL_ADDRESS` of the dev server for activities that need schedules).
   */
  withWorkers<T>(
    prefix: string,
    fn: () => Promise<T>,
    overrides?: Partial<WorkerOptions>,
    configEnv?: Record<string, string>,
  ): Promise<T>;
  close(): Promise<void>;
}

export async function startTimeSkipping(): Promise<TimeSkipping> {
  // Payloads are encrypted as in production: the test client and the workers share one keyring.
  const dataDir = mkdtempSync(join(tmpdir(), 'cra-ts-'));
  const vault = await KeyringVault.open({ dataDir });
  const codec = await PayloadEncryptionCodec.create(vault);
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalTestServerPath') } },
    client: { dataConverter: dataConverterWith(codec) },
  });
  // The Java test server starts without CRA's search attributes.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      searchAttributeRegistrations.map(([name, type]) => [
        name,
        type === 'Bool'
          ? temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL
          : temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  const mongo = await new MongoClient(inject('mongoUri')).connect();
  const db = mongo.db(`cra_ts_${randomBytes(4).toString('hex')}`);
  return {
    env,
    db,
    codec,
    vault,
    async withWorkers(prefix, fn, overrides, configEnv) {
      const config = loadConfig({
        TEMPORAL_TASK_QUEUE_PREFIX: prefix,
        WORKER_SHUTDOWN_GRACE: '1s',
        CRA_DATA_DIR: dataDir,
        ...configEnv,
      });
      const deps = await buildWorkerDependencies(config, db);
      const [accounts, ...others] = await createWorkers({
        config,
        connection: env.nativeConnection,
        deps,
        codec,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        ...(overrides ? { overrides } : {}),
      });
      return accounts!.runUntil(async () => {
        const running = others.map((w) => w.run());
        try {
          return await fn();
        } finally {
          for (const w of others) w.shutdown();
          await Promise.all(running);
        }
      });
    },
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
      await env.teardown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
