/**
 * Reads that concurrent requests share without any of them seeing older data than a read of its own would:
 * the answer a request gets always comes from a read that started after the request asked. A request for a
 * key whose read is already under way waits for the next read of that key, which starts once the current
 * one is done and serves every request that asked meanwhile. So a burst of N requests for one person costs
 * two reads instead of N, and a revocation or an erasure written anywhere is seen by every request that
 * starts after the write, exactly as with a read per request (nothing is cached once a read is done).
 *
 * Only keys with a read under way are held (at most one current and one next read each), so memory is
 * bounded by the requests in flight.
 */
export class SharedReads<V> {
  private readonly keys = new Map<string, { current: Promise<V>; next?: Promise<V> }>();

  constructor(private readonly read: (key: string) => Promise<V>) {}

  /** The value of `key`, from a read that started no earlier than this call. */
  get(key: string): Promise<V> {
    const entry = this.keys.get(key);
    if (!entry) return this.start(key);
    // The read under way started before this call: its answer may predate what this request must see.
    return (entry.next ??= entry.current.then(
      () => this.start(key),
      () => this.start(key),
    ));
  }

  /** How many keys have a read under way (for tests and benchmarks). */
  get size(): number {
    return this.keys.size;
  }

  private start(key: string): Promise<V> {
    const current = Promise.resolve().then(() => this.read(key));
    const entry: { current: Promise<V>; next?: Promise<V> } = { current };
    this.keys.set(key, entry);
    // Done and nobody waiting for a next read: forget the key (a later request starts its own read).
    const release = () => {
      if (this.keys.get(key) === entry && !entry.next) this.keys.delete(key);
    };
    current.then(release, release);
    return current;
  }
}

/**
 * One `SharedReads` per dependency set (per app: tests build several apps in one process), made on first
 * use: `const reads = sharedReadsPer((deps) => (key) => …)`, then `reads(deps).get(key)`.
 */
export function sharedReadsPer<D extends object, V>(
  readerOf: (deps: D) => (key: string) => Promise<V>,
): (deps: D) => SharedReads<V> {
  const perDeps = new WeakMap<D, SharedReads<V>>();
  return (deps) => {
    let reads = perDeps.get(deps);
    if (!reads) {
      reads = new SharedReads(readerOf(deps));
      perDeps.set(deps, reads);
    }
    return reads;
  };
}
