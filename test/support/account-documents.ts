/**
 * The documents a person who signed up long ago has, written straight to the database by tests that
 * start from such a person (or from what a crashed signup left): the account-center document and the
 * embedded directory's user.
 */
import type { Db } from 'mongodb';
import { emailLookupOf, openAccountDocument } from '../../activities/accounts/personal-fields.js';
import type { AccountKeys } from '../../activities/secrets/account-keys.js';
import type { SecretVault } from '../../activities/secrets/port.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { recordContent } from '../../activities/records/store.js';

/** What reading an account document as the workers do needs (a test stack has it). */
export interface AccountReader {
  db: Db;
  deps: { accountKeys: AccountKeys; vault: SecretVault };
}

/** The account document, its personal fields opened (the stored form seals them). */
export async function openedAccount(stack: AccountReader, accountId: string): Promise<AccountDocument | null> {
  const stored = await stack.db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId });
  return stored ? openAccountDocument(stack.deps.accountKeys, stored) : null;
}

/** The account with this address, opened: found by the address's lookup hash, or in clear (older documents). */
export async function openedAccountByEmail(stack: AccountReader, email: string): Promise<AccountDocument | null> {
  const stored = await stack.db.collection<AccountDocument>(collections.accounts).findOne({
    $or: [
      { 'rootIdentity.emailLookup': await emailLookupOf(stack.deps.vault, email) },
      { 'rootIdentity.email': email },
    ],
  });
  return stored ? openAccountDocument(stack.deps.accountKeys, stored) : null;
}

export interface ExistingPerson {
  subject: string;
  accountId: string;
  email: string;
  /** When the account and the directory user were created (ISO 8601). */
  at: string;
  profile?: { givenName?: string; familyName?: string };
  consents?: Array<{ purpose: string; version: string; granted: boolean; recordedAt: string; source: string }>;
}

/** The account-center document, with the default role. */
export function accountDocumentOf(p: ExistingPerson) {
  return {
    _id: p.accountId as never,
    revision: 1,
    schemaVersion: 1,
    rootIdentity: { directory: 'embedded', subject: p.subject, email: p.email, emailVerified: true },
    profile: p.profile ?? {},
    roles: ['member'],
    connected_providers: { nodes: [] },
    consents: p.consents ?? [],
    status: 'active',
    createdAt: p.at,
    updatedAt: p.at,
  };
}

/** Both documents: the account and its user in the embedded directory. */
export async function insertExistingPerson(db: Db, p: ExistingPerson): Promise<void> {
  await db.collection(collections.accounts).insertOne(accountDocumentOf(p));
  await db.collection(collections.identityUsers).insertOne({
    _id: p.subject as never,
    email: p.email,
    email_verified: true,
    app_metadata: { cra_account_id: p.accountId },
    roles: ['member'],
    created_at: p.at,
    updated_at: p.at,
  });
}

/**
 * The distinctive strings of these records' content (12 characters or more, not a date, not a URL): what a
 * scan for the person's data after an erasure looks for.
 */
export async function recordContentValues(keys: AccountKeys, records: ProviderRecordDocument[]): Promise<Set<string>> {
  const values = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v.length >= 12 && !/^\d{4}-\d\d-\d\dT/.test(v) && !/^https?:/.test(v)) values.add(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const doc of records) walk(await recordContent(keys, doc));
  return values;
}
