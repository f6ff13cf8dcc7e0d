/**
 * One strategy per recovery factor (as ory/kratos keeps one per recovery method): what `POST /challenges`
 * issues for it, and how `POST /factors` checks its proof. A factor without a `challenge` has nothing
 * sent; one without a `proof` says why it is not submitted there (`refusal`). The routes look the factor
 * up in `factorStrategies` and never branch on its kind.
 */
import { msToNumber } from '@temporalio/common';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Context } from 'hono';
import type { ProblemKind } from '../../../domain/problem.js';
import type { ProviderId } from '../../../domain/providers.js';
import type { RecoveryDocument } from '../../../domain/recovery.js';
import { recoveryPolicy, type DeliveredCodeFactor, type RecoveryFactor } from '../../../workflows/recovery/messages.js';
import { vaultOf } from '../../adapters.js';
import { takeProviderAuthorizationUrl } from '../../auth/recovery-provider.js';
import {
  checkBackupCode,
  checkDeliveredCode,
  checkPasskey,
  checkTotp,
  countChallenges,
  issuePasskeyChallenge,
  type ProofCheck,
} from '../../auth/recovery-proofs.js';
import type { ApiEnv } from '../../context.js';
import { ProblemError } from '../../problem.js';
import { recoveryStatus, requestCodeChallenge, requestProviderChallenge } from '../../processes/recovery.js';
import type { FactorRequest } from './schemas.js';
import { recoveryContext } from './settings.js';

/** What a challenge strategy gets: the request, the recovery, and the instant it is issued at. */
export interface ChallengeInput {
  c: Context<ApiEnv>;
  recoveryId: string;
  challengeId: string;
  provider: ProviderId | undefined;
  now: Date;
}

/** The body of a 202 from `POST /challenges` (besides challengeId and factor). */
export interface IssuedChallenge {
  expiresAt: string;
  publicKey?: Awaited<ReturnType<typeof issuePasskeyChallenge>>['publicKey'];
  authorizationUrl?: string;
}

export interface ProofInput {
  c: Context<ApiEnv>;
  recoveryId: string;
  /** The request once the workflow has looked its account up. */
  request: RecoveryDocument;
  body: FactorRequest;
  now: Date;
}

export interface FactorStrategy {
  /** `POST /challenges` names a provider for this factor (and for no other). */
  takesProvider?: true;
  /** What `POST /challenges` does for the factor; absent when nothing is issued for it. */
  challenge?: (input: ChallengeInput) => Promise<IssuedChallenge>;
  /** How `POST /factors` checks the factor: what the body must carry, then the check. */
  proof?: { missing: (body: FactorRequest) => string | undefined; check: (input: ProofInput) => Promise<ProofCheck> };
  /** Why `POST /factors` does not take the factor, when it is proven elsewhere. */
  refusal?: { kind: ProblemKind; detail: string };
}

/** The workflow's validator decides; asking first lets the answer come before the code is sent. */
async function deliveredCode(
  factor: DeliveredCodeFactor,
  { c, recoveryId, challengeId, now }: ChallengeInput,
): Promise<IssuedChallenge> {
  const { deps, settings } = recoveryContext(c);
  const status = await recoveryStatus(deps, recoveryId);
  if (status.stage !== 'verifying') throw new ProblemError('conflict', 'This recovery takes no more factors.');
  if (status.locked.includes(factor))
    throw new ProblemError('conflict', `The factor ${factor} is locked after ${recoveryPolicy.maxFailures} failures.`);
  if ((status.challengesSent[factor] ?? 0) >= recoveryPolicy.maxChallengesPerFactor) {
    throw new ProblemError('conflict', `At most ${recoveryPolicy.maxChallengesPerFactor} codes are sent per factor.`);
  }
  const expiresAt = new Date(now.getTime() + msToNumber(settings.durations.codeTtl)).toISOString();
  await requestCodeChallenge(deps, recoveryId, { factor, challengeId, expiresAt });
  return { expiresAt };
}

/** A code the person types in, checked by `check`. */
const codeProof = (
  factor: RecoveryFactor,
  check: (input: ProofInput, code: string) => Promise<ProofCheck>,
): FactorStrategy['proof'] => ({
  missing: (body) => (body.code ? undefined : `${factor} needs the code.`),
  check: (input) => check(input, input.body.code!),
});

const emailOrSms = (factor: DeliveredCodeFactor): FactorStrategy => ({
  challenge: (input) => deliveredCode(factor, input),
  proof: codeProof(factor, ({ c, recoveryId, body, now }, code) =>
    checkDeliveredCode(c.get('deps').db, recoveryId, factor, code, body.challengeId, now),
  ),
});

/** A provider sign-in: the same checks and the same answer for every address; nothing here looks at the account. */
async function providerSignIn({ c, recoveryId, challengeId, provider, now }: ChallengeInput): Promise<IssuedChallenge> {
  const { deps, settings } = recoveryContext(c);
  const factor = 'provider_reauth';
  const status = await recoveryStatus(deps, recoveryId);
  if (status.stage !== 'verifying') throw new ProblemError('conflict', 'This recovery takes no more factors.');
  if (status.locked.includes(factor))
    throw new ProblemError('conflict', `The factor ${factor} is locked after ${recoveryPolicy.maxFailures} failures.`);
  if (status.satisfied.includes(factor))
    throw new ProblemError('conflict', `The factor ${factor} was accepted already.`);
  if ((await countChallenges(deps.db, recoveryId, factor)) >= recoveryPolicy.maxChallengesPerFactor) {
    throw new ProblemError(
      'conflict',
      `At most ${recoveryPolicy.maxChallengesPerFactor} provider sign-ins are started per recovery.`,
    );
  }
  // The workflow's activity makes the authorization request; its URL waits on the challenge, encrypted.
  const expiresAt = new Date(now.getTime() + msToNumber(settings.durations.codeTtl)).toISOString();
  const issued = await requestProviderChallenge(deps, recoveryId, { challengeId, provider: provider!, expiresAt });
  const authorizationUrl = await takeProviderAuthorizationUrl(deps.db, await vaultOf(deps), recoveryId, challengeId);
  if (!authorizationUrl) throw new ProblemError('conflict', 'This sign-in was handed out already. Ask for a new one.');
  return { expiresAt: issued.expiresAt, authorizationUrl };
}

export const factorStrategies: Readonly<Record<RecoveryFactor, FactorStrategy>> = {
  email_code: emailOrSms('email_code'),
  sms_code: emailOrSms('sms_code'),
  totp: {
    proof: codeProof('totp', async ({ c, request, now }, code) =>
      checkTotp(c.get('deps').db, await vaultOf(c.get('deps')), request.accountId, code, now),
    ),
  },
  backup_code: {
    proof: codeProof('backup_code', ({ c, request, now }, code) =>
      checkBackupCode(c.get('deps').db, request.accountId, code, now),
    ),
  },
  passkey: {
    challenge: async ({ c, recoveryId, challengeId, now }) => {
      const { deps, settings } = recoveryContext(c);
      if ((await countChallenges(deps.db, recoveryId, 'passkey')) >= recoveryPolicy.maxChallengesPerFactor) {
        throw new ProblemError(
          'conflict',
          `At most ${recoveryPolicy.maxChallengesPerFactor} passkey challenges are issued per recovery.`,
        );
      }
      const issued = await issuePasskeyChallenge(deps.db, recoveryId, challengeId, settings.webauthn, now);
      return { expiresAt: issued.expiresAt, publicKey: issued.publicKey };
    },
    proof: {
      missing: (body) =>
        body.assertion && body.challengeId ? undefined : 'A passkey needs the challengeId and the assertion.',
      check: ({ c, recoveryId, request, body, now }) =>
        checkPasskey(
          c.get('deps').db,
          recoveryId,
          request.accountId,
          body.challengeId!,
          body.assertion as AuthenticationResponseJSON,
          recoveryContext(c).settings.webauthn,
          now,
        ),
    },
  },
  provider_reauth: {
    takesProvider: true,
    challenge: providerSignIn,
    refusal: {
      kind: 'validation',
      detail:
        'provider_reauth is proven by signing in at the provider: POST /challenges {factor: "provider_reauth", provider} gives the URL.',
    },
  },
  document_check: {
    refusal: { kind: 'forbidden', detail: 'Identity documents are verified by support, not submitted here.' },
  },
};
