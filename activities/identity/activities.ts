/**
 * Identity activities: the only place workflows reach the IdentityDirectory. They run on the identity
 * task queue, whose activity rate the worker caps under the directory's limit.
 */
import { failure } from '../../domain/failures.js';
import { IdentityError, type EnsureRootIdentityInput, type IdentityDirectory, type RootIdentity } from './port.js';

export interface IdentityActivityDeps {
  directory: IdentityDirectory;
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

export function createIdentityActivities({ directory }: IdentityActivityDeps) {
  return {
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
