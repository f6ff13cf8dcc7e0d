/**
 * Per-account data keys (`AccountKeys`) over both real SecretVaults: the keyring on a temporary data folder,
 * and HashiCorpVault through node-vault against the Vault stand-in (`test/support/vault-stand-in.ts`).
 * "Two processes" are two `AccountKeys`, each over its own adapter instance, sharing one folder or one
 * Vault, as the worker and the API do. The cache tests count requests at the stand-in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AccountKeys,
  accountDataKeyPath,
  isAccountSealed,
  type AccountKeysOptions,
} from '../../activities/secrets/account-keys.js';
import { HashiCorpVault } from '../../activities/secrets/hashicorp-vault.js';
import { KeyringVault } from '../../activities/secrets/keyring-vault.js';
import { SecretVaultError, type SecretVault } from '../../activities/secrets/port.js';
import { failureTypeOf } from '../../domain/failures.js';
import { startVaultStandIn, type VaultStandIn } from '../support/vault-stand-in.js';

const token = 'hvs.CRA-account-keys-token';
/** A personal value no error message may ever contain. */
const marker = 'ada.lovelace+PERSONAL-7c41@example.org';

let standIn: VaultStandIn;
let dataDir: string;

beforeAll(async () => {
  standIn = await startVaultStandIn({ token });
});

afterAll(async () => {
  await standIn?.close();
});

beforeEach(async () => {
  standIn.reset();
  dataDir = await mkdtemp(join(tmpdir(), 'cra-account-keys-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** One process's SecretVault adapter: a new instance each time, as each process builds its own. */
const backends: [string, () => Promise<SecretVault>][] = [
  ['the keyring', () => KeyringVault.open({ dataDir })],
  ['HashiCorp Vault', async () => new HashiCorpVault({ endpoint: standIn.endpoint, token })],
];

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected a failure, got success');
}

async function expectTampered(promise: Promise<unknown>): Promise<void> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(SecretVaultError);
  expect((err as SecretVaultError).type).toBe('Tampered');
  expect(err.message).not.toContain(marker);
}

async function expectDestroyed(promise: Promise<unknown>): Promise<void> {
  const err = await rejection(promise);
  expect(failureTypeOf(err)).toBe('AccountKeyDestroyed');
  expect(err.message).not.toContain(marker);
}

describe.each(backends)('AccountKeys over %s', (_name, openVault) => {
  const newProcess = async (options?: AccountKeysOptions) => new AccountKeys(await openVault(), options);

  it('two processes creating the same account key at once converge on one key: each opens the other’s seal', async () => {
    const worker = await newProcess();
    const api = await newProcess();

    const [fromWorker, fromApi] = await Promise.all([
      worker.seal('acct-1', 'email', marker),
      api.seal('acct-1', 'email', `${marker} (api)`),
    ]);

    expect(isAccountSealed(fromWorker)).toBe(true);
    expect(fromWorker).not.toContain(marker);
    expect(await api.open('acct-1', 'email', fromWorker)).toBe(marker);
    expect(await worker.open('acct-1', 'email', fromApi)).toBe(`${marker} (api)`);
    const later = await newProcess();
    expect(await later.open('acct-1', 'email', fromWorker)).toBe(marker);
    expect(await later.open('acct-1', 'email', fromApi)).toBe(`${marker} (api)`);

    // One key is stored, wrapped; the database-side value never held it.
    const stored = await (await openVault()).readSecret(accountDataKeyPath('acct-1'));
    expect(Object.keys(stored ?? {}).sort()).toEqual(['createdAt', 'wrapped']);
  });

  it('many first uses at once, across two processes, still make one key', async () => {
    const a = await newProcess();
    const b = await newProcess();
    const sealed = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).seal('acct-1', `field-${i}`, `value-${i}`)),
    );
    const reader = await newProcess();
    for (const [i, value] of sealed.entries())
      expect(await reader.open('acct-1', `field-${i}`, value)).toBe(`value-${i}`);
  });

  it('a value sealed for one account opens neither with another account’s key nor in another context', async () => {
    const keys = await newProcess();
    const sealed = await keys.seal('acct-a', 'email', marker);
    await keys.keyFor('acct-b');

    await expectTampered(keys.open('acct-b', 'email', sealed));
    await expectTampered(keys.open('acct-a', 'name', sealed));
    await expectTampered((await newProcess()).open('acct-b', 'email', sealed));
    // An edited value fails too, and the right key and context still open the original.
    const body = Buffer.from(sealed.slice('acct:1:'.length), 'base64');
    body[14] = (body[14] ?? 0) ^ 0x01;
    await expectTampered(keys.open('acct-a', 'email', `acct:1:${body.toString('base64')}`));
    await expectTampered(keys.open('acct-a', 'email', 'not sealed at all'));
    expect(await keys.open('acct-a', 'email', sealed)).toBe(marker);
  });

  it('destroy: a copy sealed before cannot be opened afterwards, by this process or a fresh one', async () => {
    const keys = await newProcess();
    const copy = await keys.seal('acct-1', 'record/rec-1', marker);
    const other = await keys.seal('acct-2', 'record/rec-1', 'someone else');

    expect(await keys.destroy('acct-1')).toEqual({ existed: true });

    expect(await keys.isDestroyed('acct-1')).toBe(true);
    await expectDestroyed(keys.open('acct-1', 'record/rec-1', copy));
    await expectDestroyed((await newProcess()).open('acct-1', 'record/rec-1', copy));
    expect(await keys.existingKeyFor('acct-1')).toBeUndefined();
    // Another account is untouched.
    expect(await (await newProcess()).open('acct-2', 'record/rec-1', other)).toBe('someone else');
    expect(await keys.isDestroyed('acct-2')).toBe(false);
  });

  it('after destroy, keyFor refuses (no second key is made), and destroy is idempotent', async () => {
    const keys = await newProcess();
    await keys.keyFor('acct-1');
    const at = new Date('2026-03-01T10:00:00.000Z');
    expect(await keys.destroy('acct-1', at)).toEqual({ existed: true });
    const marked = await (await openVault()).readSecret(accountDataKeyPath('acct-1'));
    expect(marked).toEqual({ destroyedAt: at.toISOString() });

    await expectDestroyed(keys.keyFor('acct-1'));
    await expectDestroyed((await newProcess()).keyFor('acct-1'));
    await expectDestroyed((await newProcess()).seal('acct-1', 'email', marker));

    // Again, from another process: nothing changes, the first destruction's date stays.
    expect(await (await newProcess()).destroy('acct-1', new Date('2026-04-01T00:00:00.000Z'))).toEqual({
      existed: false,
    });
    expect(await (await openVault()).readSecret(accountDataKeyPath('acct-1'))).toEqual({
      destroyedAt: at.toISOString(),
    });
  });

  it('destroying an account that never had a key leaves the marker, so none can be made later', async () => {
    const keys = await newProcess();
    expect(await keys.destroy('acct-never')).toEqual({ existed: false });
    expect(await keys.isDestroyed('acct-never')).toBe(true);
    await expectDestroyed((await newProcess()).keyFor('acct-never'));
  });

  it('destroys even a stored value CRA did not write, which no reader accepts as a key', async () => {
    const vault = await openVault();
    await vault.writeSecret(accountDataKeyPath('acct-1'), { note: marker });
    await expectTampered(new AccountKeys(vault).keyFor('acct-1'));

    expect(await (await newProcess()).destroy('acct-1')).toEqual({ existed: true });
    expect(await (await openVault()).readSecret(accountDataKeyPath('acct-1'))).toEqual({
      destroyedAt: expect.any(String),
    });
  });

  it('another process that cached the key stops opening once it forgets it', async () => {
    const worker = await newProcess();
    const api = await newProcess();
    const sealed = await worker.seal('acct-1', 'email', marker);
    expect(await api.open('acct-1', 'email', sealed)).toBe(marker);

    await worker.destroy('acct-1');
    api.forget('acct-1');
    await expectDestroyed(api.open('acct-1', 'email', sealed));
  });

  it('existingKeyFor makes no key; a later keyFor does', async () => {
    const keys = await newProcess();
    expect(await keys.existingKeyFor('acct-1')).toBeUndefined();
    expect(await (await openVault()).readSecret(accountDataKeyPath('acct-1'))).toBeUndefined();

    const key = await keys.keyFor('acct-1');
    expect(key.accountId).toBe('acct-1');
    expect(await keys.existingKeyFor('acct-1')).toBe(key);
  });
});

describe('AccountKeys: the cache (requests counted at the Vault stand-in)', () => {
  const vault = () => new HashiCorpVault({ endpoint: standIn.endpoint, token });
  const keyPath = (accountId: string) => `/v1/secret/data/accounts/${accountId}/data-key`;
  const reads = (accountId: string) =>
    standIn.state.requests.filter((r) => r.method === 'GET' && r.path === keyPath(accountId)).length;
  const unwraps = () => standIn.state.requests.filter((r) => r.path === '/v1/transit/decrypt/account-data-keys').length;

  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    clock = Date.parse('2026-03-01T10:00:00.000Z');
  });

  it('within the TTL, no second read or unwrap; after it, exactly one of each', async () => {
    await new AccountKeys(vault()).keyFor('acct-1');
    const keys = new AccountKeys(vault(), { ttlMs: 60_000, now });
    standIn.state.requests = [];

    const sealed = await keys.seal('acct-1', 'email', marker);
    expect([reads('acct-1'), unwraps()]).toEqual([1, 1]);

    clock += 59_000;
    expect(await keys.open('acct-1', 'email', sealed)).toBe(marker);
    await keys.seal('acct-1', 'name', 'Ada');
    await Promise.all([keys.keyFor('acct-1'), keys.existingKeyFor('acct-1'), keys.keyFor('acct-1')]);
    expect([reads('acct-1'), unwraps()]).toEqual([1, 1]);

    clock += 2_000;
    expect(await keys.open('acct-1', 'email', sealed)).toBe(marker);
    await keys.keyFor('acct-1');
    expect([reads('acct-1'), unwraps()]).toEqual([2, 2]);
  });

  it('the process that made the key uses it without unwrapping; concurrent first uses share one load', async () => {
    const keys = new AccountKeys(vault(), { now });
    await Promise.all([keys.seal('acct-1', 'a', 'x'), keys.seal('acct-1', 'b', 'y'), keys.keyFor('acct-1')]);

    expect(reads('acct-1')).toBe(1);
    expect(unwraps()).toBe(0);
    expect(
      standIn.state.requests.filter(
        (r) => r.path === '/v1/secret/data/accounts/acct-1/data-key' && r.method === 'POST',
      ),
    ).toHaveLength(1);
  });

  it('keeps at most maxEntries keys: the oldest is evicted and read again', async () => {
    const maker = new AccountKeys(vault());
    for (const id of ['acct-a', 'acct-b', 'acct-c']) await maker.keyFor(id);
    const keys = new AccountKeys(vault(), { maxEntries: 2, now });
    standIn.state.requests = [];

    for (const id of ['acct-a', 'acct-b', 'acct-c']) await keys.keyFor(id);
    expect(unwraps()).toBe(3);

    // acct-a was evicted when acct-c came in; acct-b and acct-c are still held.
    await keys.keyFor('acct-c');
    await keys.keyFor('acct-b');
    expect([reads('acct-a'), reads('acct-b'), reads('acct-c'), unwraps()]).toEqual([1, 1, 1, 3]);
    await keys.keyFor('acct-a');
    expect([reads('acct-a'), unwraps()]).toEqual([2, 4]);
  });

  it('remembers neither a failure nor "no key": the next call asks again', async () => {
    const keys = new AccountKeys(vault(), { now });
    standIn.state.canned.push({
      method: 'GET',
      path: keyPath('acct-1'),
      status: 503,
      body: { errors: ['Vault is sealed'] },
    });
    const sealedVault = await rejection(keys.keyFor('acct-1'));
    expect((sealedVault as SecretVaultError).type).toBe('Unavailable');

    expect(await keys.existingKeyFor('acct-1')).toBeUndefined();
    // Another process creates the key meanwhile: this one sees it at once, not after the TTL.
    const sealed = await new AccountKeys(vault()).seal('acct-1', 'email', marker);
    expect(await keys.open('acct-1', 'email', sealed)).toBe(marker);
    expect(reads('acct-1')).toBe(4);
  });

  it('destroy evicts the key from this process at once, whatever the TTL', async () => {
    const keys = new AccountKeys(vault(), { ttlMs: 3_600_000, now });
    const sealed = await keys.seal('acct-1', 'email', marker);
    await keys.destroy('acct-1');
    await expectDestroyed(keys.open('acct-1', 'email', sealed));
  });

  it('destroy leaves no wrapped key anywhere in Vault, only the marker', async () => {
    const keys = new AccountKeys(vault());
    await keys.keyFor('acct-1');
    const wrapped = standIn.state.kv.get('secret/accounts/acct-1/data-key')?.data.wrapped;
    expect(typeof wrapped).toBe('string');

    await keys.destroy('acct-1');
    const everything = JSON.stringify([...standIn.state.kv.entries()]);
    expect(everything).not.toContain(String(wrapped));
    expect(standIn.state.kv.get('secret/accounts/acct-1/data-key')).toMatchObject({
      data: { destroyedAt: expect.any(String) },
      version: 1,
    });
    expect(standIn.state.requests.map((r) => `${r.method} ${r.path}`)).toContain(
      'DELETE /v1/secret/metadata/accounts/acct-1/data-key',
    );
  });

  it('a key written while destroy runs (between its delete and its marker) is destroyed too', async () => {
    const keys = new AccountKeys(vault());
    await keys.keyFor('acct-1');
    // Vault answers the delete but another process's write lands before the marker: what is stored when
    // destroy writes its marker is a live wrapped key, as if it had been created in between.
    standIn.state.canned.push({ method: 'DELETE', path: '/v1/secret/metadata/accounts/acct-1/data-key', status: 204 });

    expect(await keys.destroy('acct-1')).toEqual({ existed: true });
    expect(await keys.isDestroyed('acct-1')).toBe(true);
    await expectDestroyed(new AccountKeys(vault()).keyFor('acct-1'));
  });
});
