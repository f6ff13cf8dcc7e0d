/**
 * Identity activities: the only place workflows reach the IdentityDirectory. They run on the identity
 * task queue, whose activity rate the worker caps under the directory's limit.
 */
import { ApplicationFailure } from '@temporalio/common';
import { IdentityError, type EnsureRootIdentityInput, type IdentityDirectory, type RootIdentity } from './port.js';

export interface IdentityActivityDeps {
  directory: IdentityDirectory;
}

/** Vendor-neutral failures → Temporal failures: permanent ones stop retries, rate limits wait for the reset. */
function toFailure(err: unknown): unknown {
  if (!(err instanceof IdentityError)) return err;
  switch (err.type) {
    case 'IdentityNotFound':
    case 'IdentityRejected':
      return ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
    case 'IdentityRateLimited':
      return ApplicationFailure.create({ type: err.type, message: err.message, nextRetryDelay: err.retryAfterMs ?? 1000 });
    case 'IdentityUnavailable':
      return ApplicationFailure.create({ type: err.type, message: err.message });
  }
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

export function createIdentityActivities({ directory }: IdentityActivityDeps) {
  return {
    /** Ensure the root identity exists and is bound to the account (app_metadata.cra_account_id). */
    async ensureRootIdentity(input: EnsureRootIdentityInput): Promise<RootIdentity & { directory: 'embedded' | 'auth0' }> {
      const identity = await mapped(() => directory.ensureRootIdentity(input));
      return { ...identity, directory: directory.kind };
    },
    /** Link a connected provider's identity to the root identity; `linked: false` when the directory has none to link. */
    async linkDirectoryIdentity(input: { subject: string; provider: string; providerAccountId: string }): Promise<{ linked: boolean }> {
      return mapped(() => directory.linkIdentity(input.subject, { provider: input.provider, providerAccountId: input.providerAccountId }));
    },
    /** Remove a connected provider's identity from the root identity; `unlinked: false` when it was not linked. */
    async unlinkDirectoryIdentity(input: { subject: string; provider: string; providerAccountId: string }): Promise<{ unlinked: boolean }> {
      return mapped(() => directory.unlinkIdentity(input.subject, { provider: input.provider, providerAccountId: input.providerAccountId }));
    },
    /** Assign a role at the directory. */
    async assignDirectoryRole(input: { subject: string; role: string }): Promise<void> {
      await mapped(() => directory.assignRole(input.subject, input.role));
    },
  };
}
