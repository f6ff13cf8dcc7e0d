/**
 * The two-sample KS test on distributions whose answer is known: Kolmogorov's distribution at its
 * textbook critical values, exact statistics of small samples, and seeded samples from one distribution
 * (not rejected) and from shifted or wider ones (rejected at α = 0.01).
 */
import { describe, expect, it } from 'vitest';
import { kolmogorovQ, ksTwoSample } from '../support/ks-test.js';

/** A small seeded generator (mulberry32), so the samples and the verdicts are the same every run. */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normal(seed: number, mean = 0, sd = 1): () => number {
  const u = uniform(seed);
  return () => mean + sd * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}
const draw = (n: number, next: () => number) => Array.from({ length: n }, next);

describe('kolmogorovQ', () => {
  it('matches the critical values of Kolmogorov’s distribution', () => {
    expect(kolmogorovQ(1.2238)).toBeCloseTo(0.1, 3);
    expect(kolmogorovQ(1.3581)).toBeCloseTo(0.05, 3);
    expect(kolmogorovQ(1.6276)).toBeCloseTo(0.01, 3);
    expect(kolmogorovQ(0.1)).toBe(1);
    expect(kolmogorovQ(5)).toBeLessThan(1e-20);
  });
});

describe('ksTwoSample', () => {
  it('computes the statistic of small samples exactly', () => {
    expect(ksTwoSample([1, 2, 3], [1, 2, 3]).statistic).toBe(0);
    expect(ksTwoSample([1, 2, 3], [1, 2, 3]).pValue).toBe(1);
    expect(ksTwoSample([1, 2, 3], [4, 5, 6]).statistic).toBe(1);
    // F_a steps at 1, 2, 3, 4; F_b at 3, 4, 5, 6: the gap is 2/4 after 2.
    expect(ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]).statistic).toBe(0.5);
    // Ties across the samples open no gap.
    expect(ksTwoSample([1, 1, 2, 2], [1, 2]).statistic).toBe(0);
    expect(() => ksTwoSample([], [1])).toThrow();
  });

  it('does not reject samples from one distribution', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      expect(ksTwoSample(draw(200, uniform(seed)), draw(200, uniform(seed + 100))).pValue).toBeGreaterThan(0.01);
      expect(ksTwoSample(draw(150, normal(seed)), draw(250, normal(seed + 100))).pValue).toBeGreaterThan(0.01);
    }
  });

  it('rejects a shifted or a wider distribution at α = 0.01', () => {
    const shifted = ksTwoSample(draw(200, normal(7)), draw(200, normal(8, 0.5)));
    expect(shifted.pValue).toBeLessThan(0.01);
    const wider = ksTwoSample(draw(300, normal(9)), draw(300, normal(10, 0, 3)));
    expect(wider.pValue).toBeLessThan(0.01);
    expect(
      ksTwoSample(
        draw(100, uniform(11)),
        draw(100, uniform(12)).map((v) => v + 1),
      ).pValue,
    ).toBeLessThan(1e-10);
  });

  it('gives about α false rejections over many pairs from one distribution', () => {
    let rejected = 0;
    for (let seed = 0; seed < 400; seed++)
      if (ksTwoSample(draw(80, uniform(1000 + seed)), draw(80, uniform(5000 + seed))).pValue < 0.05) rejected++;
    // 5 % of 400 is 20; the asymptotic p-value is a little conservative for 80 a side.
    expect(rejected).toBeGreaterThan(5);
    expect(rejected).toBeLessThan(35);
  });
});
