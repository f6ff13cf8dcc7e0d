/**
 * Export activities: build the archive (database → zip → GridFS in one stream, inside the activity, so no
 * personal data passes through the workflow), mark it ready with its expiry, and delete it when it expires.
 * Every step is idempotent: a retried build first deletes whatever a crashed attempt left, so an export
 * never has two archives, and the status moves forward only.
 */
import { Context } from '@temporalio/activity';
import { msToNumber } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { accountWorkflowsQuery, reportExportProgress } from '../../api/processes/export.js';
import { toAccountCenter } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { failure } from '../../domain/failures.js';
import { processOfWorkflowId } from '../../domain/ids.js';
import type { RecoveryFactorDocument } from '../../domain/recovery.js';
import type { ExportProgress } from '../../workflows/export/messages.js';
import { openAccountDocument } from '../accounts/personal-fields.js';
import { accountsCollection } from '../accounts/store.js';
import type { AuditEvent } from '../audit/audit-log.js';
import { providerRecords, recordContent, verifyOrigin, type OriginCheck } from '../records/store.js';
import { factorsCollection } from '../recovery/store.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import { SecretVaultError, type SecretVault } from '../secrets/port.js';
import { writeJsonLinesZip, type JsonLinesFile } from './archive.js';
import { dataExports, deleteExportArchive, exportArchiveBucket, releaseRunningExport } from './store.js';

export interface ExportActivityDeps {
  db: Db;
  vault: SecretVault;
  accountKeys: AccountKeys;
  /** For the person's workflows (visibility) and the progress signal. */
  temporal: Client;
  now?: () => Date;
}

/** Progress reaches the `data_exports` document and the workflow at most this often. */
const progressEveryMs = 1_000;
/** Documents a cursor fetches per round trip. */
const batchSize = 500;

/** A recovery factor as the person may see it: its kind, dates and labels, never a secret or a key. */
export function exportedFactor(f: RecoveryFactorDocument): Record<string, unknown> {
  const base = { factorId: f._id, kind: f.kind, enrolledAt: f.enrolledAt };
  switch (f.kind) {
    case 'totp':
      return { ...base, confirmed: f.confirmed, digits: f.digits, periodSeconds: f.periodSeconds };
    case 'backup_code':
      return { ...base, used: f.usedAt !== undefined, ...(f.usedAt ? { usedAt: f.usedAt } : {}) };
    case 'passkey':
      return { ...base, ...(f.name ? { name: f.name } : {}), ...(f.transports ? { transports: f.transports } : {}) };
    case 'phone':
      return { ...base, number: f.number, verified: f.verified, ...(f.verifiedAt ? { verifiedAt: f.verifiedAt } : {}) };
    case 'push_device':
      return { ...base, deviceId: f.deviceId, name: f.name };
  }
}

export function createExportActivities({
  db,
  vault,
  accountKeys,
  temporal,
  now = () => new Date(),
}: ExportActivityDeps) {
  const exports = dataExports(db);

  async function* exportedRecords(accountId: string) {
    // One cursor in storage order, no sort: FerretDB (SQLite) sorts in memory, which for 100 000 records cost
    // it gigabytes and made every batch crawl; unsorted, the cursor streams (see BENCHMARKS.md, export).
    const cursor = providerRecords(db).find({ accountId }, { batchSize });
    try {
      for await (const doc of cursor) {
        let content: Record<string, unknown> | null;
        let check: OriginCheck;
        try {
          content = await recordContent(accountKeys, doc);
          check = await verifyOrigin(vault, doc, content);
        } catch (err) {
          // An edited sealed record is reported in the archive; an erased key or a vault outage is not for one record to hide.
          if (!(err instanceof SecretVaultError && err.type === 'Tampered')) throw err;
          content = null;
          check = { ok: false, reason: 'content_changed' };
        }
        yield {
          recordId: doc._id,
          provider: doc.provider,
          kind: doc.kind,
          externalId: doc.externalId,
          connectionId: doc.connectionId,
          status: doc.status,
          updatedAt: doc.updatedAt,
          ...(doc.deletedAt ? { deletedAt: doc.deletedAt } : {}),
          ...(doc.detachedAt ? { detachedAt: doc.detachedAt } : {}),
          origin: doc.origin,
          originValid: check.ok,
          ...(check.ok ? {} : { originProblem: check.reason }),
          content,
        };
      }
    } finally {
      await cursor.close();
    }
  }

  async function* auditEvents(accountId: string) {
    const cursor = db
      .collection<AuditEvent & { _id: unknown }>(collections.auditEvents)
      .find({ accountId }, { sort: { seq: 1 }, batchSize, projection: { _id: 0 } });
    try {
      for await (const event of cursor) yield event;
    } finally {
      await cursor.close();
    }
  }

  async function* factors(accountId: string) {
    for await (const f of factorsCollection(db).find({ accountId }, { sort: { enrolledAt: 1, _id: 1 } }))
      yield exportedFactor(f);
  }

  async function* workflows(accountId: string) {
    for await (const run of temporal.workflow.list({ query: accountWorkflowsQuery(accountId) })) {
      yield {
        process: processOfWorkflowId(run.workflowId) ?? null,
        workflowId: run.workflowId,
        runId: run.runId,
        type: run.type,
        status: run.status.name,
        startTime: run.startTime.toISOString(),
        closeTime: run.closeTime?.toISOString() ?? null,
      };
    }
  }

  return {
    /**
     * Write the account's archive into GridFS under the export's id (replacing what an earlier attempt
     * left), reporting progress as provider records are written. Returns counts only.
     */
    async buildExportArchive(input: {
      accountId: string;
      exportId: string;
      workflowId: string;
    }): Promise<{ records: number; archiveBytes: number; files: number }> {
      const { accountId, exportId, workflowId } = input;
      const context = Context.current();
      const stored = await accountsCollection(db).findOne({ _id: accountId });
      if (!stored) throw failure('AccountNotFound', `account ${accountId} does not exist`);
      // account.json holds the clear values; an erased account's key is gone (AccountKeyDestroyed: failed).
      const account = await openAccountDocument(accountKeys, stored);
      const startedAt = now();
      const recordsTotal = await providerRecords(db).countDocuments({ accountId });
      const progress: ExportProgress = { recordsWritten: 0, recordsTotal };
      await exports.updateOne(
        { _id: exportId, status: { $in: ['requested', 'building'] } },
        { $set: { status: 'building', progress, updatedAt: startedAt.toISOString() } },
      );
      await deleteExportArchive(db, exportId);

      let lastReport = 0;
      const report = async (force = false) => {
        context.heartbeat({ recordsWritten: progress.recordsWritten });
        if (!force && Date.now() - lastReport < progressEveryMs) return;
        lastReport = Date.now();
        await exports.updateOne(
          { _id: exportId, status: 'building' },
          { $set: { progress: { ...progress }, updatedAt: now().toISOString() } },
        );
        // Progress is a courtesy: a signal that does not arrive must not fail the archive.
        await reportExportProgress(temporal, workflowId, { ...progress }).catch(() => undefined);
      };

      const center = toAccountCenter(account);
      const files: JsonLinesFile[] = [
        {
          name: 'account.json',
          lines: async function* () {
            yield center;
          },
        },
        {
          name: 'connections.jsonl',
          lines: async function* () {
            yield* center.connected_providers.nodes;
          },
        },
        { name: 'records.jsonl', lines: () => exportedRecords(accountId) },
        {
          name: 'consents.jsonl',
          lines: async function* () {
            yield* center.consents;
          },
        },
        { name: 'recovery-factors.jsonl', lines: () => factors(accountId) },
        { name: 'audit-events.jsonl', lines: () => auditEvents(accountId) },
        { name: 'workflows.jsonl', lines: () => workflows(accountId) },
      ];
      const upload = exportArchiveBucket(db).openUploadStreamWithId(exportId as never, `cra-export-${exportId}.zip`, {
        metadata: { accountId, exportId },
      });
      let lines = 0;
      const summary = await writeJsonLinesZip(upload, files, {
        mtime: startedAt,
        manifest: (written) => ({
          format: 'cra-export/1',
          exportId,
          accountId,
          createdAt: startedAt.toISOString(),
          files: written,
        }),
        onLine: async (file) => {
          if (file === 'records.jsonl') progress.recordsWritten++;
          if (++lines % 100 === 0) await report();
        },
      });
      await report(true);
      await exports.updateOne(
        { _id: exportId, status: 'building' },
        { $set: { archive: summary, updatedAt: now().toISOString() } },
      );
      return { records: progress.recordsWritten, archiveBytes: summary.bytes, files: summary.files.length + 1 };
    },

    /** The archive is ready: its expiry starts now. Returns the expiry (the first one, when retried). */
    async markExportReady(input: {
      accountId: string;
      exportId: string;
      linkTtl: string;
    }): Promise<{ expiresAt: string }> {
      const at = now();
      const expiresAt = new Date(at.getTime() + msToNumber(input.linkTtl)).toISOString();
      await exports.updateOne(
        { _id: input.exportId, status: 'building' },
        { $set: { status: 'ready', readyAt: at.toISOString(), expiresAt, updatedAt: at.toISOString() } },
      );
      await releaseRunningExport(db, input.accountId, input.exportId);
      const doc = await exports.findOne({ _id: input.exportId });
      return { expiresAt: doc?.expiresAt ?? expiresAt };
    },

    /** The archive could not be built: what is left of it goes, and the person is told why. */
    async markExportFailed(input: { accountId: string; exportId: string; detail: string }): Promise<void> {
      await deleteExportArchive(db, input.exportId);
      await exports.updateOne(
        { _id: input.exportId, status: { $in: ['requested', 'building'] } },
        { $set: { status: 'failed', detail: input.detail, updatedAt: now().toISOString() } },
      );
      await releaseRunningExport(db, input.accountId, input.exportId);
    },

    /** The link's lifetime is over: delete the archive; the export stays listed as `expired`. */
    async expireExport(input: { exportId: string }): Promise<void> {
      await deleteExportArchive(db, input.exportId);
      const at = now().toISOString();
      await exports.updateOne(
        { _id: input.exportId, status: { $ne: 'expired' } },
        { $set: { status: 'expired', expiredAt: at, updatedAt: at } },
      );
    },
  };
}
