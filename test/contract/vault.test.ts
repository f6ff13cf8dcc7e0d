/**
 * Contract tests of HashiCorpVault against a local HTTP server playing Vault (`test/support/vault-stand-in.ts`,
 * which cites the page each endpoint follows): the real adapter and the real `node-vault` client, only the
 * network destination differs. Each contract cites the page it was checked against, so a stand-in that
 * drifts from Vault shows.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSecretVault } from '../../activities/secrets/build.js';
import { HashiCorpVault, type HashiCorpVaultOptions } from '../../activities/secrets/hashicorp-vault.js';
import { SecretVaultError, type SecretVaultErrorType } from '../../activities/secrets/port.js';
import {
  hmacOf,
  startVaultStandIn,
  vaultErrors as errors,
  type RecordedRequest,
  type VaultStandIn,
  type VaultState,
} from '../support/vault-stand-in.js';

const token = 'hvs.CRA-contract-token-do-not-log';
/** What a 403 adds: where to fix it. */
const policyHint = `: permission denied; add it to CRA's Vault policy (deploy/vault/cra-policy.hcl), or check the token`;
/** A plaintext no error message may ever contain. */
const marker = 'PLAINTEXT-MARKER-5d1e0b';

let standIn: VaultStandIn;
let endpoint: string;
/** What the stand-in holds and was asked (reset before each test). */
let vaultState: VaultState;

function newVault(overrides: Partial<HashiCorpVaultOptions> = {}): HashiCorpVault {
  return new HashiCorpVault({ endpoint, token, ...overrides });
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

async function caught(promise: Promise<unknown>): Promise<SecretVaultError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SecretVaultError) return err;
    throw err;
  }
  throw new Error('expected a SecretVaultError, got success');
}

async function expectError(promise: Promise<unknown>, type: SecretVaultErrorType): Promise<SecretVaultError> {
  const err = await caught(promise);
  expect(err.type).toBe(type);
  return err;
}

/** What an operator would see in logs or Temporal history holds no token, plaintext or ciphertext. */
function expectNothingSecret(err: SecretVaultError, ...secrets: string[]): void {
  const visible = [err.message, String(err), err.stack ?? '', JSON.stringify(err)].join('\n');
  for (const secret of [token, marker, b64(marker), ...secrets]) expect(visible).not.toContain(secret);
  expect(visible.toLowerCase()).not.toContain('x-vault-token');
  expect(err.cause).toBeUndefined();
  expect(Object.keys(err).sort()).toEqual(['name', 'type']);
}

beforeAll(async () => {
  standIn = await startVaultStandIn({
    token,
    transitMounts: ['transit', 'crypto/team-a'],
    kvMounts: ['secret', 'kv-v2'],
  });
  endpoint = standIn.endpoint;
  vaultState = standIn.state;
});

afterAll(async () => {
  await standIn?.close();
});

beforeEach(() => {
  standIn.reset();
});

/** Every request carries the token header and, with a body, says it is JSON. */
function expectWellFormed(request: RecordedRequest | undefined): void {
  expect(request?.headers['x-vault-token']).toBe(token);
  if (request?.body !== undefined) expect(request.headers['content-type']).toContain('application/json');
}

describe('HashiCorpVault: transit requests', () => {
  // https://developer.hashicorp.com/vault/api-docs/secret/transit#encrypt-data
  // "POST /transit/encrypt/:name", "plaintext (string: <required>) – Specifies base64 encoded plaintext",
  // sample response { "data": { "ciphertext": "vault:v1:…" } }. Header: "X-Vault-Token: …".
  it('encrypts with POST /v1/transit/encrypt/:name and exactly { plaintext: base64 }', async () => {
    const ciphertext = await newVault().encrypt('payments', marker);

    expect(ciphertext).toMatch(/^vault:v1:/);
    expect(vaultState.requests).toHaveLength(1);
    const [request] = vaultState.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/transit/encrypt/payments' });
    expect(request?.body).toStrictEqual({ plaintext: b64(marker) });
    expectWellFormed(request);
    expect(request?.headers['x-vault-namespace']).toBeUndefined();
  });

  // https://developer.hashicorp.com/vault/api-docs/secret/transit#decrypt-data
  // "POST /transit/decrypt/:name", "ciphertext (string: <required>)", response data.plaintext is base64.
  it.each([
    ['unicode', 'Grüße, 世界 — 👩🏽‍💻'],
    ['the empty string', ''],
    ['100 KB', 'y'.repeat(100_000)],
  ])(
    'decrypts with POST /v1/transit/decrypt/:name and exactly { ciphertext }: round-trips %s',
    async (_label, plaintext) => {
      const vault = newVault();
      const ciphertext = await vault.encrypt('payments', plaintext);

      expect(await vault.decrypt('payments', ciphertext)).toBe(plaintext);
      const request = vaultState.requests[1];
      expect(request).toMatchObject({ method: 'POST', path: '/v1/transit/decrypt/payments' });
      expect(request?.body).toStrictEqual({ ciphertext });
      expectWellFormed(request);
    },
  );

  // https://developer.hashicorp.com/vault/api-docs/secret/transit#rotate-key ("POST /transit/keys/:name/rotate",
  // sample request without a payload) then #read-key ("GET /transit/keys/:name"; data.latest_version).
  // #rewrap-data: "POST /transit/rewrap/:name", "ciphertext (string: <required>)", response data.ciphertext.
  it('rotates (POST …/keys/:name/rotate, no body; GET …/keys/:name) and rewraps v1 → v2', async () => {
    const vault = newVault();
    const v1 = await vault.encrypt('payments', marker);
    vaultState.requests = [];

    expect(await vault.rotateKey('payments')).toEqual({ latestVersion: 2 });
    expect(vaultState.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/transit/keys/payments/rotate',
      'GET /v1/transit/keys/payments',
    ]);
    expect(vaultState.requests[0]?.body).toBeUndefined();
    expect(vaultState.requests[1]?.body).toBeUndefined();
    for (const r of vaultState.requests) expectWellFormed(r);

    vaultState.requests = [];
    const v2 = await vault.rewrap('payments', v1);
    expect(v2).toMatch(/^vault:v2:/);
    expect(vaultState.requests[0]).toMatchObject({ method: 'POST', path: '/v1/transit/rewrap/payments' });
    expect(vaultState.requests[0]?.body).toStrictEqual({ ciphertext: v1 });
    expect(await vault.decrypt('payments', v2)).toBe(marker);
    expect(await vault.decrypt('payments', v1)).toBe(marker);
    expect(await vault.encrypt('payments', 'new')).toMatch(/^vault:v2:/);
  });

  // https://developer.hashicorp.com/vault/api-docs/secret/transit#generate-hmac
  // "POST /transit/hmac/:name(/:algorithm)", "algorithm (string: "sha2-256")", "input … base64 encoded".
  // Vault's hmac endpoint does not create keys (path_hmac.go: "encryption key not found"), so the first
  // use creates one with #create-key ("POST /transit/keys/:name", no payload needed for aes256-gcm96).
  it('HMACs with POST /v1/transit/hmac/:name and exactly { input: base64 }, creating the key on first use', async () => {
    const vault = newVault();
    const mac = await vault.hmac('webhooks', marker);

    expect(vaultState.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/transit/hmac/webhooks',
      'POST /v1/transit/keys/webhooks',
      'POST /v1/transit/hmac/webhooks',
    ]);
    expect(vaultState.requests[0]?.body).toStrictEqual({ input: b64(marker) });
    expect(vaultState.requests[1]?.body).toBeUndefined();
    expect(vaultState.requests[2]?.body).toStrictEqual({ input: b64(marker) });
    for (const r of vaultState.requests) expectWellFormed(r);
    const key = vaultState.transit.get('webhooks');
    expect(key).toBeDefined();
    if (key) expect(mac).toBe(hmacOf(key, 1, Buffer.from(marker)));

    vaultState.requests = [];
    expect(await vault.hmac('webhooks', marker)).toBe(mac);
    expect(vaultState.requests).toHaveLength(1);
  });

  // https://developer.hashicorp.com/vault/api-docs/secret/transit#generate-hmac: "batch_input (array<object>: nil) –
  // Specifies a list of items to be processed in a single batch … responses are returned in the 'batch_results'
  // array component of the 'data' element of the response"; each item an { input } in base64.
  it('MACs many inputs with one POST /v1/transit/hmac/:name and batch_input, equal to one at a time', async () => {
    const vault = newVault();
    const inputs = ['first', 'second', 'third'];
    const one = await Promise.all(inputs.map((i) => vault.hmac('records', i)));
    vaultState.requests = [];
    expect(await vault.hmacMany('records', inputs)).toEqual(one);
    expect(vaultState.requests).toHaveLength(1);
    expect(vaultState.requests[0]).toMatchObject({ method: 'POST', path: '/v1/transit/hmac/records' });
    expect(vaultState.requests[0]?.body).toStrictEqual({ batch_input: inputs.map((i) => ({ input: b64(i) })) });
    expectWellFormed(vaultState.requests[0]);
    for (const [i, mac] of one.entries()) expect(await vault.verifyHmac('records', inputs[i]!, mac)).toBe(true);
    // A key that does not exist yet is created, as for one input.
    expect(await vault.hmacMany('never-used', ['a', 'b'])).toHaveLength(2);
    // 2500 inputs: three requests of at most 1000.
    vaultState.requests = [];
    const many = Array.from({ length: 2500 }, (_, i) => `input ${i}`);
    const macs = await vault.hmacMany('records', many);
    expect(macs).toHaveLength(2500);
    expect(vaultState.requests.map((r) => (r.body as { batch_input: unknown[] }).batch_input.length)).toEqual([
      1000, 1000, 500,
    ]);
    expect(macs[1234]).toBe(await vault.hmac('records', 'input 1234'));
  });

  it('fails hmacMany when Vault refuses one item of the batch', async () => {
    const vault = newVault();
    await expect(vault.hmacMany('records', ['fine', ''])).rejects.toMatchObject({
      type: 'Unavailable',
      message: expect.stringContaining('missing input for HMAC'),
    });
  });

  // https://developer.hashicorp.com/vault/api-docs/secret/transit#verify-signed-data
  // "POST /transit/verify/:name", "input … base64 encoded", "hmac (string: "") – Specifies the signature
  // output from the /transit/hmac function", "hash_algorithm (string: "sha2-256")"; response data.valid.
  it('verifies with POST /v1/transit/verify/:name and exactly { input, hmac }; old MACs survive rotation', async () => {
    const vault = newVault();
    const mac = await vault.hmac('webhooks', 'payload');
    vaultState.requests = [];

    expect(await vault.verifyHmac('webhooks', 'payload', mac)).toBe(true);
    expect(vaultState.requests[0]).toMatchObject({ method: 'POST', path: '/v1/transit/verify/webhooks' });
    expect(vaultState.requests[0]?.body).toStrictEqual({ input: b64('payload'), hmac: mac });
    expectWellFormed(vaultState.requests[0]);

    expect(await vault.verifyHmac('webhooks', 'other payload', mac)).toBe(false);
    await vault.rotateKey('webhooks');
    expect(await vault.hmac('webhooks', 'payload')).toMatch(/^vault:v2:/);
    expect(await vault.verifyHmac('webhooks', 'payload', mac)).toBe(true);
  });

  // Vault answers 400 for a MAC it cannot parse (pathHMACVerify: "invalid HMAC to verify: no prefix",
  // "unable to decode verification HMAC as base64"): such a MAC is simply not valid. A version Vault does
  // not have ("invalid HMAC: version is too new") cannot be checked at all: KeyNotFound.
  it('answers false for a malformed MAC and KeyNotFound for a MAC of a version Vault does not have', async () => {
    const vault = newVault();
    const mac = await vault.hmac('webhooks', 'payload');

    for (const bad of ['', 'not-a-mac', mac.replace('vault:', 'cra:'), `${mac.slice(0, -3)}*==`, 'vault:v1']) {
      expect(await vault.verifyHmac('webhooks', 'payload', bad)).toBe(false);
    }
    await expectError(vault.verifyHmac('webhooks', 'payload', mac.replace('vault:v1:', 'vault:v9:')), 'KeyNotFound');
  });

  // https://developer.hashicorp.com/vault/api-docs/secret/transit: "This documentation assumes the transit
  // secrets engine is enabled at the /transit path … please update your API calls accordingly."
  // https://developer.hashicorp.com/vault/api-docs#namespaces: "relative to the X-Vault-Namespace header".
  it('uses the configured mounts and sends X-Vault-Namespace when a namespace is set', async () => {
    const vault = newVault({ transitMount: '/crypto/team-a/', kvMount: 'kv-v2', namespace: 'ns1/ns2/' });
    const ciphertext = await vault.encrypt('payments', marker);
    expect(await vault.decrypt('payments', ciphertext)).toBe(marker);
    await vault.writeSecret('providers/google', { clientId: 'cid' });
    expect(await vault.readSecret('providers/google')).toEqual({ clientId: 'cid' });

    expect(vaultState.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/crypto/team-a/encrypt/payments',
      'POST /v1/crypto/team-a/decrypt/payments',
      'POST /v1/kv-v2/data/providers/google',
      'GET /v1/kv-v2/data/providers/google',
    ]);
    for (const r of vaultState.requests) {
      expectWellFormed(r);
      expect(r.headers['x-vault-namespace']).toBe('ns1/ns2/');
    }
  });

  it('ignores VAULT_NAMESPACE and VAULT_PREFIX from the environment: its options are the only source', async () => {
    const saved = { ns: process.env.VAULT_NAMESPACE, prefix: process.env.VAULT_PREFIX };
    process.env.VAULT_NAMESPACE = 'stray-namespace';
    process.env.VAULT_PREFIX = '/stray-prefix';
    try {
      await newVault().encrypt('payments', 'x');
    } finally {
      for (const [name, value] of [
        ['VAULT_NAMESPACE', saved.ns],
        ['VAULT_PREFIX', saved.prefix],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(vaultState.requests[0]?.path).toBe('/v1/transit/encrypt/payments');
    expect(vaultState.requests[0]?.headers['x-vault-namespace']).toBeUndefined();
  });

  it('refuses key names and secret paths that could leave the mount, without sending anything', async () => {
    const vault = newVault();
    await expectError(vault.encrypt('../sys/seal', 'x'), 'KeyNotFound');
    await expectError(vault.decrypt('a/b', 'vault:v1:AAAA'), 'KeyNotFound');
    await expectError(vault.readSecret('../../sys/seal'), 'KeyNotFound');
    await expectError(vault.writeSecret('a//b', { x: 'y' }), 'KeyNotFound');
    expect(() => newVault({ kvMount: '../sys' })).toThrow(/not a valid mount path/);
    expect(vaultState.requests).toEqual([]);
  });
});

describe('HashiCorpVault: KV version 2 requests', () => {
  // https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#create-update-secret
  // "POST /secret/data/:path", "data (Map: <required>) – The contents of the data map will be stored".
  // #read-secret-version: "GET /secret/data/:path", sample response { "data": { "data": { … }, "metadata" } }.
  it('writes with POST /v1/secret/data/:path and exactly { data }, reads data.data with GET', async () => {
    const vault = newVault();
    await vault.writeSecret('providers/google', { clientId: 'cid', clientSecret: marker });
    expect(await vault.readSecret('providers/google')).toEqual({ clientId: 'cid', clientSecret: marker });

    const [write, read] = vaultState.requests;
    expect(write).toMatchObject({ method: 'POST', path: '/v1/secret/data/providers/google' });
    expect(write?.body).toStrictEqual({ data: { clientId: 'cid', clientSecret: marker } });
    expect(read).toMatchObject({ method: 'GET', path: '/v1/secret/data/providers/google', body: undefined });
    for (const r of vaultState.requests) expectWellFormed(r);

    await vault.writeSecret('providers/google', { clientId: 'cid-2', clientSecret: 'rotated' });
    expect(await vault.readSecret('providers/google')).toEqual({ clientId: 'cid-2', clientSecret: 'rotated' });
    expect(vaultState.kv.get('secret/providers/google')?.version).toBe(2);
  });

  // https://developer.hashicorp.com/vault/api-docs#http-status-codes: "404 - Invalid path. This can both
  // mean that the path truly doesn't exist or that you don't have permission to view a specific path."
  it('answers undefined for a secret Vault does not have (404 with { errors: [] })', async () => {
    expect(await newVault().readSecret('providers/github')).toBeUndefined();
    expect(vaultState.requests[0]).toMatchObject({ method: 'GET', path: '/v1/secret/data/providers/github' });
  });

  // Vault's router answers a path under no mount with 404 "no handler for route …": not an absent secret.
  it('fails with KeyNotFound, not undefined, when nothing is mounted at kvMount', async () => {
    const err = await expectError(newVault({ kvMount: 'not-mounted' }).readSecret('providers/google'), 'KeyNotFound');
    expect(err.message).toBe('Vault GET /v1/not-mounted/data/providers/google failed with status 404');
  });

  it('answers undefined for a deleted latest version (404 with data.data null), and JSON text for non-string values', async () => {
    vaultState.canned.push({
      method: 'GET',
      path: '/v1/secret/data/providers/gone',
      status: 404,
      body: { data: { data: null, metadata: { deletion_time: '2024-01-01T00:00:00Z', destroyed: false, version: 3 } } },
    });
    expect(await newVault().readSecret('providers/gone')).toBeUndefined();

    vaultState.kv.set('secret/providers/odd', { data: { port: 443, flags: { a: true }, name: 'x' }, version: 1 });
    expect(await newVault().readSecret('providers/odd')).toEqual({ port: '443', flags: '{"a":true}', name: 'x' });
  });
});

describe('HashiCorpVault: error mapping', () => {
  // Vault's decrypt answers 400 "cipher: message authentication failed" for an altered ciphertext and
  // "invalid ciphertext: …" for one it cannot parse (sdk/helper/keysutil/policy.go, Policy.Decrypt).
  it('maps an altered or foreign ciphertext to Tampered, naming method, path and status only', async () => {
    const vault = newVault();
    const ciphertext = await vault.encrypt('payments', marker);
    const body = Buffer.from(ciphertext.split(':')[2] ?? '', 'base64');
    body[20] = (body[20] ?? 0) ^ 0x01;
    const altered = `vault:v1:${body.toString('base64')}`;

    const err = await expectError(vault.decrypt('payments', altered), 'Tampered');
    expect(err.message).toBe('Vault POST /v1/transit/decrypt/payments failed with status 400');
    expectNothingSecret(err, ciphertext.split(':')[2] ?? '', body.toString('base64'));

    await vault.encrypt('other', 'x');
    await expectError(vault.decrypt('other', ciphertext), 'Tampered');
    for (const bad of ['', 'cra:v1:AAAA', 'vault:v1', 'vault:vX:AAAA', 'vault:v1:%%%%', 'vault:v1:AAAA']) {
      await expectError(vault.decrypt('payments', bad), 'Tampered');
    }
    await expectError(vault.rewrap('payments', altered), 'Tampered');
  });

  it('maps a version Vault does not have, a key Vault does not have, and rotating an unknown key to KeyNotFound', async () => {
    const vault = newVault();
    const ciphertext = await vault.encrypt('payments', marker);

    await expectError(vault.decrypt('payments', ciphertext.replace('vault:v1:', 'vault:v2:')), 'KeyNotFound');
    await expectError(vault.decrypt('never-used', ciphertext), 'KeyNotFound');
    const rotate = await expectError(vault.rotateKey('never-used'), 'KeyNotFound');
    expect(rotate.message).toBe('Vault POST /v1/transit/keys/never-used/rotate failed with status 400');
    await expectError(vault.verifyHmac('never-used', 'x', 'vault:v1:AAAA'), 'KeyNotFound');
  });

  // https://developer.hashicorp.com/vault/api-docs#http-status-codes:
  // "403 - Forbidden, your authentication details are either incorrect, you don't have access to this feature".
  it('maps a wrong token and a policy refusal (403 permission denied) to Forbidden without leaking the token', async () => {
    const wrongToken = 'hvs.WRONG-token-must-not-leak';
    const err = await expectError(newVault({ token: wrongToken }).encrypt('payments', marker), 'Forbidden');
    expect(err.message).toBe(`Vault POST /v1/transit/encrypt/payments failed with status 403${policyHint}`);
    expect(err.message).not.toContain(wrongToken);
    expectNothingSecret(err, wrongToken);

    vaultState.canned.push({
      method: 'POST',
      path: '/v1/secret/data/providers/google',
      status: 403,
      body: errors('1 error occurred:\n\t* permission denied\n\n'),
    });
    expectNothingSecret(
      await expectError(newVault().writeSecret('providers/google', { clientSecret: marker }), 'Forbidden'),
    );
    vaultState.canned.push({
      method: 'GET',
      path: '/v1/secret/data/providers/google',
      status: 403,
      body: errors('permission denied'),
    });
    await expectError(newVault().readSecret('providers/google'), 'Forbidden');
  });

  // https://developer.hashicorp.com/vault/api-docs#http-status-codes: "503 - Vault is down for maintenance
  // or is currently sealed. Try again later."; "500 … try again later"; "412 … Should be retried".
  it.each([
    [503, errors('Vault is sealed')],
    [500, errors('internal error')],
    [502, errors('upstream error')],
    [412, errors('required index state not present')],
    [429, errors('request path "transit/encrypt/payments": rate limit quota exceeded')],
  ])('maps a %i to Unavailable (retryable)', async (status, body) => {
    vaultState.canned.push({ method: 'POST', path: '/v1/transit/encrypt/payments', status, body });
    const err = await expectError(newVault().encrypt('payments', marker), 'Unavailable');
    expect(err.message).toBe(`Vault POST /v1/transit/encrypt/payments failed with status ${status}`);
    expectNothingSecret(err);
    // node-vault does not retry on its own: Temporal's retry policy owns retries.
    expect(vaultState.requests).toHaveLength(1);
  });

  it('maps a 503 on a KV read (sealed) to Unavailable, not to "absent"', async () => {
    vaultState.canned.push({
      method: 'GET',
      path: '/v1/secret/data/providers/google',
      status: 503,
      body: errors('Vault is sealed'),
    });
    await expectError(newVault().readSecret('providers/google'), 'Unavailable');
  });

  it('maps any other 400 (a request Vault will never accept) to Forbidden', async () => {
    vaultState.canned.push({
      method: 'POST',
      path: '/v1/transit/encrypt/signing-key',
      status: 400,
      body: errors('key type ed25519 does not support encryption'),
    });
    await expectError(newVault().encrypt('signing-key', marker), 'Forbidden');
  });

  it('maps an unreachable Vault and a Vault that never answers to Unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadEndpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const refused = await expectError(newVault({ endpoint: deadEndpoint }).encrypt('payments', marker), 'Unavailable');
    expect(refused.message).toBe('Vault POST /v1/transit/encrypt/payments failed: no response');
    expectNothingSecret(refused);

    vaultState.canned.push({ method: 'POST', path: '/v1/transit/decrypt/payments', status: 0, hang: true });
    const timedOut = await expectError(
      newVault({ requestOptions: { timeout: 200 } }).decrypt('payments', 'vault:v1:AAAA'),
      'Unavailable',
    );
    expectNothingSecret(timedOut);
  });

  it('maps a 200 without the documented field to Unavailable', async () => {
    vaultState.canned.push({ method: 'POST', path: '/v1/transit/encrypt/payments', status: 200, body: { data: {} } });
    const err = await expectError(newVault().encrypt('payments', marker), 'Unavailable');
    expect(err.message).toBe('Vault POST /v1/transit/encrypt/payments answered without data.ciphertext');
  });

  it('keeps the token, plaintexts and ciphertexts out of every error it throws', async () => {
    const vault = newVault();
    const ciphertext = await vault.encrypt('payments', marker);
    vaultState.canned.push(
      { method: 'POST', path: '/v1/transit/decrypt/payments', status: 503, body: errors('Vault is sealed') },
      { method: 'POST', path: '/v1/transit/hmac/payments', status: 500, body: errors(`echo ${marker} ${token}`) },
    );
    const errorsSeen = [
      await caught(vault.decrypt('payments', ciphertext)),
      await caught(vault.hmac('payments', marker)),
      await caught(vault.decrypt('payments', `${ciphertext.slice(0, -4)}AAA=`)),
      await caught(newVault({ token: 'hvs.other' }).rewrap('payments', ciphertext)),
      await caught(vault.encrypt(`${marker} as a key name`, 'payments')),
    ];
    expect(errorsSeen.map((e) => e.type)).toEqual([
      'Unavailable',
      'Unavailable',
      'Tampered',
      'Forbidden',
      'KeyNotFound',
    ]);
    for (const err of errorsSeen) expectNothingSecret(err, ciphertext.split(':')[2] ?? '', 'hvs.other');
  });
});

describe('HashiCorpVault: data keys', () => {
  // https://developer.hashicorp.com/vault/api-docs/secret/transit#generate-data-key
  // "POST /transit/datakey/:type/:name", type "plaintext" returns "the plaintext key and the wrapped
  // (ciphertext) key", "bits (int: 256)"; sample response { "data": { "plaintext": …, "ciphertext": "vault:v1:…" } }.
  // path_datakey.go does not create a missing key (400 "encryption key not found"): #create-key first.
  it('makes a data key with POST /v1/transit/datakey/plaintext/:name, creating the key on first use', async () => {
    const vault = newVault();
    const made = await vault.generateDataKey('account-data-keys');

    expect(made.key).toBeInstanceOf(Buffer);
    expect(made.key).toHaveLength(32);
    expect(made.wrapped).toMatch(/^vault:v1:/);
    expect(vaultState.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/transit/datakey/plaintext/account-data-keys',
      'POST /v1/transit/keys/account-data-keys',
      'POST /v1/transit/datakey/plaintext/account-data-keys',
    ]);
    for (const r of vaultState.requests) {
      expect(r.body).toBeUndefined();
      expectWellFormed(r);
    }

    vaultState.requests = [];
    const second = await vault.generateDataKey('account-data-keys');
    expect(vaultState.requests).toHaveLength(1);
    expect(second.key.equals(made.key)).toBe(false);
    expect(second.wrapped).not.toBe(made.wrapped);
  });

  // #decrypt-data: the wrapped key is an ordinary transit ciphertext of the key's bytes; data.plaintext is their base64.
  it('unwraps with POST /v1/transit/decrypt/:name and exactly { ciphertext }, giving back the same 32 bytes', async () => {
    const vault = newVault();
    const made = await vault.generateDataKey('account-data-keys');
    vaultState.requests = [];

    const unwrapped = await vault.unwrapDataKey('account-data-keys', made.wrapped);
    expect(unwrapped.equals(made.key)).toBe(true);
    expect(vaultState.requests).toHaveLength(1);
    expect(vaultState.requests[0]).toMatchObject({ method: 'POST', path: '/v1/transit/decrypt/account-data-keys' });
    expect(vaultState.requests[0]?.body).toStrictEqual({ ciphertext: made.wrapped });
    expectWellFormed(vaultState.requests[0]);

    // Another process (another adapter) unwraps the same key; a rotation leaves it unwrappable.
    await vault.rotateKey('account-data-keys');
    expect((await newVault().unwrapDataKey('account-data-keys', made.wrapped)).equals(made.key)).toBe(true);
  });

  it('answers Tampered for an altered wrapped key, one wrapped by another key, and a ciphertext that is no data key', async () => {
    const vault = newVault();
    const made = await vault.generateDataKey('account-data-keys');
    const body = Buffer.from(made.wrapped.split(':')[2] ?? '', 'base64');
    body[20] = (body[20] ?? 0) ^ 0x01;
    const altered = `vault:v1:${body.toString('base64')}`;
    const keyText = made.key.toString('base64');

    const err = await expectError(vault.unwrapDataKey('account-data-keys', altered), 'Tampered');
    expect(err.message).toBe('Vault POST /v1/transit/decrypt/account-data-keys failed with status 400');
    expectNothingSecret(err, keyText, made.wrapped.split(':')[2] ?? '');

    const other = await vault.generateDataKey('other-data-keys');
    await expectError(vault.unwrapDataKey('account-data-keys', other.wrapped), 'Tampered');

    // A transit ciphertext of something else (here a 23-byte text) must not pass as a key.
    const notAKey = await vault.encrypt('account-data-keys', marker);
    const wrong = await expectError(vault.unwrapDataKey('account-data-keys', notAKey), 'Tampered');
    expect(wrong.message).toBe(
      'Vault POST /v1/transit/decrypt/account-data-keys answered with something other than a data key',
    );
    expectNothingSecret(wrong);
    await expectError(vault.unwrapDataKey('never-used', made.wrapped), 'KeyNotFound');
  });

  it('maps a 200 without the documented fields, or with a key that is not 256 bits, to Unavailable', async () => {
    const path = '/v1/transit/datakey/plaintext/account-data-keys';
    vaultState.canned.push({ method: 'POST', path, status: 200, body: { data: { ciphertext: 'vault:v1:AAAA' } } });
    const noKey = await expectError(newVault().generateDataKey('account-data-keys'), 'Unavailable');
    expect(noKey.message).toBe(`Vault POST ${path} answered without data.plaintext`);

    const short = Buffer.alloc(16, 7).toString('base64');
    vaultState.canned.push({
      method: 'POST',
      path,
      status: 200,
      body: { data: { ciphertext: 'vault:v1:AAAA', plaintext: short } },
    });
    const shortKey = await expectError(newVault().generateDataKey('account-data-keys'), 'Unavailable');
    expectNothingSecret(shortKey, short);
  });
});

describe('HashiCorpVault: creating and destroying stored secrets', () => {
  const dataPath = '/v1/secret/data/accounts/acct-1/data-key';
  const metadataPath = '/v1/secret/metadata/accounts/acct-1/data-key';

  // https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#create-update-secret: "options (Map:
  // <optional>) – cas (int: 0) … If set to 0 a write will only be allowed if the key doesn't exist."
  it('creates with POST /v1/secret/data/:path and exactly { options: { cas: 0 }, data }: true, then false', async () => {
    const vault = newVault();
    expect(await vault.createSecret('accounts/acct-1/data-key', { wrapped: 'first' })).toBe(true);
    expect(await vault.createSecret('accounts/acct-1/data-key', { wrapped: 'second' })).toBe(false);

    expect(vaultState.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${dataPath}`, `POST ${dataPath}`]);
    expect(vaultState.requests[0]?.body).toStrictEqual({ options: { cas: 0 }, data: { wrapped: 'first' } });
    expect(vaultState.requests[1]?.body).toStrictEqual({ options: { cas: 0 }, data: { wrapped: 'second' } });
    for (const r of vaultState.requests) expectWellFormed(r);
    // The loser changed nothing.
    expect(await vault.readSecret('accounts/acct-1/data-key')).toEqual({ wrapped: 'first' });
    expect(vaultState.kv.get('secret/accounts/acct-1/data-key')?.version).toBe(1);
  });

  it('two adapters creating the same secret at once: exactly one wins', async () => {
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((who) => newVault().createSecret('accounts/acct-1/data-key', { who })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = ['a', 'b', 'c', 'd'][results.indexOf(true)];
    expect(await newVault().readSecret('accounts/acct-1/data-key')).toEqual({ who: winner });
  });

  // #delete-metadata-and-all-versions: "DELETE /secret/metadata/:path", "This endpoint permanently deletes
  // the key metadata and all version data for the specified key", sample response 204.
  it('destroys with DELETE /v1/secret/metadata/:path (no body): every version gone, then creatable again', async () => {
    const vault = newVault();
    await vault.writeSecret('accounts/acct-1/data-key', { wrapped: 'v1' });
    await vault.writeSecret('accounts/acct-1/data-key', { wrapped: 'v2' });
    vaultState.requests = [];

    await vault.destroySecret('accounts/acct-1/data-key');
    expect(vaultState.requests).toHaveLength(1);
    expect(vaultState.requests[0]).toMatchObject({ method: 'DELETE', path: metadataPath, body: undefined });
    expectWellFormed(vaultState.requests[0]);
    expect(await vault.readSecret('accounts/acct-1/data-key')).toBeUndefined();
    expect(vaultState.kv.has('secret/accounts/acct-1/data-key')).toBe(false);

    // A metadata delete resets the current version to 0, so check-and-set 0 succeeds again.
    expect(await vault.createSecret('accounts/acct-1/data-key', { destroyedAt: '2026-01-01T00:00:00.000Z' })).toBe(
      true,
    );
    expect(await vault.readSecret('accounts/acct-1/data-key')).toEqual({ destroyedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('destroys a secret that is not there without an error (Vault answers 204 all the same)', async () => {
    const vault = newVault();
    await vault.destroySecret('accounts/never/data-key');
    await vault.destroySecret('accounts/never/data-key');
    expect(vaultState.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'DELETE /v1/secret/metadata/accounts/never/data-key',
      'DELETE /v1/secret/metadata/accounts/never/data-key',
    ]);
  });

  it('uses the configured KV mount for create and destroy, and refuses paths that leave it without sending', async () => {
    const vault = newVault({ kvMount: 'kv-v2' });
    expect(await vault.createSecret('accounts/acct-1/data-key', { wrapped: 'x' })).toBe(true);
    await vault.destroySecret('accounts/acct-1/data-key');
    expect(vaultState.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/kv-v2/data/accounts/acct-1/data-key',
      'DELETE /v1/kv-v2/metadata/accounts/acct-1/data-key',
    ]);
    vaultState.requests = [];
    await expectError(vault.createSecret('../sys/seal', { x: 'y' }), 'KeyNotFound');
    await expectError(vault.destroySecret('a//b'), 'KeyNotFound');
    await expectError(vault.generateDataKey('../keys'), 'KeyNotFound');
    await expectError(vault.unwrapDataKey('a/b', 'vault:v1:AAAA'), 'KeyNotFound');
    expect(vaultState.requests).toEqual([]);
  });

  it('maps any other 400 on create to an error, never to "already there"', async () => {
    vaultState.canned.push({ method: 'POST', path: dataPath, status: 400, body: errors('no data provided') });
    await expectError(newVault().createSecret('accounts/acct-1/data-key', { wrapped: 'x' }), 'Forbidden');
  });
});

describe('HashiCorpVault: errors of the data-key methods', () => {
  const calls: [string, string, (v: HashiCorpVault) => Promise<unknown>][] = [
    ['POST', '/v1/transit/datakey/plaintext/account-data-keys', (v) => v.generateDataKey('account-data-keys')],
    ['POST', '/v1/transit/decrypt/account-data-keys', (v) => v.unwrapDataKey('account-data-keys', 'vault:v1:AAAA')],
    [
      'POST',
      '/v1/secret/data/accounts/acct-1/data-key',
      (v) => v.createSecret('accounts/acct-1/data-key', { wrapped: marker }),
    ],
    ['DELETE', '/v1/secret/metadata/accounts/acct-1/data-key', (v) => v.destroySecret('accounts/acct-1/data-key')],
  ];

  // https://developer.hashicorp.com/vault/api-docs#http-status-codes: "503 - Vault is down for maintenance
  // or is currently sealed. Try again later."
  it.each(calls)('maps a sealed Vault (503) on %s %s to Unavailable', async (method, path, call) => {
    vaultState.canned.push({ method, path, status: 503, body: errors('Vault is sealed') });
    const err = await expectError(call(newVault()), 'Unavailable');
    expect(err.message).toBe(`Vault ${method} ${path} failed with status 503`);
    expectNothingSecret(err);
    expect(vaultState.requests).toHaveLength(1);
  });

  // "403 - Forbidden, your authentication details are either incorrect, you don't have access to this feature".
  it.each(calls)('maps a refusal (403) on %s %s to Forbidden without the token', async (method, path, call) => {
    const wrongToken = 'hvs.WRONG-token-must-not-leak';
    const err = await expectError(call(newVault({ token: wrongToken })), 'Forbidden');
    expect(err.message).toBe(`Vault ${method} ${path} failed with status 403${policyHint}`);
    expectNothingSecret(err, wrongToken);
  });

  it('keeps data-key bytes and wrapped keys out of every error', async () => {
    const vault = newVault();
    const made = await vault.generateDataKey('account-data-keys');
    const secrets = [made.key.toString('base64'), made.key.toString('hex'), made.wrapped.split(':')[2] ?? ''];
    vaultState.canned.push(
      {
        method: 'POST',
        path: '/v1/transit/decrypt/account-data-keys',
        status: 500,
        body: errors(`echo ${made.wrapped}`),
      },
      {
        method: 'POST',
        path: '/v1/secret/data/accounts/acct-1/data-key',
        status: 500,
        body: errors(`echo ${made.wrapped}`),
      },
    );
    const seen = [
      await caught(vault.unwrapDataKey('account-data-keys', made.wrapped)),
      await caught(vault.createSecret('accounts/acct-1/data-key', { wrapped: made.wrapped })),
      await caught(vault.unwrapDataKey('account-data-keys', `${made.wrapped.slice(0, -4)}AAA=`)),
      await caught(newVault({ token: 'hvs.other' }).generateDataKey('account-data-keys')),
    ];
    expect(seen.map((e) => e.type)).toEqual(['Unavailable', 'Unavailable', 'Tampered', 'Forbidden']);
    for (const err of seen) expectNothingSecret(err, ...secrets, 'hvs.other');
  });
});

describe('HashiCorpVault: logs', () => {
  // node-vault logs every request body through the `debug` package when DEBUG=node-vault is set; `debug`
  // reads DEBUG when it is first imported, hence a separate process.
  it('prints neither plaintexts nor the token with DEBUG=node-vault', async () => {
    const adapter = fileURLToPath(new URL('../../activities/secrets/hashicorp-vault.ts', import.meta.url));
    const script = `
      const { HashiCorpVault } = await import(${JSON.stringify(adapter)});
      const [endpoint, token, plaintext] = process.argv.slice(1);
      const vault = new HashiCorpVault({ endpoint, token });
      const ciphertext = await vault.encrypt('payments', plaintext);
      await vault.writeSecret('providers/google', { clientSecret: plaintext });
      const made = await vault.generateDataKey('account-data-keys');
      const unwrapped = await vault.unwrapDataKey('account-data-keys', made.wrapped);
      await vault.createSecret('accounts/acct-1/data-key', { wrapped: made.wrapped });
      const ok = (await vault.decrypt('payments', ciphertext)) === plaintext && unwrapped.equals(made.key);
      process.stdout.write((ok ? 'round-trip ok' : 'mismatch') + ' ' + made.key.toString('base64'));
    `;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script, endpoint, token, marker],
      { env: { ...process.env, DEBUG: 'node-vault', DEBUG_COLORS: 'no' }, timeout: 60_000 },
    );

    expect(stdout).toMatch(/^round-trip ok [A-Za-z0-9+/]{43}=$/);
    const dataKey = stdout.slice('round-trip ok '.length);
    expect(vaultState.requests.map((r) => r.path)).toContain('/v1/secret/data/providers/google');
    expect(vaultState.requests.map((r) => r.path)).toContain('/v1/transit/datakey/plaintext/account-data-keys');
    for (const secret of [marker, b64(marker), token]) expect(`${stdout}\n${stderr}`).not.toContain(secret);
    // The data key's bytes travel only in Vault's answer, which node-vault's debug channel must not print either.
    expect(stderr).not.toContain(dataKey);
  });
});

describe('buildSecretVault', () => {
  it('builds the Vault adapter when Vault is configured, and the keyring otherwise', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cra-build-'));
    try {
      const remote = await buildSecretVault({
        dataDir,
        vault: { endpoint, token, transitMount: 'crypto/team-a', kvMount: 'kv-v2' },
      });
      expect(remote.kind).toBe('vault');
      expect(await remote.encrypt('payments', 'x')).toMatch(/^vault:v1:/);
      // At start: the seal check and the static token's lease; then the request itself.
      expect(vaultState.requests.map((r) => r.path)).toEqual([
        '/v1/sys/seal-status',
        '/v1/auth/token/lookup-self',
        '/v1/crypto/team-a/encrypt/payments',
      ]);

      const local = await buildSecretVault({ dataDir });
      expect(local.kind).toBe('keyring');
      expect(await local.decrypt('payments', await local.encrypt('payments', marker))).toBe(marker);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * Logging in and staying logged in, against a stand-in with AppRole and Kubernetes auth whose tokens have
 * short TTLs (real time, a second or two):
 * - https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle: `POST /auth/approle/login`,
 *   `{ role_id, secret_id }`, answered `{ auth: { client_token, lease_duration, renewable } }`
 * - https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#login: `POST /auth/kubernetes/login`, `{ role, jwt }`
 * - https://developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self: `POST /auth/token/renew-self`
 * - https://developer.hashicorp.com/vault/api-docs/system/seal-status: `GET /sys/seal-status` → `{ sealed }`
 */
describe('HashiCorpVault: login, renewal, seal and policy', () => {
  const roleId = 'cra-role-id-1';
  const secretId = 'SECRET-ID-never-in-messages-7f3a';
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.K8S-JWT-never-in-messages.sig';
  let auth: VaultStandIn;
  let dir: string;
  let jwtPath: string;
  const opened: HashiCorpVault[] = [];

  async function connect(
    login: NonNullable<HashiCorpVaultOptions['auth']>,
    events: Parameters<typeof HashiCorpVault.connect>[1] = {},
  ): Promise<HashiCorpVault> {
    const v = await HashiCorpVault.connect({ endpoint: auth.endpoint, auth: login }, events);
    opened.push(v);
    return v;
  }
  const approle = { method: 'approle' as const, roleId, secretId, mount: 'approle' };

  /** Polls real time until `check` holds (at most `ms`). */
  async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
    const until = Date.now() + ms;
    while (!check()) {
      if (Date.now() > until) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const paths = () => auth.state.requests.map((r) => `${r.method} ${r.path}`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cra-vault-auth-'));
    jwtPath = join(dir, 'token');
    await writeFile(jwtPath, `${jwt}\n`);
    auth = await startVaultStandIn({
      token,
      approle: { roleId, secretId, ttlSeconds: 60 },
      kubernetes: { role: 'cra-worker', jwt, mount: 'k8s-prod', ttlSeconds: 60 },
    });
  });
  afterAll(async () => {
    await auth?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => auth.reset());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((v) => v.close()));
  });

  it('checks the seal, logs in with AppRole and uses the token it was given', async () => {
    const logins: string[] = [];
    const v = await connect(approle, { onToken: (e) => logins.push(`${e.kind} ${e.leaseSeconds} ${e.renewable}`) });
    expect(await v.decrypt('payments', await v.encrypt('payments', marker))).toBe(marker);
    expect(paths()).toEqual([
      'GET /v1/sys/seal-status',
      'POST /v1/auth/approle/login',
      'POST /v1/transit/encrypt/payments',
      'POST /v1/transit/decrypt/payments',
    ]);
    const [, login, encrypt] = auth.state.requests;
    expect(login?.body).toEqual({ role_id: roleId, secret_id: secretId });
    expect(login?.headers['x-vault-token']).toBeUndefined();
    const issued = [...auth.state.tokens.keys()];
    expect(issued).toHaveLength(1);
    expect(encrypt?.headers['x-vault-token']).toBe(issued[0]);
    expect(logins).toEqual(['login 60 true']);
  });

  it('logs in with Kubernetes auth, sending the service-account token read from its file', async () => {
    const v = await connect({ method: 'kubernetes', role: 'cra-worker', mount: 'k8s-prod', tokenPath: jwtPath });
    await v.writeSecret('providers/google', { clientSecret: 'x' });
    const login = auth.state.requests.find((r) => r.path === '/v1/auth/k8s-prod/login');
    expect(login?.body).toEqual({ role: 'cra-worker', jwt });
    expect(auth.state.requests.at(-1)?.headers['x-vault-token']).toBe([...auth.state.tokens.keys()][0]);
  });

  it('names the variables, never the secret id or the JWT, when a login is refused or the token file is missing', async () => {
    const wrong = await HashiCorpVault.connect({
      endpoint: auth.endpoint,
      auth: { ...approle, secretId: 'WRONG-secret-id-never-shown' },
    }).catch((e: Error) => e);
    expect(wrong).toBeInstanceOf(Error);
    expect((wrong as Error).message).toBe(
      `Vault AppRole login at ${auth.endpoint}/v1/auth/approle/login failed with status 400 (VAULT_ROLE_ID, VAULT_SECRET_ID, VAULT_APPROLE_MOUNT=approle)`,
    );
    expect(JSON.stringify({ m: (wrong as Error).message, s: (wrong as Error).stack })).not.toContain('WRONG-secret-id');

    const badJwt = join(dir, 'other-token');
    await writeFile(badJwt, 'not-the-jwt');
    const refused = await HashiCorpVault.connect({
      endpoint: auth.endpoint,
      auth: { method: 'kubernetes', role: 'cra-worker', mount: 'k8s-prod', tokenPath: badJwt },
    }).catch((e: Error) => e);
    expect((refused as Error).message).toBe(
      `Vault Kubernetes login at ${auth.endpoint}/v1/auth/k8s-prod/login failed with status 403 (VAULT_K8S_ROLE=cra-worker, VAULT_K8S_MOUNT=k8s-prod, VAULT_K8S_TOKEN_PATH=${badJwt})`,
    );
    expect((refused as Error).message).not.toContain('not-the-jwt');

    const missing = join(dir, 'absent');
    const noFile = await HashiCorpVault.connect({
      endpoint: auth.endpoint,
      auth: { method: 'kubernetes', role: 'cra-worker', mount: 'k8s-prod', tokenPath: missing },
    }).catch((e: Error) => e);
    expect((noFile as Error).message).toBe(`VAULT_K8S_TOKEN_PATH=${missing}: cannot read the file (no such file)`);
  });

  it('renews its token before the lease ends and keeps working past the first TTL', async () => {
    const short = await startVaultStandIn({
      token,
      approle: { roleId, secretId, ttlSeconds: 1, renewable: true, maxTtlSeconds: 60 },
    });
    try {
      const events: string[] = [];
      const v = await HashiCorpVault.connect(
        { endpoint: short.endpoint, auth: approle },
        { onToken: (e) => events.push(e.kind) },
      );
      opened.push(v);
      await eventually(() => events.filter((e) => e === 'renewal').length >= 2);
      // Past the first TTL the same token still works: it was renewed, not replaced.
      expect(await v.encrypt('payments', 'x')).toMatch(/^vault:v1:/);
      expect(short.state.requests.filter((r) => r.path === '/v1/auth/approle/login')).toHaveLength(1);
      expect(short.state.requests.filter((r) => r.path === '/v1/auth/token/renew-self').length).toBeGreaterThanOrEqual(
        2,
      );
      expect(short.state.tokens.size).toBe(1);
    } finally {
      await short.close();
    }
  });

  it('logs in again when the token is not renewable, or when renewal fails', async () => {
    const once = await startVaultStandIn({ token, approle: { roleId, secretId, ttlSeconds: 1, renewable: false } });
    try {
      const v = await HashiCorpVault.connect({ endpoint: once.endpoint, auth: approle });
      opened.push(v);
      const logins = () => once.state.requests.filter((r) => r.path === '/v1/auth/approle/login').length;
      await eventually(() => logins() >= 2);
      expect(once.state.requests.some((r) => r.path === '/v1/auth/token/renew-self')).toBe(false);
      // Well past the first token's TTL, requests go out with the new one.
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await v.encrypt('payments', 'x')).toMatch(/^vault:v1:/);
    } finally {
      await once.close();
    }

    const failing = await startVaultStandIn({ token, approle: { roleId, secretId, ttlSeconds: 1, renewable: true } });
    try {
      failing.state.canned.push({
        method: 'POST',
        path: '/v1/auth/token/renew-self',
        status: 500,
        body: errors('boom'),
      });
      const problems: string[] = [];
      const v = await HashiCorpVault.connect(
        { endpoint: failing.endpoint, auth: approle },
        { onError: (e) => problems.push(e.message) },
      );
      opened.push(v);
      await eventually(() => failing.state.requests.filter((r) => r.path === '/v1/auth/approle/login').length >= 2);
      expect(problems[0]).toBe('Vault token renewal failed: status 500');
      expect(await v.encrypt('payments', 'x')).toMatch(/^vault:v1:/);
    } finally {
      await failing.close();
    }
  });

  it('keeps serving with the current token while it logs in again', async () => {
    // A 3 s lease, re-login at 2 s, and a login Vault answers 500 ms late: the old token is valid throughout.
    const slow = await startVaultStandIn({
      token,
      approle: { roleId, secretId, ttlSeconds: 3, renewable: false, loginDelayMs: 500 },
    });
    try {
      const v = await HashiCorpVault.connect({ endpoint: slow.endpoint, auth: approle });
      opened.push(v);
      const logins = () => slow.state.requests.filter((r) => r.path === '/v1/auth/approle/login').length;
      await eventually(() => logins() >= 2);
      // The second login is in flight now: a request made meanwhile goes with the token still in force.
      expect(await v.encrypt('payments', 'x')).toMatch(/^vault:v1:/);
      const during = slow.state.requests.filter((r) => r.path === '/v1/transit/encrypt/payments').at(-1);
      expect(during?.headers['x-vault-token']).toEqual(expect.any(String));
      // And no login request carries a token.
      for (const login of slow.state.requests.filter((r) => r.path === '/v1/auth/approle/login'))
        expect(login.headers['x-vault-token'] ?? '').toBe('');
    } finally {
      await slow.close();
    }
  });

  it('stops renewing on close()', async () => {
    const short = await startVaultStandIn({ token, approle: { roleId, secretId, ttlSeconds: 1, renewable: true } });
    try {
      const v = await HashiCorpVault.connect({ endpoint: short.endpoint, auth: approle });
      await v.close();
      const seen = short.state.requests.length;
      await new Promise((r) => setTimeout(r, 1_200));
      expect(short.state.requests).toHaveLength(seen);
    } finally {
      await short.close();
    }
  });

  // https://developer.hashicorp.com/vault/api-docs#http-status-codes: 429 (a rate-limit quota), 500 and 503 "try
  // again later", 412 "should be retried". A worker restarted in such a moment starts once Vault is back.
  it('starts once Vault is over a bad moment at start-up (429, 500, 503, 412), and does not retry a refusal', async () => {
    auth.state.canned.push(
      {
        method: 'GET',
        path: '/v1/sys/seal-status',
        status: 429,
        body: errors('request path rate limit quota exceeded'),
      },
      { method: 'GET', path: '/v1/sys/seal-status', status: 500, body: errors('internal error') },
      { method: 'POST', path: '/v1/auth/approle/login', status: 503, body: errors('Vault is sealed') },
      { method: 'POST', path: '/v1/auth/approle/login', status: 412, body: errors('required index state not present') },
    );
    const v = await connect(approle);
    expect(await v.encrypt('payments', 'x')).toMatch(/^vault:v1:/);
    expect(paths().slice(0, 7)).toEqual([
      'GET /v1/sys/seal-status',
      'GET /v1/sys/seal-status',
      'GET /v1/sys/seal-status',
      'POST /v1/auth/approle/login',
      'GET /v1/sys/seal-status',
      'POST /v1/auth/approle/login',
      'GET /v1/sys/seal-status',
    ]);

    // A refusal is an answer, not trouble: one login, then the error naming the variables.
    auth.reset();
    const refused = await HashiCorpVault.connect({
      endpoint: auth.endpoint,
      auth: { ...approle, secretId: 'WRONG-secret-id-never-shown' },
    }).catch((e: Error) => e);
    expect((refused as Error).message).toMatch(/failed with status 400/);
    expect(paths()).toEqual(['GET /v1/sys/seal-status', 'POST /v1/auth/approle/login']);
  });

  it('gives up on a Vault that stays unreachable once its patience is spent, naming VAULT_ADDR', async () => {
    const started = Date.now();
    const err = await HashiCorpVault.connect({
      endpoint: 'http://127.0.0.1:9',
      token,
      connectPatienceMs: 1_000,
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      'Vault at http://127.0.0.1:9 (VAULT_ADDR) did not answer GET /v1/sys/seal-status: no response',
    );
    // It tried more than once, and stopped near its patience (not at node-vault's 10 s request timeout).
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses to start against a sealed Vault with what to do', async () => {
    auth.state.sealed = true;
    const err = await buildSecretVault({ dataDir: dir, vault: { endpoint: auth.endpoint, token } }).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toBe(
      `Vault at ${auth.endpoint} is sealed: unseal it (vault operator unseal) and restart`,
    );
    expect(paths()).toEqual(['GET /v1/sys/seal-status']);
  });

  it('names the operation and path a token policy lacks, and where the policy is', async () => {
    const narrow = await startVaultStandIn({
      token,
      approle: { roleId, secretId, ttlSeconds: 60, policy: ['transit/encrypt/*', 'transit/keys/+/rotate'] },
    });
    try {
      const v = await HashiCorpVault.connect({ endpoint: narrow.endpoint, auth: approle });
      opened.push(v);
      const ciphertext = await v.encrypt('payments', marker);
      const err = await expectError(v.decrypt('payments', ciphertext), 'Forbidden');
      expect(err.message).toBe(`Vault POST /v1/transit/decrypt/payments failed with status 403${policyHint}`);
      expectNothingSecret(err, secretId, ciphertext, ...narrow.state.tokens.keys());
    } finally {
      await narrow.close();
    }
  });

  it('builds from the configuration: AppRole through buildSecretVault, with VAULT_CACERT read at start', async () => {
    const v = await buildSecretVault({
      dataDir: dir,
      vault: { endpoint: auth.endpoint, auth: approle, transitMount: 'transit', kvMount: 'secret' },
    });
    expect(await v.encrypt('payments', 'x')).toMatch(/^vault:v1:/);
    await (v as HashiCorpVault).close();
    const missing = join(dir, 'no-ca.pem');
    const err = await buildSecretVault({
      dataDir: dir,
      vault: { endpoint: auth.endpoint, auth: approle, transitMount: 'transit', kvMount: 'secret', caCert: missing },
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe(`VAULT_CACERT=${missing}: cannot read the file (no such file)`);
  });
});
