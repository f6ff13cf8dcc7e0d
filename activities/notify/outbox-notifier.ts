/**
 * The embedded Notifier: notices go to an outbox collection instead of an email/SMS provider, where
 * `npm run outbox`, the tests and the console can read them.
 *
 * What a notice says is sealed (issue 15): the recipient, subject, body and data are one AES-256-GCM value,
 * under the account's data key when the notice names an account that has one (so erasing the account makes
 * its notices unreadable everywhere, backups included), else under the SecretVault's `outbox` key. In clear
 * stay only the id, idempotency key, channel, template name, account id and time. Lookups by address use
 * a blind index, `toHash` = HMAC(`outbox-address`, the normalised address).
 */
import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import type { Notice, NoticeData, Notifier, NoticeTemplates, QueuedNotice } from './port.js';
import { noticeRenderer, type NoticeRenderer } from './templates.js';

/** The SecretVault key that seals notices naming no account (or an account without a data key). */
export const outboxSealKey = 'outbox';
/** The SecretVault HMAC key of the address index. */
export const outboxAddressKey = 'outbox-address';

/** What the outbox seals, as JSON; `id` binds the value to its document (a value moved to another one fails). */
interface SealedNotice {
  id: string;
  to: string;
  subject: string;
  body: string;
  data?: NoticeData;
}

/** A notice as stored: its words and recipient sealed. */
export interface SealedOutboxDocument {
  _id: string;
  idempotencyKey: string;
  channel: Notice['channel'];
  template: string;
  accountId?: string;
  queuedAt: string;
  /** The blind index of the recipient's address. */
  toHash: string;
  /** Whose key sealed it: the account's data key, or the SecretVault's `outbox` key. */
  sealedWith: 'account' | 'vault';
  sealed: string;
}

/** A notice queued before the outbox was sealed (local data folders of older versions): read as it is. */
type ClearOutboxDocument = Omit<QueuedNotice, 'id'> & { _id: string };

type OutboxDocument = SealedOutboxDocument | ClearOutboxDocument;

export function outboxCollection(db: Db): Collection<OutboxDocument> {
  return db.collection<OutboxDocument>(collections.outbox);
}

export async function ensureOutboxIndexes(db: Db): Promise<void> {
  const outbox = outboxCollection(db);
  await outbox.createIndex({ idempotencyKey: 1 }, { unique: true, name: 'idempotency_key_unique' });
  await outbox.createIndex({ toHash: 1, queuedAt: -1 }, { name: 'to_hash_queued_at' });
  await outbox.createIndex({ accountId: 1 }, { name: 'account_id' });
}

/** An address as the index hashes it: `Ada@Example.com ` and `ada@example.com` are one mailbox. */
export function normalizeNoticeAddress(to: string): string {
  return to.trim().toLowerCase();
}

/** The blind index of an address (the outbox's and the delivery log's `toHash`). */
export function noticeAddressHash(vault: SecretVault, to: string): Promise<string> {
  return vault.hmac(outboxAddressKey, normalizeNoticeAddress(to));
}

/** The stored filter of every notice to an address: by its blind index, and by the clear address of older ones. */
export async function noticesToAddressFilter(
  vault: SecretVault,
  to: string,
): Promise<{ $or: [{ toHash: string }, { to: string }] }> {
  return { $or: [{ toHash: await noticeAddressHash(vault, to) }, { to }] };
}

const sealContext = (id: string) => `outbox:${id}`;

/** The keys that seal and open notices: the account data keys, over the SecretVault that holds them. */
export type OutboxKeys = AccountKeys | (() => Promise<AccountKeys>);

async function keysOf(keys: OutboxKeys): Promise<AccountKeys> {
  return typeof keys === 'function' ? keys() : keys;
}

export interface OutboxFilter {
  to?: string;
  template?: string;
  accountId?: string;
  limit?: number;
}

export interface OutboxRead {
  /** The notices that opened, newest first. */
  notices: QueuedNotice[];
  /** Notices that no longer open (their account's key was destroyed by an erasure, or they were altered). */
  unreadable: { id: string; template: string; queuedAt: string; reason: 'AccountKeyDestroyed' | 'Tampered' }[];
}

/** Queued notices, newest first, opened (reading needs no templates); unreadable ones are listed apart. */
export async function readOutbox(db: Db, keys: OutboxKeys, filter: OutboxFilter = {}): Promise<OutboxRead> {
  const accountKeys = await keysOf(keys);
  const query: Record<string, unknown> = {
    ...(filter.to ? await noticesToAddressFilter(accountKeys.vault, filter.to) : {}),
    ...(filter.template ? { template: filter.template } : {}),
    ...(filter.accountId ? { accountId: filter.accountId } : {}),
  };
  const docs = await outboxCollection(db)
    .find(query)
    .sort({ queuedAt: -1, _id: -1 })
    .limit(filter.limit ?? 100)
    .toArray();
  const read: OutboxRead = { notices: [], unreadable: [] };
  for (const doc of docs) {
    if (!('sealed' in doc)) {
      const { _id, ...rest } = doc;
      read.notices.push({ id: _id, ...rest });
      continue;
    }
    const opened = await openNotice(accountKeys, doc);
    if (typeof opened === 'string') {
      read.unreadable.push({ id: doc._id, template: doc.template, queuedAt: doc.queuedAt, reason: opened });
      continue;
    }
    read.notices.push({
      id: doc._id,
      idempotencyKey: doc.idempotencyKey,
      channel: doc.channel,
      to: opened.to,
      template: doc.template,
      ...(doc.accountId !== undefined ? { accountId: doc.accountId } : {}),
      ...(opened.data !== undefined ? { data: opened.data } : {}),
      subject: opened.subject,
      body: opened.body,
      queuedAt: doc.queuedAt,
    });
  }
  return read;
}

/** Queued notices that open, newest first (those of erased accounts are skipped: see `readOutbox`). */
export async function queuedNotices(db: Db, keys: OutboxKeys, filter: OutboxFilter = {}): Promise<QueuedNotice[]> {
  return (await readOutbox(db, keys, filter)).notices;
}

async function openNotice(
  accountKeys: AccountKeys,
  doc: SealedOutboxDocument,
): Promise<SealedNotice | 'AccountKeyDestroyed' | 'Tampered'> {
  let json: string;
  try {
    if (doc.sealedWith === 'account') {
      const key = doc.accountId ? await accountKeys.existingKeyFor(doc.accountId) : undefined;
      if (!key) return 'AccountKeyDestroyed';
      json = key.open(sealContext(doc._id), doc.sealed);
    } else {
      json = await accountKeys.vault.decrypt(outboxSealKey, doc.sealed);
    }
  } catch (err) {
    if ((err as { type?: string }).type === 'Tampered') return 'Tampered';
    throw err;
  }
  const opened = JSON.parse(json) as SealedNotice;
  return opened.id === doc._id ? opened : 'Tampered';
}

export interface OutboxNotifierOptions {
  /** The words of every notice it may queue, handed in by whoever builds it (`activities/notices.ts`). */
  templates: NoticeTemplates;
  /** The account data keys (and through them the SecretVault) that seal each notice. */
  accountKeys: OutboxKeys;
  now?: () => Date;
}

export class OutboxNotifier implements Notifier {
  private readonly outbox: Collection<OutboxDocument>;
  private readonly render: NoticeRenderer;
  private readonly now: () => Date;
  private readonly keys: OutboxKeys;
  constructor(
    private readonly db: Db,
    options: OutboxNotifierOptions,
  ) {
    this.outbox = outboxCollection(db);
    this.render = noticeRenderer(options.templates);
    this.now = options.now ?? (() => new Date());
    this.keys = options.accountKeys;
  }

  async send(notice: Notice): Promise<{ id: string; queued: boolean }> {
    const rendered = this.render(notice.template, notice.data);
    const id = randomUUID();
    const accountKeys = await keysOf(this.keys);
    const content: SealedNotice = {
      id,
      to: notice.to,
      ...rendered,
      ...(notice.data !== undefined ? { data: notice.data } : {}),
    };
    // An account's notice is sealed with its key when it has one (never making one: that is the signup's job).
    const accountKey = notice.accountId ? await accountKeys.existingKeyFor(notice.accountId) : undefined;
    const sealed = accountKey
      ? accountKey.seal(sealContext(id), JSON.stringify(content))
      : await accountKeys.vault.encrypt(outboxSealKey, JSON.stringify(content));
    const doc: SealedOutboxDocument = {
      _id: id,
      idempotencyKey: notice.idempotencyKey,
      channel: notice.channel,
      template: notice.template,
      ...(notice.accountId !== undefined ? { accountId: notice.accountId } : {}),
      queuedAt: this.now().toISOString(),
      toHash: await noticeAddressHash(accountKeys.vault, notice.to),
      sealedWith: accountKey ? 'account' : 'vault',
      sealed,
    };
    const result = await this.outbox.updateOne(
      { idempotencyKey: notice.idempotencyKey },
      { $setOnInsert: doc },
      { upsert: true },
    );
    if (result.upsertedCount === 1) return { id, queued: true };
    const existing = await this.outbox.findOne({ idempotencyKey: notice.idempotencyKey }, { projection: { _id: 1 } });
    return { id: existing?._id ?? id, queued: false };
  }

  /** Queued notices that open, newest first. */
  list(filter: OutboxFilter = {}): Promise<QueuedNotice[]> {
    return queuedNotices(this.db, this.keys, filter);
  }
}
