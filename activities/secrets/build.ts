/**
 * Builds the SecretVault a process uses, once at start: HashiCorp Vault when it is configured, the
 * embedded keyring under the data folder otherwise. With Vault, the start checks that it is unsealed and
 * logs in (token, AppRole or Kubernetes); the token is then renewed until the process ends.
 */
import type { Logger } from 'pino';
import type { VaultConfig } from '../../domain/config.js';
import { readConfiguredFile } from '../connections/files.js';
import { HashiCorpVault, type VaultTokenEvents } from './hashicorp-vault.js';
import { KeyringVault } from './keyring-vault.js';
import type { SecretVault } from './port.js';

/** `config.vault`, or (tests, tools) an address and a token. */
export type VaultConnection =
  | VaultConfig
  | { endpoint: string; token: string; transitMount?: string; kvMount?: string; namespace?: string; caCert?: string };

export interface BuildSecretVaultOptions {
  /** The data folder; the keyring lives in `<dataDir>/keys/` when Vault is not configured. */
  dataDir: string;
  /** Vault's address and how to log in; when given, Vault is used and the keyring is never opened. */
  vault?: VaultConnection;
  /** Token renewals and their failures, for the process's log (never the token). */
  events?: VaultTokenEvents;
}

/** Token logins, renewals and their failures for a process's log: lease lengths only, never the token. */
export function loggedVaultEvents(log: Pick<Logger, 'debug' | 'warn'>): VaultTokenEvents {
  return {
    onToken: (e) => log.debug({ vault: e.kind, leaseSeconds: e.leaseSeconds, renewable: e.renewable }, 'vault token'),
    onError: (err) => log.warn({ err: err.message }, 'vault token renewal failed'),
  };
}

export async function buildSecretVault(opts: BuildSecretVaultOptions): Promise<SecretVault> {
  if (!opts.vault) return KeyringVault.open({ dataDir: opts.dataDir });
  const { caCert, ...vault } = opts.vault;
  return HashiCorpVault.connect(
    {
      ...vault,
      ...(caCert ? { requestOptions: { ca: readConfiguredFile('VAULT_CACERT', caCert) } } : {}),
    },
    opts.events,
  );
}
