/**
 * Sync activities: import one page of a provider's data as idempotent upserts keyed by (account,
 * provider, kind, external id), each record with a signed origin; mark records gone at the provider after
 * a full sync; verify origins on demand. The access token comes from the connection's token custodian,
 * never from refreshing here. Record content is stored sealed with the account's data key; the content
 * hash and the origin MAC are over the clear content, so an origin verifies whichever way it is stored.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { AnyBulkWriteOperation, Db } from 'mongodb';
import type { ConsentPurpose } from '../../domain/consents.js';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import type { ProviderId } from '../../domain/providers.js';
import { recordIdFor, type ProviderRecordDocument, type RecordOrigin } from '../../domain/records.js';
import { freshTokenUpdate } from '../../workflows/tokens/messages.js';
import { consentStopping } from '../accounts/consents.js';
import { heartbeatWhile } from '../heartbeat.js';
import { dataReaderFor } from '../providers/data/index.js';
import { ProviderQuota } from '../providers/data/quota.js';
import { readPage } from '../providers/data/read-page.js';
import { DataError } from '../providers/data/reader.js';
import { resolveProvider } from '../providers/resolve.js';
import { openProviderToken, providerTokens } from '../providers/stores.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import {
  checkRecordOrigin,
  contentHash,
  providerRecords,
  sealRecordData,
  signOrigin,
  type SealedRecordDocument,
} from './store.js';
import { failure } from '../../domain/failures.js';

export interface RecordActivityDeps {
  db: Db;
  vault: SecretVault;
  /** Seals record content and opens tokens with the account's data key. */
  accountKeys: AccountKeys;
  /** The configured consent purposes: a withdrawn one that lists `provider_sync` stops the sync. */
  consentPurposes: readonly ConsentPurpose[];
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

/** The context a sync's next-page URL is sealed under in the workflow's checkpoint. */
export const syncCursorContext = 'history:sync-cursor';

export function createRecordActivities({
  db,
  vault,
  accountKeys,
  consentPurposes,
  providers,
  temporal,
  now = () => new Date(),
}: RecordActivityDeps) {
  const records = providerRecords(db);
  const tokens = providerTokens(db);

  /** A token valid for the next minute, through the connection's custodian. */
  async function accessTokenFor(
    accountId: string,
    provider: ProviderId,
    connectionId: string,
    minValiditySeconds = 60,
  ): Promise<{ accessToken: string; providerAccountId: string }> {
    let version: number;
    try {
      // Raced against the activity's cancellation: an update to a custodian whose worker is stopping
      // would otherwise hold this activity, and so the worker's shutdown, for ever.
      ({ tokenVersion: version } = await Promise.race([
        temporal.workflow
          .getHandle(workflowIds.tokens(accountId, provider))
          .executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds }] }),
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
      accessToken: await openProviderToken(accountKeys, vault, doc, 'access', doc.accessTokenCiphertext),
      providerAccountId: doc.providerAccountId,
    };
  }

  /**
   * The next page's URL from a checkpoint. A cursor from before the providers' own APIs (not sealed: the
   * sandbox's generic data API) starts the kind again from its first page, which converges on the same records.
   */
  async function openCursor(accountId: string, cursor: string | null): Promise<string | null> {
    if (cursor === null || !cursor.startsWith('acct:')) return null;
    return accountKeys.open(accountId, syncCursorContext, cursor);
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
      // Checked on every page, so a withdrawal stops a sync under way before it fetches anything more.
      const withdrawn = await consentStopping(db, input.accountId, 'provider_sync', consentPurposes);
      if (withdrawn)
        throw failure(
          'ConsentWithdrawn',
          `the person withdrew consent "${withdrawn}", which provider sync needs: nothing more is imported`,
        );
      const resolved = await resolveProvider(input.provider, providers, vault).catch((err: Error) => {
        throw failure('SyncRejected', err.message);
      });
      const reader = dataReaderFor(input.provider);
      const apis = resolved.endpoints.dataApis;
      if (!reader || !apis || !reader.kinds[input.kind]) {
        throw failure('SyncNotSupported', `${input.provider} has no ${input.kind} data CRA can import`);
      }
      const context = Context.current();
      // Heartbeats carry a cancellation of the run back to the page, which then stops where it is.
      const { accessToken, providerAccountId } = await heartbeatWhile(
        accessTokenFor(input.accountId, input.provider, input.connectionId),
      );
      const quota = new ProviderQuota(db, input.accountId, input.provider, {
        ...(reader.minIntervalMs ? { minIntervalMs: reader.minIntervalMs } : {}),
        wait: (ms) => heartbeatWhile(context.sleep(ms)),
      });
      const next = await openCursor(input.accountId, input.cursor);
      const read = (token: string) =>
        heartbeatWhile(
          Promise.race([
            readPage({
              reader,
              kind: input.kind,
              apis,
              accessToken: token,
              providerAccountId,
              next,
              pageSize: input.pageSize,
              quota,
              signal: context.cancellationSignal,
            }),
            context.cancelled,
          ]),
        );
      let page;
      try {
        try {
          page = await read(accessToken);
        } catch (err) {
          if (!(err instanceof DataError && err.type === 'DataUnauthorized')) throw err;
          // Refused although it had not expired: revoked at the provider, or rotated. The custodian refreshes
          // now; a grant the person revoked fails that refresh, and the connection becomes `reauth_required`.
          const renewed = await heartbeatWhile(
            accessTokenFor(input.accountId, input.provider, input.connectionId, 86_400),
          );
          page = await read(renewed.accessToken);
        }
      } catch (err) {
        throw toFailure(err);
      }
      context.heartbeat();
      const fetchedAt = now().toISOString();
      // One unwrap per page at most (the key is cached): sealing is then in-process AES-GCM per record.
      const key = await accountKeys.keyFor(input.accountId);
      // Whole-document upserts keyed by _id: a replayed or retried page converges on the same documents
      // (and a record stored in clear before per-account keys is replaced by its sealed form).
      const ops: AnyBulkWriteOperation<ProviderRecordDocument>[] = [];
      for (const { externalId, data } of page.items) {
        const _id = recordIdFor(input.accountId, input.provider, input.kind, externalId);
        const origin: RecordOrigin = {
          provider: input.provider,
          providerAccountId,
          connectionId: input.connectionId,
          syncRunId: input.syncRunId,
          fetchedAt,
          sourceUrl: page.sourceUrl,
          contentHash: contentHash(data),
        };
        const replacement: Omit<SealedRecordDocument, '_id'> = {
          accountId: input.accountId,
          provider: input.provider,
          kind: input.kind,
          externalId,
          connectionId: input.connectionId,
          sealedData: sealRecordData(key, _id, data),
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
      // The next page's URL may name the person (Reddit's /user/<name>/submitted): it goes into history sealed.
      const nextCursor =
        page.next === null ? null : await accountKeys.seal(input.accountId, syncCursorContext, page.next);
      return { nextCursor, fetched: page.items.length, written: ops.length };
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
    async verifyRecordOrigins(input: { accountId?: string; limit?: number }): Promise<OriginsReport> {
      return verifyAllOrigins(db, vault, accountKeys, input);
    },
  };
}

export interface OriginsReport {
  checked: number;
  /** Records whose content or origin was edited (at most `limit`): never to be acted on. */
  invalid: Array<{ recordId: string; reason: string }>;
  /** Records of erased accounts (their key destroyed): unreadable by design, not forgeries. */
  erased: number;
}

/** Shared by the activity and `npm run origin:verify`. */
export async function verifyAllOrigins(
  db: Db,
  vault: SecretVault,
  keys: AccountKeys,
  input: { accountId?: string; limit?: number } = {},
): Promise<OriginsReport> {
  const invalid: Array<{ recordId: string; reason: string }> = [];
  let checked = 0;
  let erased = 0;
  for await (const doc of providerRecords(db).find(input.accountId ? { accountId: input.accountId } : {})) {
    checked++;
    const check = await checkRecordOrigin(keys, vault, doc);
    if (check.ok) continue;
    if (check.reason === 'account_key_destroyed') erased++;
    else if (invalid.length < (input.limit ?? 1000)) invalid.push({ recordId: doc._id, reason: check.reason });
  }
  return { checked, invalid, erased };
}
