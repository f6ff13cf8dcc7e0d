/**
 * The two-sample Kolmogorov–Smirnov test: are two samples drawn from one distribution? Used by the
 * timing attack test to tell whether a route answers known and unknown inputs in distinguishable times.
 * The p-value is the asymptotic one (Kolmogorov's distribution with Stephens' small-sample correction,
 * as in Numerical Recipes §14.3), good from a few dozen samples a side.
 */

/** Kolmogorov's survival function Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}: P(√n·D > λ) for large n. */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

export interface KsResult {
  /** The largest gap between the two empirical distribution functions, 0…1. */
  statistic: number;
  /** The chance of a gap at least this large if both samples came from one distribution. */
  pValue: number;
  n: number;
  m: number;
}

/** The two-sample KS statistic D and its p-value. */
export function ksTwoSample(a: readonly number[], b: readonly number[]): KsResult {
  if (a.length === 0 || b.length === 0) throw new Error('both samples need at least one value');
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  const n = x.length;
  const m = y.length;
  let i = 0;
  let j = 0;
  let d = 0;
  // Walk both sorted samples; ties are stepped over together so equal values never open a gap.
  while (i < n && j < m) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < n && x[i]! <= v) i++;
    while (j < m && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovQ((en + 0.12 + 0.11 / en) * d), n, m };
}
