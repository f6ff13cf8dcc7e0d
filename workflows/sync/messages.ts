/** Sync wire protocol. The workflow carries cursors and counts, never tokens or record contents. */
import { defineQuery } from '@temporalio/workflow';
import type { ProviderId } from '../../domain/providers.js';

export interface KindTotals {
  fetched: number;
  written: number;
  deleted: number;
  /** Pages of the kind written so far (runs after `sync-page-batches`): the next page's place in the sync ledger. */
  pages?: number;
}

/** Where a sync stands; carried across continue-as-new so a run resumes where it stopped. */
export interface SyncCheckpoint {
  kindIndex: number;
  cursor: string | null;
  pages: number;
  totals: Record<string, KindTotals>;
}

export interface SyncInput {
  accountId: string;
  provider: ProviderId;
  connectionId: string;
  /** Defaults to every kind the catalog lists for the provider. */
  kinds?: string[];
  pageSize?: number;
  /** Continue as new after this many pages (history stays small for huge accounts). */
  maxPagesPerRun?: number;
  /** The id shared by every run of one sync (the first run's id); origins carry it. */
  syncRunId?: string;
  checkpoint?: SyncCheckpoint;
}

export interface SyncResult {
  syncRunId: string;
  totals: Record<string, KindTotals>;
  pages: number;
}

export const syncStatusQuery = defineQuery<{ stage: string; checkpoint: SyncCheckpoint; syncRunId: string }>(
  'syncStatus',
);

export const syncWorkflowType = 'syncProvider';
export type SyncWorkflow = (input: SyncInput) => Promise<SyncResult>;
