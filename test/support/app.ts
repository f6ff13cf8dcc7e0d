/**
 * The real API for tests that need no server: built from the test config as `api/main.ts` builds it, over
 * real connections to the run's Temporal and MongoDB, and called in-process with `app.request(...)`, as
 * Hono's own tests do (honojs/hono `src/middleware/bearer-auth/index.test.ts`). No worker runs and no port
 * is opened: a workflow the API starts stays queued, which is all a test of its answers needs.
 */
import { rmSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { Db } from 'mongodb';
import { newMongoClient } from '../../activities/connections/mongo.js';
import { afterAll, beforeAll } from 'vitest';
import type { EmbeddedIssuer } from '../../api/auth/embedded-issuer.js';
import { serveApi } from '../../api/server.js';
import { loadConfig, type CraConfig } from '../../domain/config.js';
import { buildWorkerDependencies, type WorkerDependencies } from '../../workers/dependencies.js';
import { dataConverterWith } from '../../activities/connections/temporal.js';
import { PayloadEncryptionCodec } from '../../activities/secrets/payload-codec.js';
import { buildTestApi, startedInBeforeAll, testEnv } from './stack.js';

export interface TestApp {
  /** The Hono app; `app.request(url, init)` answers without a socket. */
  app: Awaited<ReturnType<typeof buildTestApi>>['app'];
  config: CraConfig;
  env: Record<string, string>;
  /** The adapters, built as the workers build them (no worker runs). */
  deps: WorkerDependencies;
  /** The public URL requests are addressed to (nothing listens there). */
  baseUrl: string;
  issuer: EmbeddedIssuer;
  db: Db;
  temporal: Client;
  apiLog: string[];
  close(): Promise<void>;
}

export async function appWithoutServer(opts: { env?: Record<string, string> } = {}): Promise<TestApp> {
  const { env, dataDir } = testEnv(opts.env);
  // Requests are addressed to this origin; nothing listens on it.
  env.CRA_PUBLIC_URL ??= 'http://localhost';
  const config = loadConfig(env);
  const mongo = await newMongoClient(config.mongo).connect();
  const db = mongo.db(config.mongo.db);
  const deps = await buildWorkerDependencies(config, db);
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterWith(await PayloadEncryptionCodec.create(deps.vault)),
  });
  const { app, issuer, apiLog } = await buildTestApi({ config, dataDir, db, temporal, deps });
  return {
    app,
    config,
    env,
    deps,
    baseUrl: config.publicUrl,
    issuer,
    db,
    temporal,
    apiLog,
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await Promise.all([mongo.close(), connection.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `appWithoutServer()` for one test file: built before its tests, closed after them (like `useTestStack`). */
export function useAppWithoutServer(opts: { env?: Record<string, string> } = {}): TestApp {
  let built: TestApp | undefined;
  beforeAll(async () => {
    built = await appWithoutServer(opts);
  });
  afterAll(async () => {
    await built?.close();
  });
  return startedInBeforeAll(() => built, 'the app');
}

/**
 * The same app served as `api/main.ts` serves it, on a free loopback port, for the few tests that are
 * about the connection itself (keep-alive after a refused body). Close it when done.
 */
export async function listen(target: TestApp): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const { server, port } = await new Promise<{ server: ReturnType<typeof serveApi>; port: number }>((resolve) => {
    const s = serveApi({ fetch: target.app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
      resolve({ server: s, port: info.port }),
    );
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
