/**
 * The embedded SecretVault: an AES-256-GCM keyring in `<dataDir>/keys/keyring.json` (0600, folder 0700),
 * created on first use, for development and single-machine installs. It mirrors Vault transit: named
 * keys with versions, self-describing ciphertexts (`cra:v2:…`), rotation, rewrap, HMAC and a KV store.
 * The KV store is spread over 256 files, `keys/secrets/<xx>.json` by the first byte of the path's SHA-256:
 * every account has a secret (its wrapped data key), and one file rewritten whole at each new account made
 * signups slower as accounts grew (12 ms a write at 1 600 accounts, against 2.4 ms at 100). A
 * `keys/secrets.json` written before is moved into them when the keyring opens.
 *
 * Several processes may open the same folder (the worker and the API start together): every change
 * re-reads the file under a lock file and replaces it atomically, so no process drops a version another
 * one added, and every operation first checks whether another process changed the file. The key file has
 * one lock; each secrets shard has its own (`<xx>.json.lock`).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, fileStamp, readWholeFile, replaceFile, withFileLock, type LockOptions } from './key-files.js';
import { assertKeyName, assertSecretPath } from './names.js';
import { SecretVaultError, type SecretVault } from './port.js';

export interface KeyringVaultOptions {
  /** The data folder; the keyring lives in its `keys/` subfolder. */
  dataDir: string;
  /** How long to wait for another process's lock before failing with 'Unavailable' (default 10 s). */
  lockTimeoutMs?: number;
}

/** One version of a named key as stored: 32 random bytes, base64. */
export interface StoredKeyVersion {
  version: number;
  key: string;
  createdAt: string;
}

interface KeyringDocument {
  format: 1;
  keys: Record<string, StoredKeyVersion[]>;
}

interface SecretsDocument {
  format: 1;
  /** Secret path → `cra:vN:…`, the JSON of the secret sealed under the `kv` key, bound to its path. */
  secrets: Record<string, string>;
}

interface KeyMaterial {
  version: number;
  encryptionKey: Buffer;
  hmacKey: Buffer;
}

/** The keyring key that seals stored secrets; `rotateKey('kv')` rotates it like any other. */
const kvKeyName = 'kv';
const ivBytes = 12;
const tagBytes = 16;
const keyBytes = 32;
const macBytes = 32;
const versionedPattern = /^cra:v([1-9][0-9]{0,8}):([A-Za-z0-9+/]+={0,2})$/;
const defaultLock: LockOptions = { timeoutMs: 10_000, staleAfterMs: 10_000 };

export class KeyringVault implements SecretVault {
  readonly kind = 'keyring' as const;
  private document: KeyringDocument = { format: 1, keys: {} };
  private material = new Map<string, KeyMaterial[]>();
  private stamp: string | undefined;

  private constructor(
    private readonly dataDir: string,
    private readonly keyFile: string,
    private readonly lockFile: string,
    private readonly lock: LockOptions,
  ) {}

  /** What a log line shows of the keyring that holds it: never its document or its material (the keys). */
  toJSON(): { kind: 'keyring' } {
    return { kind: this.kind };
  }

  /** Open (creating on first use) the keyring under `<dataDir>/keys/`. */
  static async open(options: KeyringVaultOptions): Promise<KeyringVault> {
    const dir = join(options.dataDir, 'keys');
    const vault = new KeyringVault(options.dataDir, join(dir, 'keyring.json'), join(dir, 'keyring.lock'), {
      ...defaultLock,
      ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
    });
    await guard('open the keyring', async () => {
      for (const folder of [dir, join(dir, 'secrets')]) {
        await mkdir(folder, { recursive: true, mode: 0o700 });
        // A folder made earlier with a looser umask still holds key material: tighten it if it is ours.
        const info = await stat(folder);
        if ((info.mode & 0o077) !== 0) await chmod(folder, 0o700).catch(() => undefined);
      }
      await vault.reload();
      // Created now rather than at the first encryption, so a data folder that is not writable fails at start.
      if (vault.stamp === undefined) await vault.changeKeyring(() => true);
      await vault.moveLegacySecrets(join(dir, 'secrets.json'));
    });
    return vault;
  }

  async encrypt(keyName: string, plaintext: string): Promise<string> {
    assertKeyName(keyName);
    return guard('encrypt', async () =>
      seal(await this.newest(keyName), Buffer.from(plaintext, 'utf8'), keyAad(keyName)),
    );
  }

  async decrypt(keyName: string, ciphertext: string): Promise<string> {
    assertKeyName(keyName);
    return guard('decrypt', async () => (await this.unsealFor(keyName, ciphertext, keyAad(keyName))).toString('utf8'));
  }

  async rewrap(keyName: string, ciphertext: string): Promise<string> {
    assertKeyName(keyName);
    return guard('rewrap', async () => {
      const plaintext = await this.unsealFor(keyName, ciphertext, keyAad(keyName));
      return seal(await this.newest(keyName), plaintext, keyAad(keyName));
    });
  }

  async rotateKey(keyName: string): Promise<{ latestVersion: number }> {
    assertKeyName(keyName);
    return guard('rotate', async () => {
      let latestVersion = 0;
      await this.changeKeyring((doc) => {
        const versions = doc.keys[keyName];
        // Like Vault's `POST /transit/keys/:name/rotate`: rotating a key that was never used is an error.
        if (!versions?.length) throw new SecretVaultError('KeyNotFound', `keyring has no key "${keyName}"`);
        latestVersion = Math.max(...versions.map((v) => v.version)) + 1;
        versions.push(newKeyVersion(latestVersion));
        return true;
      });
      return { latestVersion };
    });
  }

  async hmac(keyName: string, input: string): Promise<string> {
    assertKeyName(keyName);
    return guard('hmac', async () => {
      const key = await this.newest(keyName);
      return `cra:v${key.version}:${macOf(key, input).toString('base64')}`;
    });
  }

  /** One look at the keyring file for all of them (`hmac` looks once per call). */
  async hmacMany(keyName: string, inputs: readonly string[]): Promise<string[]> {
    assertKeyName(keyName);
    return guard('hmac', async () => {
      const key = await this.newest(keyName);
      return inputs.map((input) => `cra:v${key.version}:${macOf(key, input).toString('base64')}`);
    });
  }

  async verifyHmac(keyName: string, input: string, mac: string): Promise<boolean> {
    assertKeyName(keyName);
    return guard('verify', async () => {
      const parsed = parseVersioned(mac);
      // A MAC that is not even shaped like ours cannot be valid; only an unknown version is an error.
      if (!parsed || parsed.body.length !== macBytes) return false;
      const key = await this.version(keyName, parsed.version);
      return timingSafeEqual(macOf(key, input), parsed.body);
    });
  }

  async readSecret(path: string): Promise<Record<string, string> | undefined> {
    assertSecretPath(path);
    return guard('read a secret', async () => {
      const sealed = (await this.readSecrets(path)).secrets[path];
      if (sealed === undefined) return undefined;
      const json = (await this.unsealFor(kvKeyName, sealed, secretAad(path))).toString('utf8');
      return JSON.parse(json) as Record<string, string>;
    });
  }

  async writeSecret(path: string, data: Record<string, string>): Promise<void> {
    assertSecretPath(path);
    await guard('write a secret', async () => {
      // Sealed before taking the lock: creating the `kv` key on first use takes the same lock.
      const sealed = seal(await this.newest(kvKeyName), Buffer.from(JSON.stringify(data), 'utf8'), secretAad(path));
      await withFileLock(this.shardLock(path), this.lock, async () => {
        const doc = await this.readSecrets(path);
        doc.secrets[path] = sealed;
        await this.writeSecrets(path, doc);
      });
    });
  }

  async createSecret(path: string, data: Record<string, string>): Promise<boolean> {
    assertSecretPath(path);
    return guard('create a secret', async () => {
      const sealed = seal(await this.newest(kvKeyName), Buffer.from(JSON.stringify(data), 'utf8'), secretAad(path));
      return withFileLock(this.shardLock(path), this.lock, async () => {
        const doc = await this.readSecrets(path);
        if (doc.secrets[path] !== undefined) return false;
        doc.secrets[path] = sealed;
        await this.writeSecrets(path, doc);
        return true;
      });
    });
  }

  /** The keyring keeps one version of a secret, so removing it from its file destroys it. */
  async destroySecret(path: string): Promise<void> {
    assertSecretPath(path);
    await guard('destroy a secret', async () => {
      await withFileLock(this.shardLock(path), this.lock, async () => {
        const doc = await this.readSecrets(path);
        if (doc.secrets[path] === undefined) return;
        delete doc.secrets[path];
        await this.writeSecrets(path, doc);
      });
    });
  }

  /** Like Vault's `datakey/plaintext`: random bytes, and the same bytes (base64) sealed under the named key. */
  async generateDataKey(keyName: string): Promise<{ key: Buffer; wrapped: string }> {
    assertKeyName(keyName);
    return guard('generate a data key', async () => {
      const key = randomBytes(keyBytes);
      return { key, wrapped: seal(await this.newest(keyName), Buffer.from(key.toString('base64')), keyAad(keyName)) };
    });
  }

  async unwrapDataKey(keyName: string, wrapped: string): Promise<Buffer> {
    assertKeyName(keyName);
    return guard('unwrap a data key', async () => {
      const key = Buffer.from((await this.unsealFor(keyName, wrapped, keyAad(keyName))).toString('utf8'), 'base64');
      if (key.length !== keyBytes) throw tampered(keyName);
      return key;
    });
  }

  /** The newest version of a key, created (version 1) on first use. */
  private async newest(keyName: string): Promise<KeyMaterial> {
    await this.refresh();
    if (!this.material.get(keyName)?.length) {
      await this.changeKeyring((doc) => {
        // Another process may have created it since our last read: use theirs, never a second version 1.
        if (doc.keys[keyName]?.length) return false;
        doc.keys[keyName] = [newKeyVersion(1)];
        return true;
      });
    }
    const versions = this.material.get(keyName);
    const latest = versions?.[versions.length - 1];
    if (!latest) throw new SecretVaultError('KeyNotFound', `keyring has no key "${keyName}"`);
    return latest;
  }

  private async version(keyName: string, version: number): Promise<KeyMaterial> {
    await this.refresh();
    const found = this.material.get(keyName)?.find((k) => k.version === version);
    if (!found) throw new SecretVaultError('KeyNotFound', `keyring has no version ${version} of key "${keyName}"`);
    return found;
  }

  private async unsealFor(keyName: string, ciphertext: string, aad: Buffer): Promise<Buffer> {
    const parsed = parseVersioned(ciphertext);
    if (!parsed || parsed.body.length < ivBytes + tagBytes) throw tampered(keyName);
    const key = await this.version(keyName, parsed.version);
    const iv = parsed.body.subarray(0, ivBytes);
    const tag = parsed.body.subarray(parsed.body.length - tagBytes);
    const sealed = parsed.body.subarray(ivBytes, parsed.body.length - tagBytes);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.encryptionKey, iv, { authTagLength: tagBytes });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(sealed), decipher.final()]);
    } catch {
      throw tampered(keyName);
    }
  }

  /** Reload when another process (or this one) replaced the file since the last read. */
  private async refresh(): Promise<void> {
    const stamp = await fileStamp(this.keyFile);
    // A vanished file keeps what we know; the next change writes it back instead of starting empty.
    if (stamp !== undefined && stamp !== this.stamp) await this.reload();
  }

  private async reload(): Promise<void> {
    const read = await readWholeFile(this.keyFile);
    if (!read) return;
    this.document = parseKeyring(read.text, this.keyFile);
    this.material = decodeMaterial(this.document);
    this.stamp = read.stamp;
  }

  /**
   * Apply `change` to the file as it is on disk now, under the lock, and write it back when it says so.
   * Working from the disk copy (not our cache) is what keeps versions added by other processes.
   */
  private async changeKeyring(change: (doc: KeyringDocument) => boolean): Promise<void> {
    await withFileLock(this.lockFile, this.lock, async () => {
      const read = await readWholeFile(this.keyFile);
      const doc = read ? parseKeyring(read.text, this.keyFile) : structuredClone(this.document);
      if (change(doc)) await replaceFile(this.keyFile, `${JSON.stringify(doc, null, 2)}\n`);
      await this.reload();
    });
  }

  /** The file that holds the secret at `path` (with the others of its shard). */
  private async readSecrets(path: string): Promise<SecretsDocument> {
    return readSecretsFile(keyringSecretsFile(this.dataDir, path));
  }

  /**
   * Each shard has its own lock: writes to different shards (two new accounts, almost always) run side by
   * side, each with its own fsync, instead of queueing behind one lock for the whole store.
   */
  private shardLock(path: string): string {
    return `${keyringSecretsFile(this.dataDir, path)}.lock`;
  }

  private async writeSecrets(path: string, doc: SecretsDocument): Promise<void> {
    await replaceFile(keyringSecretsFile(this.dataDir, path), `${JSON.stringify(doc, null, 2)}\n`);
  }

  /**
   * Move the secrets of a single `secrets.json` (written before the shards) into their shard files, under the
   * lock; a secret already in its shard (written since by a process running this code) keeps that value.
   */
  private async moveLegacySecrets(legacyFile: string): Promise<void> {
    if ((await fileStamp(legacyFile)) === undefined) return;
    await withFileLock(this.lockFile, this.lock, async () => {
      const legacy = await readSecretsFile(legacyFile);
      const byShard = new Map<string, string[]>();
      for (const path of Object.keys(legacy.secrets)) {
        const file = keyringSecretsFile(this.dataDir, path);
        byShard.set(file, [...(byShard.get(file) ?? []), path]);
      }
      for (const [file, paths] of byShard) {
        // The shard's own lock too: another process may be writing that shard (its writers take only that one).
        await withFileLock(`${file}.lock`, this.lock, async () => {
          const shard = await readSecretsFile(file);
          for (const path of paths) shard.secrets[path] ??= legacy.secrets[path]!;
          await replaceFile(file, `${JSON.stringify(shard, null, 2)}\n`);
        });
      }
      await rm(legacyFile, { force: true });
    });
  }
}

/** The shard file of a secret path: `<dataDir>/keys/secrets/<first byte of SHA-256(path), hex>.json`. */
export function keyringSecretsFile(dataDir: string, path: string): string {
  return join(
    dataDir,
    'keys',
    'secrets',
    `${createHash('sha256').update(path, 'utf8').digest('hex').slice(0, 2)}.json`,
  );
}

async function readSecretsFile(file: string): Promise<SecretsDocument> {
  const read = await readWholeFile(file);
  if (!read) return { format: 1, secrets: {} };
  const doc = parseJson(read.text, file) as Partial<SecretsDocument>;
  if (doc.format !== 1 || typeof doc.secrets !== 'object' || doc.secrets === null) throw unreadable(file);
  return { format: 1, secrets: { ...doc.secrets } };
}

function seal(key: KeyMaterial, plaintext: Buffer, aad: Buffer): string {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', key.encryptionKey, iv, { authTagLength: tagBytes });
  cipher.setAAD(aad);
  const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `cra:v${key.version}:${body.toString('base64')}`;
}

function macOf(key: KeyMaterial, input: string): Buffer {
  return createHmac('sha256', key.hmacKey).update(input, 'utf8').digest();
}

/**
 * The key name is the additional authenticated data, so a ciphertext of one key fails under another
 * name even if both names once held the same bytes. Stored secrets use `secret:<path>`, which no key
 * name can equal (names have no `:`), so a secret moved to another path fails too.
 */
function keyAad(keyName: string): Buffer {
  return Buffer.from(keyName, 'utf8');
}

function secretAad(path: string): Buffer {
  return Buffer.from(`secret:${path}`, 'utf8');
}

/** `cra:v<n>:<base64>` → version and bytes; undefined for anything else, including non-canonical base64. */
function parseVersioned(text: string): { version: number; body: Buffer } | undefined {
  const match = versionedPattern.exec(text);
  if (!match?.[1] || !match[2]) return undefined;
  const body = Buffer.from(match[2], 'base64');
  // Node's decoder ignores stray bits and characters; a re-encoding that differs means an edited string.
  if (body.toString('base64') !== match[2]) return undefined;
  return { version: Number(match[1]), body };
}

function newKeyVersion(version: number): StoredKeyVersion {
  return { version, key: randomBytes(keyBytes).toString('base64'), createdAt: new Date().toISOString() };
}

/**
 * The HMAC key of a version is derived (HKDF-SHA256, per key name) rather than the encryption key reused,
 * so the two primitives never share key bytes; like Vault, which keeps a separate hmac_key per version.
 */
function decodeMaterial(doc: KeyringDocument): Map<string, KeyMaterial[]> {
  const material = new Map<string, KeyMaterial[]>();
  for (const [name, versions] of Object.entries(doc.keys)) {
    const decoded = versions
      .map((v) => {
        const encryptionKey = Buffer.from(v.key, 'base64');
        const hmacKey = Buffer.from(
          hkdfSync('sha256', encryptionKey, Buffer.alloc(0), `cra keyring hmac ${name}`, keyBytes),
        );
        return { version: v.version, encryptionKey, hmacKey };
      })
      .sort((a, b) => a.version - b.version);
    material.set(name, decoded);
  }
  return material;
}

function parseKeyring(text: string, file: string): KeyringDocument {
  const doc = parseJson(text, file) as Partial<KeyringDocument>;
  if (doc.format !== 1 || typeof doc.keys !== 'object' || doc.keys === null) throw unreadable(file);
  for (const versions of Object.values(doc.keys)) {
    const valid =
      Array.isArray(versions) &&
      versions.every(
        (v: Partial<StoredKeyVersion>) =>
          Number.isSafeInteger(v.version) &&
          (v.version ?? 0) > 0 &&
          typeof v.key === 'string' &&
          Buffer.from(v.key, 'base64').length === keyBytes &&
          typeof v.createdAt === 'string',
      );
    if (!valid) throw unreadable(file);
  }
  return doc as KeyringDocument;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw unreadable(file);
  }
}

function tampered(keyName: string): SecretVaultError {
  return new SecretVaultError('Tampered', `ciphertext for key "${keyName}" is malformed or failed authentication`);
}

/** 'Unavailable' (retryable): an operator can restore the file from a backup and the retries succeed. */
function unreadable(file: string): SecretVaultError {
  return new SecretVaultError('Unavailable', `keyring file ${file} is not a readable keyring`);
}

/**
 * The one place file-system failures become SecretVaultErrors. Only the action and the errno code are
 * kept: Node's messages carry paths and syscalls, never key material, but the code is all a caller needs.
 */
async function guard<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof SecretVaultError) throw err;
    const code = errorCode(err) ?? 'unknown error';
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new SecretVaultError('Forbidden', `keyring could not ${action}: ${code}`);
    }
    throw new SecretVaultError('Unavailable', `keyring could not ${action}: ${code}`);
  }
}
