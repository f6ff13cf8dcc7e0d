/**
 * Identity activities: the only place workflows reach the IdentityDirectory. They run on the identity
 * task queue, whose activity rate the worker caps under the directory's limit.
 */
import { failure } from '../../domain/failures.js';
import { mergeSignupFields } from '../../domain/signup-details.js';
import type { SignupDetails } from '../../workflows/signup/messages.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import {
  openFromHistory,
  sealForHistory,
  signupPersonalContext,
  signupProfileContext,
  type SignupPersonal,
} from '../secrets/history-values.js';
import { IdentityError, type EnsureRootIdentityInput, type IdentityDirectory, type RootIdentity } from './port.js';

export interface IdentityActivityDeps {
  directory: IdentityDirectory;
  /** Open the sealed signup details and seal the profile handed on (`ensureSignupIdentity`). */
  accountKeys?: AccountKeys;
}

/** One signup request's details as the workflow passes them on: sealed, or (legacy signals) in clear. */
export type SignupIdentityDetails = Pick<
  SignupDetails,
  'personal' | 'emailVerified' | 'email' | 'givenName' | 'familyName'
>;

export interface EnsureSignupIdentityInput {
  subject: string;
  accountId: string;
  /** The requests' details in arrival order; the first value of each field wins. */
  details: SignupIdentityDetails[];
}

export interface SignupIdentity {
  directory: 'embedded' | 'auth0';
  /** The directory's word when it has an address, else the requests'. */
  emailVerified: boolean;
  hasEmail: boolean;
  /** The merged `SignupPersonal` (the directory's address first), sealed for the account step. */
  profile?: string;
}

/**
 * Vendor-neutral directory errors → Temporal failures (one mapping for every activity that calls the
 * directory): permanent ones stop retries, rate limits wait for the reset.
 */
export function identityFailure(err: unknown): unknown {
  if (!(err instanceof IdentityError)) return err;
  return failure(
    err.type,
    err.message,
    err.type === 'IdentityRateLimited' ? { nextRetryDelay: err.retryAfterMs ?? 1000 } : {},
  );
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw identityFailure(err);
  }
}

export function createIdentityActivities({ directory, accountKeys }: IdentityActivityDeps) {
  return {
    /**
     * `ensureRootIdentity` for the signup, whose details travel sealed: opens them, merges them as the
     * workflow used to, ensures the identity and hands the merged profile on sealed again. Nothing personal
     * enters the history: the result says only whether there is an address and whether it is verified.
     */
    async ensureSignupIdentity(input: EnsureSignupIdentityInput): Promise<SignupIdentity> {
      if (!accountKeys) throw new Error('ensureSignupIdentity needs the account keys');
      const requests = await Promise.all(
        input.details.map(async ({ personal, ...clear }) => ({
          ...clear,
          ...(await openFromHistory<SignupPersonal>(accountKeys, input.accountId, signupPersonalContext, personal)),
        })),
      );
      const merged = mergeSignupFields({ emailVerified: false }, requests);
      const root = await mapped(() =>
        directory.ensureRootIdentity({
          subject: input.subject,
          accountId: input.accountId,
          ...(merged.email ? { email: merged.email } : {}),
          emailVerified: merged.emailVerified,
          ...(merged.givenName ? { givenName: merged.givenName } : {}),
          ...(merged.familyName ? { familyName: merged.familyName } : {}),
        }),
      );
      // The directory is the authority on the address and whether it is verified.
      const email = root.email ?? merged.email;
      const profile = await sealForHistory<SignupPersonal>(accountKeys, input.accountId, signupProfileContext, {
        email,
        givenName: merged.givenName,
        familyName: merged.familyName,
      });
      return {
        directory: directory.kind,
        emailVerified: root.email ? root.emailVerified : merged.emailVerified,
        hasEmail: email !== undefined,
        ...(profile ? { profile } : {}),
      };
    },
    /** Ensure the root identity exists and is bound to the account (app_metadata.cra_account_id). */
    async ensureRootIdentity(
      input: EnsureRootIdentityInput,
    ): Promise<RootIdentity & { directory: 'embedded' | 'auth0' }> {
      const identity = await mapped(() => directory.ensureRootIdentity(input));
      return { ...identity, directory: directory.kind };
    },
    /** Link a connected provider's identity to the root identity; `linked: false` when the directory has none to link. */
    async linkDirectoryIdentity(input: {
      subject: string;
      provider: string;
      providerAccountId: string;
    }): Promise<{ linked: boolean }> {
      return mapped(() =>
        directory.linkIdentity(input.subject, { provider: input.provider, providerAccountId: input.providerAccountId }),
      );
    },
    /** Remove a connected provider's identity from the root identity; `unlinked: false` when it was not linked. */
    async unlinkDirectoryIdentity(input: {
      subject: string;
      provider: string;
      providerAccountId: string;
    }): Promise<{ unlinked: boolean }> {
      return mapped(() =>
        directory.unlinkIdentity(input.subject, {
          provider: input.provider,
          providerAccountId: input.providerAccountId,
        }),
      );
    },
    /** Assign a role at the directory. */
    async assignDirectoryRole(input: { subject: string; role: string }): Promise<void> {
      await mapped(() => directory.assignRole(input.subject, input.role));
    },
  };
}
