import type { WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { encryptedKeyId, type PayloadEncryptionCodec } from '../../activities/secrets/payload-codec.js';

export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

const isPayload = (value: object): value is Payload =>
  'metadata' in value && 'data' in value && (value as Payload).data instanceof Uint8Array;

/**
 * Every payload of a workflow history, decoded as UTF-8 text: payloads are bytes (base64 in JSON), so a
 * scan for secrets must read them decoded or it would miss what they carry. Encrypted payloads are opened
 * with the stack's codec first, as Temporal Web shows them to an operator: a scan of ciphertext would prove
 * nothing, so a history holding encrypted payloads without a codec to open them is an error.
 */
export function decodedPayloads(history: History, codec?: PayloadEncryptionCodec): string[] {
  const decoded: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) decoded.push(Buffer.from(value).toString('utf8'));
    else if (value && typeof value === 'object') {
      if (isPayload(value) && encryptedKeyId(value) !== undefined) {
        if (!codec) throw new Error('decodedPayloads: the history is encrypted; pass the codec (stack.codec)');
        walk(codec.openSync(value));
        return;
      }
      Object.values(value).forEach(walk);
    }
  };
  walk(history);
  return decoded;
}

/**
 * The history with every encrypted payload opened (as Temporal Web shows it): what `test/histories/` keeps, so
 * the replay test's worker, which has no codec and no key, can replay it. Personal values stay sealed
 * (`acct:1:…`) inside the payloads, as the workflow carried them.
 */
export function openedHistory(history: History, codec: PayloadEncryptionCodec): History {
  const open = (value: unknown): unknown => {
    if (value instanceof Uint8Array || !value || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(open);
    if (isPayload(value) && encryptedKeyId(value) !== undefined) return codec.openSync(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, open(v)]));
  };
  return open(history) as History;
}

type HistoryEvent = NonNullable<History['events']>[number];

/** A history event's time in epoch milliseconds (NaN without one). */
export function eventTimeMs(event: Pick<HistoryEvent, 'eventTime'>): number {
  const ts = event.eventTime;
  return ts ? Number(ts.seconds?.toString() ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6 : Number.NaN;
}

/** One activity of a history, scheduled → closed (completed, failed or timed out), as Temporal Web lists it. */
export interface ActivitySpan {
  type: string;
  /** Scheduled → closed, in ms: queueing and every retry included, as the workflow waited. */
  ms: number;
  /** The attempt that closed it (1 when it closed without a started event). */
  attempt: number;
  /** The closing event (its `activityTaskCompletedEventAttributes.result`, for one). */
  closed: HistoryEvent;
}

/** Every closed activity of a history's events, in the order they closed. */
export function activitySpans(events: readonly HistoryEvent[]): ActivitySpan[] {
  const scheduled = new Map<string, { type: string; at: number }>();
  const attempts = new Map<string, number>();
  const spans: ActivitySpan[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', at: eventTimeMs(e) });
    const started = e.activityTaskStartedEventAttributes;
    if (started) attempts.set(String(started.scheduledEventId), started.attempt ?? 1);
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    const from = closed && scheduled.get(String(closed.scheduledEventId));
    if (!from) continue;
    spans.push({
      type: from.type,
      ms: eventTimeMs(e) - from.at,
      attempt: attempts.get(String(closed.scheduledEventId)) ?? 1,
      closed: e,
    });
  }
  return spans;
}
