/**
 * The API's part of the `provider_reauth` recovery factor: hand the requester the authorization URL the
 * recovery workflow's activity made (read once, then wiped), and park the provider's answer at the OAuth
 * callback (the code encrypted with the SecretVault, on the challenge) for the activity that redeems it.
 * The API calls no provider endpoint and holds no token: it only moves ciphertext between the challenge
 * and the SecretVault, as link attempts do (`api/routes/link-attempts.ts`).
 */
import type { Db } from 'mongodb';
import type { SecretVault } from '../../activities/secrets/port.js';
import { collections } from '../../domain/collections.js';
import { providerReauthKey, providerStateHash, type RecoveryChallengeDocument } from '../../domain/recovery.js';

const challenges = (db: Db) => db.collection<RecoveryChallengeDocument>(collections.recoveryChallenges);

/**
 * The authorization URL of a challenge the workflow just made, read once: decrypted, then wiped from the
 * challenge. Undefined when it was taken already.
 */
export async function takeProviderAuthorizationUrl(
  db: Db,
  vault: SecretVault,
  recoveryId: string,
  challengeId: string,
): Promise<string | undefined> {
  const taken = await challenges(db).findOneAndUpdate(
    { _id: challengeId, recoveryId, factor: 'provider_reauth', authorizationUrlCiphertext: { $type: 'string' } },
    { $set: { authorizationUrlCiphertext: null } },
  );
  if (!taken?.authorizationUrlCiphertext) return undefined;
  return vault.decrypt(providerReauthKey, taken.authorizationUrlCiphertext);
}

/** The recovery challenge a callback's `state` belongs to, if any. */
export function findProviderChallenge(db: Db, state: string): Promise<RecoveryChallengeDocument | null> {
  return challenges(db).findOne({ stateHash: providerStateHash(state), factor: 'provider_reauth' });
}

/**
 * Spend the challenge (single use) and park the provider's answer on it: the code encrypted, or the fact
 * that the provider refused. Null when a concurrent callback claimed it first.
 */
export async function claimProviderChallenge(
  db: Db,
  vault: SecretVault,
  challengeId: string,
  answer: { code?: string; error?: string },
  now: Date,
): Promise<RecoveryChallengeDocument | null> {
  const refused = Boolean(answer.error) || !answer.code;
  return challenges(db).findOneAndUpdate(
    { _id: challengeId, consumedAt: { $exists: false } },
    {
      $set: {
        consumedAt: now.toISOString(),
        authorizationUrlCiphertext: null,
        providerRefused: refused,
        codeCiphertext: refused ? null : await vault.encrypt(providerReauthKey, answer.code!),
      },
    },
  );
}

/** Forget a parked answer the workflow will not redeem (it refused the update, or the recovery is over). */
export async function discardProviderAnswer(db: Db, challengeId: string): Promise<void> {
  await challenges(db).updateOne(
    { _id: challengeId },
    { $set: { codeCiphertext: null, codeVerifierCiphertext: null, nonce: null } },
  );
}
