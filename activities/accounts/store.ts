/**
 * The `accounts` collection: one account-center document per person, `_id` = account id.
 * Writes are conditional on `revision` so two writers never overwrite each other's changes.
 */
import type { Collection, Db } from 'mongodb';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';

export function accountsCollection(db: Db): Collection<AccountDocument> {
  return db.collection<AccountDocument>(collections.accounts);
}

/** Indexes the account center relies on; idempotent, run by the worker at start. */
export async function ensureAccountIndexes(db: Db): Promise<void> {
  await accountsCollection(db).createIndex(
    { 'rootIdentity.subject': 1 },
    { unique: true, name: 'root_subject_unique' },
  );
  // The recovery's search by address (`activities/accounts/personal-fields.ts`).
  await accountsCollection(db).createIndex({ 'rootIdentity.emailLookup': 1 }, { name: 'root_email_lookup' });
}
