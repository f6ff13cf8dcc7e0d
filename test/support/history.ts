import type { WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { encryptedKeyId, type PayloadEncryptionCodec } from '../../activities/secrets/payload-codec.js';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

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
