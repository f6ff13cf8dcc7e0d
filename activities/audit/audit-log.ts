/**
 * The audit log: append-only and hash-chained. Each event stores the hash of the one before it and a
 * SHA-256 over its own canonical JSON, and a head record keeps the last sequence number, so editing,
 * inserting, reordering or removing any event — the last one included — breaks the chain visibly.
 */
import { createHash } from 'node:crypto';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import { canonicalJson } from './canonical-json.js';

export interface AuditEventInput {
  /** Idempotency key: appending the same id twice stores one event. */
  eventId: string;
  action: string;
  actor: { type: 'user' | 'system' | 'support'; id: string };
  accountId?: string;
  workflowId?: string;
  /** Facts about the event. Never secrets or tokens. */
  details?: Record<string, string | number | boolean | null>;
}

export interface AuditEvent extends AuditEventInput {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

type AuditDocument = AuditEvent & { _id: string };
interface HeadDocument {
  _id: 'head';
  seq: number;
  hash: string;
}

export const genesisHash = '0'.repeat(64);
const headId = 'head' as const;

export type ChainBreak = { seq: number; eventId?: string; reason: string };
export type VerifyResult =
  { ok: true; events: number; headHash: string } | { ok: false; events: number; firstBreak: ChainBreak };

export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(event)).digest('hex');
}

export class AuditLog {
  private readonly events: Collection<AuditDocument>;
  private readonly heads: Collection<HeadDocument>;

  constructor(
    db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.events = db.collection<AuditDocument>(collections.auditEvents);
    this.heads = db.collection<HeadDocument>(`${collections.auditEvents}_head`);
  }

  async ensureIndexes(): Promise<void> {
    await this.events.createIndex({ seq: 1 }, { unique: true, name: 'seq_unique' });
    await this.events.createIndex({ accountId: 1, seq: 1 }, { name: 'account_seq' });
  }

  /** Append one event (once per eventId) at the end of the chain. */
  async append(input: AuditEventInput): Promise<AuditEvent> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const existing = await this.events.findOne({ _id: input.eventId });
      if (existing) return strip(existing);
      // The head record, read by its _id, says where the chain ends: no sorted scan of the whole log
      // (FerretDB on SQLite does not serve `sort: {seq: -1}` from the index).
      const head = await this.heads.findOne({ _id: headId });
      const seq = (head?.seq ?? 0) + 1;
      // Through JSON once: undefined fields vanish here rather than turning into nulls in the database,
      // so the stored event hashes exactly as it was hashed now.
      const body = JSON.parse(
        JSON.stringify({
          ...input,
          seq,
          at: this.now().toISOString(),
          prevHash: head?.hash ?? genesisHash,
        }),
      ) as Omit<AuditEvent, 'hash'>;
      const event: AuditEvent = { ...body, hash: hashEvent(body) };
      try {
        // _id = eventId and a unique seq: a duplicate event or a concurrent writer both fail here.
        await this.events.insertOne({ _id: input.eventId, ...event });
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
        // Someone else took this sequence number and may not have moved the head yet (or crashed
        // before it could): move it for them, then try again at the new end.
        const taken = await this.events.findOne({ seq });
        if (taken) await this.advanceHead(strip(taken));
        continue;
      }
      await this.advanceHead(event);
      return event;
    }
    throw new Error('audit log: too much contention appending an event');
  }

  /** Move the head forward (never back); a crash before this leaves the head behind, which verify allows. */
  private async advanceHead(event: AuditEvent): Promise<void> {
    try {
      await this.heads.updateOne(
        { _id: headId, seq: { $lt: event.seq } },
        { $set: { seq: event.seq, hash: event.hash } },
        { upsert: true },
      );
    } catch (err) {
      // The head is already at or past this event: another writer moved it.
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
  }

  /** Events, oldest first (optionally of one account). */
  async list(filter: { accountId?: string } = {}): Promise<AuditEvent[]> {
    const docs = await this.events
      .find(filter.accountId ? { accountId: filter.accountId } : {}, { sort: { seq: 1 } })
      .toArray();
    return docs.map(strip);
  }

  /** Walk the chain from the first event and name the first broken link. */
  async verify(): Promise<VerifyResult> {
    // The head is read first: events appended while the walk runs extend the chain past it, which is
    // fine, whereas reading it last would mistake them for removed ones.
    const head = await this.heads.findOne({ _id: headId });
    let expectedSeq = 1;
    let prevHash = genesisHash;
    let count = 0;
    for await (const doc of this.events.find({}, { sort: { seq: 1 } })) {
      const event = strip(doc);
      const at = { seq: event.seq, eventId: event.eventId };
      if (event.seq !== expectedSeq) {
        return {
          ok: false,
          events: count,
          firstBreak: {
            ...at,
            reason:
              event.seq > expectedSeq
                ? `event ${expectedSeq} is missing`
                : `sequence number ${event.seq} appears twice`,
          },
        };
      }
      if (event.prevHash !== prevHash)
        return {
          ok: false,
          events: count,
          firstBreak: {
            ...at,
            reason:
              'prevHash does not match the hash of the event before it (an event was inserted, removed or reordered)',
          },
        };
      const { hash, ...body } = event;
      if (hashEvent(body) !== hash)
        return {
          ok: false,
          events: count,
          firstBreak: { ...at, reason: 'the event was edited: its hash does not match its contents' },
        };
      if (doc._id !== event.eventId)
        return { ok: false, events: count, firstBreak: { ...at, reason: 'the event id was changed' } };
      prevHash = hash;
      expectedSeq++;
      count++;
    }
    if (head && head.seq >= expectedSeq) {
      return {
        ok: false,
        events: count,
        firstBreak: {
          seq: expectedSeq,
          reason: `the log ends at event ${expectedSeq - 1} but event ${head.seq} was written: events at the end were removed`,
        },
      };
    }
    return { ok: true, events: count, headHash: prevHash };
  }
}

function strip(doc: AuditDocument): AuditEvent {
  const { _id: _ignored, ...event } = doc;
  return event;
}
