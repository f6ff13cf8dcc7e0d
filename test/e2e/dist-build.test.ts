/**
 * The production build, run the way production runs it: `npm run build` into a folder, a production-only
 * install beside it (`npm ci --omit=dev`: no oidc-provider, no tsx, no sandbox, no test tools), then
 * `node dist/api/main.js` and `node dist/workers/main.js` with the prebuilt workflow bundle, against the run's
 * Temporal and FerretDB. The folder holds no TypeScript source, so a worker that tried to bundle the
 * workflows at start, or code that needed a dev dependency, would fail here. A person signs up through the
 * signed post-registration hook, as Auth0 calls it, and `GET /v1/me` answers for them with a token from
 * the identity provider (an external issuer whose JWKS the test serves).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedIssuer } from '../../api/auth/embedded-issuer.js';
import { signatureHeader, signatureHeaderValue } from '../../api/auth/hook-signature.js';
import { freePort } from '../../deploy/local/services.js';
import { eventually, hookSecrets, testEnv } from '../support/stack.js';

const root = resolve(import.meta.dirname, '../..');
const folder = mkdtempSync(join(tmpdir(), 'cra-dist-'));
const dist = join(folder, 'dist');
const processes: ChildProcess[] = [];
const logs = { api: [] as string[], worker: [] as string[] };
let issuer: EmbeddedIssuer;
let jwksServer: Server;
let baseUrl: string;

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

/** A built process, plain node, with only the environment production would give it. */
function startBuilt(
  name: 'api' | 'worker',
  script: string,
  env: Record<string, string>,
  nodeOptions: string[] = [],
): ChildProcess {
  const child = spawn(process.execPath, [...nodeOptions, join(dist, script)], {
    cwd: folder,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? folder, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (chunk: Buffer) => logs[name].push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  processes.push(child);
  return child;
}

function logged(name: 'api' | 'worker', text: string, timeoutMs = 60_000): Promise<void> {
  return eventually(
    () => Promise.resolve(logs[name].some((line) => line.includes(text)) || undefined),
    `the built ${name} to log ${text} (log: ${logs[name].slice(-5).join(' | ')})`,
    timeoutMs,
  ).then(() => undefined);
}

beforeAll(async () => {
  run(process.execPath, ['--import', 'tsx', 'deploy/build.ts', '--out-dir', dist], root);
  copyFileSync(join(root, 'package.json'), join(folder, 'package.json'));
  copyFileSync(join(root, 'package-lock.json'), join(folder, 'package-lock.json'));
  run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], folder);

  const issuerPort = await freePort();
  const issuerUrl = `http://127.0.0.1:${issuerPort}/`;
  issuer = await EmbeddedIssuer.load({
    dataDir: join(folder, 'issuer'),
    issuer: issuerUrl,
    audience: 'https://api.cra.local',
  });
  jwksServer = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks()));
  });
  await new Promise<void>((ready) => jwksServer.listen(issuerPort, '127.0.0.1', ready));

  const { env } = testEnv({
    AUTH_ISSUER: issuerUrl,
    AUTH_JWKS_URL: `${issuerUrl}.well-known/jwks.json`,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  });
  const apiPort = await freePort();
  env.PORT = String(apiPort);
  env.CRA_PUBLIC_URL = baseUrl = `http://127.0.0.1:${apiPort}`;
  env.CRA_DATA_DIR = join(folder, 'data');
  startBuilt(
    'worker',
    'workers/main.js',
    {
      ...env,
      METRICS_PORT: String(await freePort()),
      WORKFLOW_BUNDLE: join(dist, 'workflow-bundle.js'),
    },
    // With the heap cap the image's worker command sets (Dockerfile).
    ['--max-old-space-size=128', '--max-semi-space-size=2'],
  );
  startBuilt('api', 'api/main.js', env);
  await Promise.all([logged('worker', '"worker ready"', 120_000), logged('api', '"api ready"')]);
}, 300_000);

afterAll(async () => {
  await Promise.all(
    processes.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  await new Promise((done) => jwksServer?.close(done));
  rmSync(folder, { recursive: true, force: true });
});

describe('the built CRA, from a production-only install', () => {
  it('holds the compiled code and the bundle, and none of the development tools', () => {
    for (const file of ['api/main.js', 'workers/main.js', 'workflow-bundle.js'])
      expect(existsSync(join(dist, file))).toBe(true);
    expect(existsSync(join(folder, 'node_modules/@temporalio/worker'))).toBe(true);
    for (const devTool of ['oidc-provider', 'tsx', 'vitest', 'playwright-core', 'typescript'])
      expect(existsSync(join(folder, 'node_modules', devTool)), devTool).toBe(false);
    expect(existsSync(join(dist, 'deploy/sandbox')), 'the sandbox').toBe(false);
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    const ready = await eventually(async () => {
      const res = await fetch(`${baseUrl}/readyz`);
      return res.status === 200 ? res : undefined;
    }, 'the built API to be ready');
    expect(ready.status).toBe(200);
  });

  it('signs a person up end to end: the signed hook starts the signup, the worker runs it, GET /v1/me answers', async () => {
    const subject = `auth0|dist-${randomBytes(3).toString('hex')}`;
    const body = JSON.stringify({
      user: { user_id: subject, email: `${subject.slice(6)}@example.com`, email_verified: true, given_name: 'Grace' },
      consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
    });
    const hook = await fetch(`${baseUrl}/v1/hooks/auth0/post-registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [signatureHeader]: signatureHeaderValue(hookSecrets[0], body) },
      body,
    });
    expect(hook.status).toBe(202);
    expect(await hook.json()).toMatchObject({ workflowId: `signup/${subject}` });

    const token = await issuer.issue({ subject });
    const me = await eventually(async () => {
      const res = await fetch(`${baseUrl}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      const account = res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
      return account && account.status === 'active' ? account : undefined;
    }, 'the new account to be active');
    expect(me).toMatchObject({ status: 'active', rootIdentity: expect.objectContaining({ subject }) });
    // The processes logged as production logs: JSON lines, and never the hook's secret.
    expect(logs.api.some((line) => line.startsWith('{'))).toBe(true);
    for (const line of [...logs.api, ...logs.worker]) expect(line).not.toContain(hookSecrets[0]);
  });
});
