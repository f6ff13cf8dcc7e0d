/**
 * Temporal over TLS for real: a TLS-terminating gRPC proxy (`test/support/temporal-tls-proxy.ts`) in front of
 * the run's dev server, certificates made now with the `openssl` CLI, and the client and worker connection
 * options built from the configuration exactly as `api/main.ts` and `workers/main.ts` build them.
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  temporalClientOptions,
  temporalConnectError,
  temporalNativeOptions,
} from '../../activities/connections/temporal.js';
import { loadConfig } from '../../domain/config.js';
import { makeTestCertificates } from '../support/certificates.js';
import { startTemporalTlsProxy, type TemporalTlsProxy } from '../support/temporal-tls-proxy.js';

const serverName = 'temporal.cra.test';
const apiKey = 'tcak-CRA-test-api-key-never-logged';
let dir: string;
let bundle: { code: string };
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cra-temporal-tls-'));
  await makeTestCertificates(dir, `DNS:${serverName}`);
  // A one-line workflow, bundled now (about a second): the test is about the connection, not CRA's workflows.
  await writeFile(file('greet.mjs'), "export async function greet(name) { return 'hello ' + name; }\n");
  const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));
  bundle = await bundleWorkflowCode({
    workflowsPath: file('greet.mjs'),
    webpackConfigHook: (c) => ({ ...c, resolve: { ...c.resolve, modules: [nodeModules, 'node_modules'] } }),
  });
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function proxy(mode: 'mtls' | 'api-key'): Promise<TemporalTlsProxy> {
  return startTemporalTlsProxy({
    upstream: inject('temporalAddress'),
    mode,
    cert: await readFile(file('server.pem')),
    key: await readFile(file('server.key')),
    ca: await readFile(file('ca.pem')),
    apiKey,
  });
}

/** A worker and a client, both through the proxy with options from `config.temporal`, run one workflow. */
async function greetThrough(temporal: ReturnType<typeof loadConfig>['temporal'], taskQueue: string): Promise<string> {
  const native = await NativeConnection.connect(temporalNativeOptions(temporal));
  const worker = await Worker.create({
    connection: native,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: bundle,
    shutdownGraceTime: '1s',
  });
  const connection = await Connection.connect(temporalClientOptions(temporal));
  try {
    return await worker.runUntil(async () => {
      const client = new Client({ connection, namespace: temporal.namespace });
      return client.workflow.execute('greet', { taskQueue, workflowId: `${taskQueue}-wf`, args: ['tls'] });
    });
  } finally {
    await connection.close();
    await native.close();
  }
}

describe('Temporal over TLS', () => {
  it('runs a workflow over mTLS, the worker and the client both through the TLS proxy', async () => {
    const p = await proxy('mtls');
    try {
      const { temporal } = loadConfig({
        TEMPORAL_ADDRESS: p.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: serverName,
        TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem'),
        TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
      });
      expect(await greetThrough(temporal, `tls-mtls-${Date.now()}`)).toBe('hello tls');
      expect(p.stats.forwarded).toBeGreaterThan(0);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('fails clearly without a client certificate when the server wants one', async () => {
    const p = await proxy('mtls');
    try {
      const { temporal } = loadConfig({
        TEMPORAL_ADDRESS: p.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: serverName,
      });
      const err = await Connection.connect({ ...temporalClientOptions(temporal), connectTimeout: '2s' }).then(
        (c) => c.close().then(() => new Error('connected without a client certificate')),
        (e: unknown) => temporalConnectError(temporal, e),
      );
      expect(err.message).toContain(
        `cannot reach Temporal at ${p.address} over TLS (TEMPORAL_TLS_SERVER_CA_CERT_PATH=${file('ca.pem')}, TEMPORAL_TLS_SERVER_NAME=${serverName})`,
      );
      expect(err.message).toContain('if the server requires mTLS, set TEMPORAL_TLS_CLIENT_CERT_PATH');
      expect(p.stats.forwarded).toBe(0);
    } finally {
      await p.close();
    }
  }, 30_000);

  it('runs a workflow with an API key over TLS, as Temporal Cloud takes it', async () => {
    const p = await proxy('api-key');
    try {
      const { temporal } = loadConfig({
        TEMPORAL_ADDRESS: p.address,
        TEMPORAL_API_KEY: apiKey,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: serverName,
      });
      expect(await greetThrough(temporal, `tls-apikey-${Date.now()}`)).toBe('hello tls');
      expect(p.stats.unauthenticated).toBe(0);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('fails clearly with a wrong API key, without showing it', async () => {
    const p = await proxy('api-key');
    try {
      const wrongKey = 'tcak-WRONG-key-never-shown';
      const { temporal } = loadConfig({
        TEMPORAL_ADDRESS: p.address,
        TEMPORAL_API_KEY: wrongKey,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: serverName,
      });
      const err = await NativeConnection.connect(temporalNativeOptions(temporal)).then(
        (c) => c.close().then(() => new Error('connected with a wrong API key')),
        (e: unknown) => temporalConnectError(temporal, e),
      );
      expect(err.message).toContain(`cannot reach Temporal at ${p.address} over TLS (`);
      expect(err.message).toContain('TEMPORAL_API_KEY=[redacted]');
      expect(err.message).toMatch(/unauthorized|unauthenticated/i);
      expect(err.message).not.toContain(wrongKey);
      expect(p.stats.unauthenticated).toBeGreaterThan(0);
    } finally {
      await p.close();
    }
  }, 30_000);

  it('names the variable and the path of a certificate file that is missing', () => {
    const { temporal } = loadConfig({
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('absent.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
    });
    expect(() => temporalClientOptions(temporal)).toThrow(
      `TEMPORAL_TLS_CLIENT_CERT_PATH=${file('absent.pem')}: cannot read the file (no such file)`,
    );
  });
});
