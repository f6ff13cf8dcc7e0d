/**
 * A provider's quota, shared by all of an account's syncs of that provider: one document per (account,
 * provider) in `provider_quotas` holding what the provider last said is left (`remaining`), when its window
 * ends (`resetAt`) and the earliest time the next request may go (`nextAt`). Every request first takes one
 * unit with an atomic conditional update, so two syncs running at once (a schedule's and a "sync now") never
 * send more than the provider allows; when nothing is left the request waits for the window's end — in the
 * activity for a short wait, through Temporal's retry (`DataRateLimited` with the delay) for a long one.
 * Answers lower `remaining` (never raise it within a window) and, when little is left, spread the rest over
 * the time to the reset, so a sync slows down before the provider has to say 429.
 */
import type { Collection, Db } from 'mongodb';
import { collections } from '../../../domain/collections.js';
import { DataError, type RateSignal } from './reader.js';

export interface ProviderQuotaDocument {
  /** `<accountId>|<provider>`. */
  _id: string;
  accountId: string;
  /** What the provider said is left in this window, less the requests taken since; `unknown` before any answer. */
  remaining: number;
  /** When the window ends (epoch ms); 0 when not known. */
  resetAt: number;
  /** The earliest time the next request may start (epoch ms): pacing and waits. */
  nextAt: number;
  updatedAt: Date;
}

/** What `remaining` holds while the provider has said nothing (Google and Spotify send no counts). */
export const unknownRemaining = 1_000_000_000;
/** Below this many left, the rest is spread over the time to the reset. */
const lowWater = 10;

export function providerQuotas(db: Db): Collection<ProviderQuotaDocument> {
  return db.collection<ProviderQuotaDocument>(collections.providerQuotas);
}

export interface QuotaOptions {
  /** The least time between two requests of the provider (Slack's tiers). */
  minIntervalMs?: number;
  /** Waits up to this long inside the activity; longer ones go back to Temporal as `DataRateLimited`. */
  maxWaitMs?: number;
  now?: () => number;
  /** Sleeps (and heartbeats); rejects when the activity is cancelled. */
  wait(ms: number): Promise<void>;
}

export class ProviderQuota {
  readonly #col: Collection<ProviderQuotaDocument>;
  readonly #id: string;
  readonly #accountId: string;
  readonly #opts: Required<Omit<QuotaOptions, 'wait'>> & Pick<QuotaOptions, 'wait'>;
  #lastAnswer: { remaining: number; resetAtMs: number } | undefined;

  constructor(db: Db, accountId: string, provider: string, opts: QuotaOptions) {
    this.#col = providerQuotas(db);
    this.#id = `${accountId}|${provider}`;
    this.#accountId = accountId;
    this.#opts = { minIntervalMs: 0, maxWaitMs: 10_000, now: () => Date.now(), ...opts };
  }

  /**
   * What the provider's last answer to this instance said is left, while its window has more than a second to
   * go; 0 when no answer said so (before the first, or once the window is ending). Requests sent ahead of need
   * are bounded by it, so they never go out while the quota is not known.
   */
  headroom(): number {
    const last = this.#lastAnswer;
    if (!last || last.resetAtMs - this.#opts.now() < 1000) return 0;
    return Math.max(0, Math.floor(last.remaining));
  }

  /** Takes one request's worth of the quota, waiting for it if none is left. */
  async take(): Promise<void> {
    for (;;) {
      const now = this.#opts.now();
      // Filters hold the id and plain conditions only: on a MongoDB-compatible server without a query planner
      // (FerretDB) an `$or` would read the whole collection for every request.
      const taken = await this.#col.updateOne(
        // Within a window, or in one whose end has not been seen yet while some is left.
        { _id: this.#id, nextAt: { $lte: now }, remaining: { $gt: 0 } },
        { $inc: { remaining: -1 }, $set: { nextAt: now + this.#opts.minIntervalMs, updatedAt: new Date(now) } },
      );
      if (taken.modifiedCount === 1) return;
      const doc = await this.#col.findOne({ _id: this.#id });
      if (doc && doc.resetAt <= now && doc.remaining < unknownRemaining && (doc.resetAt > 0 || doc.remaining <= 0)) {
        // A window that has ended: what the provider allows now is not known until it answers again.
        await this.#col.updateOne(
          { _id: this.#id, resetAt: doc.resetAt, remaining: doc.remaining },
          { $set: { remaining: unknownRemaining, resetAt: 0, updatedAt: new Date(now) } },
        );
        continue;
      }
      if (!doc) {
        try {
          await this.#col.insertOne({
            _id: this.#id,
            accountId: this.#accountId,
            remaining: unknownRemaining - 1,
            resetAt: 0,
            nextAt: now + this.#opts.minIntervalMs,
            updatedAt: new Date(now),
          });
          return;
        } catch (err) {
          // Another sync made it first: take from it.
          if ((err as { code?: number }).code === 11000) continue;
          throw err;
        }
      }
      const waitMs = Math.max(doc.nextAt - now, doc.remaining <= 0 ? doc.resetAt - now : 0, 25);
      if (waitMs > this.#opts.maxWaitMs)
        throw new DataError(
          'DataRateLimited',
          `the provider's quota for this account is used up until ${new Date(now + waitMs).toISOString()}`,
          waitMs,
        );
      await this.#opts.wait(waitMs);
    }
  }

  /** Records what an answer said about the quota. */
  async observe(signal: RateSignal): Promise<void> {
    const now = this.#opts.now();
    if (signal.remaining !== undefined && signal.resetAtMs !== undefined)
      this.#lastAnswer = { remaining: signal.remaining, resetAtMs: signal.resetAtMs };
    const updatedAt = new Date(now);
    if (signal.retryAfterMs !== undefined) {
      // A 429 (or its like): no sync of this provider sends anything until the wait is over.
      await this.#col.updateOne(
        { _id: this.#id },
        { $set: { updatedAt }, $max: { nextAt: now + signal.retryAfterMs } },
      );
    }
    if (signal.remaining === undefined) return;
    const remaining = Math.max(0, Math.floor(signal.remaining));
    if (signal.resetAtMs !== undefined) {
      // The same window (resets agree within 2 s: Reddit gives seconds from now, which drift between answers):
      // the lower count stands, since answers to requests made at once come back in any order. Another window:
      // its numbers stand.
      const same = await this.#col.updateOne(
        { _id: this.#id, resetAt: { $gte: signal.resetAtMs - 2000, $lte: signal.resetAtMs + 2000 } },
        { $min: { remaining }, $set: { updatedAt } },
      );
      if (same.matchedCount === 0)
        await this.#col.updateOne({ _id: this.#id }, { $set: { remaining, resetAt: signal.resetAtMs, updatedAt } });
      if (remaining < lowWater && signal.resetAtMs > now) {
        const spread = Math.ceil((signal.resetAtMs - now) / (remaining + 1));
        await this.#col.updateOne({ _id: this.#id }, { $max: { nextAt: now + spread } });
      }
      return;
    }
    // No window given: a count of 0 waits a minute before trying again.
    await this.#col.updateOne(
      { _id: this.#id },
      { $min: { remaining }, $set: { updatedAt }, ...(remaining === 0 ? { $max: { resetAt: now + 60_000 } } : {}) },
    );
  }
}
