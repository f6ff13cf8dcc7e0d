/**
 * MongoDB over TLS for real: a FerretDB of its own (SQLite, in a temp folder) with its TLS listener
 * (`--listen-tls`, `--listen-tls-cert-file`, `--listen-tls-key-file`, `--listen-tls-ca-file`: a CA file means
 * client certificates are required), certificates made now with `openssl`, and the MongoClient options built
 * from the configuration as both mains build them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongoClientOptions, mongoConnectError } from '../../activities/connections/mongo.js';
import { freePort } from '../../deploy/local/services.js';
import { loadConfig } from '../../domain/config.js';
import { makeTestCertificates } from '../support/certificates.js';

const ferretdb = fileURLToPath(new URL('../../.tools/bin/ferretdb', import.meta.url));
let dir: string;
let server: ChildProcess;
let port: number;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cra-mongo-tls-'));
  await makeTestCertificates(dir, 'DNS:localhost,IP:127.0.0.1');
  port = await freePort();
  server = spawn(
    ferretdb,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${await freePort()}`,
      `--listen-tls=127.0.0.1:${port}`,
      `--listen-tls-cert-file=${file('server.pem')}`,
      `--listen-tls-key-file=${file('server.key')}`,
      `--listen-tls-ca-file=${file('ca.pem')}`,
      '--telemetry=disable',
      '--debug-addr=127.0.0.1:0',
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
}, 60_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = () => ({
  MONGODB_URI: `mongodb://localhost:${port}/?directConnection=true`,
  MONGODB_TLS_CA_FILE: file('ca.pem'),
});

describe('MongoDB over TLS', () => {
  it('connects with the CA and a client certificate from the configuration', async () => {
    const { mongo: cfg } = loadConfig({ ...env(), MONGODB_TLS_CERT_KEY_FILE: file('client-bundle.pem') });
    // The listener may still be starting: the driver's server selection waits for it.
    const client = new MongoClient(cfg.uri, mongoClientOptions(cfg, { serverSelectionTimeoutMS: 20_000 }));
    try {
      await client.connect();
      await client.db('cra_tls').collection('probe').insertOne({ over: 'tls' });
      expect(
        await client
          .db('cra_tls')
          .collection('probe')
          .findOne({}, { projection: { _id: 0 } }),
      ).toEqual({
        over: 'tls',
      });
    } finally {
      await client.close();
    }
  }, 30_000);

  it('fails clearly without the client certificate the server requires', async () => {
    const { mongo: cfg } = loadConfig(env());
    const client = new MongoClient(cfg.uri, mongoClientOptions(cfg, { serverSelectionTimeoutMS: 2_000 }));
    const err = await client.connect().then(
      () => new Error('connected without a client certificate'),
      (e: unknown) => mongoConnectError(cfg, e),
    );
    await client.close();
    expect(err.message).toContain(
      `cannot reach MongoDB at mongodb://localhost:${port}/?directConnection=true over TLS (MONGODB_TLS_CA_FILE=${file('ca.pem')}) (MONGODB_URI): `,
    );
  }, 30_000);

  it('names the variable and path of a missing certificate file before connecting', () => {
    const { mongo: cfg } = loadConfig({ ...env(), MONGODB_TLS_CERT_KEY_FILE: file('absent.pem') });
    expect(() => mongoClientOptions(cfg)).toThrow(
      `MONGODB_TLS_CERT_KEY_FILE=${file('absent.pem')}: cannot read the file (no such file)`,
    );
  });
});
