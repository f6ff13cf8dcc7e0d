/**
 * The `data_exports` records, the one-running-export claim, the GridFS bucket that holds the archives and
 * the signed download links. Shared by the export activities and the API (which serves the archive from
 * GridFS, so any API instance can).
 */
import { GridFSBucket, MongoServerError, type Collection, type Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { ExportProgress, ExportStatus } from '../../workflows/export/messages.js';
import { exportRunningStatuses } from '../../workflows/export/messages.js';
import { SecretVaultError, type SecretVault } from '../secrets/port.js';

export interface ManifestFile {
  name: string;
  bytes: number;
  lines: number;
  sha256: string;
}

export interface DataExportDocument {
  /** The export id (random): also the GridFS file id of its archive. */
  _id: string;
  accountId: string;
  workflowId: string;
  requestedBy: string;
  status: ExportStatus;
  progress: ExportProgress;
  requestedAt: string;
  updatedAt: string;
  readyAt?: string;
  /** When the archive is deleted and its link stops working. */
  expiresAt?: string;
  expiredAt?: string;
  archive?: { bytes: number; files: ManifestFile[] };
  detail?: string;
}

/** The export an account is building now: `_id` is the account id, so two requests cannot both claim it. */
interface RunningExportDocument {
  _id: string;
  exportId: string;
  claimedAt: string;
}

export function dataExports(db: Db): Collection<DataExportDocument> {
  return db.collection<DataExportDocument>(collections.dataExports);
}

function runningExports(db: Db): Collection<RunningExportDocument> {
  return db.collection<RunningExportDocument>(`${collections.dataExports}_running`);
}

export function exportArchiveBucket(db: Db): GridFSBucket {
  return new GridFSBucket(db, { bucketName: collections.exportArchives });
}

export async function ensureExportIndexes(db: Db): Promise<void> {
  await dataExports(db).createIndex({ accountId: 1, requestedAt: -1 }, { name: 'account_requested' });
}

/**
 * Claim the account's one running export for `exportId`. Another export still being built keeps the
 * claim: its id is returned instead. A claim left by an export that is no longer building is taken over.
 */
export async function claimRunningExport(
  db: Db,
  accountId: string,
  exportId: string,
  now = new Date(),
): Promise<{ claimed: true } | { claimed: false; runningExportId: string }> {
  const claims = runningExports(db);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await claims.insertOne({ _id: accountId, exportId, claimedAt: now.toISOString() });
      return { claimed: true };
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
    const held = await claims.findOne({ _id: accountId });
    if (!held) continue;
    if (held.exportId === exportId) return { claimed: true };
    const holder = await dataExports(db).findOne({ _id: held.exportId });
    if (holder && exportRunningStatuses.includes(holder.status)) return { claimed: false, runningExportId: holder._id };
    // Only if nobody took it over in between.
    const taken = await claims.updateOne(
      { _id: accountId, exportId: held.exportId },
      { $set: { exportId, claimedAt: now.toISOString() } },
    );
    if (taken.modifiedCount === 1) return { claimed: true };
  }
  throw new Error(`the running export of account ${accountId} kept changing`);
}

/** Give the claim up (the export is ready, failed, or never started). Idempotent. */
export async function releaseRunningExport(db: Db, accountId: string, exportId: string): Promise<void> {
  await runningExports(db).deleteOne({ _id: accountId, exportId });
}

/**
 * Delete the archive stored for an export, complete or partial: GridFS writes chunks before the file
 * document, so a crashed upload leaves chunks without one. Deleting both by id covers either.
 */
export async function deleteExportArchive(db: Db, exportId: string): Promise<void> {
  await db.collection(`${collections.exportArchives}.chunks`).deleteMany({ files_id: exportId });
  await db.collection(`${collections.exportArchives}.files`).deleteOne({ _id: exportId as never });
}

/** The SecretVault key that signs download links. */
export const exportLinkMacKey = 'export-links';

/** What a download link's MAC covers: the export, its owner and the link's expiry (ms since the epoch). */
export function exportLinkMacInput(exportId: string, accountId: string, expiresMs: number): string {
  return `cra-export-download|${exportId}|${accountId}|${expiresMs}`;
}

/** The archive's path on the API, signed: `/v1/exports/<id>/archive?expires=<ms>&signature=<mac>`. */
export async function signedArchivePath(
  vault: SecretVault,
  link: { exportId: string; accountId: string; expiresAt: Date },
): Promise<string> {
  const expiresMs = link.expiresAt.getTime();
  const mac = await vault.hmac(exportLinkMacKey, exportLinkMacInput(link.exportId, link.accountId, expiresMs));
  return `/v1/exports/${encodeURIComponent(link.exportId)}/archive?expires=${expiresMs}&signature=${encodeURIComponent(mac)}`;
}

/** Whether a link's MAC is the one `signedArchivePath` made for these values (a vault outage throws). */
export async function verifyArchiveLink(
  vault: SecretVault,
  link: { exportId: string; accountId: string; expiresMs: number; signature: string },
): Promise<boolean> {
  return vault
    .verifyHmac(exportLinkMacKey, exportLinkMacInput(link.exportId, link.accountId, link.expiresMs), link.signature)
    .catch((err: unknown) => {
      if (err instanceof SecretVaultError && (err.type === 'Unavailable' || err.type === 'Forbidden')) throw err;
      return false;
    });
}
