/**
 * The export process's one starter (`export/<accountId>/<exportId>`): its id, task queue, search
 * attributes, the one-export-at-a-time rule, the progress signal the archive activity sends and the
 * visibility query that finds a person's workflows. `POST /v1/me/exports` starts it here.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import {
  claimRunningExport,
  dataExports,
  releaseRunningExport,
  type DataExportDocument,
} from '../../activities/exports/store.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { workflowIds } from '../../domain/ids.js';
import { searchAttributesFor } from '../../temporal.config.js';
import {
  exportProgressSignal,
  exportWorkflowType,
  type ExportProgress,
  type ExportWorkflow,
} from '../../workflows/export/messages.js';
import { ProblemError } from '../problem.js';
import { accountsQueueOf, type ProcessDeps } from './deps.js';

export interface ExportRequest {
  account: Pick<AccountDocument, '_id' | 'status'>;
  /** Who asked (a subject), for the audit trail. */
  requestedBy: string;
}

export interface StartedExport {
  exportId: string;
  workflowId: string;
  status: DataExportDocument['status'];
  /** False when the person's export already being built was returned instead of a new one. */
  started: boolean;
}

/**
 * Start an export of the account, or return the one already being built (a person has one at a time).
 * Refused with 409 `erasure-in-progress` while the account is being erased. Suspended and banned accounts
 * may export: the right of access does not end with a ban.
 */
export async function startExport(
  { temporal, config, db }: ProcessDeps & { db: Db },
  { account, requestedBy }: ExportRequest,
  now = new Date(),
): Promise<StartedExport> {
  if (account.status === 'pending_deletion' || account.status === 'deleted')
    throw new ProblemError(
      'erasure-in-progress',
      'This account is being erased, so no export can start. Cancel the erasure (DELETE /v1/me/erasure) to export it.',
    );
  const exportId = randomUUID();
  const workflowId = workflowIds.export(account._id, exportId);
  const exports = dataExports(db);
  // The record first, so a claim never names an export nobody can find.
  await exports.insertOne({
    _id: exportId,
    accountId: account._id,
    workflowId,
    requestedBy,
    status: 'requested',
    progress: { recordsWritten: 0 },
    requestedAt: now.toISOString(),
    updatedAt: now.toISOString(),
  });
  const claim = await claimRunningExport(db, account._id, exportId, now);
  if (!claim.claimed) {
    await exports.deleteOne({ _id: exportId, status: 'requested' });
    const running = await exports.findOne({ _id: claim.runningExportId });
    return {
      exportId: claim.runningExportId,
      workflowId: running?.workflowId ?? workflowIds.export(account._id, claim.runningExportId),
      status: running?.status ?? 'requested',
      started: false,
    };
  }
  try {
    await temporal.workflow.start<ExportWorkflow>(exportWorkflowType, {
      workflowId,
      taskQueue: accountsQueueOf(config),
      args: [{ accountId: account._id, exportId, requestedBy, linkTtl: config.dataRights.exportLinkTtl }],
      typedSearchAttributes: searchAttributesFor('export', { accountId: account._id, stage: 'requested' }),
    });
  } catch (err) {
    // Nothing runs for it: neither the record nor the claim may block the next request.
    await exports.updateOne(
      { _id: exportId },
      { $set: { status: 'failed', detail: 'the export could not start', updatedAt: new Date().toISOString() } },
    );
    await releaseRunningExport(db, account._id, exportId);
    throw err;
  }
  return { exportId, workflowId, status: 'requested', started: true };
}

/** The archive activity's progress, sent to its own workflow (counts only). */
export async function reportExportProgress(
  temporal: Client,
  workflowId: string,
  progress: ExportProgress,
): Promise<void> {
  await temporal.workflow.getHandle(workflowId).signal(exportProgressSignal, progress);
}

/** The one visibility query for every workflow of a person (each CRA process sets `CraAccountId`). */
export function accountWorkflowsQuery(accountId: string): string {
  return `CraAccountId = '${accountId.replaceAll("'", '')}'`;
}
