/**
 * The production SecretVault: HashiCorp Vault through `node-vault`, transit for key material (encrypt,
 * decrypt, rewrap, rotate, HMAC, data keys) and KV version 2 for stored secrets such as provider credentials
 * and the accounts' wrapped data keys. Plaintext and key bytes for transit never leave Vault except as the
 * result of `decrypt` and the data keys it makes for envelope encryption.
 *
 * API: https://developer.hashicorp.com/vault/api-docs/secret/transit and
 * https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2 (mounts are configurable, paths relative).
 *
 * Logging in (`HashiCorpVault.connect`): a static token, or
 * - AppRole: `POST /v1/auth/<mount>/login {role_id, secret_id}` (https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle)
 * - Kubernetes: `POST /v1/auth/<mount>/login {role, jwt}` with the pod's service-account token
 *   (https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#login)
 * both answering `auth: { client_token, lease_duration, renewable }`. The token is renewed with
 * `POST /v1/auth/token/renew-self` (https://developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self)
 * at two thirds of its lease; when it is not renewable, or renewal fails, CRA logs in again. At start
 * `GET /v1/sys/seal-status` (https://developer.hashicorp.com/vault/api-docs/system/seal-status, no token
 * needed) turns a sealed Vault into one clear error instead of a stream of 503s.
 */
import vault from 'node-vault';
import type { VaultAuth } from '../../domain/config.js';
import { readConfiguredFile } from '../connections/files.js';
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
  token?: string;
  /** How to get a token instead of `token`: AppRole or the pod's Kubernetes service account (see `connect`). */
  auth?: VaultLogin;
  /** Where the transit engine is mounted (default `transit`). */
  transitMount?: string;
  /** Where the KV version 2 engine is mounted (default `secret`). */
  kvMount?: string;
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`. */
  namespace?: string;
  /** Passed to node-vault for every request (TLS `ca`, `timeout`, agents); the timeout defaults to 10 s. */
  requestOptions?: vault.VaultOptions['requestOptions'];
  /**
   * How long `connect` keeps trying while Vault answers with a moment's trouble (no answer, 412, 429, 5xx) on
   * the seal check or the login, in ms (default 15 s); a refusal (400, 401, 403) or a sealed Vault fails at once.
   */
  connectPatienceMs?: number;
}

/** How to log in (`config.vault.auth`); the Kubernetes JWT is read from its file at each login (it rotates). */
export type VaultLogin = VaultAuth;

/** What the connected adapter reports about its token (never the token). */
export interface VaultTokenEvents {
  /** After each login or renewal: the lease in seconds (0: never expires) and whether it can be renewed. */
  onToken?: (event: { kind: 'login' | 'renewal'; leaseSeconds: number; renewable: boolean }) => void;
  /** A renewal or re-login that failed; the next attempt follows. */
  onError?: (err: Error) => void;
}

/** A stuck Vault must fail the activity attempt (retryable) long before its start-to-close timeout. */
const defaultTimeoutMs = 10_000;
/** Renew at this fraction of the lease. */
const renewAt = 2 / 3;
/** After a failed renewal and re-login, try again this soon (or sooner when the lease is shorter). */
const retryAfterMs = 5_000;
/** `connect` tries again for this long when Vault's trouble is passing (a rate limit, a standby, a restart). */
const defaultConnectPatienceMs = 15_000;

/** A start-up failure worth another try: Vault did not answer, or answered 412, 429 or 5xx. */
class PassingTrouble extends Error {}
const passing = (status: number | undefined) =>
  status === undefined || status === 412 || status === 429 || status >= 500;

export class HashiCorpVault implements SecretVault {
  readonly kind = 'vault' as const;
  private readonly client: vault.client;
  /** Token-less, for logins: the shared client keeps its token while a re-login runs beside live requests. */
  private readonly loginClient: vault.client;
  private readonly transit: string;
  private readonly kv: string;
  private readonly endpoint: string;
  private readonly login?: VaultLogin;
  private readonly events: VaultTokenEvents;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * Checks that Vault is unsealed, logs in (AppRole, Kubernetes) or takes the token, and keeps the token alive
   * until `close()`. Throws an Error naming the variable when the login is refused.
   */
  static async connect(options: HashiCorpVaultOptions, events: VaultTokenEvents = {}): Promise<HashiCorpVault> {
    const adapter = new HashiCorpVault(options, events);
    // A worker restarted while Vault rate-limits or fails over must not crash-loop: passing trouble (no answer,
    // 412, 429, 5xx) is tried again with a growing pause, for `connectPatienceMs`; the last error is thrown.
    const deadline = Date.now() + (options.connectPatienceMs ?? defaultConnectPatienceMs);
    for (let pause = 200; ; pause = Math.min(pause * 2, 2_000)) {
      try {
        await adapter.checkUnsealed();
        await adapter.startSession();
        return adapter;
      } catch (err) {
        if (!(err instanceof PassingTrouble) || Date.now() + pause > deadline) throw plainError(err);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** What a log line shows of the adapter that holds it: never its clients or its login (the token, a secret id). */
  toJSON(): { kind: 'vault'; endpoint: string } {
    return { kind: this.kind, endpoint: this.endpoint };
  }

  constructor(options: HashiCorpVaultOptions, events: VaultTokenEvents = {}) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.events = events;
    const login = options.auth ?? (options.token ? { method: 'token' as const, token: options.token } : undefined);
    if (!login) throw new Error('Vault needs a token or a login method (VAULT_TOKEN, VAULT_ROLE_ID, VAULT_K8S_ROLE)');
    this.login = login;
    const clientOf = (token: string) => {
      const client = vault({
        endpoint: options.endpoint,
        token,
        requestOptions: { timeout: defaultTimeoutMs, ...options.requestOptions },
        // node-vault's debug channel prints request bodies (plaintexts, secrets) when DEBUG=node-vault.
        debug: () => undefined,
      });
      // node-vault falls back to VAULT_NAMESPACE / VAULT_PREFIX when an option is unset; CRA's config is the
      // only source, so a stray shell variable cannot silently send requests to another namespace or path.
      // The same for VAULT_TOKEN: without a static token the client has none until it logs in.
      return Object.assign(client, { namespace: options.namespace, pathPrefix: '', token });
    };
    this.client = clientOf(login.method === 'token' ? login.token : '');
    this.loginClient = clientOf('');
    this.transit = mountPath(options.transitMount ?? 'transit');
    this.kv = mountPath(options.kvMount ?? 'secret');
  }

  /** Stops renewing the token (the token itself is left to expire). */
  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }

  /** `GET sys/seal-status`: unauthenticated; a sealed Vault answers `sealed: true`. */
  async checkUnsealed(): Promise<void> {
    let body: unknown;
    try {
      body = await this.client.read('sys/seal-status');
    } catch (err) {
      const status = statusOf(err);
      // A sealed Vault also answers 503 on most paths; seal-status itself answers 200.
      throw new (passing(status) ? PassingTrouble : Error)(
        `Vault at ${this.endpoint} (VAULT_ADDR) did not answer GET /v1/sys/seal-status: ${status === undefined ? 'no response' : `status ${status}`}`,
      );
    }
    if ((body as { sealed?: unknown } | undefined)?.sealed === true) {
      throw new Error(`Vault at ${this.endpoint} is sealed: unseal it (vault operator unseal) and restart`);
    }
  }

  /** The first login (or the static token's lookup of its lease), then renewal on a timer. */
  private async startSession(): Promise<void> {
    if (this.login?.method === 'token') {
      // A static token: renew it when Vault says it is renewable, as an operator's token would expire otherwise.
      const lease = await this.lookupSelf();
      this.events.onToken?.({ kind: 'login', ...lease });
      this.schedule(lease);
      return;
    }
    const lease = await this.logIn();
    this.events.onToken?.({ kind: 'login', ...lease });
    this.schedule(lease);
  }

  /** `GET auth/token/lookup-self` → `data.ttl`, `data.renewable` (https://developer.hashicorp.com/vault/api-docs/auth/token#lookup-a-token-self). */
  private async lookupSelf(): Promise<{ leaseSeconds: number; renewable: boolean }> {
    const path = 'auth/token/lookup-self';
    let body: unknown;
    try {
      body = await this.client.read(path);
    } catch (err) {
      const status = statusOf(err);
      if (status === 403 || status === 401) {
        throw new Error(
          `Vault at ${this.endpoint} refused VAULT_TOKEN (GET /v1/${path} failed with status ${status}): the token is invalid or expired`,
        );
      }
      throw new (passing(status) ? PassingTrouble : Error)(
        `Vault at ${this.endpoint} (VAULT_ADDR): GET /v1/${path} failed${status === undefined ? ': no response' : ` with status ${status}`}`,
      );
    }
    const data = (body as { data?: { ttl?: unknown; renewable?: unknown } } | undefined)?.data;
    return { leaseSeconds: typeof data?.ttl === 'number' ? data.ttl : 0, renewable: data?.renewable === true };
  }

  /** AppRole or Kubernetes login; sets the client's token. The error names the variables, never their values. */
  private async logIn(): Promise<{ leaseSeconds: number; renewable: boolean }> {
    const login = this.login!;
    if (login.method === 'token') return this.lookupSelf();
    const mount = login.mount.replace(/^\/+|\/+$/g, '');
    const path = `auth/${mount}/login`;
    const payload =
      login.method === 'approle'
        ? { role_id: login.roleId, secret_id: login.secretId }
        : {
            role: login.role,
            jwt: readConfiguredFile('VAULT_K8S_TOKEN_PATH', login.tokenPath).toString('utf8').trim(),
          };
    const variables =
      login.method === 'approle'
        ? `VAULT_ROLE_ID, VAULT_SECRET_ID, VAULT_APPROLE_MOUNT=${mount}`
        : `VAULT_K8S_ROLE=${login.role}, VAULT_K8S_MOUNT=${mount}, VAULT_K8S_TOKEN_PATH=${login.tokenPath}`;
    const what = login.method === 'approle' ? 'AppRole' : 'Kubernetes';
    let body: unknown;
    try {
      // No token on a login request (an expired one must not be sent along), and none taken from the requests
      // in flight: they keep the current token until the new one replaces it below.
      body = await this.loginClient.write(path, payload);
    } catch (err) {
      const status = statusOf(err);
      throw new (passing(status) ? PassingTrouble : Error)(
        `Vault ${what} login at ${this.endpoint}/v1/${path} failed${status === undefined ? ': no response' : ` with status ${status}`} (${variables})`,
      );
    }
    const auth = (body as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } })?.auth;
    if (typeof auth?.client_token !== 'string' || auth.client_token === '') {
      throw new Error(`Vault ${what} login at ${this.endpoint}/v1/${path} answered without auth.client_token`);
    }
    this.client.token = auth.client_token;
    return {
      leaseSeconds: typeof auth.lease_duration === 'number' ? auth.lease_duration : 0,
      renewable: auth.renewable === true,
    };
  }

  /** `POST auth/token/renew-self` → `auth.lease_duration`, `auth.renewable`. */
  private async renewSelf(): Promise<{ leaseSeconds: number; renewable: boolean }> {
    const body = await this.client.write('auth/token/renew-self', {});
    const auth = (body as { auth?: { lease_duration?: unknown; renewable?: unknown } })?.auth;
    if (typeof auth?.lease_duration !== 'number')
      throw new Error('Vault renew-self answered without auth.lease_duration');
    return { leaseSeconds: auth.lease_duration, renewable: auth.renewable === true };
  }

  /** At 2/3 of the lease: renew when renewable, else (or when renewal fails) log in again. */
  private schedule(lease: { leaseSeconds: number; renewable: boolean }, delayMs?: number): void {
    if (this.closed) return;
    if (lease.leaseSeconds <= 0 && delayMs === undefined) return; // a token that never expires (root, periodic off)
    const canRelogin = this.login?.method !== 'token';
    if (!lease.renewable && !canRelogin && delayMs === undefined) return;
    const wait = delayMs ?? Math.max(100, Math.floor(lease.leaseSeconds * 1000 * renewAt));
    this.timer = setTimeout(() => void this.refresh(lease), wait);
    this.timer.unref();
  }

  private async refresh(previous: { leaseSeconds: number; renewable: boolean }): Promise<void> {
    if (this.closed) return;
    const canRelogin = this.login?.method !== 'token';
    if (previous.renewable) {
      try {
        const lease = await this.renewSelf();
        // Vault caps a renewal at the token's max TTL: a lease shorter than asked is near its end, so log in anew then.
        this.events.onToken?.({ kind: 'renewal', ...lease });
        if (!(
          canRelogin &&
          lease.leaseSeconds * 1000 < 2 * retryAfterMs &&
          lease.leaseSeconds < previous.leaseSeconds
        )) {
          this.schedule(lease);
          return;
        }
      } catch (err) {
        this.events.onError?.(new Error(`Vault token renewal failed: ${redactedReason(err)}`));
        if (!canRelogin) {
          this.schedule(previous, Math.min(retryAfterMs, Math.max(100, previous.leaseSeconds * 1000 * (1 - renewAt))));
          return;
        }
      }
    }
    if (!canRelogin) return;
    try {
      const lease = await this.logIn();
      this.events.onToken?.({ kind: 'login', ...lease });
      this.schedule(lease);
    } catch (err) {
      this.events.onError?.(err instanceof Error ? err : new Error(String(err)));
      this.schedule(previous, retryAfterMs);
    }
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
  // 403 is Vault's "permission denied": the policy lacks the path (or the token is no longer valid).
  if (status === 403) {
    return new SecretVaultError(
      'Forbidden',
      `${what}: permission denied; add it to CRA's Vault policy (deploy/vault/cra-policy.hcl), or check the token`,
    );
  }
  // 401 and any other 4xx: retrying the same request cannot succeed.
  return new SecretVaultError('Forbidden', what);
}

/** The status only: node-vault's messages may quote the response body. */
function redactedReason(err: unknown): string {
  const status = statusOf(err);
  return status === undefined
    ? err instanceof Error && !('response' in err)
      ? err.message
      : 'no response'
    : `status ${status}`;
}

/** The error a caller of `connect` sees: a plain Error with the same message (the retry marker stays inside). */
function plainError(err: unknown): unknown {
  return err instanceof PassingTrouble ? new Error(err.message) : err;
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
