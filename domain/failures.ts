/**
 * Every failure type CRA's activities and workflows raise, declared once (like dust's
 * `connectors/src/lib/error.ts`): the `type` of an `ApplicationFailure`, what it means, whether retrying
 * can help, and the problem the API answers with when one reaches a person. Activities raise them with
 * `failure(...)`, retry policies list them with `nonRetryableTypes(...)`, workflows and the API read them
 * with `failureTypeOf(err)`, which unwraps Temporal's cause chain.
 */
import { ApplicationFailure, type ApplicationFailureOptions } from '@temporalio/common';
import type { ProblemKind } from './problem.js';

interface FailureDefinition {
  meaning: string;
  /** Retrying cannot help: the retry policies of the activity groups that raise it stop at once. */
  permanent: boolean;
  /** The problem the API answers when this failure is the reason a request could not be done. */
  problem?: ProblemKind;
}

export const failureDefinitions = {
  // Identity directory (Auth0 or the embedded one)
  IdentityNotFound: { meaning: 'the root identity does not exist in the directory', permanent: true },
  IdentityRejected: {
    meaning: 'the directory refused the change (bound to another account, invalid)',
    permanent: true,
  },
  IdentityRateLimited: { meaning: 'the directory asked to slow down; retried after its reset time', permanent: false },
  IdentityUnavailable: { meaning: 'the directory could not be reached; retried', permanent: false },
  // Provider linking and token custody
  ProviderRateLimited: { meaning: 'the provider asked to slow down; retried after Retry-After', permanent: false },
  ProviderUnavailable: { meaning: 'the provider could not be reached or answered 5xx; retried', permanent: false },
  LinkExchangeInProgress: {
    meaning: 'another attempt of the code exchange has sent the code; retried until it has kept the tokens',
    permanent: false,
  },
  LinkBeginFailed: {
    meaning: 'the authorization request could not be prepared',
    permanent: true,
    problem: 'link-failed',
  },
  ProviderNotConfigured: {
    meaning: 'the provider has no client credentials in the SecretVault',
    permanent: true,
    problem: 'provider-not-configured',
  },
  LinkExchangeFailed: {
    meaning: 'the authorization code could not be redeemed (spent, injected, or the nonce did not match)',
    permanent: true,
    problem: 'link-failed',
  },
  InvalidGrant: {
    meaning: 'the provider no longer accepts the refresh token (revoked or expired there)',
    permanent: true,
  },
  TokensMissing: { meaning: 'no tokens are stored for the connection', permanent: true },
  ReauthRequired: { meaning: 'the connection needs the person to connect it again', permanent: true },
  RevocationFailed: { meaning: 'the provider refused to revoke a token', permanent: true },
  // Provider data sync
  SyncRejected: { meaning: 'the provider refused the data request (a 4xx other than a rate limit)', permanent: true },
  SyncNotSupported: { meaning: 'the provider has no data API CRA can use', permanent: true },
  SyncFailed: { meaning: 'a sync stopped for a reason without a type of its own', permanent: true },
  DataRateLimited: { meaning: 'the provider data API asked to slow down; retried after Retry-After', permanent: false },
  DataUnavailable: { meaning: 'the provider data API could not be reached or answered 5xx; retried', permanent: false },
  DataUnauthorized: {
    meaning:
      'the provider data API refused the token; retried a few times (a refresh may be under way), then SyncRejected',
    permanent: false,
  },
  // Accounts
  AccountNotFound: { meaning: 'no account-center document for the id', permanent: true, problem: 'account-not-found' },
  AccountConflict: { meaning: 'the account id belongs to another identity', permanent: true },
  AccountWriteContention: {
    meaning: 'the account document kept changing under a write; the write is retried',
    permanent: false,
  },
  NotConfigured: {
    meaning: 'the worker lacks a dependency this activity needs',
    permanent: true,
    problem: 'not-configured',
  },
  // Data rights
  AccountKeyDestroyed: {
    meaning: "the account's data key was destroyed (the account was erased): what it sealed cannot be read",
    permanent: true,
  },
  ConsentWithdrawn: {
    meaning: 'the person withdrew a consent this needs',
    permanent: true,
    problem: 'consent-required',
  },
  ErasureInProgress: {
    meaning: 'the account is being erased: nothing new may start for it',
    permanent: true,
    problem: 'erasure-in-progress',
  },
  ErasureNotCancellable: {
    meaning: 'the grace window is over (or a cancel is under way): the erasure can no longer be cancelled',
    permanent: true,
    problem: 'erasure-not-cancellable',
  },
  // Processes
  SignupDetailsMissing: { meaning: 'a signup started without details and none arrived in time', permanent: true },
  RecoveryNotFound: { meaning: 'no recovery request with the id', permanent: true },
  RecoveryResetFailed: {
    meaning: 'the directory refused the credential reset of an approved recovery',
    permanent: true,
  },
} as const satisfies Record<string, FailureDefinition>;

export type FailureType = keyof typeof failureDefinitions;

/** The failure types by name, for comparisons that the type checker keeps true (`failureTypes.InvalidGrant`). */
export const failureTypes = Object.fromEntries(Object.keys(failureDefinitions).map((k) => [k, k])) as {
  readonly [K in FailureType]: K;
};

const isFailureType = (type: unknown): type is FailureType =>
  typeof type === 'string' && Object.hasOwn(failureDefinitions, type);

/** An `ApplicationFailure` of a declared type; permanent types are non-retryable unless told otherwise. */
export function failure(
  type: FailureType,
  message: string,
  options: Omit<ApplicationFailureOptions, 'type' | 'message'> = {},
): ApplicationFailure {
  return ApplicationFailure.create({ nonRetryable: failureDefinitions[type].permanent, ...options, type, message });
}

/** The types a retry policy must not retry, from the declared list. */
export function nonRetryableTypes(...types: FailureType[]): FailureType[] {
  for (const t of types)
    if (!failureDefinitions[t].permanent) throw new Error(`${t} is retryable; it cannot be in nonRetryableErrorTypes`);
  return types;
}

/**
 * The declared failure type anywhere in an error's cause chain (an activity's failure inside an
 * `ActivityFailure`, inside a `WorkflowUpdateFailedError`, …), or undefined.
 */
export function failureTypeOf(err: unknown): FailureType | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    // Duck-typed: failures made inside the workflow sandbox are of its own realm's classes.
    const type = typeof e === 'object' ? (e as { type?: unknown }).type : undefined;
    if (isFailureType(type)) return type;
  }
  return undefined;
}

/** The problem the API answers for a failure that reached it, if the failure has one. */
export function problemOfFailure(err: unknown): ProblemKind | undefined {
  const type = failureTypeOf(err);
  return type ? (failureDefinitions[type] as FailureDefinition).problem : undefined;
}
