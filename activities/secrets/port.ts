/**
 * SecretVault: where CRA keeps key material and provider credentials. HashiCorp Vault (transit + KV v2)
 * in production; a local AES-256-GCM keyring under the data folder by default.
 *
 * Ciphertexts and MACs are self-describing strings that carry their key version (`vault:v3:…`,
 * `cra:v3:…`), so old ones still decrypt after a rotation and `rewrap` moves them to the newest version.
 * No method ever logs or returns plaintext except `decrypt` and `readSecret`.
 */
export interface SecretVault {
  readonly kind: 'keyring' | 'vault';
  /** Encrypt under the newest version of the named key (created on first use). */
  encrypt(keyName: string, plaintext: string): Promise<string>;
  /** Decrypt a ciphertext made by `encrypt` or `rewrap`; tampering or a wrong key → SecretVaultError('Tampered'). */
  decrypt(keyName: string, ciphertext: string): Promise<string>;
  /** Re-encrypt under the newest key version without revealing the plaintext to the caller. */
  rewrap(keyName: string, ciphertext: string): Promise<string>;
  /** Add a new key version; new encryptions use it, old versions still decrypt. */
  rotateKey(keyName: string): Promise<{ latestVersion: number }>;
  /** HMAC-SHA256 of `input` under the named key (created on first use), e.g. `vault:v1:<base64>`. */
  hmac(keyName: string, input: string): Promise<string>;
  /** `hmac` of each input, in order, under one key version (Vault: one `batch_input` request per 1000). */
  hmacMany(keyName: string, inputs: readonly string[]): Promise<string[]>;
  /** Constant-time check of a MAC made by `hmac` (any still-present key version). */
  verifyHmac(keyName: string, input: string, mac: string): Promise<boolean>;
  /** A stored secret (KV v2 in Vault) such as a provider's `{clientId, clientSecret}`; undefined when absent. */
  readSecret(path: string): Promise<Record<string, string> | undefined>;
  writeSecret(path: string, data: Record<string, string>): Promise<void>;
  /**
   * Write a secret only when nothing is stored at the path (KV v2 check-and-set with `cas: 0`).
   * True when this call wrote it; false when a secret was already there (it is left as it was).
   */
  createSecret(path: string, data: Record<string, string>): Promise<boolean>;
  /**
   * Destroy a stored secret for good: every version and its metadata (KV v2 `DELETE <kv>/metadata/:path`).
   * A path with nothing stored is not an error. Used to crypto-shred an account's data key.
   */
  destroySecret(path: string): Promise<void>;
  /**
   * A fresh 256-bit data key for envelope encryption: its bytes, and the same bytes wrapped by the named
   * key (Vault transit `POST <transit>/datakey/plaintext/:name`; the key is created on first use).
   */
  generateDataKey(keyName: string): Promise<{ key: Buffer; wrapped: string }>;
  /** The bytes of a data key wrapped by `generateDataKey` (Vault transit decrypt); tampered → 'Tampered'. */
  unwrapDataKey(keyName: string, wrapped: string): Promise<Buffer>;
}

export type SecretVaultErrorType =
  /** The ciphertext or MAC was altered, or belongs to another key. Not retryable. */
  | 'Tampered'
  /** The key or key version does not exist (e.g. trimmed after rotation). Not retryable. */
  | 'KeyNotFound'
  /** The vault refused the request (permissions). Not retryable without an operator. */
  | 'Forbidden'
  /** Network failure, 5xx, or a sealed vault. Retryable. */
  | 'Unavailable';

/** The one error type adapters throw; messages never contain plaintext, tokens or ciphertext bodies. */
export class SecretVaultError extends Error {
  constructor(
    readonly type: SecretVaultErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'SecretVaultError';
  }
}
