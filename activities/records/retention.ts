/**
 * What happens to a connection's imported records when it is disconnected — deleted (`delete`) or kept and
 * marked `detached` (`keep`) — and how kept records are attached again when the same provider account is
 * reconnected. Only a record whose origin verifies (content hash and MAC) and names this connection is acted
 * on; any other is left exactly as it is, audited and reported to support: never deleted or kept silently.
 */
import { createHash } from 'node:crypto';
import { CancelledFailure, Context } from '@temporalio/activity';
import type { Db, Filter } from 'mongodb';
import type { ProviderId } from '../../domain/providers.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Notifier } from '../notify/port.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import { syncLedger } from './ledger.js';
import { checkRecordOrigin, providerRecords } from './store.js';

export interface RetentionActivityDeps {
  db: Db;
  vault: SecretVault;
  /** Opens sealed record content, whose hash the origin check compares. */
  accountKeys: AccountKeys;
  auditLog: AuditLog;
  notifier: Notifier;
  /** Where reports of records with an unverifiable origin go (`SUPPORT_EMAIL`). */
  supportEmail: string;
  now?: () => Date;
}

/** Records verified and written per activity call: one HMAC check each, so a batch stays well inside its timeout. */
export const retentionBatchSize = 500;

/** `account_key_destroyed`: the account was erased, its content unreadable; left to the erasure, not acted on here. */
export type InvalidOriginReason =
  'content_changed' | 'origin_changed' | 'connection_mismatch' | 'account_key_destroyed';

export interface RetentionBatchInput {
  accountId: string;
  provider: ProviderId;
  connectionId: string;
  retention: 'keep' | 'delete';
  workflowId: string;
  runId: string;
  /** Continue after this record id (the previous batch's `nextAfterId`). */
  afterId?: string;
  batchSize?: number;
}

export interface RetentionBatchResult {
  /** Records looked at in this batch. */
  processed: number;
  /** Verified and deleted (`delete`) or detached (`keep`) by this call. */
  deleted: number;
  detached: number;
  invalid: number;
  /** Absent when this was the last batch. */
  nextAfterId?: string;
}

/** Heartbeat when running as an activity; a direct call (a tool, a test) has no activity context. */
function beat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not inside an activity
  }
}

/** `work`, heartbeating every 5 s while it runs (a single database call that may take a while under load). */
async function beatingWhile<T>(work: Promise<T>): Promise<T> {
  beat();
  const timer = setInterval(() => beat(), 5_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** The workflow that runs this activity was cancelled (never, outside an activity). */
function cancelRequested(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

/** Both the record's own field and its signed origin: an edit of either must not hide a record from the check. */
function ofConnection(connectionId: string): Filter<ProviderRecordDocument> {
  return { $or: [{ connectionId }, { 'origin.connectionId': connectionId }] };
}

export function createRetentionActivities({
  db,
  vault,
  accountKeys,
  auditLog,
  notifier,
  supportEmail,
  now = () => new Date(),
}: RetentionActivityDeps) {
  const records = providerRecords(db);

  /** The origin verifies and names this account and connection. */
  async function judge(
    doc: ProviderRecordDocument,
    accountId: string,
    connectionId: string,
  ): Promise<{ ok: true } | { ok: false; reason: InvalidOriginReason }> {
    const check = await checkRecordOrigin(accountKeys, vault, doc);
    if (!check.ok) return check;
    // A valid MAC over an origin of another connection: the record's unsigned fields were edited to point here.
    if (doc.origin.connectionId !== connectionId || doc.accountId !== accountId)
      return { ok: false, reason: 'connection_mismatch' };
    return { ok: true };
  }

  async function auditInvalid(
    doc: ProviderRecordDocument,
    reason: InvalidOriginReason,
    at: { accountId: string; eventPrefix: string; workflowId?: string },
  ): Promise<void> {
    await auditLog.append({
      eventId: `${at.eventPrefix}/origin_invalid/${doc._id}`,
      action: 'record.origin_invalid',
      actor: { type: 'system', id: 'retention' },
      accountId: at.accountId,
      ...(at.workflowId ? { workflowId: at.workflowId } : {}),
      details: { recordId: doc._id, reason, kind: doc.kind, provider: doc.provider, connectionId: doc.connectionId },
    });
  }

  async function notifySupport(input: {
    idempotencyKey: string;
    accountId: string;
    provider: string;
    count: number;
    during: 'disconnect' | 'reconnect';
    workflowId?: string;
  }): Promise<{ queued: boolean }> {
    const { queued } = await notifier.send({
      idempotencyKey: input.idempotencyKey,
      channel: 'email',
      to: supportEmail,
      template: 'record-origin-invalid',
      accountId: input.accountId,
      data: {
        accountId: input.accountId,
        provider: input.provider,
        count: input.count,
        during: input.during,
        ...(input.workflowId ? { workflowId: input.workflowId } : {}),
      },
    });
    return { queued };
  }

  return {
    /** How many records belong to the connection, by either their own field or their origin. */
    async countConnectionRecords(input: { connectionId: string }): Promise<{ total: number }> {
      return { total: await beatingWhile(records.countDocuments(ofConnection(input.connectionId))) };
    },

    /**
     * One batch of a disconnect's retention, in `_id` order after `afterId`: verify each record, then delete
     * or detach the verified ones; the rest are audited as `record.origin_invalid` and left as they are.
     * A retry verifies the batch again and carries on from what is left.
     */
    async applyRetentionBatch(input: RetentionBatchInput): Promise<RetentionBatchResult> {
      const size = input.batchSize ?? retentionBatchSize;
      const filter: Filter<ProviderRecordDocument> = input.afterId
        ? { $and: [ofConnection(input.connectionId), { _id: { $gt: input.afterId } }] }
        : ofConnection(input.connectionId);
      const batch = await beatingWhile(records.find(filter).sort({ _id: 1 }).limit(size).toArray());
      const verified: string[] = [];
      let invalid = 0;
      for (const doc of batch) {
        const verdict = await judge(doc, input.accountId, input.connectionId);
        if (verdict.ok) {
          verified.push(doc._id);
        } else {
          invalid++;
          await auditInvalid(doc, verdict.reason, {
            accountId: input.accountId,
            eventPrefix: `${input.workflowId}/${input.runId}`,
            workflowId: input.workflowId,
          });
        }
        beat();
      }
      // A cancelled disconnect writes no further batch: its audit entry counts every batch that landed.
      if (cancelRequested()) throw new CancelledFailure('the disconnect was cancelled before this batch was applied');
      const at = now().toISOString();
      if (verified.length > 0) {
        // The origin is part of the filter: a record edited after it was verified is not touched.
        const target = { _id: { $in: verified }, 'origin.connectionId': input.connectionId };
        if (input.retention === 'delete') await beatingWhile(records.deleteMany(target));
        else
          await beatingWhile(
            records.updateMany(
              { ...target, status: { $ne: 'detached' } },
              { $set: { status: 'detached', detachedAt: at, updatedAt: at } },
            ),
          );
      }
      const last = batch.at(-1);
      const done = !(batch.length === size && last);
      // The connection's sync ledger (ids and hashes of what its runs saw) ends with it.
      if (done) await beatingWhile(syncLedger(db).deleteMany({ connectionId: input.connectionId }));
      return {
        processed: batch.length,
        deleted: input.retention === 'delete' ? verified.length : 0,
        detached: input.retention === 'keep' ? verified.length : 0,
        invalid,
        ...(batch.length === size && last ? { nextAfterId: last._id } : {}),
      };
    },

    /** One notice to support for a disconnect that found records with an unverifiable origin. */
    async reportInvalidOrigins(input: {
      accountId: string;
      provider: ProviderId;
      workflowId: string;
      runId: string;
      invalid: number;
    }): Promise<{ queued: boolean }> {
      return notifySupport({
        idempotencyKey: `${input.workflowId}/${input.runId}/origin-invalid`,
        accountId: input.accountId,
        provider: input.provider,
        count: input.invalid,
        during: 'disconnect',
        workflowId: input.workflowId,
      });
    },

    /**
     * Reconnecting the same provider account (same connection id) makes its kept records active again.
     * Detached records whose origin does not verify stay detached, are audited and reported to support once
     * per set of records. Idempotent: a second call finds nothing left to attach.
     */
    async reattachDetachedRecords(input: {
      accountId: string;
      connectionId: string;
      workflowId?: string;
    }): Promise<{ reattached: number; invalid: number }> {
      const detached: Filter<ProviderRecordDocument> = {
        $and: [ofConnection(input.connectionId), { status: 'detached' }],
      };
      let reattached = 0;
      const invalidIds: string[] = [];
      let provider = '';
      let afterId: string | undefined;
      for (;;) {
        const batch = await records
          .find(afterId ? { $and: [detached, { _id: { $gt: afterId } }] } : detached)
          .sort({ _id: 1 })
          .limit(retentionBatchSize)
          .toArray();
        const verified: string[] = [];
        for (const doc of batch) {
          const verdict = await judge(doc, input.accountId, input.connectionId);
          if (verdict.ok) {
            verified.push(doc._id);
            continue;
          }
          invalidIds.push(doc._id);
          provider = doc.origin.provider;
          await auditInvalid(doc, verdict.reason, {
            accountId: input.accountId,
            eventPrefix: input.workflowId ?? `reattach/${input.connectionId}`,
            ...(input.workflowId ? { workflowId: input.workflowId } : {}),
          });
        }
        if (verified.length > 0) {
          const at = now().toISOString();
          const written = await records.updateMany(
            { _id: { $in: verified }, status: 'detached', 'origin.connectionId': input.connectionId },
            { $set: { status: 'active', updatedAt: at }, $unset: { detachedAt: '' } },
          );
          reattached += written.modifiedCount;
        }
        beat({ reattached });
        const last = batch.at(-1);
        if (batch.length < retentionBatchSize || !last) break;
        afterId = last._id;
      }
      if (invalidIds.length > 0) {
        // Keyed by the set of records: the same ones are reported once, a different set again.
        const setKey = createHash('sha256').update(invalidIds.sort().join('\n')).digest('hex').slice(0, 16);
        await notifySupport({
          idempotencyKey: `reattach/${input.connectionId}/origin-invalid/${setKey}`,
          accountId: input.accountId,
          provider,
          count: invalidIds.length,
          during: 'reconnect',
          ...(input.workflowId ? { workflowId: input.workflowId } : {}),
        });
      }
      return { reattached, invalid: invalidIds.length };
    },
  };
}
