/**
 * The erasure's directory step, on the identity task queue (rate-capped under the directory's limit): the
 * subject is read from the account document here, never passed through history, and the step's mark in the
 * `erasures` document keeps a resumed erasure from calling the directory again once it answered.
 */
import type { Db } from 'mongodb';
import { accountsCollection } from '../accounts/store.js';
import { identityFailure } from '../identity/activities.js';
import type { IdentityDirectory } from '../identity/port.js';
import type { ErasureStep } from '../../workflows/erasure/messages.js';
import type { StepOutcome } from './activities.js';
import { erasures, legalHoldInForce } from './store.js';

export interface ErasureIdentityDeps {
  db: Db;
  directory: IdentityDirectory;
  now?: () => Date;
}

export function createErasureIdentityActivities({ db, directory, now = () => new Date() }: ErasureIdentityDeps) {
  return {
    /** Delete the root identity at the directory (its secondary identities unlinked first, by the adapter). */
    async eraseDirectoryIdentity(input: { accountId: string }): Promise<StepOutcome> {
      const doc = await erasures(db).findOne({ _id: input.accountId });
      const done = doc?.done?.identity_directory;
      if (done) return { held: false, step: done };
      if (await legalHoldInForce(db, input.accountId)) return { held: true };
      const account = await accountsCollection(db).findOne(
        { _id: input.accountId },
        { projection: { rootIdentity: 1 } },
      );
      let deleted = false;
      let unlinked = 0;
      if (account) {
        try {
          ({ deleted, unlinkedIdentities: unlinked } = await directory.deleteIdentity(account.rootIdentity.subject));
        } catch (err) {
          throw identityFailure(err);
        }
      }
      const step: ErasureStep = {
        store: 'identity_directory',
        deleted: deleted ? 1 : 0,
        at: now().toISOString(),
        detail: `the root identity deleted from the ${directory.kind} directory (${unlinked} linked identit${unlinked === 1 ? 'y' : 'ies'} unlinked first)`,
      };
      await erasures(db).updateOne({ _id: input.accountId, 'done.identity_directory': { $exists: false } }, {
        $set: { 'done.identity_directory': step },
      } as never);
      return {
        held: false,
        step: (await erasures(db).findOne({ _id: input.accountId }))?.done?.identity_directory ?? step,
      };
    },
  };
}
