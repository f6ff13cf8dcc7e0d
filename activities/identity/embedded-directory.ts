/**
 * The embedded IdentityDirectory: root identities in a MongoDB collection, for development and tests.
 * It keeps the same contract as Auth0 (app_metadata.cra_account_id, roles) so workflows cannot tell them apart.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import {
  IdentityError,
  type EnsureRootIdentityInput,
  type IdentityDirectory,
  type ResetCredentialsOptions,
  type ResetCredentialsResult,
  type RootIdentity,
} from './port.js';

/** A password-change ticket of the embedded directory (the API's `/account/reset-password` redeems it). */
export interface PasswordTicketDocument {
  /** SHA-256 of the ticket. */
  _id: string;
  subject: string;
  expiresAt: string;
  usedAt: string | null;
}

export const passwordTicketHash = (ticket: string) => createHash('sha256').update(ticket, 'utf8').digest('hex');
const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * Where the embedded directory and its issuer keep a person: what `deleteIdentity` erases. Sign-in
 * transactions and passkey challenges name nobody (a state, a nonce, a challenge hash) and expire on their own.
 */
export const embeddedIdentityCollections = [
  collections.identityUsers,
  collections.identityEmails,
  collections.emailVerifications,
  collections.passwordTickets,
  collections.signinThrottle,
  collections.browserSessions,
  collections.oidcRecords,
  collections.signinTransactions,
  collections.signinChallenges,
] as const;

interface IdentityUserDocument {
  _id: string;
  email?: string;
  email_verified: boolean;
  given_name?: string;
  family_name?: string;
  app_metadata: { cra_account_id?: string };
  roles: string[];
  identities?: Array<{ provider: string; user_id: string }>;
  /** Set by a recovery's credential reset. */
  password_reset_required?: boolean;
  mfa_enrollments?: string[];
  sessions_revoked_at?: string;
  created_at: string;
  updated_at: string;
}

export class EmbeddedDirectory implements IdentityDirectory {
  readonly kind = 'embedded' as const;
  private readonly users: Collection<IdentityUserDocument>;

  /** `publicUrl`: where the account center is, for the password-change link of a recovery. */
  constructor(
    private readonly db: Db,
    private readonly publicUrl?: string,
  ) {
    this.users = db.collection<IdentityUserDocument>(collections.identityUsers);
  }

  async getIdentity(subject: string): Promise<RootIdentity | undefined> {
    const user = await this.users.findOne({ _id: subject });
    return user ? toRootIdentity(user) : undefined;
  }

  async ensureRootIdentity(input: EnsureRootIdentityInput): Promise<RootIdentity> {
    const now = new Date().toISOString();
    // Create-if-absent; a concurrent creator makes this a no-op, never a second user. (insertOne, not an
    // upsert with $setOnInsert: FerretDB 1.x drops empty top-level arrays from the latter.)
    try {
      await this.users.insertOne({
        _id: input.subject,
        ...(input.email ? { email: input.email } : {}),
        email_verified: input.emailVerified ?? false,
        ...(input.givenName ? { given_name: input.givenName } : {}),
        ...(input.familyName ? { family_name: input.familyName } : {}),
        app_metadata: {},
        roles: [],
        created_at: now,
        updated_at: now,
      });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
    const bound = await this.users.findOneAndUpdate(
      { _id: input.subject, 'app_metadata.cra_account_id': { $exists: false } },
      { $set: { 'app_metadata.cra_account_id': input.accountId } },
      { returnDocument: 'after' },
    );
    const user = bound ?? (await this.users.findOne({ _id: input.subject }));
    if (!user)
      throw new IdentityError('IdentityUnavailable', `identity ${input.subject} vanished while it was being bound`);
    if (user.app_metadata.cra_account_id !== input.accountId) {
      throw new IdentityError('IdentityRejected', `identity ${input.subject} is already the root of another account`);
    }
    return toRootIdentity(user);
  }

  async updateNames(subject: string, names: { givenName: string; familyName: string }): Promise<{ updated: boolean }> {
    const written = await this.users.updateOne(
      { _id: subject },
      { $set: { given_name: names.givenName, family_name: names.familyName, updated_at: new Date().toISOString() } },
    );
    return { updated: written.matchedCount === 1 };
  }

  async linkIdentity(
    subject: string,
    identity: { provider: string; providerAccountId: string },
  ): Promise<{ linked: boolean }> {
    const entry = { provider: identity.provider, user_id: identity.providerAccountId };
    const result = await this.users.updateOne({ _id: subject }, { $addToSet: { identities: entry } });
    if (result.matchedCount === 0) throw new IdentityError('IdentityNotFound', `no identity ${subject}`);
    return { linked: true };
  }

  async unlinkIdentity(
    subject: string,
    identity: { provider: string; providerAccountId: string },
  ): Promise<{ unlinked: boolean }> {
    const result = await this.users.updateOne(
      { _id: subject },
      { $pull: { identities: { provider: identity.provider, user_id: identity.providerAccountId } } },
    );
    return { unlinked: result.modifiedCount === 1 };
  }

  async assignRole(subject: string, role: string): Promise<void> {
    const result = await this.users.updateOne({ _id: subject }, { $addToSet: { roles: role } });
    if (result.matchedCount === 0) throw new IdentityError('IdentityNotFound', `no identity ${subject}`);
  }

  /**
   * Erasure: everything the embedded directory and its issuer keep of the subject, the user document last so a
   * retry after a crash still finds the addresses it needs (see `embeddedIdentityCollections`). Subjects are
   * random (`cra|<uuid>`, `EmbeddedAccounts.signUp`), so signing up again with the same address makes a new one.
   */
  async deleteIdentity(subject: string): Promise<{ deleted: boolean; unlinkedIdentities: number }> {
    const user = await this.users.findOne({ _id: subject });
    const claims = await this.db
      .collection<{ _id: string; subject: string }>(collections.identityEmails)
      .find({ subject })
      .toArray();
    const emails = [...new Set([...(user?.email ? [user.email] : []), ...claims.map((c) => c._id)])].map((e) =>
      e.trim().toLowerCase(),
    );
    const accountId = user?.app_metadata.cra_account_id;

    await this.db.collection(collections.identityEmails).deleteMany({ subject });
    await this.db
      .collection(collections.emailVerifications)
      .deleteMany({ $or: [{ subject }, ...(emails.length > 0 ? [{ email: { $in: emails } }] : [])] });
    await this.db.collection(collections.passwordTickets).deleteMany({ subject });
    // The sign-in throttle is keyed by a hash of the address (api/auth/embedded-oidc/passwords.ts).
    if (emails.length > 0)
      await this.db
        .collection(collections.signinThrottle)
        .deleteMany({ _id: { $in: emails.map(sha256Hex) as never[] } });
    await this.db.collection(collections.browserSessions).deleteMany({ subject });
    // Sign-in passkeys are the account's passkey factors.
    if (accountId) await this.db.collection(collections.recoveryFactors).deleteMany({ accountId, kind: 'passkey' });
    await this.deleteIssuerRecords(subject, emails);
    const deleted = await this.users.deleteOne({ _id: subject });
    return { deleted: deleted.deletedCount === 1, unlinkedIdentities: user?.identities?.length ?? 0 };
  }

  /**
   * The embedded issuer's records of the subject: its sessions, grants and every token of them, and the
   * short-lived interactions that name the subject or an address (a `login_hint`, a finished login).
   */
  private async deleteIssuerRecords(subject: string, emails: string[]): Promise<void> {
    const records = this.db.collection<{ _id: string; model: string; grantId?: string; accountId?: string }>(
      collections.oidcRecords,
    );
    const grants = await records.find({ model: 'Grant', accountId: subject }, { projection: { grantId: 1 } }).toArray();
    const grantIds = grants.map((g) => g.grantId).filter((g): g is string => typeof g === 'string');
    await records.deleteMany({
      $or: [{ accountId: subject }, ...(grantIds.length > 0 ? [{ grantId: { $in: grantIds } }] : [])],
    });
    const named = (await records.find({ accountId: { $exists: false } }).toArray()).filter((r) => {
      const text = JSON.stringify(r).toLowerCase();
      return text.includes(subject.toLowerCase()) || emails.some((e) => text.includes(e));
    });
    if (named.length > 0) await records.deleteMany({ _id: { $in: named.map((r) => r._id) } });
  }

  /**
   * The same effects as Auth0's reset: a new password required, enrolments removed, every session ended
   * (browser sessions by `sessions_revoked_at`; the embedded issuer's sessions, grants and tokens deleted),
   * and a single-use password-change ticket for the owner's verified address.
   */
  async resetCredentials(subject: string, options?: ResetCredentialsOptions): Promise<ResetCredentialsResult> {
    const at = new Date().toISOString();
    const result = await this.users.updateOne(
      { _id: subject },
      { $set: { password_reset_required: true, mfa_enrollments: [], sessions_revoked_at: at, updated_at: at } },
    );
    if (result.matchedCount === 0) throw new IdentityError('IdentityNotFound', `no identity ${subject}`);
    await this.db.collection(collections.oidcRecords).deleteMany({ accountId: subject });
    if (!this.publicUrl || !options) return {};
    const ticket = randomBytes(32).toString('base64url');
    await this.db.collection<PasswordTicketDocument>(collections.passwordTickets).insertOne({
      _id: passwordTicketHash(ticket),
      subject,
      expiresAt: new Date(Date.now() + options.ticketTtlSeconds * 1000).toISOString(),
      usedAt: null,
    });
    return { passwordChangeTicketUrl: `${this.publicUrl}/account/reset-password?ticket=${ticket}` };
  }
}

function toRootIdentity(user: IdentityUserDocument): RootIdentity {
  return {
    subject: user._id,
    ...(user.email ? { email: user.email } : {}),
    emailVerified: user.email_verified,
    ...(user.given_name ? { givenName: user.given_name } : {}),
    ...(user.family_name ? { familyName: user.family_name } : {}),
    ...(user.app_metadata.cra_account_id ? { accountId: user.app_metadata.cra_account_id } : {}),
    roles: user.roles ?? [],
  };
}
