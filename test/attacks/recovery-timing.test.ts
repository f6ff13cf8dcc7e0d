/**
 * Enumeration by timing: does `POST /v1/recoveries` take longer for an address that has an account than
 * for one that has none? An attacker would time many requests for each, so this test does: after a
 * warm-up, samples of both kinds in a shuffled order (so the background work one request leaves behind
 * falls on either kind alike), over real HTTP with the workers running. The two distributions must be
 * indistinguishable to a two-sample Kolmogorov–Smirnov test at α = 0.01, and the answers alike.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { longStandingAccount } from '../support/accounts.js';
import { ksTwoSample } from '../support/ks-test.js';
import { useTestStack } from '../support/stack.js';

const stack = useTestStack({
  env: {
    RECOVERY_RATE_LIMIT_PER_IP: '100000',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '100000',
    RECOVERY_NOTICE_INTERVAL: '1 hour',
  },
});

const tag = randomBytes(3).toString('hex');
/**
 * Pairs (one of each kind, in a random order) until this many, or until the sampling time is spent: a
 * loaded machine gets fewer samples (a weaker test, still a fair one: when to stop never looks at the times).
 */
const maxPairs = 150;
const minPairs = 20;
const samplingBudgetMs = 40_000;
const warmUpPairs = 10;

type Kind = 'known' | 'unknown';

interface Timed {
  ms: number;
  status: number;
  body: Record<string, unknown>;
}

async function timedStart(email: string): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(`${stack.baseUrl}/v1/recoveries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { ms: performance.now() - started, status: res.status, body };
}

/** One request of each kind, in a random order: the work one leaves behind falls on either kind alike. */
const pair = (): Kind[] => (randomInt(2) === 0 ? ['known', 'unknown'] : ['unknown', 'known']);

const shape = (t: Timed) => ({
  status: t.status,
  keys: Object.keys(t.body).sort(),
  recoveryId: typeof t.body.recoveryId === 'string' ? t.body.recoveryId.length : -1,
  recoveryToken: typeof t.body.recoveryToken === 'string' ? t.body.recoveryToken.length : -1,
});

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;

describe('POST /v1/recoveries for a known and an unknown address', () => {
  it('answers alike, in times a KS test cannot tell apart at α = 0.01', async () => {
    const known = (await longStandingAccount(stack, `timing-known-${tag}`)).email;
    const unknown = `timing-nobody-${tag}@example.com`;
    const times: Record<Kind, number[]> = { known: [], unknown: [] };
    const shapes = new Set<string>();
    const send = async (kind: Kind) => {
      const answer = await timedStart(kind === 'known' ? known : unknown);
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      shapes.add(JSON.stringify(shape(answer)));
      return answer.ms;
    };
    for (let i = 0; i < warmUpPairs; i++) for (const kind of pair()) await send(kind);
    const deadline = performance.now() + samplingBudgetMs;
    while (times.known.length < maxPairs && performance.now() < deadline)
      for (const kind of pair()) times[kind].push(await send(kind));
    // The same status, fields and lengths for both.
    expect([...shapes]).toHaveLength(1);
    const ks = ksTwoSample(times.known, times.unknown);
    const summary = `${ks.n} pairs: D = ${ks.statistic.toFixed(3)}, p = ${ks.pValue.toFixed(4)}, median known ${median(times.known).toFixed(1)} ms, unknown ${median(times.unknown).toFixed(1)} ms`;
    console.log(`recovery timing: ${summary}`);
    expect(ks.n).toBe(ks.m);
    expect(ks.n, `only ${ks.n} pairs in ${samplingBudgetMs / 1000} s`).toBeGreaterThanOrEqual(minPairs);
    expect(ks.pValue, summary).toBeGreaterThan(0.01);
  }, 120_000);
});
