/**
 * Builds the SecretVault a process uses, once at start: HashiCorp Vault when it is configured, the
 * embedded keyring under the data folder otherwise.
 */
import { HashiCorpVault } from './hashicorp-vault.js';
import { KeyringVault } from './keyring-vault.js';
import type { SecretVault } from './port.js';

export interface BuildSecretVaultOptions {
  /** The data folder; the keyring lives in `<dataDir>/keys/` when Vault is not configured. */
  dataDir: string;
  /** Vault's address and token; when given, Vault is used and the keyring is never opened. */
  vault?: { endpoint: string; token: string; transitMount?: string; kvMount?: string; namespace?: string };
}

export async function buildSecretVault(opts: BuildSecretVaultOptions): Promise<SecretVault> {
  if (opts.vault) return new HashiCorpVault(opts.vault);
  return KeyringVault.open({ dataDir: opts.dataDir });
}
