import type { Db } from 'mongodb';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { addressProjection, openAccountDocument } from '../accounts/personal-fields.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { Notice, Notifier } from './port.js';

export interface NotifyActivityDeps {
  notifier: Notifier;
  /** For notices addressed to an account rather than an address (with the keys that open its address). */
  db?: Db;
  accountKeys?: AccountKeys;
}

export function createNotifyActivities({ notifier, db, accountKeys }: NotifyActivityDeps) {
  return {
    /** Queue a notice once per idempotency key. */
    async queueNotice(notice: Notice): Promise<{ id: string; queued: boolean }> {
      return notifier.send(notice);
    },

    /**
     * Queue a notice to the account's email address (looked up here, so workflows need not carry it).
     * `queued` is false when the account has no address or the notice was queued before.
     */
    async queueAccountNotice(
      input: Omit<Notice, 'to' | 'channel'> & {
        accountId: string;
        /** Greet the person by the given name on the account (`data.givenName`), read here too. */
        greet?: boolean;
      },
    ): Promise<{ queued: boolean }> {
      if (!db || !accountKeys) throw new Error('queueAccountNotice needs the database and the account keys');
      const { greet, ...notice } = input;
      const account = await db
        .collection<AccountDocument>(collections.accounts)
        .findOne(
          { _id: input.accountId },
          { projection: { ...addressProjection, profile: 1, connected_providers: 1 } },
        );
      if (!account) return { queued: false };
      const opened = await openAccountDocument(accountKeys, account as AccountDocument);
      const to = opened.rootIdentity.email;
      if (!to) return { queued: false };
      const givenName = greet ? opened.profile?.givenName : undefined;
      const { queued } = await notifier.send({
        ...notice,
        channel: 'email',
        to,
        ...(givenName ? { data: { ...notice.data, givenName } } : {}),
      });
      return { queued };
    },
  };
}
