/**
 * The embedded Notifier: notices go to an outbox collection instead of an email/SMS provider, where
 * `npm run outbox`, the tests and the console can read them.
 */
import { randomUUID } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { Notice, Notifier, NoticeTemplates, QueuedNotice } from './port.js';
import { noticeRenderer, type NoticeRenderer } from './templates.js';

type OutboxDocument = Omit<QueuedNotice, 'id'> & { _id: string };

export function outboxCollection(db: Db): Collection<OutboxDocument> {
  return db.collection<OutboxDocument>(collections.outbox);
}

export async function ensureOutboxIndexes(db: Db): Promise<void> {
  const outbox = outboxCollection(db);
  await outbox.createIndex({ idempotencyKey: 1 }, { unique: true, name: 'idempotency_key_unique' });
  await outbox.createIndex({ to: 1, queuedAt: -1 }, { name: 'to_queued_at' });
}

/** Queued notices, newest first (reading needs no templates). */
export async function queuedNotices(db: Db, filter: { to?: string; limit?: number } = {}): Promise<QueuedNotice[]> {
  const docs = await outboxCollection(db)
    .find(filter.to ? { to: filter.to } : {})
    .sort({ queuedAt: -1, _id: -1 })
    .limit(filter.limit ?? 100)
    .toArray();
  return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
}

export interface OutboxNotifierOptions {
  /** The words of every notice it may queue, handed in by whoever builds it (`activities/notices.ts`). */
  templates: NoticeTemplates;
  now?: () => Date;
}

export class OutboxNotifier implements Notifier {
  private readonly outbox: Collection<OutboxDocument>;
  private readonly render: NoticeRenderer;
  private readonly now: () => Date;
  constructor(
    private readonly db: Db,
    options: OutboxNotifierOptions,
  ) {
    this.outbox = outboxCollection(db);
    this.render = noticeRenderer(options.templates);
    this.now = options.now ?? (() => new Date());
  }

  async send(notice: Notice): Promise<{ id: string; queued: boolean }> {
    const rendered = this.render(notice.template, notice.data);
    const id = randomUUID();
    const result = await this.outbox.updateOne(
      { idempotencyKey: notice.idempotencyKey },
      { $setOnInsert: { _id: id, ...notice, ...rendered, queuedAt: this.now().toISOString() } },
      { upsert: true },
    );
    if (result.upsertedCount === 1) return { id, queued: true };
    const existing = await this.outbox.findOne({ idempotencyKey: notice.idempotencyKey }, { projection: { _id: 1 } });
    return { id: existing?._id ?? id, queued: false };
  }

  /** Queued notices, newest first. */
  list(filter: { to?: string; limit?: number } = {}): Promise<QueuedNotice[]> {
    return queuedNotices(this.db, filter);
  }
}
