/**
 * A CRA stack for one test file, against the run's Temporal and MongoDB servers: its own database, its
 * own task queues, the real workers (in this process) and the real API served over HTTP on a free port.
 * A file takes one with `const stack = useTestStack({ … })`. Tests that need no worker and no socket
 * call the app in-process instead (`test/support/app.ts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { newMongoClient } from '../../activities/connections/mongo.js';
import { pino } from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import { createApp } from '../../api/app.js';
import { serveApi } from '../../api/server.js';
import { EmbeddedIssuer } from '../../api/auth/embedded-issuer.js';
import { buildSignIn } from '../../api/sign-in.js';
import { loadConfig, type CraConfig } from '../../domain/config.js';
import { redactedLogPaths } from '../../domain/redaction.js';
import { buildWorkerDependencies, type WorkerDependencies } from '../../workers/dependencies.js';
import { createWorkers } from '../../workers/workers.js';
import { dataConverterWith } from '../../activities/connections/temporal.js';
import { PayloadEncryptionCodec } from '../../activities/secrets/payload-codec.js';
import { registerSandboxClients } from '../../deploy/sandbox/register.js';
import { defaultSandboxClients } from '../../deploy/sandbox/default-clients.js';
import {
  startSandboxProvider,
  type SandboxProvider,
  type SandboxProviderOptions,
} from '../../deploy/sandbox/sandbox-provider.js';
import { freePort } from '../../deploy/local/services.js';
import { providerIds } from '../../domain/providers.js';
import type { TestApp } from './app.js';

export interface TestStack {
  config: CraConfig;
  env: Record<string, string>;
  baseUrl: string;
  issuer: EmbeddedIssuer;
  db: Db;
  temporal: Client;
  /** The payload codec every client and worker of the stack uses (decode histories with it). */
  codec: PayloadEncryptionCodec;
  deps: WorkerDependencies;
  /** The sandbox OAuth provider, when asked for. */
  sandbox?: SandboxProvider;
  /** Everything the API logged, one JSON line each (for secret scans). */
  apiLog: string[];
  /** Start the in-process workers (started by default). */
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
}

export const hookSecrets = [
  'test-hook-secret-current-0123456789abcdef',
  'test-hook-secret-previous-0123456789abcdef',
] as const;

let runtimeInstalled = false;
/** Worker logs: warnings and errors only, so test output stays readable. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export interface TestStackOptions {
  workers?: boolean;
  env?: Record<string, string>;
  /** Start the sandbox OAuth provider (every provider, CRA registered as its client), optionally with overrides. */
  sandbox?:
    boolean | Partial<Pick<SandboxProviderOptions, 'accessTokenTtlSeconds' | 'refreshTokenTtlSeconds' | 'adminToken'>>;
}

/** The environment of one test file's CRA: its own database, task queues and data folder on the run's servers. */
export function testEnv(overrides: Record<string, string> = {}): { env: Record<string, string>; dataDir: string } {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'cra-stack-'));
  const env: Record<string, string> = {
    CRA_ENV: 'test',
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: `cra_test_${id}`,
    TEMPORAL_TASK_QUEUE_PREFIX: `t${id}-`,
    CRA_DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'info',
    SIGNUP_HOOK_SECRETS: hookSecrets.join(','),
    WORKER_SHUTDOWN_GRACE: '1s',
    ...overrides,
  };
  return { env, dataDir };
}

/** The API as `api/main.ts` builds it (sign-in included), over the given connections; its log lines go to `apiLog`. */
export async function buildTestApi(opts: {
  config: CraConfig;
  dataDir: string;
  db: Db;
  temporal: Client;
  deps: WorkerDependencies;
}) {
  const { config, db, temporal, deps } = opts;
  const apiLog: string[] = [];
  const log = pino(
    { level: 'info', redact: { paths: redactedLogPaths, censor: '[redacted]' } },
    { write: (line: string) => void apiLog.push(line) },
  );
  const issuer = await EmbeddedIssuer.load({
    dataDir: opts.dataDir,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  const signIn = await buildSignIn({ config, db, notifier: deps.notifier, signingKey: issuer.signingJwk() });
  const app = createApp({
    config,
    temporal,
    db,
    log,
    jwks: issuer.jwks(),
    vault: deps.vault,
    notifier: deps.notifier,
    ...(signIn ? { signIn } : {}),
  });
  return { app, issuer, apiLog };
}

export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  installQuietRuntime();
  const { env, dataDir } = testEnv(opts.env);
  // The API's address is fixed before the config is read: it is the public URL providers redirect to.
  const apiPort = opts.env?.PORT && opts.env.PORT !== '0' ? Number(opts.env.PORT) : await freePort();
  env.PORT = String(apiPort);
  env.CRA_PUBLIC_URL ??= `http://127.0.0.1:${apiPort}`;
  let sandbox: SandboxProvider | undefined;
  if (opts.sandbox) {
    const sandboxPort = await freePort();
    env.CRA_SANDBOX_URL = `http://127.0.0.1:${sandboxPort}`;
    sandbox = await startSandboxProvider({
      port: sandboxPort,
      publicUrl: env.CRA_SANDBOX_URL,
      providers: providerIds,
      clients: defaultSandboxClients(
        env.CRA_PUBLIC_URL,
        providerIds,
        Object.values(JSON.parse(env.LINK_CLIENT_REDIRECT_URIS ?? '{}') as Record<string, string[]>).flat(),
      ),
      log: () => undefined,
      ...(opts.sandbox === true ? {} : opts.sandbox),
    });
  }
  const config = loadConfig(env);
  const mongo = await newMongoClient(config.mongo).connect();
  const db = mongo.db(config.mongo.db);
  const deps = await buildWorkerDependencies(config, db);
  // The same payload keys as the API's and the workers' (one keyring under the stack's data folder).
  const codec = await PayloadEncryptionCodec.create(deps.vault);
  const temporalConnection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({
    connection: temporalConnection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterWith(codec),
  });
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  if (sandbox) await registerSandboxClients(deps.vault, defaultSandboxClients(config.publicUrl, providerIds));

  const { app, issuer, apiLog } = await buildTestApi({ config, dataDir, db, temporal, deps });
  const server: ServerType = await new Promise((resolve) => {
    const s = serveApi({ fetch: app.fetch, hostname: '127.0.0.1', port: apiPort }, () => resolve(s));
  });
  const baseUrl = config.publicUrl;

  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  const stack: TestStack = {
    config,
    env,
    baseUrl,
    issuer,
    db,
    temporal,
    codec,
    deps,
    apiLog,
    ...(sandbox ? { sandbox } : {}),
    async startWorkers() {
      if (running) return;
      workers = await createWorkers({
        config,
        connection: nativeConnection,
        deps,
        codec,
        workflowBundle: { codePath: inject('workflowBundlePath') },
      });
      running = Promise.all(workers.map((w) => w.run()));
    },
    async stopWorkers() {
      if (!running) return;
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      running = undefined;
    },
    async stop() {
      await stack.stopWorkers();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sandbox?.close();
      await db.dropDatabase().catch(() => undefined);
      await Promise.all([mongo.close(), temporalConnection.close(), nativeConnection.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (opts.workers !== false) await stack.startWorkers();
  return stack;
}

/**
 * The stack of a test file: started before its tests, stopped after them (hooks registered here, so a
 * file's own `beforeAll` that comes after this line sees a started stack, and its own `afterAll` runs
 * before the stop). Use it inside tests and hooks; reading it at the top level of the file throws.
 */
export function useTestStack(
  opts: TestStackOptions | (() => TestStackOptions | Promise<TestStackOptions>) = {},
): TestStack {
  let started: TestStack | undefined;
  beforeAll(async () => {
    started = await startTestStack(typeof opts === 'function' ? await opts() : opts);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return startedInBeforeAll(() => started, 'the test stack');
}

/**
 * A stand-in object for what a `beforeAll` builds: every property is read from the built one, so a file
 * can hold it in a `const` at the top level and use it in its tests and hooks.
 */
export function startedInBeforeAll<T extends object>(built: () => T | undefined, what: string): T {
  const current = (): T => {
    const value = built();
    if (!value) throw new Error(`${what} is built in beforeAll: use it inside a test or a hook`);
    return value;
  };
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(current(), key),
    has: (_, key) => Reflect.has(current(), key),
    ownKeys: () => Reflect.ownKeys(current()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(current(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}

/** A signed-in caller: a token from the stack's (or the app's) embedded issuer. */
export async function tokenFor(
  stack: Pick<TestStack, 'issuer'>,
  subject: string,
  extra: { email?: string; permissions?: string[] } = {},
): Promise<string> {
  return stack.issuer.issue({ subject, ...extra });
}

/** An RFC 9457 problem as the API answers it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: Array<{ pointer: string; detail: string }>;
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A request to the API: real HTTP to a stack, or in-process to an app (`app.request`, no socket). For the
 * app a string body gets the Content-Length a client would send, so limits are checked as they are over HTTP.
 */
export async function call<T = Record<string, unknown>>(
  target: Pick<TestStack, 'baseUrl'> | Pick<TestApp, 'baseUrl' | 'app'>,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] ??= 'application/json';
  }
  const url = `${target.baseUrl}${path}`;
  let res: Response;
  if ('app' in target && target.app) {
    if (body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(body));
    res = await target.app.request(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  } else {
    res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Poll until `check` returns a value (not undefined) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
