/**
 * The account document's personal fields, sealed with the account's data key: the root address, the
 * profile names and each connection's provider address and display name. Stored, they are one sealed
 * `personal` value (context `account:personal`), so a database backup holds none of them in clear and
 * the erasure's key destruction makes every copy unreadable. The address also gets a keyed lookup hash
 * (`rootIdentity.emailLookup`) for the one search by address, the recovery's.
 */
import type { AccountDocument, ConnectedProviderNode } from '../../domain/account-center.js';
import { normalizeEmail } from '../../domain/recovery.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';

/**
 * The SecretVault HMAC key of `rootIdentity.emailLookup`. Its output names the key version (`vault:v1:`,
 * `cra:v1:`), so rotating this key changes every lookup hash: a rotation needs a re-index of the accounts.
 */
export const emailLookupKey = 'account-email-lookup';

/** What `personal` is bound to, so the sealed value cannot be moved into another field. */
export const personalSealContext = 'account:personal';

/** The sealed JSON's shape. */
export interface PersonalFields {
  email?: string;
  givenName?: string;
  familyName?: string;
  providers: Record<string, { email?: string; displayName?: string }>;
}

/** An account document as written: its personal fields sealed. */
export type StoredAccountDocument = AccountDocument & { personal: string };

/** The keyed hash searched for an address (normalised as the recovery normalises it). */
export function emailLookupOf(vault: SecretVault, email: string): Promise<string> {
  return vault.hmac(emailLookupKey, normalizeEmail(email));
}

/**
 * The stored form of an account document: the personal fields out of the clear shape and sealed into
 * `personal`. A document already in stored form is returned as it is.
 */
export async function sealAccountDocument(
  keys: AccountKeys,
  vault: SecretVault,
  doc: AccountDocument,
): Promise<StoredAccountDocument> {
  if (doc.personal !== undefined) {
    // Sealing over a stored document would drop what `personal` holds: writers open, change, then seal.
    if (hasClearPersonalFields(doc)) throw new Error(`account ${doc._id}: clear personal fields beside sealed ones`);
    return { ...doc, personal: doc.personal };
  }
  const { email, emailLookup: _lookup, ...identity } = doc.rootIdentity;
  const { givenName, familyName, ...profile } = doc.profile;
  const personal: PersonalFields = {
    ...(email !== undefined ? { email } : {}),
    ...(givenName !== undefined ? { givenName } : {}),
    ...(familyName !== undefined ? { familyName } : {}),
    providers: {},
  };
  const nodes = doc.connected_providers.nodes.map((node) => {
    const { email: nodeEmail, displayName, ...rest } = node;
    if (nodeEmail !== undefined || displayName !== undefined) {
      personal.providers[node.connectionId] = {
        ...(nodeEmail !== undefined ? { email: nodeEmail } : {}),
        ...(displayName !== undefined ? { displayName } : {}),
      };
    }
    return rest;
  });
  const sealed = await keys.seal(doc._id, personalSealContext, JSON.stringify(personal));
  return {
    ...doc,
    rootIdentity: { ...identity, ...(email !== undefined ? { emailLookup: await emailLookupOf(vault, email) } : {}) },
    profile,
    connected_providers: { ...doc.connected_providers, nodes },
    personal: sealed,
  };
}

/**
 * The clear account document. A document without `personal` (written before sealing) passes through
 * unchanged. An erased account's document (its key destroyed) throws AccountKeyDestroyed: the caller decides.
 */
export async function openAccountDocument(keys: AccountKeys, doc: AccountDocument): Promise<AccountDocument> {
  if (doc.personal === undefined) return doc;
  const fields = JSON.parse(await keys.open(doc._id, personalSealContext, doc.personal)) as PersonalFields;
  const { personal: _personal, rootIdentity, ...rest } = doc;
  const { emailLookup: _lookup, ...identity } = rootIdentity;
  return {
    ...rest,
    rootIdentity: { ...identity, ...(fields.email !== undefined ? { email: fields.email } : {}) },
    profile: {
      ...doc.profile,
      ...(fields.givenName !== undefined ? { givenName: fields.givenName } : {}),
      ...(fields.familyName !== undefined ? { familyName: fields.familyName } : {}),
    },
    connected_providers: {
      ...doc.connected_providers,
      nodes: doc.connected_providers.nodes.map((node): ConnectedProviderNode => {
        const clear = fields.providers[node.connectionId];
        return {
          ...node,
          ...(clear?.email !== undefined ? { email: clear.email } : {}),
          ...(clear?.displayName !== undefined ? { displayName: clear.displayName } : {}),
        };
      }),
    },
  };
}

/** The fields a write of a changed document `$set`s: the personal fields' stored form. */
export function sealedFieldsOf(
  stored: StoredAccountDocument,
): Pick<StoredAccountDocument, 'rootIdentity' | 'profile' | 'connected_providers' | 'personal'> {
  return {
    rootIdentity: stored.rootIdentity,
    profile: stored.profile,
    connected_providers: stored.connected_providers,
    personal: stored.personal,
  };
}

function hasClearPersonalFields(doc: AccountDocument): boolean {
  return (
    doc.rootIdentity.email !== undefined ||
    doc.profile.givenName !== undefined ||
    doc.profile.familyName !== undefined ||
    doc.connected_providers.nodes.some((n) => n.email !== undefined || n.displayName !== undefined)
  );
}

/** What a reader that needs only the address reads: `{ projection: addressProjection }`. */
export const addressProjection = { rootIdentity: 1, personal: 1 } as const;

/**
 * The account's address, from a document read with at least `addressProjection` (sealed or clear).
 * AccountKeyDestroyed for an erased account.
 */
export async function accountEmailOf(
  keys: AccountKeys,
  doc: Pick<AccountDocument, '_id' | 'rootIdentity' | 'personal'>,
): Promise<string | undefined> {
  if (doc.personal === undefined) return doc.rootIdentity.email;
  return (JSON.parse(await keys.open(doc._id, personalSealContext, doc.personal)) as PersonalFields).email;
}
