/**
 * The erasure's own records: the `erasures` collection (one document per account: the request while it runs,
 * then the tombstone) and `legal_holds` (one document per account with its hold history). Neither holds
 * personal data in clear: the subject is kept only as a keyed hash once the erasure is done.
 */
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { accountStatuses } from '../../domain/account-center.js';
import type { ErasureCertificate, ErasureStage, ErasureStep, ErasureStore } from '../../workflows/erasure/messages.js';

type AccountStatus = (typeof accountStatuses)[number];

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
  /** The account's status before the request set `pending_deletion`: a cancelled erasure puts it back. */
  previousStatus?: AccountStatus;
  /**
   * Each step's outcome, written when the step is done: a step run again after a crash (or a retry) finds
   * its mark and returns it without touching a store or an external system a second time.
   */
  done?: Partial<Record<ErasureStore, ErasureStep>>;
  /** Connections whose grant was revoked at the provider already (marked one by one, before the next). */
  revocations?: Array<{ connectionId: string; atProvider: boolean }>;
  /** What each step found to delete, counted once before it deleted anything (so a resumed step counts right). */
  planned?: Partial<Record<ErasureStore, number>>;
  /**
   * The person's identifiers, for the audit log's pseudonymisation after their documents are gone: sealed
   * with the account's data key, and dropped when that key is destroyed.
   */
  sealedIdentifiers?: string;
}

/** SecretVault keys of the erasure: the subject's keyed hash, the audit log's pseudonyms, the certificate's signature. */
export const erasureKeys = {
  subjects: 'erasure-subject',
  audit: 'erasure-audit',
  certificates: 'erasure-certificate',
} as const;

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

/**
 * Open the erasure's record when the request arrives, or return the one already open (a second request joins
 * the first): the account's status is set to `pending_deletion`, and the status it had is kept so a cancel
 * inside the grace window can put it back. The API may call this at request time; the workflow calls it at
 * its start, which changes nothing when the API already did. A record left by a cancelled erasure is replaced.
 */
export async function openErasureRequest(
  db: Db,
  input: { accountId: string; workflowId: string; requestedAt: string; graceEndsAt: string },
  now: () => Date = () => new Date(),
): Promise<ErasureDocument> {
  const accounts = db.collection<{ _id: string; status: AccountStatus; revision: number; updatedAt: string }>(
    collections.accounts,
  );
  const existing = await erasures(db).findOne({ _id: input.accountId });
  if (!existing || existing.stage === 'cancelled') {
    const account = await accounts.findOne({ _id: input.accountId }, { projection: { status: 1 } });
    const previous = account && account.status !== 'pending_deletion' ? account.status : undefined;
    const fresh: ErasureDocument = {
      _id: input.accountId,
      workflowId: input.workflowId,
      stage: 'grace',
      requestedAt: input.requestedAt,
      graceEndsAt: input.graceEndsAt,
      ...(previous ? { previousStatus: previous } : {}),
    };
    // Replaced only while it is still the cancelled one; inserted only once: two openers race to one record.
    const write = existing
      ? erasures(db).replaceOne({ _id: input.accountId, stage: 'cancelled' }, fresh)
      : erasures(db).insertOne(fresh);
    await write.catch((err: unknown) => {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    });
  }
  const doc = (await erasures(db).findOne({ _id: input.accountId }))!;
  if (doc.stage === 'grace' || doc.stage === 'on_hold')
    await accounts.updateOne(
      { _id: input.accountId, status: { $ne: 'pending_deletion' } },
      { $set: { status: 'pending_deletion', updatedAt: now().toISOString() }, $inc: { revision: 1 } },
    );
  return doc;
}
