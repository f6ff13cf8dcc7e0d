/**
 * In-process token buckets: each key (a client IP, a hashed email) holds up to `capacity` tokens that
 * refill evenly over `windowMs`. One API process enforces its own limits; behind several replicas the
 * gateway (Kong's rate-limiting plugin) bounds the total. Over the limit: 429 problem+json with Retry-After.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { ProblemError } from '../problem.js';

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Buckets forgotten once full again, so the map holds only clients seen within about a window. */
const pruneAbove = 10_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): Take {
    const now = this.now();
    const perMs = this.capacity / this.windowMs;
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    const tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * perMs);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) };
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > pruneAbove) this.prune(now, perMs);
    return { ok: true };
  }

  private prune(now: number, perMs: number): void {
    for (const [key, b] of this.buckets) if (b.tokens + (now - b.at) * perMs >= this.capacity) this.buckets.delete(key);
  }
}

/** Take a token or answer 429 with `Retry-After`; `what` names the limit in the problem's detail. */
export function takeOrRefuse(buckets: TokenBuckets, key: string, what: string): void {
  const taken = buckets.take(key);
  if (!taken.ok) {
    throw new ProblemError('rate-limited', `Too many ${what}; try again in ${taken.retryAfterSeconds} s.`, {
      'retry-after': String(taken.retryAfterSeconds),
    });
  }
}

/**
 * The client's address: the socket's peer, or — behind `trustedProxyHops` proxies that each append to
 * X-Forwarded-For — the entry the outermost trusted proxy saw. Entries further left are client-supplied.
 */
export function clientIp(c: Context, trustedProxyHops: number): string | undefined {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    // Not served by @hono/node-server (app.request in unit tests): no socket to ask.
  }
  if (trustedProxyHops <= 0) return peer;
  const forwarded = (c.req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return forwarded[forwarded.length - trustedProxyHops] ?? peer;
}

/** The client's country as the gateway tells it (e.g. `cf-ipcountry`), when one is configured. */
export function clientCountry(c: Context, header: string | undefined): string | undefined {
  const value = header ? c.req.header(header)?.trim().toUpperCase() : undefined;
  return value && /^[A-Z]{2}$/.test(value) ? value : undefined;
}
