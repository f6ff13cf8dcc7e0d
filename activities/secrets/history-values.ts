/**
 * Personal values that must pass through a workflow — a signup's address and names, a linked provider's
 * address and display name — travel sealed with the account's data key (`acct:1:…`). An operator reading
 * the history in Temporal Web sees ciphertext, an activity opens it, and the erasure's destruction of the key
 * makes every copy of the history (an export of it, a backup of the server's database) unreadable too.
 *
 * Each kind of value has its own context, so a sealed value cannot be passed off as another.
 */
import type { AccountKeys } from './account-keys.js';

/** A signup request's personal details (`SignupDetails.personal`, sealed by the API's starter). */
export const signupPersonalContext = 'history:signup-personal';
/** The merged signup profile the identity step hands to the account step. */
export const signupProfileContext = 'history:signup-profile';
/** A linked provider account's address and display name (`LinkedProfile.personal`). */
export const linkedProfileContext = 'history:linked-profile';

export interface SignupPersonal {
  email?: string;
  givenName?: string;
  familyName?: string;
}

export interface LinkedPersonal {
  email?: string;
  displayName?: string;
}

/** Only the fields that hold something: an absent field stays absent after a round trip. */
function present<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** Seal `value` for history, or `undefined` when it holds nothing (no key is made for nothing). */
export async function sealForHistory<T extends object>(
  keys: AccountKeys,
  accountId: string,
  context: string,
  value: T,
): Promise<string | undefined> {
  const fields = present(value);
  if (Object.keys(fields).length === 0) return undefined;
  return keys.seal(accountId, context, JSON.stringify(fields));
}

/** Open a value sealed by `sealForHistory`; nothing sealed opens to `{}`. */
export async function openFromHistory<T extends object>(
  keys: AccountKeys,
  accountId: string,
  context: string,
  sealed: string | undefined,
): Promise<Partial<T>> {
  if (sealed === undefined) return {};
  return JSON.parse(await keys.open(accountId, context, sealed)) as Partial<T>;
}
