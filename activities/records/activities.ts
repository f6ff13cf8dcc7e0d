/**
 * Sync activities: import one page of a provider's data as idempotent upserts keyed by (account,
 * provider, kind, external id), each record with a signed origin; mark records gone at the provider after
 * a full sync; verify origins on demand. The access token comes from the connection's token custodian,
 * never from refreshing here.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import type { ProviderId } from '../../domain/providers.js';
import { recordIdFor, type ProviderRecordDocument, type RecordOrigin } from '../../domain/records.js';
import { freshTokenUpdate } from '../../workflows/tokens/messages.js';
import { heartbeatWhile } from '../heartbeat.js';
import { DataError, fetchDataPage } from '../providers/data-client.js';
import { resolveProvider } from '../providers/resolve.js';
import { providerTokens, vaultKeys } from '../providers/stores.js';
import type { SecretVault } from '../secrets/port.js';
import { contentHash, providerRecords, signOrigin, verifyOrigin } from './store.js';
import { failure } from '../../domain/failures.js';

export interface RecordActivityDeps {
  db: Db;
  vault: SecretVault;
  providers: ProviderConfig;
  temporal: Client;
  now?: () => Date;
}

export interface SyncPageInput {
  accountId: string;
  provider: ProviderId;
  connectionId: string;
  kind: string;
  cursor: string | null;
  syncRunId: string;
  pageSize: number;
}

export interface SyncPageResult {
  nextCursor: string | null;
  fetched: number;
  written: number;
}

/** After this many 401s in a row the token is not coming back: stop rather than retry for ever. */
const maxUnauthorizedAttempts = 5;

function toFailure(err: unknown): unknown {
  if (!(err instanceof DataError)) return err;
  switch (err.type) {
    case 'DataRateLimited':
      return failure(err.type, err.message, { nextRetryDelay: err.retryAfterMs ?? 1000 });
    case 'DataUnavailable':
      return failure(err.type, err.message);
    case 'DataUnauthorized':
      return Context.current().info.attempt >= maxUnauthorizedAttempts
        ? failure('SyncRejected', err.message)
        : failure(err.type, err.message);
    case 'SyncRejected':
      return failure(err.type, err.message);
  }
}

export function createRecordActivities({ db, vault, providers, temporal, now = () => new Date() }: RecordActivityDeps) {
  const records = providerRecords(db);
  const tokens = providerTokens(db);

  /** A token valid for the next minute, through the connection's custodian. */
  async function accessTokenFor(
    accountId: string,
    provider: ProviderId,
    connectionId: string,
  ): Promise<{ accessToken: string; providerAccountId: string }> {
    let version: number;
    try {
      // Raced against the activity's cancellation: an update to a custodian whose worker is stopping
      // would otherwise hold this activity, and so the worker's shutdown, for ever.
      ({ tokenVersion: version } = await Promise.race([
        temporal.workflow
          .getHandle(workflowIds.tokens(accountId, provider))
          .executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds: 60 }] }),
        Context.current().cancelled,
      ]));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) {
        throw failure('ReauthRequired', `the ${provider} connection has no active token custody: reconnect it`);
      }
      throw err;
    }
    const doc = await tokens.findOne({ _id: connectionId });
    if (!doc || doc.status !== 'active' || doc.version < version) {
      throw failure('TokensMissing', `no current tokens for ${connectionId}`, { nonRetryable: doc === null });
    }
    return {
      accessToken: await vault.decrypt(vaultKeys.providerTokens, doc.accessTokenCiphertext),
      providerAccountId: doc.providerAccountId,
    };
  }

  /** Marks the connection's active records of `kinds` that `syncRunId` did not see; counts them by kind. */
  async function markMissing(
    connectionId: string,
    kinds: string[],
    syncRunId: string,
  ): Promise<{ deletedByKind: Record<string, number> }> {
    const deletedByKind: Record<string, number> = Object.fromEntries(kinds.map((k) => [k, 0]));
    // One query finds them (usually few; on a large connection it reads many records, so it heartbeats).
    const missing = await heartbeatWhile(
      records
        .find(
          { connectionId, kind: { $in: kinds }, status: 'active', lastSeenRunId: { $ne: syncRunId } },
          { projection: { _id: 1, kind: 1 } },
        )
        .toArray(),
    );
    const deletedAt = now().toISOString();
    for (const kind of kinds) {
      const ids = missing.filter((m) => m.kind === kind).map((m) => m._id);
      for (let i = 0; i < ids.length; i += 1000) {
        // Only records still active and unseen: a sync that raced this one and saw a record keeps it.
        const result = await heartbeatWhile(
          records.bulkWrite(
            ids.slice(i, i + 1000).map((_id) => ({
              updateOne: {
                filter: { _id, status: 'active', lastSeenRunId: { $ne: syncRunId } },
                update: { $set: { status: 'deleted_at_provider' as const, deletedAt } },
              },
            })),
            { ordered: false },
          ),
        );
        deletedByKind[kind] = (deletedByKind[kind] ?? 0) + result.modifiedCount;
      }
    }
    return { deletedByKind };
  }

  return {
    /** Fetch one page and upsert it; replaying the same page writes nothing new. */
    async syncPage(input: SyncPageInput): Promise<SyncPageResult> {
      Context.current().heartbeat();
      const resolved = await resolveProvider(input.provider, providers, vault).catch((err: Error) => {
        throw failure('SyncRejected', err.message);
      });
      if (!resolved.endpoints.data) {
        throw failure('SyncNotSupported', `data sync is not available for ${input.provider} yet`);
      }
      const context = Context.current();
      // Heartbeats carry a cancellation of the run back to the page, which then stops where it is.
      const { accessToken, providerAccountId } = await heartbeatWhile(
        accessTokenFor(input.accountId, input.provider, input.connectionId),
      );
      let page;
      try {
        page = await heartbeatWhile(
          Promise.race([
            fetchDataPage(resolved.endpoints.data, input.kind, accessToken, {
              cursor: input.cursor,
              limit: input.pageSize,
            }),
            context.cancelled,
          ]),
        );
      } catch (err) {
        throw toFailure(err);
      }
      context.heartbeat();
      const fetchedAt = now().toISOString();
      // Whole-document upserts keyed by _id: a replayed or retried page converges on the same documents.
      const ops: AnyBulkWriteOperation<ProviderRecordDocument>[] = [];
      for (const item of page.items) {
        const externalId = String(item.id);
        const _id = recordIdFor(input.accountId, input.provider, input.kind, externalId);
        const data = item as Record<string, unknown>;
        const origin: RecordOrigin = {
          provider: input.provider,
          providerAccountId,
          connectionId: input.connectionId,
          syncRunId: input.syncRunId,
          fetchedAt,
          sourceUrl: page.sourceUrl,
          contentHash: contentHash(data),
        };
        const replacement: Omit<ProviderRecordDocument, '_id'> = {
          accountId: input.accountId,
          provider: input.provider,
          kind: input.kind,
          externalId,
          connectionId: input.connectionId,
          data,
          origin,
          originMac: await signOrigin(vault, { _id, accountId: input.accountId, kind: input.kind, externalId, origin }),
          status: 'active',
          lastSeenRunId: input.syncRunId,
          updatedAt: fetchedAt,
        };
        ops.push({ replaceOne: { filter: { _id }, replacement, upsert: true } });
      }
      // A cancelled run writes no more pages: the run's audit entry counts only pages that landed.
      if (context.cancellationSignal.aborted)
        throw new CancelledFailure('the sync was cancelled before this page was written');
      if (ops.length > 0) await heartbeatWhile(records.bulkWrite(ops, { ordered: false }));
      return { nextCursor: page.nextCursor, fetched: page.items.length, written: ops.length };
    },

    /** After a successful full sync: records of this kind the run did not see are gone at the provider. */
    async markMissingDeleted(input: {
      connectionId: string;
      kind: string;
      syncRunId: string;
    }): Promise<{ deleted: number }> {
      const { deletedByKind } = await markMissing(input.connectionId, [input.kind], input.syncRunId);
      return { deleted: deletedByKind[input.kind] ?? 0 };
    },

    /** The same for every kind of the sync at once: one read of the connection's records instead of one per kind. */
    async markMissingDeletedAll(input: {
      connectionId: string;
      kinds: string[];
      syncRunId: string;
    }): Promise<{ deletedByKind: Record<string, number> }> {
      return markMissing(input.connectionId, input.kinds, input.syncRunId);
    },

    /** Check every record's origin (of one account, or all): the records whose origin or content was edited. */
    async verifyRecordOrigins(input: {
      accountId?: string;
      limit?: number;
    }): Promise<{ checked: number; invalid: Array<{ recordId: string; reason: string }> }> {
      return verifyAllOrigins(db, vault, input);
    },
  };
}

/** Shared by the activity and `npm run origin:verify`. */
export async function verifyAllOrigins(
  db: Db,
  vault: SecretVault,
  input: { accountId?: string; limit?: number } = {},
): Promise<{ checked: number; invalid: Array<{ recordId: string; reason: string }> }> {
  const invalid: Array<{ recordId: string; reason: string }> = [];
  let checked = 0;
  for await (const doc of providerRecords(db).find(input.accountId ? { accountId: input.accountId } : {})) {
    checked++;
    const check = await verifyOrigin(vault, doc);
    if (!check.ok && invalid.length < (input.limit ?? 1000)) invalid.push({ recordId: doc._id, reason: check.reason });
  }
  return { checked, invalid };
}
