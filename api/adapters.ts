/**
 * The adapters the API uses itself, besides Temporal and MongoDB: the SecretVault, the Notifier and the
 * identity directory. The
 * same ones the workers build (`workers/dependencies.ts`), so a TOTP seed the API encrypts is one the
 * keyring or Vault of the whole installation can read. Given in `ApiDeps`, or built once from the config.
 */
import { buildDirectory } from '../activities/identity/build.js';
import type { IdentityDirectory } from '../activities/identity/port.js';
import { buildNotifier } from '../activities/notices.js';
import type { Notifier } from '../activities/notify/port.js';
import { AccountKeys } from '../activities/secrets/account-keys.js';
import { buildSecretVault } from '../activities/secrets/build.js';
import type { SecretVault } from '../activities/secrets/port.js';
import type { ApiDeps } from './context.js';

const vaults = new WeakMap<ApiDeps, Promise<SecretVault>>();
const notifiers = new WeakMap<ApiDeps, Notifier>();
const directories = new WeakMap<ApiDeps, IdentityDirectory>();
const accountKeys = new WeakMap<ApiDeps, Promise<AccountKeys>>();

export function vaultOf(deps: ApiDeps): Promise<SecretVault> {
  if (deps.vault) return Promise.resolve(deps.vault);
  let vault = vaults.get(deps);
  if (!vault) {
    vault = buildSecretVault({
      dataDir: deps.config.dataDir,
      ...(deps.config.vault ? { vault: deps.config.vault } : {}),
    });
    // A failed open is retried by the next request rather than remembered.
    vault.catch(() => vaults.delete(deps));
    vaults.set(deps, vault);
  }
  return vault;
}

export function notifierOf(deps: ApiDeps): Notifier {
  if (deps.notifier) return deps.notifier;
  let notifier = notifiers.get(deps);
  if (!notifier) {
    notifier = buildNotifier(deps.db, { accountKeys: () => accountKeysOf(deps), config: deps.config.notifier });
    notifiers.set(deps, notifier);
  }
  return notifier;
}

/** The per-account data keys (reading sealed records and fields), over the same SecretVault. */
export function accountKeysOf(deps: ApiDeps): Promise<AccountKeys> {
  let keys = accountKeys.get(deps);
  if (!keys) {
    // A short cache: the erasure destroys keys in a worker, and an API instance should stop opening an erased
    // account's values soon after, not five minutes later (a person's page views re-read the key every 30 s).
    keys = vaultOf(deps).then((vault) => new AccountKeys(vault, { ttlMs: 30_000 }));
    keys.catch(() => accountKeys.delete(deps));
    accountKeys.set(deps, keys);
  }
  return keys;
}

/** The identity directory (names written from the profile page): the same adapter the workers use. */
export function directoryOf(deps: ApiDeps): IdentityDirectory {
  let directory = directories.get(deps);
  if (!directory) {
    directory = buildDirectory(deps.config, deps.db);
    directories.set(deps, directory);
  }
  return directory;
}
