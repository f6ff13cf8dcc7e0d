/**
 * The production SecretVault: HashiCorp Vault through `node-vault`, transit for key material (encrypt,
 * decrypt, rewrap, rotate, HMAC, data keys) and KV version 2 for stored secrets such as provider credentials
 * and the accounts' wrapped data keys. Plaintext and key bytes for transit never leave Vault except as the
 * result of `decrypt` and the data keys it makes for envelope encryption.
 *
 * API: https://developer.hashicorp.com/vault/api-docs/secret/transit and
 * https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2 (mounts are configurable, paths relative).
 */
import vault from 'node-vault';
import { assertKeyName, assertSecretPath } from './names.js';
import { SecretVaultError, type SecretVault } from './port.js';

export interface HashiCorpVaultOptions {
  /** Vault's address, e.g. `https://vault.internal:8200` (no `/v1`). */
  endpoint: string;
  /**
   * A token whose policy grants `create`/`update` on `<transit>/encrypt/*`, `update` on decrypt, rewrap,
   * hmac, verify, `datakey/plaintext/*` and `keys/+/rotate`, `create`/`update` and `read` on
   * `<transit>/keys/*`, `read`/`create`/`update` on `<kv>/data/*`, and `delete` on `<kv>/metadata/*`
   * (an account's data key is destroyed with every version).
   */
  token: string;
  /** Where the transit engine is mounted (default `transit`). */
  transitMount?: string;
  /** Where the KV version 2 engine is mounted (default `secret`). */
  kvMount?: string;
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`. */
  namespace?: string;
  /** Passed to node-vault for every request (TLS `ca`, `timeout`, agents); the timeout defaults to 10 s. */
  requestOptions?: vault.VaultOptions['requestOptions'];
}

/** A stuck Vault must fail the activity attempt (retryable) long before its start-to-close timeout. */
const defaultTimeoutMs = 10_000;

export class HashiCorpVault implements SecretVault {
  readonly kind = 'vault' as const;
  private readonly client: vault.client;
  private readonly transit: string;
  private readonly kv: string;

  constructor(options: HashiCorpVaultOptions) {
    this.client = vault({
      endpoint: options.endpoint,
      token: options.token,
      requestOptions: { timeout: defaultTimeoutMs, ...options.requestOptions },
      // node-vault's debug channel prints request bodies (plaintexts, secrets) when DEBUG=node-vault.
      debug: () => undefined,
    });
    // node-vault falls back to VAULT_NAMESPACE / VAULT_PREFIX when an option is unset; CRA's config is the
    // only source, so a stray shell variable cannot silently send requests to another namespace or path.
    Object.assign(this.client, { namespace: options.namespace, pathPrefix: '' });
    this.transit = mountPath(options.transitMount ?? 'transit');
    this.kv = mountPath(options.kvMount ?? 'secret');
  }

  /** `POST <transit>/encrypt/:name` — Vault creates the key on first use when the token may `create`. */
  async encrypt(keyName: string, plaintext: string): Promise<string> {
    const path = `${this.transit}/encrypt/${keySegment(keyName)}`;
    const data = await this.call('POST', path, { plaintext: Buffer.from(plaintext, 'utf8').toString('base64') });
    return field(data, 'ciphertext', 'string', 'POST', path);
  }

  async decrypt(keyName: string, ciphertext: string): Promise<string> {
    const path = `${this.transit}/decrypt/${keySegment(keyName)}`;
    const data = await this.call('POST', path, { ciphertext });
    return Buffer.from(field(data, 'plaintext', 'string', 'POST', path), 'base64').toString('utf8');
  }

  async rewrap(keyName: string, ciphertext: string): Promise<string> {
    const path = `${this.transit}/rewrap/${keySegment(keyName)}`;
    const data = await this.call('POST', path, { ciphertext });
    return field(data, 'ciphertext', 'string', 'POST', path);
  }

  /** Rotate, then read the key: the rotate endpoint answers 204 (no body) on many Vault versions. */
  async rotateKey(keyName: string): Promise<{ latestVersion: number }> {
    const keyPath = `${this.transit}/keys/${keySegment(keyName)}`;
    await this.call('POST', `${keyPath}/rotate`);
    const data = await this.call('GET', keyPath);
    return { latestVersion: field(data, 'latest_version', 'number', 'GET', keyPath) };
  }

  /**
   * `POST <transit>/hmac/:name` with Vault's default algorithm, sha2-256. Unlike encrypt, Vault's hmac
   * endpoint never creates a key, so a missing one is created (`POST <transit>/keys/:name`) and the
   * HMAC retried once, which keeps the port's "created on first use" promise.
   */
  async hmac(keyName: string, input: string): Promise<string> {
    const { data, path } = await this.hmacCall(keyName, { input: Buffer.from(input, 'utf8').toString('base64') });
    return field(data, 'hmac', 'string', 'POST', path);
  }

  /** `POST <transit>/hmac/:name`, creating the key and asking once more when Vault has none of that name. */
  private async hmacCall(keyName: string, payload: object): Promise<{ data: unknown; path: string }> {
    const key = keySegment(keyName);
    const path = `${this.transit}/hmac/${key}`;
    try {
      return { data: await this.call('POST', path, payload), path };
    } catch (err) {
      if (!(err instanceof SecretVaultError && err.type === 'KeyNotFound')) throw err;
      // Creating a key that already exists (a concurrent first use) only adds a warning in Vault.
      await this.call('POST', `${this.transit}/keys/${key}`);
      return { data: await this.call('POST', path, payload), path };
    }
  }

  /**
   * `POST <transit>/hmac/:name` with `batch_input: [{ input }, …]`, answered by `data.batch_results: [{ hmac }
   * or { error }, …]` in the same order (https://developer.hashicorp.com/vault/api-docs/secret/transit#generate-hmac,
   * `batch_input`); at most 1000 inputs a request. An item Vault refuses fails the whole call.
   */
  async hmacMany(keyName: string, inputs: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < inputs.length; i += hmacBatch) {
      const chunk = inputs.slice(i, i + hmacBatch);
      if (chunk.length === 1) {
        out.push(await this.hmac(keyName, chunk[0]!));
        continue;
      }
      const { data, path } = await this.hmacCall(keyName, {
        batch_input: chunk.map((input) => ({ input: Buffer.from(input, 'utf8').toString('base64') })),
      });
      const results = (data as { data?: { batch_results?: unknown } } | undefined)?.data?.batch_results;
      if (!Array.isArray(results) || results.length !== chunk.length)
        throw malformed('POST', path, 'data.batch_results');
      for (const r of results as Array<{ hmac?: unknown; error?: unknown }>) {
        if (typeof r?.hmac !== 'string' || r.hmac === '') {
          throw new SecretVaultError(
            'Unavailable',
            `Vault POST ${path} refused an item: ${typeof r?.error === 'string' ? r.error : 'no hmac in its result'}`,
          );
        }
        out.push(r.hmac);
      }
    }
    return out;
  }

  /**
   * `POST <transit>/verify/:name` with `{ input, hmac }`; the hash algorithm is left to Vault's default
   * (sha2-256, the same as `hmac`), since older Vaults read `algorithm` and newer ones `hash_algorithm`.
   * A MAC Vault calls malformed is simply not valid; a version Vault does not have is KeyNotFound.
   */
  async verifyHmac(keyName: string, input: string, mac: string): Promise<boolean> {
    const path = `${this.transit}/verify/${keySegment(keyName)}`;
    try {
      const data = await this.call('POST', path, { input: Buffer.from(input, 'utf8').toString('base64'), hmac: mac });
      return field(data, 'valid', 'boolean', 'POST', path);
    } catch (err) {
      if (err instanceof SecretVaultError && err.type === 'Tampered') return false;
      throw err;
    }
  }

  /**
   * `GET <kv>/data/:path` → `data.data`; a 404 (never written, or latest version deleted) is undefined.
   * Vault also answers 404 "no handler for route" when nothing is mounted there: that one is an error,
   * or a wrong `kvMount` would quietly read every provider's credentials as absent.
   */
  async readSecret(path: string): Promise<Record<string, string> | undefined> {
    const wirePath = `${this.kv}/data/${secretSegments(path)}`;
    let data: unknown;
    try {
      data = await this.send('GET', wirePath);
    } catch (err) {
      if (statusOf(err) === 404 && !vaultErrors(err).includes('no handler for route')) return undefined;
      throw toSecretVaultError(err, 'GET', wirePath);
    }
    const secret = (data as { data?: { data?: unknown } } | undefined)?.data?.data;
    if (secret === null || secret === undefined) return undefined;
    if (typeof secret !== 'object') throw malformed('GET', wirePath, 'data.data');
    // KV values may be any JSON; the port promises strings, so anything else arrives as its JSON text.
    return Object.fromEntries(
      Object.entries(secret).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  }

  /** `POST <kv>/data/:path` with `{ data }`: a new version of the secret (no check-and-set). */
  async writeSecret(path: string, data: Record<string, string>): Promise<void> {
    await this.call('POST', `${this.kv}/data/${secretSegments(path)}`, { data });
  }

  /**
   * `POST <kv>/data/:path` with `{ options: { cas: 0 }, data }`: Vault writes only when the path has no
   * current version, and answers 400 "check-and-set parameter did not match the current version" otherwise
   * (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#create-update-secret). After a
   * metadata delete the path has no version again, so a destroyed secret can be created anew.
   */
  async createSecret(path: string, data: Record<string, string>): Promise<boolean> {
    const wirePath = `${this.kv}/data/${secretSegments(path)}`;
    try {
      await this.send('POST', wirePath, { options: { cas: 0 }, data });
      return true;
    } catch (err) {
      if (statusOf(err) === 400 && vaultErrors(err).includes('check-and-set parameter did not match')) return false;
      throw toSecretVaultError(err, 'POST', wirePath);
    }
  }

  /**
   * `DELETE <kv>/metadata/:path`: every version and the metadata, for good; Vault answers 204 whether or
   * not anything was there (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#delete-metadata-and-all-versions).
   */
  async destroySecret(path: string): Promise<void> {
    await this.call('DELETE', `${this.kv}/metadata/${secretSegments(path)}`);
  }

  /**
   * `POST <transit>/datakey/plaintext/:name`: 256 random bits, in `plaintext` (base64) and wrapped in
   * `ciphertext` (https://developer.hashicorp.com/vault/api-docs/secret/transit#generate-data-key). Like
   * hmac, the endpoint never creates its key (path_datakey.go: 400 "encryption key not found"), so a
   * missing one is created and the request retried once.
   */
  async generateDataKey(keyName: string): Promise<{ key: Buffer; wrapped: string }> {
    const key = keySegment(keyName);
    const path = `${this.transit}/datakey/plaintext/${key}`;
    let data: unknown;
    try {
      data = await this.call('POST', path);
    } catch (err) {
      if (!(err instanceof SecretVaultError && err.type === 'KeyNotFound')) throw err;
      await this.call('POST', `${this.transit}/keys/${key}`);
      data = await this.call('POST', path);
    }
    const wrapped = field(data, 'ciphertext', 'string', 'POST', path);
    return { key: dataKeyBytes(field(data, 'plaintext', 'string', 'POST', path), 'POST', path), wrapped };
  }

  /**
   * Transit decrypt of a wrapped data key. Vault encrypts the key's raw bytes, so `plaintext` is their
   * base64; anything but 32 bytes is not a key `generateDataKey` made.
   */
  async unwrapDataKey(keyName: string, wrapped: string): Promise<Buffer> {
    const path = `${this.transit}/decrypt/${keySegment(keyName)}`;
    const data = await this.call('POST', path, { ciphertext: wrapped });
    const key = Buffer.from(field(data, 'plaintext', 'string', 'POST', path), 'base64');
    if (key.length !== dataKeyLength) {
      key.fill(0);
      throw new SecretVaultError('Tampered', `Vault POST /v1/${path} answered with something other than a data key`);
    }
    return key;
  }

  private async call(method: Method, path: string, payload?: object): Promise<unknown> {
    try {
      return await this.send(method, path, payload);
    } catch (err) {
      throw toSecretVaultError(err, method, path);
    }
  }

  /** One request; resolves with Vault's response body (undefined on 204), rejects with node-vault's error. */
  private send(method: Method, path: string, payload?: object): Promise<unknown> {
    if (method === 'GET') return this.client.read(path);
    if (method === 'DELETE') return this.client.delete(path);
    return this.client.write(path, payload);
  }
}

type Method = 'GET' | 'POST' | 'DELETE';

/** The data keys CRA asks for: Vault's default of 256 bits. */
const dataKeyLength = 32;

function dataKeyBytes(plaintext: string, method: string, path: string): Buffer {
  const key = Buffer.from(plaintext, 'base64');
  if (key.length !== dataKeyLength) {
    key.fill(0);
    throw malformed(method, path, 'a 256-bit data.plaintext');
  }
  return key;
}

/**
 * The one place Vault and node-vault errors become SecretVaultErrors. The message names the method, the
 * path and the status only: node-vault's errors carry the response body and axios's carry the request
 * (headers with the token, the JSON body with the plaintext), so neither they nor their text are kept.
 * Vault's own error strings are only matched, to tell an altered ciphertext from a missing key version.
 */
function toSecretVaultError(err: unknown, method: string, path: string): SecretVaultError {
  if (err instanceof SecretVaultError) return err;
  const where = `Vault ${method} /v1/${path}`;
  const status = statusOf(err);
  if (status === undefined) return new SecretVaultError('Unavailable', `${where} failed: no response`);
  const what = `${where} failed with status ${status}`;

  if (status === 400) {
    const reason = vaultErrors(err);
    // "invalid ciphertext: version is too new", "… version is disallowed by policy (too old)",
    // "encryption key not found", "key not found": the version or key is not there (any more).
    if (/version is too new|too old|disallowed by policy|key not found/.test(reason)) {
      return new SecretVaultError('KeyNotFound', what);
    }
    // "cipher: message authentication failed", "invalid ciphertext: …", "missing ciphertext to decrypt",
    // "invalid HMAC…", "unable to decode verification HMAC as base64": not a ciphertext or MAC Vault made.
    if (
      /message authentication failed|invalid ciphertext|missing ciphertext|invalid hmac|verification hmac/.test(reason)
    ) {
      return new SecretVaultError('Tampered', what);
    }
    // Any other 400 is a request Vault will never accept (a key type without encryption, a bad mount).
    return new SecretVaultError('Forbidden', what);
  }
  if (status === 404) return new SecretVaultError('KeyNotFound', what);
  // 412 (eventual consistency on Enterprise), 429 (rate-limit quota), 5xx including 503 "Vault is
  // sealed": Vault's API docs say "try again later", which is what Temporal's retry policy does.
  if (status === 412 || status === 429 || status >= 500) return new SecretVaultError('Unavailable', what);
  // 401/403 (token or policy) and any other 4xx: retrying the same request cannot succeed.
  return new SecretVaultError('Forbidden', what);
}

function statusOf(err: unknown): number | undefined {
  // node-vault rejects non-2xx answers with an ApiResponseError carrying `response.statusCode`.
  const status = (err as { response?: { statusCode?: unknown } } | undefined)?.response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Vault's `{ errors: [...] }`, lower-cased for matching; never copied into a message. */
function vaultErrors(err: unknown): string {
  const errors = (err as { response?: { body?: { errors?: unknown } } }).response?.body?.errors;
  return Array.isArray(errors)
    ? errors
        .filter((e) => typeof e === 'string')
        .join('\n')
        .toLowerCase()
    : '';
}

/** Inputs per `batch_input` request: a sync page of 1000 records is one request. */
const hmacBatch = 1000;

function field<T extends 'string' | 'number' | 'boolean'>(
  body: unknown,
  name: string,
  type: T,
  method: string,
  path: string,
): T extends 'string' ? string : T extends 'number' ? number : boolean {
  const value = (body as { data?: Record<string, unknown> } | undefined)?.data?.[name];
  if (typeof value !== type) throw malformed(method, path, `data.${name}`);
  return value as T extends 'string' ? string : T extends 'number' ? number : boolean;
}

function malformed(method: string, path: string, what: string): SecretVaultError {
  return new SecretVaultError('Unavailable', `Vault ${method} /v1/${path} answered without ${what}`);
}

function keySegment(keyName: string): string {
  assertKeyName(keyName);
  return encodeURIComponent(keyName);
}

function secretSegments(path: string): string {
  assertSecretPath(path);
  return path.split('/').map(encodeURIComponent).join('/');
}

/** `transit`, `/team-a/transit/` → `team-a/transit`; a mount is configuration, so a bad one fails at start. */
function mountPath(mount: string): string {
  const trimmed = mount.replace(/^\/+|\/+$/g, '');
  try {
    assertSecretPath(trimmed);
  } catch {
    throw new Error(`Vault mount "${mount}" is not a valid mount path`);
  }
  return trimmed;
}
