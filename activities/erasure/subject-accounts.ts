/**
 * Which account a subject signs in to. It is `accountIdForSubject(subject)` (a UUIDv5) until that account is
 * erased; the erasure then records a fresh random id for the subject in `subjectAccounts`, so a directory that
 * hands out the same subject again (an Auth0 social login, a user re-created with its old id) leads to a new,
 * empty account, never back to the erased one (its key destroyed, its tombstone and audit events naming it).
 *
 * A document exists only for a subject whose account was erased at least once. Its `_id` is a keyed hash of the
 * subject (SecretVault HMAC `account-subject-lookup`) and its `accountId` names no data, so the collection
 * names nobody without the key. No document: the derived id, so nothing needs migrating.
 */
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import type { SecretVault } from '../secrets/port.js';

/**
 * The SecretVault HMAC key of the lookup. Never rotate it: a lookup hashes with the newest version only, so a
 * rotation would send every returning subject back to its derived (erased) id.
 */
export const subjectLookupKey = 'account-subject-lookup';

export interface SubjectAccountDocument {
  _id: string; // SecretVault HMAC `account-subject-lookup` of the subject
  /** The subject's current account id: random, chosen when its previous account was erased. */
  accountId: string;
  since: Date;
}

export function subjectAccounts(db: Db): Collection<SubjectAccountDocument> {
  return db.collection<SubjectAccountDocument>(collections.subjectAccounts);
}

/**
 * A subject's keyed hash never changes, so it is remembered (a bounded LRU per vault: every request of a
 * signed-in person needs it, and Vault's transit would answer each one over the network).
 */
const lookupCacheSize = 10_000;
const lookupCaches = new WeakMap<SecretVault, Map<string, string>>();

export async function subjectLookupOf(vault: SecretVault, subject: string): Promise<string> {
  let cache = lookupCaches.get(vault);
  if (!cache) lookupCaches.set(vault, (cache = new Map()));
  const hit = cache.get(subject);
  if (hit !== undefined) {
    // Most recently used goes last: the first key of the Map is the one to evict.
    cache.delete(subject);
    cache.set(subject, hit);
    return hit;
  }
  const lookup = await vault.hmac(subjectLookupKey, subject);
  cache.set(subject, lookup);
  if (cache.size > lookupCacheSize) cache.delete(cache.keys().next().value!);
  return lookup;
}

/**
 * The account id of a subject's sign-in: the bearer check, the signup starter and the account center's
 * browser session all ask here. Read from the database every time (never cached): once an erasure retired an
 * id, every API instance must hand out the new one at once.
 */
export async function accountIdOf(deps: { db: Db; vault: SecretVault }, subject: string): Promise<string> {
  const found = await subjectAccounts(deps.db).findOne(
    { _id: await subjectLookupOf(deps.vault, subject) },
    { projection: { accountId: 1 } },
  );
  return found?.accountId ?? accountIdForSubject(subject);
}

/**
 * The erasure of `erasedAccountId` retires it as the subject's account: the subject gets a fresh random id.
 * Idempotent: only a mapping that still names the erased account (or none, when the erased account is the
 * derived one) is replaced, so a retry after the write finds it done and never makes a second new id.
 * Answers the subject's account id after the call, and whether the erased one is retired.
 */
export async function retireSubjectAccount(
  db: Db,
  vault: SecretVault,
  input: { subject: string; erasedAccountId: string },
  now: () => Date = () => new Date(),
): Promise<{ retired: boolean }> {
  const lookup = await subjectLookupOf(vault, input.subject);
  const next: SubjectAccountDocument = { _id: lookup, accountId: randomUUID(), since: now() };
  const current = await subjectAccounts(db).findOne({ _id: lookup });
  if (current) {
    if (current.accountId === input.erasedAccountId)
      await subjectAccounts(db).replaceOne({ _id: lookup, accountId: input.erasedAccountId }, next);
  } else if (accountIdForSubject(input.subject) === input.erasedAccountId) {
    // Two attempts racing insert one: the loser's duplicate key means the id is retired already.
    await subjectAccounts(db)
      .insertOne(next)
      .catch((err: unknown) => {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      });
  }
  return { retired: (await accountIdOf({ db, vault }, input.subject)) !== input.erasedAccountId };
}
