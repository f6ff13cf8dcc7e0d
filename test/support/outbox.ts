/**
 * The tests' one reader of the outbox. Notices are stored sealed (issue 15), so a test reads them as
 * `npm run outbox` does: through `queuedNotices`, which finds an address by its blind index and opens each
 * notice with the installation's keys. Notices of an erased account (its key destroyed) are not returned.
 */
import type { Db } from 'mongodb';
import { queuedNotices } from '../../activities/notify/outbox-notifier.js';
import type { QueuedNotice } from '../../activities/notify/port.js';
import { AccountKeys } from '../../activities/secrets/account-keys.js';
import type { SecretVault } from '../../activities/secrets/port.js';

/** A notice as the outbox holds it, opened. */
export type OutboxNotice = QueuedNotice;

/** What reads the outbox: the database and the keys that open its notices (a test stack, the time-skipping one). */
export interface OutboxReader {
  db: Db;
  deps: { accountKeys: AccountKeys };
}

/** Which notices: to an address, of a template, of an account (any combination). */
export interface NoticeFilter {
  to?: string;
  template?: string;
  accountId?: string;
}

/** The notices queued so far, newest first, opened. */
export function noticesTo(stack: OutboxReader, filter: NoticeFilter): Promise<OutboxNotice[]> {
  return queuedNotices(stack.db, stack.deps.accountKeys, { ...filter, limit: 1_000 });
}

/**
 * The outbox of the time-skipping tests (`test/support/time-skipping.ts`): opened with the keyring their
 * workers and their client share.
 */
export function timeSkippingOutbox(ts: { db: Db; vault: SecretVault }): OutboxReader {
  return { db: ts.db, deps: { accountKeys: new AccountKeys(ts.vault) } };
}
