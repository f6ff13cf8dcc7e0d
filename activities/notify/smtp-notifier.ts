/**
 * The production Notifier for email: each notice is rendered and handed to an SMTP relay (RFC 5321) with
 * Nodemailer (https://nodemailer.com/smtp/). CRA keeps no copy of what it said: the delivery log holds the
 * idempotency key, template, channel, account id, the address's blind index (`toHash`), when it was claimed
 * and sent, and the relay's message id; never the subject, body, data or address.
 *
 * Once per idempotency key: the key is claimed in the delivery log (unique index) before the relay is
 * called, so a retried activity finds the claim and sends nothing. At least once, not exactly once: a
 * process that dies after the relay accepted the message and before `sentAt` was written leaves a claim
 * without `sentAt`; after `claimLeaseMs` the next attempt takes the claim over and sends again. That second
 * copy carries the same Message-ID (derived from the key), so mail clients that thread by it show one.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { createTransport, type Transporter } from 'nodemailer';
import { collections } from '../../domain/collections.js';
import type { SecretVault } from '../secrets/port.js';
import { noticeAddressHash } from './outbox-notifier.js';
import type { Notice, Notifier, NoticeTemplates } from './port.js';
import { noticeRenderer, type NoticeRenderer } from './templates.js';

/** One notice handed to the relay (or claimed for it): what it was, never what it said. */
export interface DeliveryLogEntry {
  _id: string;
  idempotencyKey: string;
  channel: Notice['channel'];
  template: string;
  accountId?: string;
  toHash: string;
  claimedAt: string;
  sentAt?: string;
  /** The Message-ID header the relay accepted. */
  messageId?: string;
}

export function deliveryLog(db: Db): Collection<DeliveryLogEntry> {
  return db.collection<DeliveryLogEntry>(collections.noticeDeliveries);
}

export async function ensureDeliveryLogIndexes(db: Db): Promise<void> {
  const log = deliveryLog(db);
  await log.createIndex({ idempotencyKey: 1 }, { unique: true, name: 'idempotency_key_unique' });
  await log.createIndex({ toHash: 1 }, { name: 'to_hash' });
  await log.createIndex({ accountId: 1 }, { name: 'account_id' });
}

/** A send whose claim another attempt holds (it may be sending right now): retried later, as any error. */
export class DeliveryInProgressError extends Error {
  constructor() {
    super('another attempt is sending this notice; retry after its claim lapses');
    this.name = 'DeliveryInProgressError';
  }
}

export interface SmtpNotifierOptions {
  templates: NoticeTemplates;
  /** `smtp://user:password@host:587` (STARTTLS when offered) or `smtps://…:465`, or a Nodemailer transporter. */
  smtp: string | Transporter;
  /** The sender, e.g. `CRA <no-reply@example.com>`. */
  from: string;
  /** The HMAC key of the address index (the SecretVault's `outbox-address`, shared with the outbox). */
  vault: SecretVault | (() => Promise<SecretVault>);
  /** How long a claim without `sentAt` blocks another attempt (default 2 minutes). */
  claimLeaseMs?: number;
  now?: () => Date;
}

export class SmtpNotifier implements Notifier {
  private readonly log: Collection<DeliveryLogEntry>;
  private readonly render: NoticeRenderer;
  private readonly transport: Transporter;
  private readonly now: () => Date;
  private readonly leaseMs: number;
  private readonly messageIdDomain: string;

  constructor(
    db: Db,
    private readonly options: SmtpNotifierOptions,
  ) {
    this.log = deliveryLog(db);
    this.render = noticeRenderer(options.templates);
    this.transport = typeof options.smtp === 'string' ? createTransport(options.smtp) : options.smtp;
    this.now = options.now ?? (() => new Date());
    this.leaseMs = options.claimLeaseMs ?? 120_000;
    this.messageIdDomain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'cra.invalid';
  }

  async send(notice: Notice): Promise<{ id: string; queued: boolean }> {
    if (notice.channel !== 'email') throw new Error(`the SMTP notifier sends email, not ${notice.channel}`);
    // Rendered first: an unknown template claims nothing.
    const rendered = this.render(notice.template, notice.data);
    const vault = typeof this.options.vault === 'function' ? await this.options.vault() : this.options.vault;
    const claim = await this.claim(notice, await noticeAddressHash(vault, notice.to));
    if (!claim.claimed) return { id: claim.id, queued: false };
    let messageId: string;
    try {
      const info = (await this.transport.sendMail({
        from: this.options.from,
        to: notice.to,
        subject: rendered.subject,
        text: rendered.body,
        messageId: this.messageIdOf(notice.idempotencyKey),
        headers: { 'X-CRA-Notice': notice.template },
      })) as { messageId?: string };
      messageId = info.messageId ?? this.messageIdOf(notice.idempotencyKey);
    } catch (err) {
      // The relay refused or could not be reached: give the key back so the activity's retry sends it.
      await this.log.deleteOne({ _id: claim.id, sentAt: { $exists: false } });
      throw new Error(`the SMTP relay did not take the ${notice.template} notice: ${smtpReason(err)}`);
    }
    await this.log.updateOne({ _id: claim.id }, { $set: { sentAt: this.now().toISOString(), messageId } });
    return { id: claim.id, queued: true };
  }

  /** Close the relay connections (a pooled transport keeps them open). */
  close(): void {
    this.transport.close();
  }

  /** Claim the key: new, or a lapsed claim of an attempt that never recorded its send. */
  private async claim(notice: Notice, toHash: string): Promise<{ id: string; claimed: boolean }> {
    const now = this.now();
    const entry: DeliveryLogEntry = {
      _id: randomUUID(),
      idempotencyKey: notice.idempotencyKey,
      channel: notice.channel,
      template: notice.template,
      ...(notice.accountId !== undefined ? { accountId: notice.accountId } : {}),
      toHash,
      claimedAt: now.toISOString(),
    };
    try {
      await this.log.insertOne(entry);
      return { id: entry._id, claimed: true };
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    const existing = await this.log.findOne({ idempotencyKey: notice.idempotencyKey });
    if (!existing) throw new DeliveryInProgressError();
    if (existing.sentAt) return { id: existing._id, claimed: false };
    const lapsed = new Date(now.getTime() - this.leaseMs).toISOString();
    const taken = await this.log.updateOne(
      { _id: existing._id, sentAt: { $exists: false }, claimedAt: { $lte: lapsed } },
      { $set: { claimedAt: now.toISOString() } },
    );
    if (taken.modifiedCount === 1) return { id: existing._id, claimed: true };
    throw new DeliveryInProgressError();
  }

  /** The same Message-ID for every attempt at one notice (RFC 5322 section 3.6.4). */
  private messageIdOf(idempotencyKey: string): string {
    const digest = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
    return `<${digest}@${this.messageIdDomain}>`;
  }
}

/** The relay's reply code and command, never the message (it may quote the address). */
function smtpReason(err: unknown): string {
  const e = err as { responseCode?: number; command?: string; code?: string };
  const parts = [e.code, e.responseCode, e.command].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join(' ') : 'unknown error';
}
