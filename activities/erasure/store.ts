/**
 * The erasure's own records: the `erasures` collection (one document per account: the request while it runs,
 * then the tombstone) and `legal_holds` (one document per account with its hold history). Neither holds
 * personal data in clear: the subject is kept only as a keyed hash once the erasure is done.
 */
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { ErasureCertificate, ErasureStage } from '../../workflows/erasure/messages.js';

export interface LegalHoldEvent {
  action: 'placed' | 'released';
  /** Why, in support's words (stays in the database, never in workflow history). */
  reason: string;
  /** The support agent's account id. */
  by: string;
  at: string;
}

export interface LegalHoldDocument {
  _id: string; // account id
  active: boolean;
  history: LegalHoldEvent[];
  updatedAt: string;
}

export interface ErasureDocument {
  _id: string; // account id
  workflowId: string;
  stage: ErasureStage;
  requestedAt: string;
  graceEndsAt: string;
  /** Keyed hash of the subject (SecretVault HMAC): lets support find the tombstone of a subject, names nobody. */
  subjectHash?: string;
  erasedAt?: string;
  cancelledAt?: string;
  certificate?: ErasureCertificate;
  /** When the tombstone is purged (`DELETED_ACCOUNT_RETENTION` after `erasedAt`). */
  purgeAt?: string;
}

export function erasures(db: Db): Collection<ErasureDocument> {
  return db.collection<ErasureDocument>(collections.erasures);
}

export function legalHolds(db: Db): Collection<LegalHoldDocument> {
  return db.collection<LegalHoldDocument>(collections.legalHolds);
}

/** Whether a legal hold is in force on the account. */
export async function legalHoldInForce(db: Db, accountId: string): Promise<boolean> {
  return (await legalHolds(db).findOne({ _id: accountId }, { projection: { active: 1 } }))?.active === true;
}
