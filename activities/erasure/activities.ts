/**
 * Erasure activities (`erasure/<accountId>`): one per store, each idempotent and resumable. A step's outcome
 * is written into the `erasures` document when it is done, so a step run again after a worker crash or a
 * retry returns that mark instead of deleting, counting or calling a provider again. Identifiers a step
 * needs (the subject, the provider account ids) are read here from the documents that still exist — the
 * workflow orders the steps so they do — and never pass through workflow history.
 */
import { GridFSBucket, type Db } from 'mongodb';
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { msToNumber } from '@temporalio/common';
import { revokeEverythingOf } from '../../api/auth/embedded-oidc/mongo-adapter.js';
import { deleteSyncSchedule } from '../../api/processes/sync.js';
import { collections } from '../../domain/collections.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { failure, failureTypeOf } from '../../domain/failures.js';
import { workflowIds } from '../../domain/ids.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import { providerIds } from '../../domain/providers.js';
import { accountEmailOf, openAccountDocument } from '../accounts/personal-fields.js';
import { accountsCollection } from '../accounts/store.js';
import { auditForgetKeysOf, type AuditLog } from '../audit/audit-log.js';
import { noticesToAddressFilter } from '../notify/outbox-notifier.js';
import { ProviderError } from '../providers/oauth-client.js';
import { providerQuotas } from '../providers/data/quota.js';
import { revokeGrant } from '../providers/revocation.js';
import { ProviderNotConfigured, resolveProvider } from '../providers/resolve.js';
import { linkAttempts, linkUndoCollection, openProviderToken, providerTokens } from '../providers/stores.js';
import { syncLedger } from '../records/ledger.js';
import { providerRecords } from '../records/store.js';
import { agentsCollection, challengesCollection, factorsCollection, recoveriesCollection } from '../recovery/store.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import type { ErasureCertificate, ErasureInput, ErasureStep, ErasureStore } from '../../workflows/erasure/messages.js';
import { erasureStores } from '../../workflows/erasure/messages.js';
import { signCertificate } from './certificate.js';
import { retireSubjectAccount } from './subject-accounts.js';
import {
  erasureKeys,
  erasures,
  legalHoldInForce,
  legalHolds,
  openErasureRequest,
  type ErasureDocument,
} from './store.js';

export interface ErasureActivityDeps {
  db: Db;
  vault: SecretVault;
  accountKeys: AccountKeys;
  auditLog: AuditLog;
  /** Stops the account's processes and deletes its executions. */
  temporal: Client;
  providers: ProviderConfig;
  now?: () => Date;
}

/** What a step activity answers: held (nothing was done; wait for the hold's release), or its outcome. */
export type StepOutcome = { held: true } | { held: false; step: ErasureStep };

type StepWork = Omit<ErasureStep, 'store' | 'at'>;

/** How long the account's cancelled processes get to end their step under way before they are terminated. */
const defaultProcessWaitMs = 150_000;

/** What the subject's retired account id leaves behind (the step's and the certificate's words). */
const subjectAccountRetained = {
  what: "keyed hash of the subject → the next account's id",
  why: 'so a returning sign-in never gets the erased id; it names no data',
};

/** The account's identifiers the audit log's pseudonymisation replaces, sealed with the account's own key. */
const identifiersContext = 'erasure:identifiers';

export function createErasureActivities({
  db,
  vault,
  accountKeys,
  auditLog,
  temporal,
  providers,
  now = () => new Date(),
}: ErasureActivityDeps) {
  const accounts = accountsCollection(db);

  /** The document's address; none when its key is already gone (nothing sealed is left to find by it). */
  async function addressOrNone(account: AccountDocument): Promise<string | undefined> {
    try {
      return await accountEmailOf(accountKeys, account);
    } catch (err) {
      if (failureTypeOf(err) === 'AccountKeyDestroyed') return undefined;
      throw err;
    }
  }

  async function record(accountId: string): Promise<ErasureDocument> {
    const doc = await erasures(db).findOne({ _id: accountId });
    if (!doc) throw failure('NotConfigured', `no erasure record for account ${accountId}`);
    return doc;
  }

  /**
   * Run one step once: a step already marked done answers its mark; a legal hold in force answers `held`
   * before anything is touched; otherwise the work runs and its outcome is marked done.
   */
  async function step(accountId: string, store: ErasureStore, work: (doc: ErasureDocument) => Promise<StepWork>) {
    const doc = await record(accountId);
    const done = doc.done?.[store];
    if (done) return { held: false, step: done } satisfies StepOutcome;
    if (await legalHoldInForce(db, accountId)) return { held: true } satisfies StepOutcome;
    const outcome: ErasureStep = { store, ...(await work(doc)), at: now().toISOString() };
    // Only the first mark counts: a run that raced this one keeps its own.
    await erasures(db).updateOne({ _id: accountId, [`done.${store}`]: { $exists: false } }, {
      $set: { [`done.${store}`]: outcome },
    } as never);
    return { held: false, step: (await record(accountId)).done?.[store] ?? outcome } satisfies StepOutcome;
  }

  /**
   * How many things a step deletes, counted once before it deletes any: a step resumed half-way reports
   * what was there, not what it found left.
   */
  async function planned(accountId: string, store: ErasureStore, count: () => Promise<number>): Promise<number> {
    const before = (await record(accountId)).planned?.[store];
    if (before !== undefined) return before;
    const value = await count();
    await erasures(db).updateOne({ _id: accountId, [`planned.${store}`]: { $exists: false } }, {
      $set: { [`planned.${store}`]: value },
    } as never);
    return (await record(accountId)).planned?.[store] ?? value;
  }

  /** Executions of the account other than this erasure and its purge, which must outlive the rest. */
  async function otherExecutions(accountId: string, running: boolean) {
    const own = new Set([workflowIds.erasure(accountId), workflowIds.erasurePurge(accountId)]);
    const query = `CraAccountId = '${accountId}'${running ? ` AND ExecutionStatus = 'Running'` : ''}`;
    const found: Array<{ workflowId: string; runId: string; running: boolean }> = [];
    for await (const run of temporal.workflow.list({ query }))
      if (!own.has(run.workflowId))
        found.push({ workflowId: run.workflowId, runId: run.runId, running: run.status.name === 'RUNNING' });
    return found;
  }

  /** What `prepareErasure` sealed: the subject and every identifier (nothing once the key is destroyed). */
  async function identifiersOf(
    accountId: string,
    doc: ErasureDocument,
  ): Promise<{ subject?: string | undefined; identifiers: string[] }> {
    if (!doc.sealedIdentifiers) return { identifiers: [] };
    return JSON.parse(await accountKeys.open(accountId, identifiersContext, doc.sealedIdentifiers)) as {
      subject: string;
      identifiers: string[];
    };
  }

  async function terminate(workflowId: string, runId: string): Promise<boolean> {
    try {
      await temporal.workflow.getHandle(workflowId, runId).terminate('the account is being erased');
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  return {
    /** The erasure's record (opened by the API at request time, or here): the grace window's end and the status to restore. */
    async openErasure(input: {
      accountId: string;
      requestedAt: string;
      graceEndsAt: string;
    }): Promise<{ opened: true }> {
      await openErasureRequest(db, { ...input, workflowId: workflowIds.erasure(input.accountId) }, now);
      return { opened: true };
    },

    /** Whether a legal hold is in force: the erasure waits while one is. */
    async checkLegalHold(input: { accountId: string }): Promise<{ held: boolean }> {
      return { held: await legalHoldInForce(db, input.accountId) };
    },

    /** The stage the support console and `GET /v1/me/erasure` read from the erasure's record. */
    async recordErasureStage(input: { accountId: string; stage: ErasureDocument['stage'] }): Promise<void> {
      await erasures(db).updateOne({ _id: input.accountId }, { $set: { stage: input.stage } });
    },

    /**
     * Cancelled inside the grace window: the account gets back the status it had before the request, the
     * record says cancelled, and the audit log says who cancelled. Idempotent (the audit event by its id).
     */
    async cancelErasure(input: {
      accountId: string;
      by: 'user' | 'link' | 'support';
      eventId: string;
      actorId: string;
    }): Promise<{ restoredStatus: string }> {
      const doc = await record(input.accountId);
      const restored = doc.previousStatus ?? 'active';
      await accounts.updateOne(
        { _id: input.accountId, status: 'pending_deletion' },
        { $set: { status: restored, updatedAt: now().toISOString() }, $inc: { revision: 1 } },
      );
      if (doc.stage !== 'cancelled')
        await erasures(db).updateOne(
          { _id: input.accountId },
          { $set: { stage: 'cancelled', cancelledAt: now().toISOString() } },
        );
      await auditLog.append({
        eventId: input.eventId,
        action: 'erasure.cancelled',
        actor: { type: input.by === 'support' ? 'support' : 'user', id: input.actorId },
        accountId: input.accountId,
        workflowId: workflowIds.erasure(input.accountId),
        details: { by: input.by, restoredStatus: restored },
      });
      return { restoredStatus: restored };
    },

    /**
     * Erasing begins: the keyed hash of the subject (what the tombstone keeps) and the person's identifiers
     * (for the audit log's pseudonymisation, sealed with the account's key, which is destroyed after it).
     */
    async prepareErasure(input: { accountId: string }): Promise<{ prepared: boolean }> {
      const doc = await record(input.accountId);
      if (doc.subjectHash && doc.sealedIdentifiers) return { prepared: true };
      const stored = await accounts.findOne({ _id: input.accountId });
      if (!stored) return { prepared: false };
      // The key is destroyed only after this step, so the sealed personal fields still open here.
      const account = await openAccountDocument(accountKeys, stored);
      const tokens = await providerTokens(db)
        .find({ accountId: input.accountId }, { projection: { providerAccountId: 1 } })
        .toArray();
      const identifiers = [
        account.rootIdentity.subject,
        account.rootIdentity.email,
        account.profile.givenName,
        account.profile.familyName,
        ...account.connected_providers.nodes.flatMap((n) => [n.providerAccountId, n.email, n.displayName]),
        ...tokens.map((t) => t.providerAccountId),
      ].filter((v): v is string => typeof v === 'string' && v.length > 0);
      await erasures(db).updateOne(
        { _id: input.accountId },
        {
          $set: {
            stage: 'erasing',
            subjectHash: doc.subjectHash ?? (await vault.hmac(erasureKeys.subjects, account.rootIdentity.subject)),
            sealedIdentifiers: await accountKeys.seal(
              input.accountId,
              identifiersContext,
              JSON.stringify({ subject: account.rootIdentity.subject, identifiers: [...new Set(identifiers)] }),
            ),
          },
        },
      );
      return { prepared: true };
    },

    /**
     * Stop every process of the account: delete the sync schedules, cancel every run still going (syncs, the
     * token custodians, links, disconnects, recoveries — each ends its step under way and audits its cancel),
     * wait for them to close, and terminate what is still running after `waitMs`. This erasure is kept.
     */
    async stopAccountProcesses(input: { accountId: string; waitMs?: number }): Promise<StepOutcome> {
      return step(input.accountId, 'processes', async () => {
        let schedules = 0;
        for (const provider of providerIds)
          if (await deleteSyncSchedule({ temporal }, { accountId: input.accountId, provider })) schedules++;
        const running = await otherExecutions(input.accountId, true);
        const count = await planned(input.accountId, 'processes', async () => schedules + running.length);
        for (const run of running)
          await temporal.workflow
            .getHandle(run.workflowId, run.runId)
            .cancel()
            .catch((err: unknown) => {
              if (!(err instanceof WorkflowNotFoundError)) throw err;
            });
        const deadline = Date.now() + (input.waitMs ?? defaultProcessWaitMs);
        for (const run of running) {
          for (;;) {
            let status: string;
            try {
              status = (await temporal.workflow.getHandle(run.workflowId, run.runId).describe()).status.name;
            } catch (err) {
              if (err instanceof WorkflowNotFoundError) break;
              throw err;
            }
            if (status !== 'RUNNING') break;
            if (Date.now() >= deadline) {
              await terminate(run.workflowId, run.runId);
              break;
            }
            Context.current().heartbeat();
            await Context.current().sleep(250);
          }
        }
        return {
          deleted: count,
          detail: `the account's sync schedules deleted and its running processes stopped (${count} in all)`,
        };
      });
    },

    /**
     * Revoke every provider grant at its provider, each provider's own way. Each connection is marked as it is revoked,
     * before the next, so a resumed step never revokes one twice. A provider that refuses for good (an
     * already invalid grant) or has no revocation endpoint is marked too: the tokens are deleted next anyway.
     */
    async revokeProviderGrants(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'provider_grants', async (doc) => {
        const seen = new Map((doc.revocations ?? []).map((r) => [r.connectionId, r.atProvider]));
        const docs = await providerTokens(db).find({ accountId: input.accountId }).toArray();
        for (const token of docs) {
          if (seen.has(token._id)) continue;
          let atProvider = false;
          try {
            const resolved = await resolveProvider(token.provider, providers, vault);
            const accessToken = await openProviderToken(
              accountKeys,
              vault,
              token,
              'access',
              token.accessTokenCiphertext,
            );
            const refreshToken = token.refreshTokenCiphertext
              ? await openProviderToken(accountKeys, vault, token, 'refresh', token.refreshTokenCiphertext)
              : undefined;
            const override = providers.endpointOverrides[token.provider]?.revocation;
            // Each provider's own way (revocation.ts): GitHub's grant, Facebook's permissions, RFC 7009, …
            atProvider = await revokeGrant(
              { provider: token.provider, ...resolved },
              { accessToken, ...(refreshToken ? { refreshToken } : {}) },
              {
                ...(override ? { override } : {}),
                ...(providers.sandboxUrl ? { sandboxUrl: providers.sandboxUrl } : {}),
              },
            );
          } catch (err) {
            if (
              err instanceof ProviderError &&
              (err.type === 'ProviderRateLimited' || err.type === 'ProviderUnavailable')
            )
              throw failure(err.type, err.message, {
                ...(err.type === 'ProviderRateLimited' ? { nextRetryDelay: err.retryAfterMs ?? 1000 } : {}),
              });
            if (!(err instanceof ProviderError || err instanceof ProviderNotConfigured)) throw err;
          }
          await erasures(db).updateOne(
            { _id: input.accountId, 'revocations.connectionId': { $ne: token._id } },
            { $push: { revocations: { connectionId: token._id, atProvider } } },
          );
          seen.set(token._id, atProvider);
        }
        const revoked = [...seen.values()].filter(Boolean).length;
        return {
          deleted: revoked,
          detail: `${revoked} of ${seen.size} provider grant(s) revoked at the provider`,
        };
      });
    },

    async deleteProviderTokens(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'tokens', async () => {
        const count = await planned(input.accountId, 'tokens', () =>
          providerTokens(db).countDocuments({ accountId: input.accountId }),
        );
        await providerTokens(db).deleteMany({ accountId: input.accountId });
        return { deleted: count, detail: `${count} connection token set(s) deleted` };
      });
    },

    async deleteProviderRecords(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'provider_records', async () => {
        const count = await planned(input.accountId, 'provider_records', () =>
          providerRecords(db).countDocuments({ accountId: input.accountId }),
        );
        await providerRecords(db).deleteMany({ accountId: input.accountId });
        // What the providers said of the account's quotas goes with its data (counts only, but keyed by the account).
        await providerQuotas(db).deleteMany({ accountId: input.accountId });
        // The sync ledger: which records each page held, by provider id, and their content hashes.
        await syncLedger(db).deleteMany({ accountId: input.accountId });
        return { deleted: count, detail: `${count} imported provider record(s) deleted` };
      });
    },

    /** Recovery factors and enrolments, and the account's recovery requests with their challenges. */
    async deleteRecoveryData(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'recovery_factors', async () => {
        const enrolments = db.collection(collections.recoveryEnrolments);
        const count = await planned(input.accountId, 'recovery_factors', async () => {
          return (
            (await factorsCollection(db).countDocuments({ accountId: input.accountId })) +
            (await enrolments.countDocuments({ accountId: input.accountId }))
          );
        });
        const recoveries = await recoveriesCollection(db)
          .find({ accountId: input.accountId }, { projection: { _id: 1 } })
          .toArray();
        const recoveryIds = recoveries.map((r) => r._id);
        if (recoveryIds.length > 0) await challengesCollection(db).deleteMany({ recoveryId: { $in: recoveryIds } });
        await recoveriesCollection(db).deleteMany({ accountId: input.accountId });
        await enrolments.deleteMany({ accountId: input.accountId });
        await factorsCollection(db).deleteMany({ accountId: input.accountId });
        return {
          deleted: count,
          detail: `${count} recovery factor(s) and enrolment(s) deleted, with the account's recovery requests and their challenges`,
        };
      });
    },

    async deleteAgents(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'agents', async () => {
        const count = await planned(input.accountId, 'agents', () =>
          agentsCollection(db).countDocuments({ accountId: input.accountId }),
        );
        const agents = await agentsCollection(db)
          .find({ accountId: input.accountId }, { projection: { _id: 1 } })
          .toArray();
        const agentIds = agents.map((a) => a._id);
        if (agentIds.length > 0)
          await db.collection(collections.agentSignatureReplays).deleteMany({ agentId: { $in: agentIds } });
        await agentsCollection(db).deleteMany({ accountId: input.accountId });
        return { deleted: count, detail: `${count} AI agent key(s) deleted, with their remembered signatures` };
      });
    },

    /** Export requests and their archives (GridFS files carry the account id in their metadata). */
    async deleteExports(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'exports', async () => {
        const bucket = new GridFSBucket(db, { bucketName: collections.exportArchives });
        const files = db.collection(`${collections.exportArchives}.files`);
        const exportsCount = await planned(input.accountId, 'exports', async () => {
          return db.collection(collections.dataExports).countDocuments({ accountId: input.accountId });
        });
        for (const file of await files
          .find({ 'metadata.accountId': input.accountId }, { projection: { _id: 1 } })
          .toArray())
          await bucket.delete(file._id).catch((err: unknown) => {
            // Gone already (a retried step): GridFS says it found no file.
            if (!(err instanceof Error && /not found/i.test(err.message))) throw err;
          });
        await db.collection(collections.dataExports).deleteMany({ accountId: input.accountId });
        return { deleted: exportsCount, detail: `${exportsCount} export(s) deleted, with their archives` };
      });
    },

    /** The embedded issuer's grants and sessions, and the browser sessions, of the account's subject. */
    async deleteSessions(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'sessions', async () => {
        const account = await accounts.findOne({ _id: input.accountId }, { projection: { rootIdentity: 1 } });
        const subject = account?.rootIdentity.subject;
        const count = await planned(input.accountId, 'sessions', async () =>
          db.collection(collections.browserSessions).countDocuments({ accountId: input.accountId }),
        );
        await db.collection(collections.browserSessions).deleteMany({ accountId: input.accountId });
        if (subject) {
          await db.collection(collections.browserSessions).deleteMany({ subject });
          await revokeEverythingOf(db, subject);
        }
        return { deleted: count, detail: `${count} browser session(s) ended and deleted, with the issuer's grants` };
      });
    },

    /**
     * The account document, its notices in the outbox, its link attempts and undo links. Notices are found
     * by the account id and, for older ones, by the address.
     */
    async deleteAccountDocument(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'account_document', async () => {
        const account = await accounts.findOne({ _id: input.accountId });
        const count = await planned(input.accountId, 'account_document', async () => (account ? 1 : 0));
        const email = account ? await addressOrNone(account) : undefined;
        // By the account id, and by the address's blind index (and the clear address of notices from before sealing).
        const byAddress = email ? (await noticesToAddressFilter(vault, email)).$or : [];
        await db.collection(collections.outbox).deleteMany({ $or: [{ accountId: input.accountId }, ...byAddress] });
        // The SMTP notifier's delivery log names no content, but its entries are still the account's.
        await db
          .collection(collections.noticeDeliveries)
          .deleteMany({ $or: [{ accountId: input.accountId }, ...byAddress.slice(0, 1)] });
        await linkAttempts(db).deleteMany({ accountId: input.accountId });
        await db.collection(linkUndoCollection).deleteMany({ accountId: input.accountId });
        await accounts.deleteOne({ _id: input.accountId });
        return {
          deleted: count,
          detail:
            'the account-center document (profile, roles, connections, consents) deleted, with its notices and link attempts',
        };
      });
    },

    /**
     * Every other execution of the account in Temporal (found by `CraAccountId`): running ones are terminated
     * first, then each is deleted. This erasure and its purge are kept: their histories hold ids only.
     */
    async deleteAccountExecutions(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'temporal_executions', async () => {
        const found = await otherExecutions(input.accountId, false);
        const count = await planned(input.accountId, 'temporal_executions', async () => found.length);
        for (const run of found) {
          if (run.running) await terminate(run.workflowId, run.runId);
          try {
            await temporal.workflowService.deleteWorkflowExecution({
              namespace: temporal.options.namespace,
              workflowExecution: { workflowId: run.workflowId, runId: run.runId },
            });
          } catch (err) {
            // Deleted already (visibility lags behind a deletion, so a resumed step may list it again).
            if ((err as { code?: number }).code !== 5) throw err;
          }
        }
        return {
          deleted: count,
          detail: `${count} workflow execution(s) of the account deleted from Temporal (running ones terminated first)`,
          retained: {
            what: "this erasure's own execution and its tombstone purge",
            why: 'they hold only the account id, dates, counts and keyed hashes, and prove the erasure ran',
          },
        };
      });
    },

    /**
     * Replace the person's identifiers in the audit log with keyed hashes (the chain is re-hashed by the
     * audit log so it still verifies); the identifiers come from the sealed list `prepareErasure` kept.
     */
    async pseudonymiseAudit(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'audit', async (doc) => {
        const { subject, identifiers } = await identifiersOf(input.accountId, doc);
        // Events found is the same on every call; the forgotten counts are 0 when a resumed step calls again.
        const { events } = await auditLog.forgetAccount(input.accountId, auditForgetKeysOf(vault), {
          ...(subject ? { subjects: [subject] } : {}),
          identifiers,
        });
        return {
          deleted: events,
          detail: `${events} audit event(s) of the account: personal data replaced by keyed hashes`,
          retained: {
            what: "the account's audit events with keyed hashes in place of personal data",
            why: 'the audit chain must still verify; the hashes name nobody without the key',
          },
        };
      });
    },

    /**
     * Retire the account id as the subject's: its next sign-in gets a fresh random id, a new and empty account
     * (`subject-accounts.ts`), whatever the directory does with the subject. Run after the account document is
     * gone, so that until then the person still finds the erasure under the old id, and before the key is
     * destroyed, since the subject is read from the identifiers sealed with it.
     */
    async retireSubjectAccount(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'subject_account', async (doc) => {
        const { subject } = await identifiersOf(input.accountId, doc);
        const { retired } = subject
          ? await retireSubjectAccount(db, vault, { subject, erasedAccountId: input.accountId }, now)
          : { retired: false };
        return {
          deleted: retired ? 1 : 0,
          detail: retired
            ? "the account id retired as the subject's: signing in again creates a new, empty account"
            : 'no subject led to this account id (the account document was never made)',
          ...(retired ? { retained: subjectAccountRetained } : {}),
        };
      });
    },

    /** Crypto-shred: destroy the account's data key, so any copy of what it sealed is unreadable. */
    async destroyAccountKey(input: { accountId: string }): Promise<StepOutcome> {
      return step(input.accountId, 'keys', async () => {
        const { existed } = await accountKeys.destroy(input.accountId, now());
        const count = await planned(input.accountId, 'keys', async () => (existed ? 1 : 0));
        await erasures(db).updateOne({ _id: input.accountId }, { $unset: { sealedIdentifiers: '' } });
        return {
          deleted: count,
          detail:
            "the account's data key destroyed: every copy of what it sealed (tokens, records, backups) is unreadable",
          retained: {
            what: 'a marker that the key was destroyed',
            why: 'so nothing creates a new key for the erased account',
          },
        };
      });
    },

    /**
     * The certificate: every step in the certificate's order, signed with the SecretVault (HMAC over its
     * canonical JSON), written into the tombstone. Made once; a retry answers the same certificate.
     */
    async sealCertificate(input: Pick<ErasureInput, 'accountId' | 'requestedAt' | 'tombstoneRetention'>): Promise<{
      certificate: ErasureCertificate;
    }> {
      const doc = await record(input.accountId);
      if (doc.certificate) return { certificate: doc.certificate };
      const erasedAt = now();
      const purgeAt = new Date(erasedAt.getTime() + msToNumber(input.tombstoneRetention)).toISOString();
      const steps = erasureStores.flatMap((store) => (doc.done?.[store] ? [doc.done[store]] : []));
      const unsigned: Omit<ErasureCertificate, 'signature'> = {
        format: 'cra-erasure-certificate/1',
        accountId: input.accountId,
        subjectHash: doc.subjectHash ?? '',
        requestedAt: input.requestedAt,
        erasedAt: erasedAt.toISOString(),
        steps,
        retained: [
          {
            what: 'the tombstone: account id, keyed hash of the subject, dates and this certificate',
            why: 'to answer for the erasure (and refuse a restore of the old account) during the retention period',
            until: purgeAt,
          },
          {
            what: "the audit chain's events of the account, personal data replaced by keyed hashes",
            why: 'the chain of every account must still verify',
          },
          ...(doc.done?.subject_account?.deleted ? [subjectAccountRetained] : []),
        ],
        purgeAt,
      };
      const certificate = await signCertificate(vault, unsigned);
      await erasures(db).updateOne(
        { _id: input.accountId, certificate: { $exists: false } },
        {
          $set: {
            stage: 'erased',
            erasedAt: certificate.erasedAt,
            purgeAt,
            certificate,
          },
          $unset: { planned: '', revocations: '' },
        },
      );
      return { certificate: (await record(input.accountId)).certificate ?? certificate };
    },

    /** The tombstone's retention is over: the erasure's record and the legal hold history go. */
    async purgeTombstone(input: { accountId: string }): Promise<{ purged: boolean }> {
      const removed = await erasures(db).deleteOne({ _id: input.accountId, stage: 'erased' });
      await legalHolds(db).deleteOne({ _id: input.accountId });
      return { purged: removed.deletedCount === 1 };
    },
  };
}
