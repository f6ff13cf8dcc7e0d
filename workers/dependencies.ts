/**
 * Builds each adapter once per process, from the configuration: the identity directory, the notifier
 * and the audit log, over one MongoDB connection.
 */
import type { Db } from 'mongodb';
import { ensureAccountIndexes } from '../activities/accounts/store.js';
import { AuditLog } from '../activities/audit/audit-log.js';
import { buildDirectory } from '../activities/identity/build.js';
import type { IdentityDirectory } from '../activities/identity/port.js';
import { buildNotifier } from '../activities/notices.js';
import { ensureOutboxIndexes } from '../activities/notify/outbox-notifier.js';
import type { Notifier } from '../activities/notify/port.js';
import { ensureDeliveryLogIndexes } from '../activities/notify/smtp-notifier.js';
import { ensureRecoveryIndexes } from '../activities/recovery/store.js';
import { ensureProviderIndexes } from '../activities/providers/stores.js';
import { ensureRecordIndexes } from '../activities/records/store.js';
import { ensureExportIndexes } from '../activities/exports/store.js';
import { AccountKeys } from '../activities/secrets/account-keys.js';
import { buildSecretVault } from '../activities/secrets/build.js';
import type { VaultTokenEvents } from '../activities/secrets/hashicorp-vault.js';
import type { SecretVault } from '../activities/secrets/port.js';
import type { CraConfig } from '../domain/config.js';

export interface WorkerDependencies {
  db: Db;
  vault: SecretVault;
  /** Per-account data keys over `vault` (envelope encryption of personal data, tokens and records). */
  accountKeys: AccountKeys;
  directory: IdentityDirectory;
  notifier: Notifier;
  auditLog: AuditLog;
}

export { buildDirectory };

/** Adapters plus the indexes they rely on (idempotent: every worker start may run it). */
export async function buildWorkerDependencies(
  config: CraConfig,
  db: Db,
  opts: { vaultEvents?: VaultTokenEvents } = {},
): Promise<WorkerDependencies> {
  const vault = await buildSecretVault({
    dataDir: config.dataDir,
    ...(config.vault ? { vault: config.vault } : {}),
    ...(opts.vaultEvents ? { events: opts.vaultEvents } : {}),
  });
  const accountKeys = new AccountKeys(vault);
  const auditLog = new AuditLog(db, { vault });
  await Promise.all([
    ensureAccountIndexes(db),
    ensureOutboxIndexes(db),
    ensureDeliveryLogIndexes(db),
    auditLog.ensureIndexes(),
    ensureProviderIndexes(db),
    ensureRecoveryIndexes(db),
    ensureRecordIndexes(db),
    ensureExportIndexes(db),
  ]);
  return {
    db,
    vault,
    accountKeys,
    directory: buildDirectory(config, db),
    notifier: buildNotifier(db, { accountKeys, config: config.notifier }),
    auditLog,
  };
}
