/** Counters of the data API, for tests that assert how a sync used it (how many pages, how many retries). */

export interface SandboxDataStats {
  /** Data requests with a valid token for a kind the provider has, whatever the answer (page, fault, 400), per provider and kind. */
  requests: Record<string, Record<string, number>>;
  /** Of those, the ones answered 200 with a page, per provider and kind. */
  served: Record<string, Record<string, number>>;
  /** Records in those pages, per provider and kind. */
  records: Record<string, Record<string, number>>;
  /** Requests answered `304 Not Modified` to their `If-None-Match`, per provider and kind. */
  notModified: Record<string, Record<string, number>>;
  /** Data requests refused with 401 (no token, or one this provider does not accept), per provider. */
  unauthorized: Record<string, number>;
  /** Injected faults that fired, per provider: by status (`"429"`, `"500"`, `"503"`), or `"slow"` for a delay on its own. */
  faultsFired: Record<string, Record<string, number>>;
}

export class DataStats {
  readonly #stats: SandboxDataStats = {
    requests: {},
    served: {},
    records: {},
    notModified: {},
    unauthorized: {},
    faultsFired: {},
  };

  requested(provider: string, kind: string): void {
    bump(this.#stats.requests, provider, kind, 1);
  }

  served(provider: string, kind: string, records: number): void {
    bump(this.#stats.served, provider, kind, 1);
    bump(this.#stats.records, provider, kind, records);
  }

  notModified(provider: string, kind: string): void {
    bump(this.#stats.notModified, provider, kind, 1);
  }

  unauthorized(provider: string): void {
    this.#stats.unauthorized[provider] = (this.#stats.unauthorized[provider] ?? 0) + 1;
  }

  faultFired(provider: string, status: number | undefined): void {
    bump(this.#stats.faultsFired, provider, status === undefined ? 'slow' : String(status), 1);
  }

  /** A copy: later requests do not change it. */
  snapshot(): SandboxDataStats {
    return structuredClone(this.#stats);
  }
}

function bump(counters: Record<string, Record<string, number>>, provider: string, key: string, by: number): void {
  const perProvider = (counters[provider] ??= {});
  perProvider[key] = (perProvider[key] ?? 0) + by;
}
