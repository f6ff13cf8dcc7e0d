/**
 * What the API checks for a recovery, in the API process, so no secret travels on to the workflow: the
 * recovery token, codes against their stored hashes, TOTP, backup codes and passkey assertions. Each check
 * returns only facts (`verified` and non-secret evidence) for the workflow's `submitFactor` update.
 * Lookups for an unknown account run against stand-ins, so both take about the same time.
 */
import { randomBytes } from 'node:crypto';
import { verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Context } from 'hono';
import type { Db } from 'mongodb';
import type { SecretVault } from '../../activities/secrets/port.js';
import { collections } from '../../domain/collections.js';
import {
  backupCodeHash,
  base32Decode,
  challengeSecretHash,
  matchTotp,
  normalizeCode,
  recoveryFactorKey,
  sameDigest,
  sha256Hex,
  tokenHash,
  totpSeedFrom,
  totpSeedPlaintext,
  base32Encode,
  type RecoveryChallengeDocument,
  type RecoveryDocument,
  type RecoveryFactorDocument,
} from '../../domain/recovery.js';
import { recoveryPolicy, type DeliveredCodeFactor } from '../../workflows/recovery/messages.js';
import type { ApiEnv } from '../context.js';
import { ProblemError } from '../problem.js';

export const recoveryTokenHeader = 'X-Recovery-Token';

export interface ProofCheck {
  verified: boolean;
  evidence: Record<string, string | number | boolean>;
}

/** Compared against when there is nothing to compare with, so a miss costs what a hit costs. */
const noDigest = sha256Hex('cra-nothing-stored');
const standInTotpSecret = randomBytes(20);

const recoveries = (db: Db) => db.collection<RecoveryDocument>(collections.recoveries);
const challenges = (db: Db) => db.collection<RecoveryChallengeDocument>(collections.recoveryChallenges);
const factors = (db: Db) => db.collection<RecoveryFactorDocument>(collections.recoveryFactors);

/**
 * The recovery named in the path, if the caller holds its token. A wrong token and an unknown id get the
 * same answer, so ids cannot be probed.
 */
export async function authorizeRecovery(c: Context<ApiEnv>, recoveryId: string): Promise<RecoveryDocument> {
  const token = c.req.header(recoveryTokenHeader);
  if (!token)
    throw new ProblemError(
      'unauthenticated',
      `Send the recoveryToken you were given in the ${recoveryTokenHeader} header.`,
      { 'www-authenticate': `${recoveryTokenHeader} realm="cra-recovery"` },
    );
  const request = await recoveries(c.get('deps').db).findOne({ _id: recoveryId });
  const matches = sameDigest(tokenHash(token), request?.tokenHash ?? noDigest);
  if (!request || !matches) throw new ProblemError('not-found', 'No recovery with this id and token.');
  return request;
}

/** A cancel link's token, checked against every one the notices carried. */
export function matchesCancelToken(request: RecoveryDocument, token: string): boolean {
  const digest = tokenHash(token);
  let matched = false;
  for (const stored of request.cancelTokenHashes.length > 0 ? request.cancelTokenHashes : [noDigest])
    if (sameDigest(digest, stored)) matched = true;
  return matched;
}

/**
 * Count an attempt as failed before checking it, atomically, unless the factor has reached its limit: so
 * parallel guesses cannot exceed it. `refundAttempt` takes it back when the proof holds.
 */
export async function reserveAttempt(db: Db, recoveryId: string, factor: string): Promise<boolean> {
  const path = `failures.${factor}`;
  const reserved = await recoveries(db).updateOne(
    { _id: recoveryId, [path]: { $lt: recoveryPolicy.maxFailures } },
    { $inc: { [path]: 1 } },
  );
  return reserved.matchedCount === 1;
}

export async function refundAttempt(db: Db, recoveryId: string, factor: string): Promise<void> {
  await recoveries(db).updateOne({ _id: recoveryId }, { $inc: { [`failures.${factor}`]: -1 } });
}

/** Consume a challenge once: false when it was used already (a concurrent submission won). */
async function consume(db: Db, challengeId: string, at: string): Promise<boolean> {
  return (
    (await challenges(db).updateOne({ _id: challengeId, consumedAt: { $exists: false } }, { $set: { consumedAt: at } }))
      .matchedCount === 1
  );
}

/** An emailed or texted code: the named challenge, or the latest one issued for the factor. */
export async function checkDeliveredCode(
  db: Db,
  recoveryId: string,
  factor: DeliveredCodeFactor,
  code: string,
  challengeId: string | undefined,
  now: Date,
): Promise<ProofCheck> {
  const challenge = challengeId
    ? await challenges(db).findOne({ _id: challengeId, recoveryId, factor })
    : await challenges(db).find({ recoveryId, factor }).sort({ createdAt: -1 }).limit(1).next();
  const id = challenge?._id ?? challengeId ?? 'none';
  const matches = sameDigest(
    challengeSecretHash(recoveryId, factor, id, normalizeCode(code)),
    challenge?.secretHash ?? noDigest,
  );
  if (!challenge || !matches) return { verified: false, evidence: { challengeId: id, reason: 'wrong_code' } };
  if (challenge.consumedAt) return { verified: false, evidence: { challengeId: id, reason: 'code_used' } };
  if (challenge.expiresAt <= now.toISOString())
    return { verified: false, evidence: { challengeId: id, reason: 'code_expired' } };
  if (!(await consume(db, id, now.toISOString())))
    return { verified: false, evidence: { challengeId: id, reason: 'code_used' } };
  return { verified: true, evidence: { challengeId: id } };
}

/**
 * The seed of an enrolled authenticator, decrypted with the SecretVault; undefined when the ciphertext does
 * not belong to this account. Vault errors carry no plaintext and propagate (a 500, not a wrong code).
 */
export async function totpSeed(
  vault: SecretVault,
  factor: { accountId: string; secretCiphertext: string },
): Promise<Buffer | undefined> {
  // A seed stored before encryption (a plain `secret`) is not read: the person enrols the app again.
  if (typeof factor.secretCiphertext !== 'string') return undefined;
  const seed = totpSeedFrom(factor.accountId, await vault.decrypt(recoveryFactorKey, factor.secretCiphertext));
  return seed === undefined ? undefined : base32Decode(seed);
}

const standIns = new WeakMap<SecretVault, Promise<string>>();
function standInCiphertext(vault: SecretVault): Promise<string> {
  let made = standIns.get(vault);
  if (!made) {
    made = vault.encrypt(recoveryFactorKey, totpSeedPlaintext('no-account', base32Encode(standInTotpSecret)));
    standIns.set(vault, made);
  }
  return made;
}

/** RFC 6238 TOTP from the account's confirmed authenticator; each time step is accepted once. */
export async function checkTotp(
  db: Db,
  vault: SecretVault,
  accountId: string | undefined,
  code: string,
  now: Date,
): Promise<ProofCheck> {
  const enrolled = accountId ? await factors(db).findOne({ accountId, kind: 'totp', confirmed: true }) : null;
  const totp = enrolled?.kind === 'totp' ? enrolled : undefined;
  // Without an authenticator, a stand-in is decrypted all the same: with Vault a decrypt is a round trip.
  const seed = await totpSeed(
    vault,
    totp ?? { accountId: 'no-account', secretCiphertext: await standInCiphertext(vault) },
  );
  const step = matchTotp(
    seed ?? standInTotpSecret,
    code,
    now.getTime(),
    totp ? { digits: totp.digits, periodSeconds: totp.periodSeconds } : {},
  );
  if (!totp || step === undefined) return { verified: false, evidence: { reason: 'wrong_code' } };
  const used = await factors(db).updateOne(
    { _id: totp._id, $or: [{ lastUsedStep: { $exists: false } }, { lastUsedStep: { $lt: step } }] },
    { $set: { lastUsedStep: step } },
  );
  return used.matchedCount === 1
    ? { verified: true, evidence: { totpStep: step } }
    : { verified: false, evidence: { reason: 'code_used' } };
}

/** One of the account's backup codes, each good once. */
export async function checkBackupCode(
  db: Db,
  accountId: string | undefined,
  code: string,
  now: Date,
): Promise<ProofCheck> {
  const hash = backupCodeHash(accountId ?? 'no-account', code);
  if (!accountId) {
    await factors(db).findOne({ accountId: 'no-account', kind: 'backup_code', hash });
    return { verified: false, evidence: { reason: 'wrong_code' } };
  }
  const used = await factors(db).findOneAndUpdate(
    { accountId, kind: 'backup_code', hash, usedAt: { $exists: false } },
    { $set: { usedAt: now.toISOString() } },
  );
  return used
    ? { verified: true, evidence: { backupCodeId: used._id } }
    : { verified: false, evidence: { reason: 'wrong_code' } };
}

export interface WebAuthnSettings {
  rpId: string;
  origins: string[];
  ttlMs: number;
}

/**
 * A WebAuthn challenge for a passkey assertion. `allowCredentials` stays empty for every address, so the
 * options never tell whether an account (or a passkey) exists: the authenticator offers its discoverable credential.
 */
export async function issuePasskeyChallenge(
  db: Db,
  recoveryId: string,
  challengeId: string,
  webauthn: WebAuthnSettings,
  now: Date,
) {
  const challenge = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + webauthn.ttlMs).toISOString();
  await challenges(db).insertOne({
    _id: challengeId,
    recoveryId,
    factor: 'passkey',
    secretHash: challengeSecretHash(recoveryId, 'passkey', challengeId, challenge),
    createdAt: now.toISOString(),
    expiresAt,
    deliveredVia: 'none',
  });
  return {
    expiresAt,
    publicKey: {
      challenge,
      rpId: webauthn.rpId,
      timeout: webauthn.ttlMs,
      userVerification: 'required' as const,
      allowCredentials: [],
    },
  };
}

/** Challenges issued for a factor of a recovery (passkey, provider_reauth): at most `maxChallengesPerFactor`. */
export async function countChallenges(
  db: Db,
  recoveryId: string,
  factor: 'passkey' | 'provider_reauth',
): Promise<number> {
  return challenges(db).countDocuments({ recoveryId, factor });
}

/** A passkey assertion (WebAuthn `navigator.credentials.get()`), verified with @simplewebauthn/server; user verification required. */
export async function checkPasskey(
  db: Db,
  recoveryId: string,
  accountId: string | undefined,
  challengeId: string,
  assertion: AuthenticationResponseJSON,
  webauthn: WebAuthnSettings,
  now: Date,
): Promise<ProofCheck> {
  const challenge = await challenges(db).findOne({ _id: challengeId, recoveryId, factor: 'passkey' });
  const enrolled = accountId
    ? await factors(db).findOne({ accountId, kind: 'passkey', credentialId: assertion.id })
    : null;
  const passkey = enrolled?.kind === 'passkey' ? enrolled : undefined;
  if (!challenge || challenge.consumedAt || challenge.expiresAt <= now.toISOString())
    return { verified: false, evidence: { challengeId, reason: 'challenge_invalid' } };
  // The challenge is spent whatever the outcome: one assertion per challenge.
  if (!(await consume(db, challengeId, now.toISOString())))
    return { verified: false, evidence: { challengeId, reason: 'challenge_invalid' } };
  if (!passkey) return { verified: false, evidence: { challengeId, reason: 'unknown_credential' } };
  try {
    const result = await verifyAuthenticationResponse({
      response: assertion,
      expectedChallenge: (given) =>
        sameDigest(challengeSecretHash(recoveryId, 'passkey', challengeId, given), challenge.secretHash),
      expectedOrigin: webauthn.origins,
      expectedRPID: webauthn.rpId,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        ...(passkey.transports ? { transports: passkey.transports } : {}),
      },
      requireUserVerification: true,
    });
    if (!result.verified) return { verified: false, evidence: { challengeId, reason: 'assertion_invalid' } };
    await factors(db).updateOne({ _id: passkey._id }, { $set: { counter: result.authenticationInfo.newCounter } });
    return { verified: true, evidence: { challengeId, credentialId: passkey.credentialId } };
  } catch {
    // The library throws for every malformed or mismatched assertion (origin, RP ID, counter, signature).
    return { verified: false, evidence: { challengeId, reason: 'assertion_invalid' } };
  }
}
