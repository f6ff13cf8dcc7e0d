/**
 * `npm start`: the whole local stack on one machine — Temporal dev server (SQLite under .data/, Web UI),
 * a MongoDB-compatible server (data under .data/), the worker and the API. Ctrl-C or SIGTERM stops all
 * of them; data survives a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../domain/config.js';
import { namespace, searchAttributeRegistrations } from '../../temporal.config.js';
import { buildSecretVault } from '../../activities/secrets/build.js';
import { providerIds } from '../../domain/providers.js';
import { defaultSandboxClients } from '../sandbox/default-clients.js';
import { registerSandboxClients } from '../sandbox/register.js';
import { startSandboxProvider } from '../sandbox/sandbox-provider.js';
import { startMongo, startTemporal, stopProcess, type RunningService } from './services.js';
import { localStackSettings, portFrom } from './settings.js';
import { ensureTools, projectRoot } from './tools.js';

const say = (line: string) => process.stdout.write(`[cra] ${line}\n`);
const prefixed = (name: string) => (line: string) => process.stdout.write(`[${name}] ${line}\n`);

/** Lines a child printed, for the ready check (the worker says "worker ready" once its queues are polled). */
const seen = new Set<string>();

function runNode(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  // node itself with tsx's loader (not the tsx wrapper), so signals reach the process that runs the code.
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, script)], {
    cwd: projectRoot,
    env: { ...process.env, ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = prefixed(name);
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) =>
      chunk
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .forEach((line) => {
          if (line.includes('worker ready')) seen.add(`${name}:ready`);
          // oidc-provider warns on every start that Node 20 is not its tested runtime; CRA supports 20.
          if (line.startsWith('oidc-provider WARNING: Unsupported runtime')) return;
          out(line);
        }),
    );
  }
  return child;
}

/** Until the API answers /readyz (Temporal and MongoDB reachable) and the worker polls its queues. */
async function waitUntilReady(api: string, timeoutMs = 180_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let apiReady = false;
  while (Date.now() < deadline && !stopping) {
    if (!apiReady)
      apiReady = await fetch(`${api}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.ok)
        .catch(() => false);
    if (apiReady && seen.has('worker:ready')) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

const services: RunningService[] = [];
const children: ChildProcess[] = [];
let stopping = false;

async function shutdown(why: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`${why}: stopping the API and the worker, then the servers …`);
  await Promise.all(children.map((c) => stopProcess(c, 15_000)));
  await Promise.all(services.reverse().map((s) => s.stop()));
  say('stopped.');
  process.exit(code);
}

async function main(): Promise<void> {
  // Check the configuration the worker and API will get before starting anything.
  const config = loadConfig();
  // The same derivation as the operator commands (deploy/cli), so they find this stack's data.
  const {
    temporalPort,
    temporalUiPort: uiPort,
    mongoPort,
    dataDir,
    mongoUri: localMongo,
    externalMongo,
  } = localStackSettings();
  mkdirSync(dataDir, { recursive: true });

  process.once('SIGINT', () => void shutdown('Ctrl-C'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  // The servers run in their own process groups: closing the terminal must stop them too.
  process.once('SIGHUP', () => void shutdown('SIGHUP'));

  const tools = ensureTools(['temporal', ...(externalMongo ? [] : (['mongo'] as const))], (l) => say(l));

  let temporalAddress: string;
  let temporalUi: string;
  // Temporal Web decodes histories through the API's codec endpoint. The dev server's UI sends no sign-in
  // with its requests, so this run's endpoint carries a secret of its own, new at every start.
  const codecToken = randomBytes(24).toString('base64url');
  const codecEndpoint = `${config.publicUrl}/v1/codec/local/${codecToken}`;
  if (tools.temporal) {
    say(`starting Temporal dev server on :${temporalPort} (Web UI :${uiPort}, data .data/temporal.db) …`);
    const temporal = await startTemporal({
      binary: tools.temporal,
      port: temporalPort,
      uiPort,
      codecEndpoint,
      dbFile: join(dataDir, 'temporal.db'),
      ownGroup: true,
      log: say,
      // Its own shutdown is a page of WARN lines about closing pollers: nothing to act on.
      output: (line) => {
        if (!stopping) prefixed('temporal')(line);
      },
    });
    services.push(temporal);
    temporalAddress = temporal.address;
    temporalUi = temporal.uiUrl!;
  } else {
    say(
      'Temporal CLI not found and pip could not install it: falling back to the Temporal SDK download (needs network access).',
    );
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: temporalPort,
        ui: true,
        uiPort,
        dbFilename: join(dataDir, 'temporal.db'),
        namespace,
        searchAttributes: searchAttributeRegistrations.map(([name, type]) => ({
          name,
          type: type === 'Bool' ? 'BOOL' : 'KEYWORD',
        })) as never,
      },
    });
    services.push({ name: 'temporal', child: undefined as never, stop: () => env.teardown() });
    temporalAddress = `127.0.0.1:${temporalPort}`;
    temporalUi = `http://localhost:${uiPort}`;
  }

  let mongoUri = localMongo;
  if (!externalMongo) {
    if (!tools.mongo) {
      say('No MongoDB-compatible server: install mongod, or Go (to build FerretDB), or set MONGODB_URI.');
      return shutdown('missing MongoDB', 1);
    }
    say(`starting ${tools.mongo.kind} on :${mongoPort} (data .data/mongo) …`);
    const mongo = await startMongo({
      mongo: tools.mongo,
      port: mongoPort,
      dataDir: join(dataDir, 'mongo'),
      ownGroup: true,
      log: say,
      output: prefixed(tools.mongo.kind),
    });
    services.push(mongo);
    mongoUri = mongo.uri;
  }

  // The sandbox provider stands in for every provider without real credentials, so linking works on a laptop.
  let sandboxUrl = config.providers.sandboxUrl;
  if (!sandboxUrl && config.env !== 'production' && process.env.CRA_SANDBOX !== 'off') {
    const port = portFrom(process.env, 'CRA_SANDBOX_PORT', 4000);
    sandboxUrl = `http://localhost:${port}`;
    const clients = defaultSandboxClients(
      config.publicUrl,
      providerIds,
      Object.values(config.link?.clientRedirectUris ?? {}).flat(),
    );
    const sandbox = await startSandboxProvider({
      port,
      host: '127.0.0.1',
      publicUrl: sandboxUrl,
      providers: providerIds,
      clients,
      log: prefixed('sandbox'),
    });
    services.push({ name: 'sandbox', child: undefined as never, stop: () => sandbox.close() });
    const vault = await buildSecretVault({ dataDir, ...(config.vault ? { vault: config.vault } : {}) });
    await registerSandboxClients(vault, clients);
    say(`sandbox OAuth provider on ${sandboxUrl} (every provider without real credentials links against it)`);
  }

  const env = {
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    TEMPORAL_UI_URL: temporalUi,
    CRA_CODEC_LOCAL_TOKEN: codecToken,
    MONGODB_URI: mongoUri,
    CRA_DATA_DIR: dataDir,
    ...(sandboxUrl ? { CRA_SANDBOX_URL: sandboxUrl } : {}),
  };
  for (const [name, script] of [
    ['worker', 'workers/main.ts'],
    ['api', 'api/main.ts'],
  ] as const) {
    const child = runNode(name, script, env);
    child.once('exit', (code, signal) => {
      if (!stopping) void shutdown(`the ${name} exited (${signal ?? `code ${code}`})`, 1);
    });
    children.push(child);
  }

  const api = `http://localhost:${config.port}`;
  say('starting the worker and the API …');
  if (!(await waitUntilReady(api))) {
    if (!stopping) say(`not ready after 3 minutes: see the lines above (${api}/readyz says what is missing).`);
    return;
  }
  const web = config.publicUrl;
  const banner = [
    '',
    '✔ CRA is ready.',
    `  Account center   ${web}/            sign up with an email address and a password, then sign in`,
    `  Support console  ${web}/console     npm run role -- grant support-lead --email <your address>, then sign in again`,
    `  Emails           npm run --silent outbox     (confirmation links and notices: nothing is really sent)`,
    `  API              ${api}            (OpenAPI: ${api}/openapi.json, health: ${api}/readyz)`,
    `  Temporal Web     ${temporalUi}      (every process as a workflow; payloads encrypted, decoded here by the API)`,
    `  Temporal gRPC    ${temporalAddress}`,
    `  MongoDB          ${mongoUri}`,
    `  Worker metrics   http://127.0.0.1:${config.worker.metricsPort}/metrics`,
    ...(sandboxUrl ? [`  Sandbox OAuth    ${sandboxUrl}      (stands in for every provider)`] : []),
    '  Press Ctrl-C to stop; your data stays in .data/.',
    '',
  ];
  for (const line of banner) say(line);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  if (err instanceof ConfigError) process.exit(78);
  void shutdown('start failed', 1);
});
