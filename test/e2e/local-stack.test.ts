/**
 * `npm start` as a newcomer runs it: the launcher brings up Temporal, FerretDB, the worker and the API;
 * a signup works; SIGTERM stops everything; after a restart the account and the workflow are still there.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/services.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { eventually } from '../support/stack.js';

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), 'cra-local-stack-'));
let launcher: ChildProcess | undefined;
let output = '';
let env: NodeJS.ProcessEnv;

afterAll(async () => {
  if (launcher && launcher.exitCode === null) {
    launcher.kill('SIGTERM');
    await new Promise((r) => launcher!.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<ChildProcess> {
  output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'deploy/local/start.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const api = `http://127.0.0.1:${env.PORT}`;
  // The one line a newcomer waits for: the API answers /readyz and the worker polls its queues.
  await eventually(async () => (output.includes('CRA is ready') ? true : undefined), 'the ready banner', 120_000);
  expect((await fetch(`${api}/readyz`)).status).toBe(200);
  return child;
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

it('starts, signs up, stops cleanly and keeps the data across a restart', async () => {
  env = {
    ...process.env,
    CRA_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    CRA_TEMPORAL_PORT: String(await freePort()),
    CRA_TEMPORAL_UI_PORT: String(await freePort()),
    CRA_MONGO_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    CRA_SANDBOX_PORT: String(await freePort()),
    MONGODB_URI: '',
  };
  const api = `http://127.0.0.1:${env.PORT}`;
  launcher = await start();
  const banner = output.slice(output.indexOf('CRA is ready'));
  expect(banner).toContain(`Account center   http://localhost:${env.PORT}/`);
  expect(banner).toContain(`Support console  http://localhost:${env.PORT}/console`);
  expect(banner).toContain(`Temporal Web     http://localhost:${env.CRA_TEMPORAL_UI_PORT}`);
  expect(banner).toContain(`API              http://localhost:${env.PORT}`);
  // Readable lines for a person, not JSON records; not the workflow bundle's webpack report.
  expect(output).not.toMatch(/^\[(api|worker)\] \{"level"/m);
  expect(output).not.toContain('workflow-bundle-');

  const { stdout: token } = await run(
    'node_modules/.bin/tsx',
    ['deploy/cli/token.ts', '--sub', 'auth0|newcomer', '--email', 'new@example.com'],
    { env },
  );
  const auth = { authorization: `Bearer ${token.trim()}` };
  const signup = await fetch(`${api}/v1/signup`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      givenName: 'New',
      familyName: 'Comer',
      consents: [{ purpose: 'terms', version: '1', granted: true }],
    }),
  });
  expect(signup.status).toBe(202);
  const { workflowId, accountId } = (await signup.json()) as { workflowId: string; accountId: string };
  const statusUrl = `${api}/v1/workflows/${encodeURIComponent(workflowId)}`;
  await eventually(
    async () =>
      ((await (await fetch(statusUrl, { headers: auth })).json()) as { status: string }).status === 'completed' ||
      undefined,
    'signup to complete',
    60_000,
  );

  // The sandbox provider that npm start runs lets a newcomer link a provider on a laptop.
  const link = await fetch(`${api}/v1/me/providers/github/link`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(link.status).toBe(202);
  const { authorizationUrl } = (await link.json()) as { authorizationUrl: string };
  expect(authorizationUrl.startsWith(`http://localhost:${env.CRA_SANDBOX_PORT}/github/auth?`)).toBe(true);
  const callback = await completeConsent(authorizationUrl, { username: 'newcomer' });
  // An app (here the CLI's token) finishing the link it started: the callback itself needs the account center's session.
  const linked = await fetch(`${api}/v1/me/providers/github/link/complete`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ state: callback.searchParams.get('state'), code: callback.searchParams.get('code') }),
  });
  expect(await linked.json()).toMatchObject({ status: 'linked' });

  const metrics = await (await fetch(`http://127.0.0.1:${env.METRICS_PORT}/metrics`)).text();
  expect(metrics).toMatch(/temporal_activity_execution_latency_bucket\{[^}]*activity_type="createAccountCenter"/);
  const { stdout: outbox } = await run(
    'node_modules/.bin/tsx',
    ['deploy/cli/outbox.ts', '--to', 'new@example.com', '--json'],
    { env: { ...env, MONGODB_URI: `mongodb://127.0.0.1:${env.CRA_MONGO_PORT}` } },
  );
  // Newest first: the provider notice, then the welcome.
  expect((JSON.parse(outbox) as Array<{ template: string; to: string }>).map((n) => [n.template, n.to])).toEqual([
    ['provider-linked', 'new@example.com'],
    ['welcome', 'new@example.com'],
  ]);

  expect(await stop(launcher)).toBe(0);
  expect(output).toContain('stopped.');
  // A clean stop is quiet: no warnings from the servers as they close.
  const shutdown = output.slice(output.indexOf('stopping the API and the worker'));
  expect(shutdown).not.toMatch(/WARN/);
  await expect(fetch(`${api}/healthz`)).rejects.toThrow();

  launcher = await start();
  const me = await fetch(`${api}/v1/me`, { headers: auth });
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({
    accountId,
    rootIdentity: { subject: 'auth0|newcomer' },
    connected_providers: { nodes: [{ provider: 'github', status: 'active' }] },
  });
  const status = await (await fetch(statusUrl, { headers: auth })).json();
  expect(status).toEqual({ workflowId, process: 'signup', status: 'completed', stage: 'completed' });
  expect(await stop(launcher)).toBe(0);
}, 300_000);
