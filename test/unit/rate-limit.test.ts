/** Token buckets: a burst up to the capacity, then one request per refill interval, with an honest Retry-After. */
import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../api/middleware/rate-limit.js';

describe('TokenBuckets', () => {
  it('lets a burst of `capacity` through, then refills evenly over the window', () => {
    let now = 0;
    const buckets = new TokenBuckets(3, 60_000, () => now);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')].every((t) => t.ok)).toBe(true);
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 20 });
    // Other keys have their own buckets.
    expect(buckets.take('b').ok).toBe(true);
    now = 19_000;
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    now = 20_000;
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(false);
    now = 10 * 60_000;
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a'), buckets.take('a')].map((t) => t.ok)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('does not let refused requests earn tokens', () => {
    let now = 0;
    const buckets = new TokenBuckets(1, 10_000, () => now);
    expect(buckets.take('k').ok).toBe(true);
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      expect(buckets.take('k').ok).toBe(false);
    }
    now = 10_000;
    expect(buckets.take('k').ok).toBe(true);
  });
});
