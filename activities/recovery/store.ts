/**
 * The recovery collections: requests, issued challenges, enrolled factors (and those being enrolled),
 * agent keys and seen agent signatures. No TTL indexes (FerretDB): expired entries are ignored by their readers and pruned by them.
 */
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type {
  AgentDocument,
  RecoveryChallengeDocument,
  RecoveryDocument,
  RecoveryFactorDocument,
  SignatureReplayDocument,
} from '../../domain/recovery.js';

export const recoveriesCollection = (db: Db): Collection<RecoveryDocument> =>
  db.collection<RecoveryDocument>(collections.recoveries);
export const challengesCollection = (db: Db): Collection<RecoveryChallengeDocument> =>
  db.collection<RecoveryChallengeDocument>(collections.recoveryChallenges);
export const factorsCollection = (db: Db): Collection<RecoveryFactorDocument> =>
  db.collection<RecoveryFactorDocument>(collections.recoveryFactors);
export const agentsCollection = (db: Db): Collection<AgentDocument> => db.collection<AgentDocument>(collections.agents);
export const signatureReplaysCollection = (db: Db): Collection<SignatureReplayDocument> =>
  db.collection<SignatureReplayDocument>(collections.agentSignatureReplays);

/** Indexes the recovery process relies on; idempotent, run by the worker at start. */
export async function ensureRecoveryIndexes(db: Db): Promise<void> {
  await Promise.all([
    recoveriesCollection(db).createIndex({ accountId: 1, createdAt: -1 }, { name: 'account_created' }),
    recoveriesCollection(db).createIndex({ network: 1, createdAt: -1 }, { name: 'network_created' }),
    challengesCollection(db).createIndex({ recoveryId: 1, factor: 1 }, { name: 'recovery_factor' }),
    // The OAuth callback finds a provider_reauth challenge by the hash of its state.
    challengesCollection(db).createIndex({ stateHash: 1 }, { name: 'state_hash' }),
    db.collection(collections.recoveryEnrolments).createIndex({ accountId: 1, kind: 1 }, { name: 'account_kind' }),
    factorsCollection(db).createIndex({ accountId: 1, kind: 1 }, { name: 'account_kind' }),
    agentsCollection(db).createIndex({ accountId: 1 }, { name: 'account' }),
    signatureReplaysCollection(db).createIndex({ expiresAt: 1 }, { name: 'expires_at' }),
  ]);
}
