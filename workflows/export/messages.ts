/**
 * Data-export wire protocol (`export/<accountId>/<exportId>`). Never rename a message; add optional fields
 * only. Inputs, results and messages hold ids and counts only: the archive's content goes from the database
 * to GridFS inside one activity and never enters the workflow's history.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export interface ExportInput {
  accountId: string;
  /** The random request id: `data_exports._id`, the GridFS file id and the last part of the workflow id. */
  exportId: string;
  /** Who asked (the subject of the verified token), for the audit trail. */
  requestedBy: string;
  /** How long the archive and its download link live once ready (`EXPORT_LINK_TTL`). */
  linkTtl: string;
}

/** `requested` → `building` → `ready` → `expired`; `failed` when the archive cannot be built (an erased key). */
export const exportStatuses = ['requested', 'building', 'ready', 'expired', 'failed'] as const;
export type ExportStatus = (typeof exportStatuses)[number];
/** Statuses of an export still being built: a person has at most one such export. */
export const exportRunningStatuses: readonly ExportStatus[] = ['requested', 'building'];

export interface ExportProgress {
  /** Provider records written to the archive so far. */
  recordsWritten: number;
  /** Provider records the account held when the archive began; undefined until counted. */
  recordsTotal?: number;
}

export interface ExportResult {
  status: Extract<ExportStatus, 'expired' | 'failed'>;
  exportId: string;
  records: number;
  archiveBytes: number;
  /** Why it failed, in words for the person. */
  detail?: string;
}

export interface ExportState extends ExportProgress {
  status: ExportStatus;
  /** When the archive (and its link) expire; set once ready. */
  expiresAt?: string;
}

export const exportWorkflowType = 'exportData';
export type ExportWorkflow = (input: ExportInput) => Promise<ExportResult>;

export const exportStateQuery = defineQuery<ExportState>('exportState');
/** Sent by the archive activity as it writes (counts only), so the query shows progress while it runs. */
export const exportProgressSignal = defineSignal<[ExportProgress]>('exportProgress');
