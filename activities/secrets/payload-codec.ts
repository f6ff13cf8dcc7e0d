/**
 * Temporal payload encryption: a `PayloadCodec` that seals every payload the client, the workers and the API
 * send to Temporal (workflow and activity inputs and results, signals, queries, updates, memos, and failures'
 * messages and stack traces through `encodeCommonAttributes`) with AES-256-GCM. Temporal stores only the
 * ciphertext, so its database, its backups and anyone reading history without the codec see nothing; operators
 * read histories decoded in Temporal Web through the API's codec endpoint (`api/routes/codec.ts`).
 *
 * The keys live in the SecretVault as one KV secret (`temporal/payload-codec`: `current` names the key new
 * payloads use, every other field is a key id and its 32 bytes, base64). The first process to start creates it
 * (check-and-set, so concurrent starts agree); `npm run codec:rotate` adds a key and makes it current. Every
 * process re-reads the secret every `refreshMs`, so after a rotation new payloads use the new key within that
 * time, and a payload sealed under a key this process has not seen yet makes it re-read at once. Old keys stay,
 * so every history stays readable.
 *
 * The payload's metadata says `encoding: binary/encrypted` and names the key (`encryption-key-id`), the layout
 * of Temporal's encryption samples; the key id is also bound into the ciphertext (AEAD associated data), so a
 * payload cannot be passed off as sealed under another key. A payload without that encoding passes through
 * decode unchanged: histories written before the codec existed stay readable.
 *
 * Search attributes are not payloads the codec sees: they hold ids and stages only (`temporal.config.ts`).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
// A CommonJS package whose named exports Node's ESM loader cannot see: take its default export.
import proto from '@temporalio/proto';
import type { SecretVault } from './port.js';

/** Where the payload keys are kept in the SecretVault (KV v2 in Vault, the keyring's KV store locally). */
export const payloadKeySecretPath = 'temporal/payload-codec';

export const encryptedEncoding = 'binary/encrypted';
export const keyIdMetadataKey = 'encryption-key-id';
const cipherMetadataKey = 'encryption-cipher';
const cipherName = 'AES-256-GCM';
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;
const ivBytes = 12;
const tagBytes = 16;

const utf8 = (value: string) => new TextEncoder().encode(value);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** The keys a process holds: the one new payloads use, and every key id it can decrypt. */
export interface PayloadKeySet {
  current: string;
  keys: ReadonlyMap<string, Buffer>;
}

const keyIdPattern = /^k[1-9][0-9]{0,8}$/;

function keySetOf(secret: Record<string, string>): PayloadKeySet {
  const keys = new Map<string, Buffer>();
  for (const [id, value] of Object.entries(secret)) {
    if (id === 'current' || !keyIdPattern.test(id)) continue;
    const key = Buffer.from(value, 'base64');
    if (key.length !== 32) throw new Error(`${payloadKeySecretPath}: key ${id} is not 32 bytes`);
    keys.set(id, key);
  }
  const current = secret.current;
  if (!current || !keys.has(current))
    throw new Error(`${payloadKeySecretPath}: "current" names no key it holds (see docs/payload-encryption.md)`);
  return { current, keys };
}

/** The payload keys, created on first use (check-and-set: of two processes starting at once, one key wins). */
export async function loadPayloadKeys(vault: SecretVault): Promise<PayloadKeySet> {
  const stored = await vault.readSecret(payloadKeySecretPath);
  if (stored) return keySetOf(stored);
  await vault.createSecret(payloadKeySecretPath, { current: 'k1', k1: randomBytes(32).toString('base64') });
  const created = await vault.readSecret(payloadKeySecretPath);
  if (!created) throw new Error(`${payloadKeySecretPath}: written but not readable back from the SecretVault`);
  return keySetOf(created);
}

/**
 * Add a key and make it current (`npm run codec:rotate`). Old keys stay, so every history stays readable;
 * each process moves to the new key at its next refresh.
 */
export async function rotatePayloadKey(vault: SecretVault): Promise<{ current: string; keys: number }> {
  const set = await loadPayloadKeys(vault);
  const next = Math.max(...[...set.keys.keys()].map((id) => Number(id.slice(1)))) + 1;
  const id = `k${next}`;
  const secret: Record<string, string> = { current: id, [id]: randomBytes(32).toString('base64') };
  for (const [keyId, key] of set.keys) secret[keyId] = key.toString('base64');
  await vault.writeSecret(payloadKeySecretPath, secret);
  return { current: id, keys: set.keys.size + 1 };
}

const associatedData = (keyId: string) => utf8(`cra-payload/1:${keyId}`);

export interface PayloadEncryptionCodecOptions {
  /** How often the keys are re-read from the SecretVault (default 60 s). */
  refreshMs?: number;
  now?: () => number;
}

/** Encrypts every payload; decrypts those it encrypted and lets unencrypted ones through. */
export class PayloadEncryptionCodec implements PayloadCodec {
  private loadedAt: number;
  private refreshing: Promise<void> | undefined;
  private readonly refreshMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly vault: SecretVault,
    private keySet: PayloadKeySet,
    options: PayloadEncryptionCodecOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.refreshMs = options.refreshMs ?? 60_000;
    this.loadedAt = this.now();
  }

  /** Loads (or, the first time, creates) the keys: a process that cannot read them does not start. */
  static async create(
    vault: SecretVault,
    options: PayloadEncryptionCodecOptions = {},
  ): Promise<PayloadEncryptionCodec> {
    return new PayloadEncryptionCodec(vault, await loadPayloadKeys(vault), options);
  }

  /**
   * What a log line shows of the codec. The SDK logs a worker's options at debug level, its data converter
   * and so this codec among them: never the SecretVault it holds (a Vault token, a keyring's keys).
   */
  toJSON(): { codec: string; currentKeyId: string } {
    return { codec: cipherName, currentKeyId: this.keySet.current };
  }

  /** The key new payloads are sealed under. */
  get currentKeyId(): string {
    return this.keySet.current;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (this.now() - this.loadedAt >= this.refreshMs) await this.refresh().catch(() => undefined);
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    const unknown = payloads.some((p) => {
      const id = encryptedKeyId(p);
      return id !== undefined && !this.keySet.keys.has(id);
    });
    if (unknown) await this.refresh();
    return payloads.map((payload) => this.openSync(payload));
  }

  /** Decrypt one payload with the keys already loaded (test scans of histories; the codec endpoint). */
  openSync(payload: Payload): Payload {
    const keyId = encryptedKeyId(payload);
    if (keyId === undefined) return payload;
    const key = this.keySet.keys.get(keyId);
    if (!key)
      throw new PayloadCodecError(`payload sealed under key ${keyId}, which ${payloadKeySecretPath} does not hold`);
    const data = payload.data;
    if (!data || data.length < ivBytes + tagBytes) throw new PayloadCodecError('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, ivBytes));
    decipher.setAAD(associatedData(keyId));
    decipher.setAuthTag(data.subarray(data.length - tagBytes));
    let clear: Buffer;
    try {
      clear = Buffer.concat([decipher.update(data.subarray(ivBytes, data.length - tagBytes)), decipher.final()]);
    } catch {
      throw new PayloadCodecError(`encrypted payload (key ${keyId}) failed authentication: altered or not ours`);
    }
    return PayloadMessage.decode(clear) as Payload;
  }

  private seal(payload: Payload): Payload {
    if (encryptedKeyId(payload) !== undefined) return payload;
    const keyId = this.keySet.current;
    const key = this.keySet.keys.get(keyId)!;
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(keyId));
    const clear = PayloadMessage.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: utf8(encryptedEncoding),
        [keyIdMetadataKey]: utf8(keyId),
        [cipherMetadataKey]: utf8(cipherName),
      },
      data: new Uint8Array(sealed),
    };
  }

  /** Re-read the keys (one read at a time, however many payloads ask). */
  private refresh(): Promise<void> {
    this.refreshing ??= loadPayloadKeys(this.vault)
      .then((set) => {
        this.keySet = set;
        this.loadedAt = this.now();
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}

/** The key id of an encrypted payload, or undefined for a payload the codec did not seal. */
export function encryptedKeyId(payload: Payload): string | undefined {
  if (text(payload.metadata?.encoding) !== encryptedEncoding) return undefined;
  return text(payload.metadata?.[keyIdMetadataKey]) ?? '';
}

export class PayloadCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadCodecError';
  }
}
