/**
 * The recovery's credential reset, on the identity task queue (rate-capped under the directory's limit).
 * The password-change ticket is a secret: it goes from the directory straight to the owner's verified
 * address through the notifier, and only the fact that it was sent comes back to the workflow.
 */
import type { Db } from 'mongodb';
import { accountEmailOf, addressProjection } from '../accounts/personal-fields.js';
import { accountsCollection } from '../accounts/store.js';
import { identityFailure } from '../identity/activities.js';
import type { IdentityDirectory } from '../identity/port.js';
import type { Notifier } from '../notify/port.js';
import type { AccountKeys } from '../secrets/account-keys.js';

export interface RecoveryIdentityActivityDeps {
  directory: IdentityDirectory;
  notifier: Notifier;
  db: Db;
  /** Opens the account's sealed address. */
  accountKeys: AccountKeys;
}

export function createRecoveryIdentityActivities({
  directory,
  notifier,
  db,
  accountKeys,
}: RecoveryIdentityActivityDeps) {
  return {
    /**
     * Reset the root identity's credentials and send the password-change ticket (if the directory makes one)
     * to the account's verified email. A retry makes a new ticket but sends at most one.
     */
    async resetRecoveredCredentials(input: {
      recoveryId: string;
      accountId: string;
      subject: string;
      ticketTtlSeconds: number;
    }): Promise<{ directory: 'embedded' | 'auth0'; ticketSent: boolean }> {
      let ticketUrl: string | undefined;
      try {
        ticketUrl = (await directory.resetCredentials(input.subject, { ticketTtlSeconds: input.ticketTtlSeconds }))
          .passwordChangeTicketUrl;
      } catch (err) {
        throw identityFailure(err);
      }
      let ticketSent = false;
      if (ticketUrl) {
        const account = await accountsCollection(db).findOne(
          { _id: input.accountId },
          { projection: addressProjection },
        );
        const email = account?.rootIdentity.emailVerified ? await accountEmailOf(accountKeys, account) : undefined;
        if (email) {
          await notifier.send({
            idempotencyKey: `recovery/${input.recoveryId}/password-ticket`,
            channel: 'email',
            to: email,
            template: 'recovery-password-ticket',
            accountId: input.accountId,
            data: { ticketUrl, minutes: Math.max(1, Math.round(input.ticketTtlSeconds / 60)) },
          });
          ticketSent = true;
        }
      }
      return { directory: directory.kind, ticketSent };
    },
  };
}
