/**
 * Each provider's request quota as the sandbox enforces it: per (provider, username) a window of `limit`
 * requests lasting `windowSeconds`. Answers carry the state in the provider's own headers; a request beyond
 * the limit gets the provider's own rate-limit answer and is counted, so a test can prove a sync never went
 * over. By default the limits are the providers' generous published ones and nothing is refused.
 */
export interface QuotaRule {
  limit: number;
  windowSeconds: number;
}

export interface QuotaWindow {
  limit: number;
  /** Left after this request (0 when it went over). */
  remaining: number;
  used: number;
  /** When the window ends (epoch ms). */
  resetAtMs: number;
  windowSeconds: number;
  /** This request was beyond the limit. */
  exceeded: boolean;
}

export interface SandboxQuotaControl {
  /** Enforces `rule` for every user of the provider from now on (a fresh window each). */
  set(provider: string, rule: QuotaRule): void;
  /** Back to the default, for every provider. */
  clear(): void;
  /** Requests answered with a rate-limit refusal because the quota was used up, per provider. */
  exceeded(): Record<string, number>;
}

const defaultRule: QuotaRule = { limit: 5000, windowSeconds: 3600 };

export class SandboxQuotas implements SandboxQuotaControl {
  readonly #rules = new Map<string, QuotaRule>();
  readonly #windows = new Map<string, { startMs: number; used: number }>();
  readonly #exceeded: Record<string, number> = {};

  set(provider: string, rule: QuotaRule): void {
    if (!Number.isInteger(rule.limit) || rule.limit < 1 || !(rule.windowSeconds >= 1 && rule.windowSeconds <= 86_400))
      throw new Error('a quota is {limit: a whole number ≥ 1, windowSeconds: 1 to 86400}');
    this.#rules.set(provider, { ...rule });
    for (const key of this.#windows.keys()) if (key.startsWith(`${provider}\u0000`)) this.#windows.delete(key);
  }

  clear(): void {
    this.#rules.clear();
    this.#windows.clear();
  }

  exceeded(): Record<string, number> {
    return { ...this.#exceeded };
  }

  /** Counts one request of `username` at `provider`. */
  take(provider: string, username: string, now = Date.now()): QuotaWindow {
    const rule = this.#rules.get(provider) ?? defaultRule;
    const key = `${provider}\u0000${username}`;
    let window = this.#windows.get(key);
    if (!window || now >= window.startMs + rule.windowSeconds * 1000) {
      window = { startMs: now, used: 0 };
      this.#windows.set(key, window);
    }
    window.used++;
    const exceeded = window.used > rule.limit;
    if (exceeded) this.#exceeded[provider] = (this.#exceeded[provider] ?? 0) + 1;
    return {
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - window.used),
      used: Math.min(window.used, rule.limit),
      resetAtMs: window.startMs + rule.windowSeconds * 1000,
      windowSeconds: rule.windowSeconds,
      exceeded,
    };
  }
}
