/**
 * The audit log as the unkeyed version left it (before per-account chains and SecretVault MACs): format-2
 * events on one global sequence, SHA-256 chained, and its one head record. Written straight to the
 * database, for the tests that check such a log still verifies and is sealed by the first checkpoint.
 */
import type { Db } from 'mongodb';
import { genesisHash, hashEvent, type AuditEventInput } from '../../activities/audit/audit-log.js';
import { collections } from '../../domain/collections.js';

/** Insert `inputs` as events 1…n of the unkeyed chain (dated 1…n January 2026) and set its head; the head's hash. */
export async function insertUnkeyedLog(db: Db, inputs: readonly AuditEventInput[]): Promise<string> {
  let prevHash = genesisHash;
  for (const [i, input] of inputs.entries()) {
    const seq = i + 1;
    const body = JSON.parse(
      JSON.stringify({
        ...input,
        seq,
        at: new Date(Date.UTC(2026, 0, seq)).toISOString(),
        prevHash,
        format: 2,
        personal: [],
      }),
    ) as Parameters<typeof hashEvent>[0];
    const hash = hashEvent(body);
    await db.collection(collections.auditEvents).insertOne({ _id: input.eventId as never, ...body, hash });
    prevHash = hash;
  }
  await db
    .collection(`${collections.auditEvents}_head`)
    .updateOne({ _id: 'head' as never }, { $set: { seq: inputs.length, hash: prevHash } }, { upsert: true });
  return prevHash;
}
