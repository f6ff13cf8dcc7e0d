/**
 * The embedded keyring, for real: real files in a temporary data folder, real AES-256-GCM, and, for
 * the races, two instances and two separate Node processes opening the same folder at once.
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyringVault, keyringSecretsFile, type StoredKeyVersion } from '../../activities/secrets/keyring-vault.js';
import { SecretVaultError, type SecretVaultErrorType } from '../../activities/secrets/port.js';

const run = promisify(execFile);
const keyringModule = fileURLToPath(new URL('../../activities/secrets/keyring-vault.ts', import.meta.url));

/** A plaintext no error message, file or stack may ever contain. */
const marker = 'PLAINTEXT-MARKER-7f3a9c';

let dataDir: string;
const keysDir = () => join(dataDir, 'keys');
const keyringFile = () => join(keysDir(), 'keyring.json');
/** The shard file that holds the secret at `path`. */
const secretsFile = (path: string) => keyringSecretsFile(dataDir, path);

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cra-keyring-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

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

/** Everything an operator could see of an error: none of it may hold a plaintext or a ciphertext body. */
function expectNothingSecret(err: Error, ...secrets: string[]): void {
  const visible = [err.message, String(err), err.stack ?? '', JSON.stringify(err)].join('\n');
  for (const secret of [marker, ...secrets]) expect(visible).not.toContain(secret);
  expect(err.cause).toBeUndefined();
}

function bodyOf(ciphertext: string): Buffer {
  return Buffer.from(ciphertext.split(':')[2] ?? '', 'base64');
}

function withBody(ciphertext: string, body: Buffer): string {
  const [scheme, version] = ciphertext.split(':');
  return `${scheme}:${version}:${body.toString('base64')}`;
}

async function storedKeys(): Promise<Record<string, StoredKeyVersion[]>> {
  return (JSON.parse(await readFile(keyringFile(), 'utf8')) as { keys: Record<string, StoredKeyVersion[]> }).keys;
}

describe('KeyringVault: encryption', () => {
  it.each([
    ['ascii', 'client-secret-123'],
    ['unicode', 'Grüße, 世界 — 👩🏽‍💻 e\u0301'],
    ['the empty string', ''],
    ['100 KB', 'x'.repeat(50_000) + 'é'.repeat(25_000)],
  ])('round-trips %s', async (_label, plaintext) => {
    const vault = await KeyringVault.open({ dataDir });
    const ciphertext = await vault.encrypt('payments', plaintext);

    expect(ciphertext).toMatch(/^cra:v1:[A-Za-z0-9+/]+={0,2}$/);
    expect(ciphertext).not.toContain(plaintext || marker);
    // IV (12) | ciphertext (as long as the UTF-8 plaintext) | GCM tag (16).
    expect(bodyOf(ciphertext)).toHaveLength(12 + Buffer.byteLength(plaintext) + 16);
    expect(await vault.decrypt('payments', ciphertext)).toBe(plaintext);
  });

  it('uses a fresh IV for every encryption, so equal plaintexts give different ciphertexts', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const ciphertexts = await Promise.all(Array.from({ length: 20 }, () => vault.encrypt('payments', marker)));

    expect(new Set(ciphertexts).size).toBe(20);
    expect(new Set(ciphertexts.map((c) => bodyOf(c).subarray(0, 12).toString('hex'))).size).toBe(20);
    for (const c of ciphertexts) expect(await vault.decrypt('payments', c)).toBe(marker);
  });

  it('rejects a flip of any single byte of the IV, the ciphertext or the tag as Tampered', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const ciphertext = await vault.encrypt('payments', marker);
    const body = bodyOf(ciphertext);

    for (let i = 0; i < body.length; i++) {
      const altered = Buffer.from(body);
      altered[i] = (altered[i] ?? 0) ^ 0x01;
      const err = await expectError(vault.decrypt('payments', withBody(ciphertext, altered)), 'Tampered');
      expectNothingSecret(err, body.toString('base64'));
    }
  });

  it('rejects truncated, extended and malformed ciphertexts as Tampered', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const ciphertext = await vault.encrypt('payments', marker);
    const body = bodyOf(ciphertext);
    const text = body.toString('base64');

    const malformed = [
      '',
      'cra:v1:',
      `cra:v1:${text}:extra`,
      withBody(ciphertext, body.subarray(0, body.length - 1)),
      withBody(ciphertext, body.subarray(0, 27)),
      withBody(ciphertext, Buffer.concat([body, Buffer.from([0])])),
      ciphertext.replace('cra:', 'vault:'),
      ciphertext.replace('cra:v1:', 'cra:v0:'),
      ciphertext.replace('cra:v1:', 'cra:v01:'),
      ciphertext.replace('cra:v1:', 'cra:1:'),
      ` ${ciphertext}`,
      `${ciphertext}\n`,
      // Same bytes for Node's lenient decoder, but not the text we issued.
      `${ciphertext.slice(0, 7)}${text.slice(0, 8)}\n${text.slice(8)}`,
      `${ciphertext.slice(0, 7)}${text.slice(0, 8)}*${text.slice(8)}`,
    ];
    for (const bad of malformed) {
      await expectError(vault.decrypt('payments', bad), 'Tampered');
    }
  });

  it('rejects a base64 character change that Node would decode to the same bytes (non-canonical padding bits)', async () => {
    const vault = await KeyringVault.open({ dataDir });
    // 12 + 1 + 16 = 29 bytes: base64 ends in one padding "=", so the last letter carries 2 unused bits.
    const ciphertext = await vault.encrypt('payments', 'x');
    expect(ciphertext.endsWith('=')).toBe(true);
    const last = ciphertext.at(-2) ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sibling = alphabet[alphabet.indexOf(last) ^ 0x01] ?? '';
    const altered = `${ciphertext.slice(0, -2)}${sibling}=`;
    expect(bodyOf(altered).equals(bodyOf(ciphertext))).toBe(true);

    await expectError(vault.decrypt('payments', altered), 'Tampered');
  });

  it('answers KeyNotFound for a version the keyring does not have, Tampered for one it has but did not use', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const v1 = await vault.encrypt('payments', marker);

    await expectError(vault.decrypt('payments', v1.replace('cra:v1:', 'cra:v2:')), 'KeyNotFound');
    await expectError(vault.decrypt('payments', v1.replace('cra:v1:', 'cra:v999999:')), 'KeyNotFound');

    await vault.rotateKey('payments');
    await expectError(vault.decrypt('payments', v1.replace('cra:v1:', 'cra:v2:')), 'Tampered');
    const v2 = await vault.encrypt('payments', marker);
    await expectError(vault.decrypt('payments', v2.replace('cra:v2:', 'cra:v1:')), 'Tampered');
  });

  it('binds a ciphertext to its key name: a ciphertext of key A fails under key B', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const underA = await vault.encrypt('key-a', marker);
    await vault.encrypt('key-b', 'something else');

    await expectError(vault.decrypt('key-b', underA), 'Tampered');
    await expectError(vault.rewrap('key-b', underA), 'Tampered');
    // A name that was never used has no version 1 at all.
    await expectError(vault.decrypt('key-c', underA), 'KeyNotFound');
  });

  it('even when two names hold the same key bytes, the name (AAD) keeps their ciphertexts apart', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const underA = await vault.encrypt('key-a', marker);
    await vault.encrypt('key-b', 'x');
    const keys = await storedKeys();
    keys['key-b'] = structuredClone(keys['key-a'] ?? []);
    await writeFile(keyringFile(), JSON.stringify({ format: 1, keys }), { mode: 0o600 });

    const reopened = await KeyringVault.open({ dataDir });
    expect(await reopened.decrypt('key-a', underA)).toBe(marker);
    await expectError(reopened.decrypt('key-b', underA), 'Tampered');
  });

  it('refuses invalid key names without echoing them', async () => {
    const vault = await KeyringVault.open({ dataDir });
    for (const name of ['', '../etc', 'a/b', 'trailing.', 'has space', 'x'.repeat(129), marker + ':']) {
      const err = await expectError(vault.encrypt(name, 'p'), 'KeyNotFound');
      if (name !== '') expect(err.message).not.toContain(name);
    }
    // A swapped-argument bug must not put the plaintext in the message.
    const err = await expectError(vault.encrypt(`${marker} with spaces`, 'payments'), 'KeyNotFound');
    expectNothingSecret(err);
  });
});

describe('KeyringVault: rotation and rewrap', () => {
  it('rotates: new ciphertexts use v2, v1 ciphertexts still decrypt, rewrap moves v1 to v2', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const v1 = await vault.encrypt('payments', marker);

    expect(await vault.rotateKey('payments')).toEqual({ latestVersion: 2 });
    const v2 = await vault.encrypt('payments', marker);
    expect(v2).toMatch(/^cra:v2:/);
    expect(await vault.decrypt('payments', v1)).toBe(marker);
    expect(await vault.decrypt('payments', v2)).toBe(marker);

    const rewrapped = await vault.rewrap('payments', v1);
    expect(rewrapped).toMatch(/^cra:v2:/);
    expect(rewrapped).not.toBe(v1);
    expect(await vault.decrypt('payments', rewrapped)).toBe(marker);

    expect(await vault.rotateKey('payments')).toEqual({ latestVersion: 3 });
    expect(await vault.rewrap('payments', rewrapped)).toMatch(/^cra:v3:/);
    expect((await storedKeys())['payments']?.map((k) => k.version)).toEqual([1, 2, 3]);
  });

  it('rewraps a ciphertext already at the newest version into a fresh one', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const v1 = await vault.encrypt('payments', marker);
    const again = await vault.rewrap('payments', v1);
    expect(again).toMatch(/^cra:v1:/);
    expect(again).not.toBe(v1);
    expect(await vault.decrypt('payments', again)).toBe(marker);
  });

  it('refuses to rewrap a tampered ciphertext and to rotate a key that was never used', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const v1 = await vault.encrypt('payments', marker);
    const body = bodyOf(v1);
    body[20] = (body[20] ?? 0) ^ 0xff;

    expectNothingSecret(await expectError(vault.rewrap('payments', withBody(v1, body)), 'Tampered'));
    await expectError(vault.rotateKey('never-used'), 'KeyNotFound');
    expect(Object.keys(await storedKeys())).toEqual(['payments']);
  });

  it('stores each version as {version, key: 32 random bytes base64, createdAt}', async () => {
    const vault = await KeyringVault.open({ dataDir });
    await vault.encrypt('payments', 'x');
    await vault.rotateKey('payments');

    const versions = (await storedKeys())['payments'] ?? [];
    expect(versions).toHaveLength(2);
    for (const v of versions) {
      expect(Object.keys(v).sort()).toEqual(['createdAt', 'key', 'version']);
      expect(Buffer.from(v.key, 'base64')).toHaveLength(32);
      expect(Number.isNaN(Date.parse(v.createdAt))).toBe(false);
    }
    expect(versions[0]?.key).not.toBe(versions[1]?.key);
  });
});

describe('KeyringVault: HMAC', () => {
  it('makes cra:v1 HMAC-SHA256 MACs that verify, and rejects another input or an altered MAC', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const mac = await vault.hmac('webhooks', 'payload-1');

    expect(mac).toMatch(/^cra:v1:[A-Za-z0-9+/]{43}=$/);
    expect(await vault.hmac('webhooks', 'payload-1')).toBe(mac);
    expect(await vault.verifyHmac('webhooks', 'payload-1', mac)).toBe(true);
    expect(await vault.verifyHmac('webhooks', 'payload-2', mac)).toBe(false);

    const body = bodyOf(mac);
    for (let i = 0; i < body.length; i++) {
      const altered = Buffer.from(body);
      altered[i] = (altered[i] ?? 0) ^ 0x80;
      expect(await vault.verifyHmac('webhooks', 'payload-1', withBody(mac, altered))).toBe(false);
    }
    for (const bad of ['', 'cra:v1:', mac.replace('cra:', 'vault:'), withBody(mac, body.subarray(0, 31)), `${mac}x`]) {
      expect(await vault.verifyHmac('webhooks', 'payload-1', bad)).toBe(false);
    }
  });

  it('MACs many inputs at once exactly as one at a time, under the newest version', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const inputs = ['a', 'b', 'c'];
    expect(await vault.hmacMany('many', inputs)).toEqual(await Promise.all(inputs.map((i) => vault.hmac('many', i))));
    await vault.rotateKey('many');
    const after = await vault.hmacMany('many', inputs);
    expect(after.every((m) => m.startsWith('cra:v2:'))).toBe(true);
    for (const [i, mac] of after.entries()) expect(await vault.verifyHmac('many', inputs[i]!, mac)).toBe(true);
    expect(await vault.hmacMany('many', [])).toEqual([]);
  });

  it('keeps MACs of one key name from verifying under another', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const mac = await vault.hmac('webhooks', 'payload');
    await vault.hmac('other', 'payload');
    expect(await vault.verifyHmac('other', 'payload', mac)).toBe(false);
  });

  it('survives rotation: old MACs still verify, new MACs use v2', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const v1 = await vault.hmac('webhooks', 'payload');
    await vault.rotateKey('webhooks');
    const v2 = await vault.hmac('webhooks', 'payload');

    expect(v2).toMatch(/^cra:v2:/);
    expect(v2).not.toBe(v1);
    expect(await vault.verifyHmac('webhooks', 'payload', v1)).toBe(true);
    expect(await vault.verifyHmac('webhooks', 'payload', v2)).toBe(true);
    expect(await vault.verifyHmac('webhooks', 'payload', v2.replace('cra:v2:', 'cra:v1:'))).toBe(false);
    await expectError(vault.verifyHmac('webhooks', 'payload', v2.replace('cra:v2:', 'cra:v3:')), 'KeyNotFound');
  });

  it('never uses the encryption key bytes themselves as the HMAC key', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const mac = await vault.hmac('webhooks', 'payload');
    const raw = Buffer.from((await storedKeys())['webhooks']?.[0]?.key ?? '', 'base64');

    expect(bodyOf(mac).equals(createHmac('sha256', raw).update('payload').digest())).toBe(false);
  });
});

describe('KeyringVault: stored secrets', () => {
  it('writes, reads, overwrites; an absent path is undefined', async () => {
    const vault = await KeyringVault.open({ dataDir });
    expect(await vault.readSecret('providers/google/client')).toBeUndefined();

    await vault.writeSecret('providers/google/client', { clientId: 'cid', clientSecret: marker });
    expect(await vault.readSecret('providers/google/client')).toEqual({ clientId: 'cid', clientSecret: marker });
    await vault.writeSecret('providers/google/client', { clientId: 'cid-2', clientSecret: 'rotated' });
    expect(await vault.readSecret('providers/google/client')).toEqual({ clientId: 'cid-2', clientSecret: 'rotated' });
    expect(await vault.readSecret('providers/google')).toBeUndefined();
    expect(await vault.readSecret('providers/github/client')).toBeUndefined();
  });

  it('keeps the secret files sealed: no plaintext on disk, 0600', async () => {
    const vault = await KeyringVault.open({ dataDir });
    await vault.writeSecret('providers/google/client', { clientId: 'cid', clientSecret: marker });

    const onDisk = await readFile(secretsFile('providers/google/client'), 'utf8');
    expect(onDisk).not.toContain(marker);
    expect(onDisk).toMatch(/"providers\/google\/client": "cra:v1:/);
    expect((await stat(secretsFile('providers/google/client'))).mode & 0o777).toBe(0o600);
  });

  it('detects an edited entry and an entry moved to another path as Tampered', async () => {
    const vault = await KeyringVault.open({ dataDir });
    await vault.writeSecret('providers/google/client', { clientSecret: marker });
    await vault.writeSecret('providers/github/client', { clientSecret: 'other' });
    const fileOf = (path: string) => secretsFile(path);
    const docOf = async (path: string) =>
      JSON.parse(await readFile(fileOf(path), 'utf8')) as { format: 1; secrets: Record<string, string> };
    const doc = await docOf('providers/google/client');
    const google = doc.secrets['providers/google/client'] ?? '';

    const body = bodyOf(google);
    body[14] = (body[14] ?? 0) ^ 0x01;
    await writeFile(
      fileOf('providers/google/client'),
      JSON.stringify({ format: 1, secrets: { ...doc.secrets, 'providers/google/client': withBody(google, body) } }),
    );
    expectNothingSecret(await expectError(vault.readSecret('providers/google/client'), 'Tampered'));

    const github = await docOf('providers/github/client');
    await writeFile(
      fileOf('providers/github/client'),
      JSON.stringify({ format: 1, secrets: { ...github.secrets, 'providers/github/client': google } }),
    );
    expectNothingSecret(await expectError(vault.readSecret('providers/github/client'), 'Tampered'));
  });

  it('keeps old secrets readable after the kv key rotates, and writes new ones under the new version', async () => {
    const vault = await KeyringVault.open({ dataDir });
    await vault.writeSecret('a', { v: '1' });
    expect(await vault.rotateKey('kv')).toEqual({ latestVersion: 2 });
    await vault.writeSecret('b', { v: '2' });

    expect(await vault.readSecret('a')).toEqual({ v: '1' });
    expect(await vault.readSecret('b')).toEqual({ v: '2' });
    const secretOnDisk = async (path: string) =>
      (JSON.parse(await readFile(secretsFile(path), 'utf8')) as { secrets: Record<string, string> }).secrets[path];
    expect(await secretOnDisk('a')).toMatch(/^cra:v1:/);
    expect(await secretOnDisk('b')).toMatch(/^cra:v2:/);
  });

  it('refuses paths that could escape or are empty', async () => {
    const vault = await KeyringVault.open({ dataDir });
    for (const path of ['', '/abs', 'a//b', 'a/../b', 'a/./b', 'trailing/', 'dot.']) {
      await expectError(vault.writeSecret(path, { x: 'y' }), 'KeyNotFound');
      await expectError(vault.readSecret(path), 'KeyNotFound');
    }
  });
});

describe('KeyringVault: the key file', () => {
  it('creates keys/ 0700 and keyring.json 0600 on open, and leaves no temp or lock files behind', async () => {
    const vault = await KeyringVault.open({ dataDir });
    expect((await stat(keysDir())).mode & 0o777).toBe(0o700);
    expect((await stat(keyringFile())).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(keyringFile(), 'utf8'))).toEqual({ format: 1, keys: {} });

    await vault.encrypt('a', 'x');
    await vault.rotateKey('a');
    await vault.writeSecret('s', { k: 'v' });
    expect((await stat(keyringFile())).mode & 0o777).toBe(0o600);
    expect((await readdir(keysDir())).sort()).toEqual(['keyring.json', 'secrets']);
    expect((await stat(join(keysDir(), 'secrets'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(keysDir(), 'secrets'))).toEqual([secretsFile('s').split('/').pop()]);
  });

  it('reopened from disk, keeps every key version, MAC and secret', async () => {
    const first = await KeyringVault.open({ dataDir });
    const v1 = await first.encrypt('payments', marker);
    const mac1 = await first.hmac('webhooks', 'payload');
    await first.rotateKey('payments');
    const v2 = await first.encrypt('payments', marker);
    await first.writeSecret('providers/google/client', { clientSecret: marker });

    const reopened = await KeyringVault.open({ dataDir });
    expect(await reopened.decrypt('payments', v1)).toBe(marker);
    expect(await reopened.decrypt('payments', v2)).toBe(marker);
    expect(await reopened.verifyHmac('webhooks', 'payload', mac1)).toBe(true);
    expect(await reopened.hmac('webhooks', 'payload')).toBe(mac1);
    expect(await reopened.readSecret('providers/google/client')).toEqual({ clientSecret: marker });
    expect(await reopened.encrypt('payments', 'x')).toMatch(/^cra:v2:/);
    expect(await reopened.rotateKey('payments')).toEqual({ latestVersion: 3 });
  });

  it('sees a rotation made by another instance before its next encryption', async () => {
    const worker = await KeyringVault.open({ dataDir });
    const api = await KeyringVault.open({ dataDir });
    await worker.encrypt('payments', 'x');
    await api.rotateKey('payments');

    const fromWorker = await worker.encrypt('payments', marker);
    expect(fromWorker).toMatch(/^cra:v2:/);
    expect(await api.decrypt('payments', fromWorker)).toBe(marker);
  });

  it('two instances opening an empty folder at once share one keyring', async () => {
    const [a, b] = await Promise.all([KeyringVault.open({ dataDir }), KeyringVault.open({ dataDir })]);
    const [fromA, fromB] = await Promise.all([a.encrypt('fresh', 'from-a'), b.encrypt('fresh', 'from-b')]);

    expect((await storedKeys())['fresh']).toHaveLength(1);
    expect(await b.decrypt('fresh', fromA)).toBe('from-a');
    expect(await a.decrypt('fresh', fromB)).toBe('from-b');
  });

  it('two instances racing to create keys and rotate never lose a version', async () => {
    const a = await KeyringVault.open({ dataDir });
    const b = await KeyringVault.open({ dataDir });
    await a.encrypt('shared', 'seed');

    const rotations = 12;
    const results = await Promise.all([
      ...Array.from({ length: rotations }, (_, i) => (i % 2 === 0 ? a : b).rotateKey('shared')),
      ...Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).encrypt(`new-${i}`, `p-${i}`)),
      ...Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? b : a).hmac(`mac-${i % 4}`, 'x')),
    ]);

    const rotated = results.slice(0, rotations).map((r) => (r as { latestVersion: number }).latestVersion);
    expect([...rotated].sort((x, y) => x - y)).toEqual(Array.from({ length: rotations }, (_, i) => i + 2));
    const keys = await storedKeys();
    expect(keys['shared']?.map((k) => k.version)).toEqual(Array.from({ length: rotations + 1 }, (_, i) => i + 1));
    for (let i = 0; i < 4; i++) expect(keys[`mac-${i}`]).toHaveLength(1);

    const fresh = await KeyringVault.open({ dataDir });
    for (let i = 0; i < 8; i++) {
      expect(await fresh.decrypt(`new-${i}`, results[rotations + i] as string)).toBe(`p-${i}`);
    }
    for (let i = 0; i < 8; i++) {
      expect(await fresh.verifyHmac(`mac-${i % 4}`, 'x', results[rotations + 8 + i] as string)).toBe(true);
    }
  });

  it('two Node processes rotating and creating keys at the same time never lose a version', async () => {
    await (await KeyringVault.open({ dataDir })).encrypt('shared', 'seed');
    // Each process rotates `shared` 8 times and creates its own key, interleaved.
    const script = `
      const { KeyringVault } = await import(${JSON.stringify(keyringModule)});
      const [dataDir, tag] = process.argv.slice(1);
      const vault = await KeyringVault.open({ dataDir });
      const out = [];
      for (let i = 0; i < 8; i++) {
        out.push((await vault.rotateKey('shared')).latestVersion);
        if (i === 3) out.push(await vault.encrypt('own-' + tag, 'from-' + tag));
      }
      process.stdout.write(JSON.stringify(out));
    `;
    const child = (tag: string) =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script, dataDir, tag], {
        timeout: 60_000,
      });
    const [one, two] = await Promise.all([child('one'), child('two')]);

    const outOne = JSON.parse(one.stdout) as (number | string)[];
    const outTwo = JSON.parse(two.stdout) as (number | string)[];
    const versions = [...outOne, ...outTwo].filter((v): v is number => typeof v === 'number');
    expect(versions.sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 2));
    expect((await storedKeys())['shared']?.map((k) => k.version)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));

    const fresh = await KeyringVault.open({ dataDir });
    expect(await fresh.decrypt('own-one', outOne.find((v) => typeof v === 'string') as string)).toBe('from-one');
    expect(await fresh.decrypt('own-two', outTwo.find((v) => typeof v === 'string') as string)).toBe('from-two');
  });

  it('breaks a lock left behind by a crashed process, but waits for a live one (then fails retryably)', async () => {
    const vault = await KeyringVault.open({ dataDir, lockTimeoutMs: 300 });
    const lock = join(keysDir(), 'keyring.lock');

    await writeFile(lock, JSON.stringify({ pid: 999_999, at: '2020-01-01T00:00:00Z' }));
    const past = new Date(Date.now() - 60_000);
    await utimes(lock, past, past);
    expect(await vault.encrypt('after-crash', 'x')).toMatch(/^cra:v1:/);
    expect((await readdir(keysDir())).filter((f) => f.includes('lock'))).toEqual([]);

    await writeFile(lock, JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
    const err = await expectError(vault.rotateKey('after-crash'), 'Unavailable');
    expect(err.message).toContain('locked');
    await rm(lock);
    expect(await vault.rotateKey('after-crash')).toEqual({ latestVersion: 2 });
  });

  it('reports a corrupted key file as Unavailable, naming the file but no key material', async () => {
    const vault = await KeyringVault.open({ dataDir });
    await vault.encrypt('payments', 'x');
    const text = await readFile(keyringFile(), 'utf8');
    await writeFile(keyringFile(), text.slice(0, text.length / 2));

    const err = await expectError(KeyringVault.open({ dataDir }), 'Unavailable');
    expect(err.message).toContain('keyring.json');
    expect(err.message).not.toContain((await storedKeysFrom(text))['payments']?.[0]?.key ?? '');
  });
});

describe('KeyringVault: data keys', () => {
  it('makes a fresh 32-byte key and its wrapping (cra:v1), which any instance on the folder unwraps', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const made = await vault.generateDataKey('account-data-keys');
    const again = await vault.generateDataKey('account-data-keys');

    expect(made.key).toBeInstanceOf(Buffer);
    expect(made.key).toHaveLength(32);
    expect(made.wrapped).toMatch(/^cra:v1:/);
    expect(again.key.equals(made.key)).toBe(false);
    expect(made.wrapped).not.toContain(made.key.toString('base64'));
    // The wrapping key was created on first use, once.
    expect((await storedKeys())['account-data-keys']).toHaveLength(1);

    expect((await vault.unwrapDataKey('account-data-keys', made.wrapped)).equals(made.key)).toBe(true);
    const otherProcess = await KeyringVault.open({ dataDir });
    expect((await otherProcess.unwrapDataKey('account-data-keys', again.wrapped)).equals(again.key)).toBe(true);
    // Neither file holds the key's bytes in the clear.
    const onDisk = await readFile(keyringFile(), 'utf8');
    expect(onDisk).not.toContain(made.key.toString('base64'));
  });

  it('still unwraps keys wrapped before a rotation; new ones use the newest version', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const before = await vault.generateDataKey('account-data-keys');
    await vault.rotateKey('account-data-keys');
    const after = await vault.generateDataKey('account-data-keys');

    expect(after.wrapped).toMatch(/^cra:v2:/);
    expect((await vault.unwrapDataKey('account-data-keys', before.wrapped)).equals(before.key)).toBe(true);
    expect((await vault.unwrapDataKey('account-data-keys', after.wrapped)).equals(after.key)).toBe(true);
  });

  it('answers Tampered for an altered wrapping, one made under another key name, and a ciphertext that is no data key', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const made = await vault.generateDataKey('account-data-keys');
    const keyText = made.key.toString('base64');

    for (const offset of [0, 13, bodyOf(made.wrapped).length - 1]) {
      const body = bodyOf(made.wrapped);
      body[offset] = (body[offset] ?? 0) ^ 0x01;
      expectNothingSecret(
        await expectError(vault.unwrapDataKey('account-data-keys', withBody(made.wrapped, body)), 'Tampered'),
        keyText,
      );
    }
    const foreign = await vault.generateDataKey('other-data-keys');
    await expectError(vault.unwrapDataKey('account-data-keys', foreign.wrapped), 'Tampered');
    await expectError(
      vault.unwrapDataKey('account-data-keys', await vault.encrypt('account-data-keys', marker)),
      'Tampered',
    );
    for (const bad of ['', 'cra:v1:', 'vault:v1:AAAA', `${made.wrapped}=`]) {
      await expectError(vault.unwrapDataKey('account-data-keys', bad), 'Tampered');
    }
    await expectError(
      vault.unwrapDataKey('account-data-keys', made.wrapped.replace('cra:v1:', 'cra:v5:')),
      'KeyNotFound',
    );
    await expectError(vault.generateDataKey('../escape'), 'KeyNotFound');
  });
});

describe('KeyringVault: creating and destroying stored secrets', () => {
  it('creates only where nothing is stored: true, then false, the first value kept', async () => {
    const vault = await KeyringVault.open({ dataDir });
    expect(await vault.createSecret('accounts/a1/data-key', { wrapped: 'first' })).toBe(true);
    expect(await vault.createSecret('accounts/a1/data-key', { wrapped: 'second' })).toBe(false);
    expect(await vault.readSecret('accounts/a1/data-key')).toEqual({ wrapped: 'first' });

    await vault.writeSecret('providers/google/client', { clientId: 'cid' });
    expect(await vault.createSecret('providers/google/client', { clientId: 'other' })).toBe(false);
    expect(await vault.readSecret('providers/google/client')).toEqual({ clientId: 'cid' });
  });

  it('destroys a secret for good: gone from its file, other secrets kept, creatable again', async () => {
    const vault = await KeyringVault.open({ dataDir });
    await vault.createSecret('accounts/a1/data-key', { wrapped: marker });
    await vault.writeSecret('accounts/a2/data-key', { wrapped: 'kept' });
    const a1File = secretsFile('accounts/a1/data-key');
    const sealedBefore = (JSON.parse(await readFile(a1File, 'utf8')) as { secrets: Record<string, string> }).secrets[
      'accounts/a1/data-key'
    ];

    await vault.destroySecret('accounts/a1/data-key');
    expect(await vault.readSecret('accounts/a1/data-key')).toBeUndefined();
    expect(await (await KeyringVault.open({ dataDir })).readSecret('accounts/a1/data-key')).toBeUndefined();
    const onDisk = await readFile(a1File, 'utf8');
    expect(onDisk).not.toContain('accounts/a1/data-key');
    expect(onDisk).not.toContain(sealedBefore ?? 'nothing sealed');
    expect(await vault.readSecret('accounts/a2/data-key')).toEqual({ wrapped: 'kept' });

    expect(await vault.createSecret('accounts/a1/data-key', { destroyedAt: '2026-01-01T00:00:00.000Z' })).toBe(true);
    expect(await vault.readSecret('accounts/a1/data-key')).toEqual({ destroyedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('spreads secrets over shard files, and moves a single secrets.json written before into them on open', async () => {
    const first = await KeyringVault.open({ dataDir });
    const paths = Array.from({ length: 40 }, (_, i) => `accounts/a${i}/data-key`);
    for (const path of paths) await first.createSecret(path, { wrapped: `w-${path}` });
    const files = new Set(paths.map(secretsFile));
    expect(files.size).toBeGreaterThan(20);
    // Each file holds only its own shard's secrets.
    for (const file of files) {
      const held = Object.keys((JSON.parse(await readFile(file, 'utf8')) as { secrets: object }).secrets);
      expect(held.every((p) => secretsFile(p) === file)).toBe(true);
    }

    // A keyring from before the shards: its secrets.json, sealed the same way, one file for all.
    const legacy: Record<string, string> = {};
    for (const path of paths.slice(0, 10)) {
      const file = secretsFile(path);
      const doc = JSON.parse(await readFile(file, 'utf8')) as { secrets: Record<string, string> };
      legacy[path] = doc.secrets[path]!;
      delete doc.secrets[path];
      await writeFile(file, JSON.stringify(doc));
    }
    // One secret is in both: the shard's (written since) wins over the old file's.
    legacy[paths[20]!] = legacy[paths[0]!]!;
    await writeFile(join(keysDir(), 'secrets.json'), JSON.stringify({ format: 1, secrets: legacy }));

    const reopened = await KeyringVault.open({ dataDir });
    expect((await readdir(keysDir())).sort()).toEqual(['keyring.json', 'secrets']);
    for (const path of paths) expect(await reopened.readSecret(path)).toEqual({ wrapped: `w-${path}` });
    expect(await first.readSecret(paths[3]!)).toEqual({ wrapped: `w-${paths[3]}` });
  });

  it('destroys a path with nothing stored (twice, even before its file exists) without an error', async () => {
    const vault = await KeyringVault.open({ dataDir });
    await vault.destroySecret('accounts/never/data-key');
    await vault.destroySecret('accounts/never/data-key');
    expect(await vault.readSecret('accounts/never/data-key')).toBeUndefined();
    await expectError(vault.destroySecret('a//b'), 'KeyNotFound');
    await expectError(vault.createSecret('../escape', { x: 'y' }), 'KeyNotFound');
  });

  it('two instances on one folder racing to create the same secrets: exactly one wins each', async () => {
    const a = await KeyringVault.open({ dataDir });
    const b = await KeyringVault.open({ dataDir });
    const paths = Array.from({ length: 6 }, (_, i) => `accounts/race-${i}/data-key`);

    const results = await Promise.all(
      paths.flatMap((path) => [
        a.createSecret(path, { who: 'a' }).then((won) => ({ path, who: 'a', won })),
        b.createSecret(path, { who: 'b' }).then((won) => ({ path, who: 'b', won })),
      ]),
    );

    const fresh = await KeyringVault.open({ dataDir });
    for (const path of paths) {
      const winners = results.filter((r) => r.path === path && r.won);
      expect(winners).toHaveLength(1);
      const stored = { who: winners[0]?.who };
      expect(await a.readSecret(path)).toEqual(stored);
      expect(await b.readSecret(path)).toEqual(stored);
      expect(await fresh.readSecret(path)).toEqual(stored);
    }
  });

  it('two Node processes racing to create the same secret: exactly one wins', async () => {
    await KeyringVault.open({ dataDir });
    const script = `
      const { KeyringVault } = await import(${JSON.stringify(keyringModule)});
      const [dataDir, tag] = process.argv.slice(1);
      const vault = await KeyringVault.open({ dataDir });
      const won = [];
      for (let i = 0; i < 5; i++) won.push(await vault.createSecret('accounts/race-' + i + '/data-key', { who: tag }));
      process.stdout.write(JSON.stringify(won));
    `;
    const child = (tag: string) =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script, dataDir, tag], {
        timeout: 60_000,
      });
    const [one, two] = await Promise.all([child('one'), child('two')]);
    const wonOne = JSON.parse(one.stdout) as boolean[];
    const wonTwo = JSON.parse(two.stdout) as boolean[];

    const fresh = await KeyringVault.open({ dataDir });
    for (let i = 0; i < 5; i++) {
      expect([wonOne[i], wonTwo[i]].filter(Boolean)).toHaveLength(1);
      expect(await fresh.readSecret(`accounts/race-${i}/data-key`)).toEqual({ who: wonOne[i] ? 'one' : 'two' });
    }
  });
});

describe('KeyringVault: no plaintext in errors', () => {
  it('keeps plaintexts, ciphertext bodies and MACs out of every error it throws', async () => {
    const vault = await KeyringVault.open({ dataDir });
    const ciphertext = await vault.encrypt('payments', marker);
    const body = bodyOf(ciphertext);
    const altered = Buffer.from(body);
    altered[0] = (altered[0] ?? 0) ^ 1;
    await vault.writeSecret('s', { secret: marker });

    const errors = [
      await caught(vault.decrypt('payments', withBody(ciphertext, altered))),
      await caught(vault.decrypt('payments', ciphertext.replace('cra:v1:', 'cra:v7:'))),
      await caught(vault.decrypt('other', ciphertext)),
      await caught(vault.rewrap('payments', `${ciphertext}x`)),
      await caught(
        vault.verifyHmac('payments', marker, (await vault.hmac('payments', marker)).replace('cra:v1:', 'cra:v9:')),
      ),
      await caught(vault.encrypt(`${marker} as a key name`, 'payments')),
      await caught(vault.readSecret(marker + '/..')),
    ];
    expect(errors.map((e) => e.type)).toEqual([
      'Tampered',
      'KeyNotFound',
      'KeyNotFound',
      'Tampered',
      'KeyNotFound',
      'KeyNotFound',
      'KeyNotFound',
    ]);
    for (const err of errors) expectNothingSecret(err, body.toString('base64'), body.toString('base64').slice(0, 16));
  });
});

async function storedKeysFrom(text: string): Promise<Record<string, StoredKeyVersion[]>> {
  try {
    return (JSON.parse(text) as { keys: Record<string, StoredKeyVersion[]> }).keys;
  } catch {
    return {};
  }
}
