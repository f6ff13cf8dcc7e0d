/**
 * The post-registration hook's replay guard: a signed `<t>.<body>` is accepted once. The signature's
 * timestamp bounds how long it must be remembered (the 300 s tolerance either side), so the store stays
 * small; a second use inside the window is a replay, whatever else the header carries.
 */
import { createHash } from 'node:crypto';
import { MongoServerError, type Db } from 'mongodb';
import { collections } from '../../domain/collections.js';
import { signatureToleranceSeconds } from './hook-signature.js';

const keyOf = (timestamp: number, rawBody: string) =>
  createHash('sha256').update(`${timestamp}.${rawBody}`, 'utf8').digest('hex');

interface HookReplayDocument {
  /** SHA-256 of `<t>.<raw body>`: what the signature covers (never the body itself). */
  _id: string;
  expiresAt: string;
}

/** Remember a verified hook request; false when it was accepted before (a replay). Two at once: one wins. */
export async function claimHookSignature(
  db: Db,
  timestamp: number,
  rawBody: string,
  now = Date.now(),
): Promise<boolean> {
  const replays = db.collection<HookReplayDocument>(collections.hookSignatureReplays);
  try {
    await replays.insertOne({
      _id: keyOf(timestamp, rawBody),
      expiresAt: new Date((timestamp + signatureToleranceSeconds + 60) * 1000).toISOString(),
    });
  } catch (err) {
    if (err instanceof MongoServerError && err.code === 11000) return false;
    throw err;
  }
  // About one request in sixteen sweeps out what can no longer pass the window (no TTL indexes on FerretDB).
  if (now % 16 === 0)
    void replays.deleteMany({ expiresAt: { $lt: new Date(now).toISOString() } }).catch(() => undefined);
  return true;
}

/** Forget a request whose handling failed, so the sender's retry is answered rather than called a replay. */
export async function releaseHookSignature(db: Db, timestamp: number, rawBody: string): Promise<void> {
  await db
    .collection<HookReplayDocument>(collections.hookSignatureReplays)
    .deleteOne({ _id: keyOf(timestamp, rawBody) });
}
