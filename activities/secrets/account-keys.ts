/**
 * Per-account data keys (envelope encryption). Each account gets one random 256-bit key, made and wrapped
 * by the SecretVault (`generateDataKey`: Vault transit `datakey`, or the keyring), and kept, wrapped, in the
 * SecretVault's secret store at `accounts/<accountId>/data-key`, never in the database. Personal fields,
 * provider tokens and provider record content are sealed with it (AES-256-GCM, in process, so a sync pays
 * microseconds per record, not a Vault round trip).
 *
 * Destroying the account's stored key (`destroy`, the erasure's crypto-shred) makes every sealed value
 * that is left anywhere (a database backup, a missed document, an export copied elsewhere) unreadable:
 * the database never held the key, wrapped or not. A destroyed key leaves a marker, so a late write cannot
 * create a second key for the same account.
 *
 * Unwrapped keys are cached in the process for a short while (`ttlMs`, default 5 minutes); an erasure
 * stops every process of the account before it destroys the key, and `destroy` evicts it here.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { failure } from '../../domain/failures.js';
import { SecretVaultError, type SecretVault } from './port.js';

/** The SecretVault key that wraps every account's data key (transit key in Vault, keyring key locally). */
export const accountDataKeyName = 'account-data-keys';

/** Where the wrapped data key of an account is stored in the SecretVault. */
export function accountDataKeyPath(accountId: string): string {
  return `accounts/${accountId}/data-key`;
}

const prefix = 'acct:1:';
/** Rounds of delete-then-mark before `destroy` gives up (retryably) on a key that keeps being re-created. */
const destroyAttempts = 3;
const sealedPattern = /^acct:1:[A-Za-z0-9+/]+={0,2}$/;
const ivBytes = 12;
const tagBytes = 16;

/** True for a value made by `AccountKey.seal` (so readers can tell sealed fields from clear legacy ones). */
export function isAccountSealed(value: unknown): value is string {
  return typeof value === 'string' && sealedPattern.test(value);
}

/** What is stored at `accountDataKeyPath`: the wrapped key, or the marker a destroyed key leaves. */
type StoredDataKey = { wrapped: string; createdAt: string } | { destroyedAt: string };

/** One account's unwrapped data key. `context` binds a sealed value to where it belongs (a field, a record id). */
export class AccountKey {
  constructor(
    readonly accountId: string,
    private readonly key: Buffer,
  ) {}

  seal(context: string, plaintext: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: tagBytes });
    cipher.setAAD(this.aad(context));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${prefix}${body.toString('base64')}`;
  }

  /** The plaintext of `seal(context, …)`; another account's key, another context or an edit → 'Tampered'. */
  open(context: string, sealed: string): string {
    if (!isAccountSealed(sealed)) throw tampered();
    const body = Buffer.from(sealed.slice(prefix.length), 'base64');
    if (body.length < ivBytes + tagBytes) throw tampered();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, body.subarray(0, ivBytes), {
        authTagLength: tagBytes,
      });
      decipher.setAAD(this.aad(context));
      decipher.setAuthTag(body.subarray(body.length - tagBytes));
      return Buffer.concat([
        decipher.update(body.subarray(ivBytes, body.length - tagBytes)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw tampered();
    }
  }

  private aad(context: string): Buffer {
    return Buffer.from(`cra account ${this.accountId}\n${context}`, 'utf8');
  }
}

export interface AccountKeysOptions {
  /** How long an unwrapped key stays in memory (default 5 minutes). */
  ttlMs?: number;
  /** How many accounts' keys stay in memory at most (default 10 000; the oldest go first). */
  maxEntries?: number;
  now?: () => number;
}

interface CacheEntry {
  key: Promise<AccountKey | undefined>;
  expiresAt: number;
}

/** The account data keys of one process: create on first use, unwrap and cache, destroy. */
export class AccountKeys {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    readonly vault: SecretVault,
    options: AccountKeysOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** The account's key, created (and stored wrapped) on first use. A destroyed key → AccountKeyDestroyed. */
  async keyFor(accountId: string): Promise<AccountKey> {
    const key = await this.cached(accountId, true);
    if (!key) throw destroyed(accountId);
    return key;
  }

  /** The account's key when it has one; undefined when none was ever made or it was destroyed. */
  async existingKeyFor(accountId: string): Promise<AccountKey | undefined> {
    return this.cached(accountId, false);
  }

  async seal(accountId: string, context: string, plaintext: string): Promise<string> {
    return (await this.keyFor(accountId)).seal(context, plaintext);
  }

  /** The plaintext of a sealed value; AccountKeyDestroyed when the account's key is gone. */
  async open(accountId: string, context: string, sealed: string): Promise<string> {
    const key = await this.existingKeyFor(accountId);
    if (!key) throw destroyed(accountId);
    return key.open(context, sealed);
  }

  /** Whether the account's key was destroyed (an erased account). */
  async isDestroyed(accountId: string): Promise<boolean> {
    const stored = await this.read(accountId);
    return stored !== undefined && 'destroyedAt' in stored;
  }

  /**
   * Crypto-shred: destroy every version of the stored key, then leave the destroyed marker. Idempotent:
   * destroying a destroyed (or never made) key leaves the marker and reports `existed: false`.
   * A key another process creates between the delete and the marker (the marker's check-and-set then
   * fails) is destroyed in turn, so destroy never ends with a live key stored.
   */
  async destroy(accountId: string, at = new Date(this.now())): Promise<{ existed: boolean }> {
    const path = accountDataKeyPath(accountId);
    let existed = false;
    try {
      for (let attempt = 0; attempt < destroyAttempts; attempt++) {
        this.cache.delete(accountId);
        // Read raw, not through `read`: whatever is stored there (even a value CRA did not write) goes.
        const stored = await this.vault.readSecret(path);
        if (typeof stored?.destroyedAt === 'string') return { existed };
        if (stored) existed = true;
        await this.vault.destroySecret(path);
        if (await this.vault.createSecret(path, { destroyedAt: at.toISOString() })) return { existed };
      }
    } finally {
      this.cache.delete(accountId);
    }
    throw new SecretVaultError('Unavailable', `the data key of account ${accountId} was re-created while destroyed`);
  }

  /** Drop a cached key (another process destroyed it). */
  forget(accountId: string): void {
    this.cache.delete(accountId);
  }

  private cached(accountId: string, create: boolean): Promise<AccountKey | undefined> {
    const now = this.now();
    const hit = this.cache.get(accountId);
    if (hit && hit.expiresAt > now) {
      // A cached "no key" does not answer a request to create one.
      return create ? hit.key.then((k) => k ?? this.load(accountId, true, now)) : hit.key;
    }
    return this.load(accountId, create, now);
  }

  private load(accountId: string, create: boolean, now: number): Promise<AccountKey | undefined> {
    const key = this.unwrapOrCreate(accountId, create);
    this.cache.delete(accountId);
    this.cache.set(accountId, { key, expiresAt: now + this.ttlMs });
    // A failure is not remembered; a missing key only briefly (a create may follow in another process).
    key.then(
      (k) => {
        if (!k && this.cache.get(accountId)?.key === key) this.cache.delete(accountId);
      },
      () => {
        if (this.cache.get(accountId)?.key === key) this.cache.delete(accountId);
      },
    );
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return key;
  }

  private async unwrapOrCreate(accountId: string, create: boolean): Promise<AccountKey | undefined> {
    const stored = await this.read(accountId);
    if (stored && 'destroyedAt' in stored) return undefined;
    if (stored) return new AccountKey(accountId, await this.vault.unwrapDataKey(accountDataKeyName, stored.wrapped));
    if (!create) return undefined;
    const made = await this.vault.generateDataKey(accountDataKeyName);
    const record = { wrapped: made.wrapped, createdAt: new Date(this.now()).toISOString() };
    if (await this.vault.createSecret(accountDataKeyPath(accountId), record))
      return new AccountKey(accountId, made.key);
    // Another process made the account's key first: use theirs, never a second one.
    made.key.fill(0);
    const theirs = await this.read(accountId);
    if (!theirs || 'destroyedAt' in theirs) return undefined;
    return new AccountKey(accountId, await this.vault.unwrapDataKey(accountDataKeyName, theirs.wrapped));
  }

  private async read(accountId: string): Promise<StoredDataKey | undefined> {
    const secret = await this.vault.readSecret(accountDataKeyPath(accountId));
    if (!secret) return undefined;
    if (typeof secret.destroyedAt === 'string') return { destroyedAt: secret.destroyedAt };
    if (typeof secret.wrapped === 'string' && typeof secret.createdAt === 'string') {
      return { wrapped: secret.wrapped, createdAt: secret.createdAt };
    }
    throw new SecretVaultError('Tampered', `the stored data key of account ${accountId} is not one CRA wrote`);
  }
}

function tampered(): SecretVaultError {
  return new SecretVaultError('Tampered', 'an account-sealed value is malformed or failed authentication');
}

function destroyed(accountId: string) {
  return failure('AccountKeyDestroyed', `account ${accountId} has no data key any more (it was erased)`);
}
