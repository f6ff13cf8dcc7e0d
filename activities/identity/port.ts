/**
 * IdentityDirectory: where root identities live. Auth0 in production, a MongoDB-backed directory by
 * default. Every method is idempotent: activities call them again after a crash or a retry.
 */
import type { FailureType } from '../../domain/failures.js';

/** A root identity as the directory knows it. */
export interface RootIdentity {
  /** The directory's user id, the `sub` of the person's access tokens (Auth0: `auth0|abc`). */
  subject: string;
  email?: string;
  emailVerified: boolean;
  givenName?: string;
  familyName?: string;
  /** `app_metadata.cra_account_id`: the CRA account this identity is the root of. */
  accountId?: string;
  /** Directory roles currently assigned, where the directory reports them (Auth0 does not: CRA reads roles from the account document). */
  roles: string[];
}

export interface EnsureRootIdentityInput {
  subject: string;
  accountId: string;
  email?: string;
  emailVerified?: boolean;
  givenName?: string;
  familyName?: string;
}

/**
 * The directory's failures, declared (with what each means and whether it is retried) in
 * `domain/failures.ts`: `IdentityNotFound`, `IdentityRejected`, `IdentityRateLimited` (retry after
 * `retryAfterMs`), `IdentityUnavailable`.
 */
export type IdentityErrorType = Extract<FailureType, `Identity${string}`>;

/** The one error type adapters throw; each adapter maps its vendor errors to it in one place. */
export class IdentityError extends Error {
  constructor(
    readonly type: IdentityErrorType,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}

export interface IdentityDirectory {
  readonly kind: 'embedded' | 'auth0';
  /** The identity with this subject, or undefined. */
  getIdentity(subject: string): Promise<RootIdentity | undefined>;
  /**
   * Make sure the identity exists and carries `app_metadata.cra_account_id = accountId`.
   * Embedded: creates the user when missing. Auth0: the user must already exist (IdentityNotFound).
   * An identity already bound to another account id → IdentityRejected.
   */
  ensureRootIdentity(input: EnsureRootIdentityInput): Promise<RootIdentity>;
  /**
   * Write the person's names to the directory (the account center's profile page): Auth0
   * `PATCH /api/v2/users/{id}` with `given_name` and `family_name`; embedded: the user's names. `updated:
   * false` when the directory has no such user. Idempotent.
   */
  updateNames(subject: string, names: { givenName: string; familyName: string }): Promise<{ updated: boolean }>;
  /** Assign a role (a CRA role name; the Auth0 adapter maps it to its role id). Idempotent. */
  assignRole(subject: string, role: string): Promise<void>;
  /**
   * Link a connected provider's identity to the root identity (Auth0: `POST /api/v2/users/{id}/identities`).
   * `linked: false` when the directory has no such secondary identity to link (CRA still keeps the connection).
   */
  linkIdentity(
    subject: string,
    identity: { provider: string; providerAccountId: string },
  ): Promise<{ linked: boolean }>;
  /**
   * Remove a linked provider identity from the root identity (Auth0: `DELETE /api/v2/users/{id}/identities/{provider}/{user_id}`).
   * `unlinked: false` when it was not linked (or the user is gone): a retry after success changes nothing.
   */
  unlinkIdentity(
    subject: string,
    identity: { provider: string; providerAccountId: string },
  ): Promise<{ unlinked: boolean }>;
  /**
   * Erase the identity (GDPR erasure): unlink every secondary identity, then delete the user (Auth0:
   * `DELETE /api/v2/users/{id}/identities/{provider}/{user_id}` for each and `DELETE /api/v2/users/{id}` of the
   * user each one becomes once unlinked, then `DELETE /api/v2/users/{id}`; embedded: the user, its address
   * claims, password, passkeys, sessions, the issuer's grants and tokens, pending verifications and tickets).
   * Idempotent and resumable after a crash between any two calls: a user already gone answers `deleted: false`.
   * `unlinkedIdentities`: the secondary identities removed (Auth0 counts those of an earlier, interrupted call).
   */
  deleteIdentity(subject: string): Promise<{ deleted: boolean; unlinkedIdentities: number }>;
  /**
   * After an approved account recovery: remove enrolled MFA factors, end every session and refresh token,
   * and require a new password (Auth0: a password-change ticket valid `ticketTtlSeconds`). Safe to repeat.
   */
  resetCredentials(subject: string, options: ResetCredentialsOptions): Promise<ResetCredentialsResult>;
}

export interface ResetCredentialsOptions {
  ticketTtlSeconds: number;
  /** Where the directory sends the person after they chose a new password. */
  resultUrl?: string;
}

export interface ResetCredentialsResult {
  /** A secret (it sets the password): send it to the owner's verified address, never return it into workflow history. */
  passwordChangeTicketUrl?: string;
}
