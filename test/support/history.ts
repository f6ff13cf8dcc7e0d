import type { WorkflowHandle } from '@temporalio/client';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/**
 * Every payload of a workflow history, decoded as UTF-8 text: payloads are bytes (base64 in JSON), so a
 * scan for secrets must read them decoded or it would miss what they carry.
 */
export function decodedPayloads(history: History): string[] {
  const decoded: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) decoded.push(Buffer.from(value).toString('utf8'));
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history);
  return decoded;
}
