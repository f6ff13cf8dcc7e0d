/**
 * People of the embedded directory who sign in with an email address and a password: sign-up (one
 * identity per address, claimed atomically), email verification through the Notifier, and the look-up a
 * sign-in needs. Sign-up answers the same way whether or not the address has an account: the mailbox
 * gets either a verification link or a "you already have an account" notice.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { MongoServerError, type Db } from 'mongodb';
import type { Notifier } from '../../../activities/notify/port.js';
import type { Consent } from '../../../domain/account-center.js';
import { collections } from '../../../domain/collections.js';
import { hashPassword, type PasswordHash } from './passwords.js';

export interface PasswordUser {
  _id: string;
  email: string;
  email_verified: boolean;
  given_name?: string;
  family_name?: string;
  password?: PasswordHash;
  /** What the person agreed to on the sign-up page; the account-center signup records it. */
  signup_consents?: Consent[];
  /** Permissions for staff (`support:read`, …): granted in the directory, carried in access tokens. */
  permissions?: string[];
  password_reset_required?: boolean;
  sessions_revoked_at?: string;
}

interface EmailClaim {
  _id: string;
  subject: string;
}
interface VerificationDocument {
  _id: string;
  subject: string;
  email: string;
  expiresAt: string;
  usedAt: string | null;
}

export const emailVerificationTtlMs = 24 * 60 * 60 * 1000;
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
export const normalEmail = (email: string) => email.trim().toLowerCase();

export interface SignUpInput {
  email: string;
  password: string;
  givenName: string;
  familyName: string;
  consents: Consent[];
}

export class EmbeddedAccounts {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly publicUrl: string,
  ) {}

  private users() {
    return this.db.collection<PasswordUser>(collections.identityUsers);
  }

  async findByEmail(email: string): Promise<PasswordUser | undefined> {
    const claim = await this.db.collection<EmailClaim>(collections.identityEmails).findOne({ _id: normalEmail(email) });
    if (!claim) return undefined;
    return (await this.users().findOne({ _id: claim.subject })) ?? undefined;
  }

  async findBySubject(subject: string): Promise<PasswordUser | undefined> {
    return (await this.users().findOne({ _id: subject })) ?? undefined;
  }

  /** Create the identity, or tell the owner of the address that someone tried; the same answer either way. */
  async signUp(input: SignUpInput): Promise<void> {
    const email = normalEmail(input.email);
    const subject = `cra|${randomUUID()}`;
    try {
      await this.db.collection<EmailClaim>(collections.identityEmails).insertOne({ _id: email, subject });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      // One such notice an hour per address, however often someone tries.
      await this.notifier.send({
        idempotencyKey: `signup-existing/${sha256(email)}/${Math.floor(Date.now() / 3_600_000)}`,
        channel: 'email',
        to: email,
        template: 'signup-existing-account',
        data: { signInUrl: `${this.publicUrl}/account/sign-in` },
      });
      return;
    }
    const now = new Date().toISOString();
    await this.users().insertOne({
      _id: subject,
      email,
      email_verified: false,
      given_name: input.givenName,
      family_name: input.familyName,
      password: await hashPassword(input.password),
      signup_consents: input.consents,
      ...({ app_metadata: {}, roles: [], created_at: now, updated_at: now } as object),
    } as PasswordUser);
    await this.sendVerification(subject, email);
  }

  async sendVerification(subject: string, email: string): Promise<void> {
    const token = randomBytes(32).toString('base64url');
    await this.db.collection<VerificationDocument>(collections.emailVerifications).insertOne({
      _id: sha256(token),
      subject,
      email,
      expiresAt: new Date(Date.now() + emailVerificationTtlMs).toISOString(),
      usedAt: null,
    });
    await this.notifier.send({
      idempotencyKey: `email-verification/${sha256(token)}`,
      channel: 'email',
      to: email,
      template: 'email-verification',
      data: { verifyUrl: `${this.publicUrl}/account/verify-email?token=${token}` },
    });
  }

  /** What a verification link names, without using it (the page shows it before the person confirms). */
  async verificationFor(token: string): Promise<{ email: string; status: 'valid' | 'used' | 'expired' } | undefined> {
    const doc = await this.db
      .collection<VerificationDocument>(collections.emailVerifications)
      .findOne({ _id: sha256(token) });
    if (!doc) return undefined;
    return {
      email: doc.email,
      status: doc.usedAt ? 'used' : Date.parse(doc.expiresAt) <= Date.now() ? 'expired' : 'valid',
    };
  }

  /** Use a verification link once; true when the address is now verified by it. */
  async verifyEmail(token: string): Promise<boolean> {
    const used = await this.db
      .collection<VerificationDocument>(collections.emailVerifications)
      .findOneAndUpdate(
        { _id: sha256(token), usedAt: null, expiresAt: { $gt: new Date().toISOString() } },
        { $set: { usedAt: new Date().toISOString() } },
      );
    if (!used) return false;
    await this.users().updateOne(
      { _id: used.subject, email: used.email },
      { $set: { email_verified: true, ...({ updated_at: new Date().toISOString() } as object) } },
    );
    return true;
  }
}
