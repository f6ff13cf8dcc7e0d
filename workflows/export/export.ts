/**
 * Export everything CRA holds about a person: `export/<accountId>/<exportId>`. One activity streams the
 * archive from the database into GridFS (the account center, connections without tokens, every provider
 * record with its origin and the MAC check, consents, recovery factors without secrets, audit events and
 * the person's workflows); the workflow only passes ids and counts. Once ready, the archive and its signed
 * link live for `linkTtl` (a durable timer), then the archive is deleted and the export is `expired`.
 * Works for suspended and banned accounts alike: the starter decides who may export, not this workflow.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createExportActivities } from '../../activities/exports/activities.js';
import { nonRetryableTypes } from '../../domain/failures.js';
import { activityOptions } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import {
  exportProgressSignal,
  exportStateQuery,
  type ExportInput,
  type ExportResult,
  type ExportState,
  type ExportStatus,
} from './messages.js';

const steps = proxyActivities<ReturnType<typeof createExportActivities>>(activityOptions.accounts);
const audit = proxyActivities<ReturnType<typeof createAuditActivities>>(activityOptions.records);
// A 100 000-record account takes minutes; the heartbeat, not the timeout, notices a worker that died.
const archive = proxyActivities<ReturnType<typeof createExportActivities>>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: {
    ...activityOptions.accounts.retry,
    nonRetryableErrorTypes: nonRetryableTypes('AccountKeyDestroyed', 'AccountNotFound'),
  },
});

/** The failure behind an activity's, when it is a permanent one of ours (the archive cannot be built). */
function permanentFailure(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.nonRetryable ? cause : undefined;
}

export async function exportData(input: ExportInput): Promise<ExportResult> {
  const { accountId, exportId } = input;
  const { workflowId, runId } = workflowInfo();
  const state: ExportState = { status: 'requested', recordsWritten: 0 };
  setHandler(exportStateQuery, () => state);
  setHandler(exportProgressSignal, (progress) => {
    // Signals may arrive late or out of order: progress only moves forward, and not after the archive is done.
    if (state.status !== 'building' || progress.recordsWritten < state.recordsWritten) return;
    state.recordsWritten = progress.recordsWritten;
    if (progress.recordsTotal !== undefined) state.recordsTotal = progress.recordsTotal;
  });
  const enter = (status: ExportStatus) => {
    state.status = status;
    recordStage(status);
  };
  const auditEvent = (action: string, details: Record<string, string | number | boolean>) =>
    audit.appendAuditEvent({
      eventId: `${workflowId}/${runId}/${action}`,
      action,
      actor: { type: 'user', id: input.requestedBy },
      accountId,
      workflowId,
      details: { exportId, ...details },
    });

  await auditEvent('data.export_requested', {});
  enter('building');
  let built: { records: number; archiveBytes: number };
  try {
    built = await archive.buildExportArchive({ accountId, exportId, workflowId });
  } catch (err) {
    const permanent = permanentFailure(err);
    if (!permanent) throw err;
    const detail = 'The archive could not be built: this account’s data can no longer be read.';
    await steps.markExportFailed({ accountId, exportId, detail });
    enter('failed');
    await auditEvent('data.export_failed', { reason: permanent.type ?? 'unknown' });
    return { status: 'failed', exportId, records: state.recordsWritten, archiveBytes: 0, detail };
  }
  state.recordsWritten = built.records;
  state.recordsTotal = Math.max(state.recordsTotal ?? 0, built.records);

  const { expiresAt } = await steps.markExportReady({ accountId, exportId, linkTtl: input.linkTtl });
  state.expiresAt = expiresAt;
  enter('ready');
  await auditEvent('data.export_ready', { records: built.records, archiveBytes: built.archiveBytes, expiresAt });

  // The archive lives until its link expires; then it goes, and the export stays listed as expired.
  await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()));
  await steps.expireExport({ exportId });
  enter('expired');
  await auditEvent('data.export_expired', {});
  return { status: 'expired', exportId, records: built.records, archiveBytes: built.archiveBytes };
}
