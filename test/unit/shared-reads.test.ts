/**
 * Shared reads: concurrent requests for one key share reads, yet none gets an answer read before it asked
 * (a revocation written between two requests is seen by the second), and nothing stays held once done.
 */
import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../api/auth/shared-reads.js';

/** A store whose reads finish when the test says, answering the value at the moment the read started. */
function store() {
  let value = 0;
  const reads: Array<() => void> = [];
  const shared = new SharedReads(async () => {
    const seen = value;
    await new Promise<void>((resolve) => reads.push(resolve));
    return seen;
  });
  const finishReads = async () => {
    // Let queued reads start, then finish every read under way.
    for (let i = 0; i < 3; i++) await Promise.resolve();
    for (const finish of reads.splice(0)) finish();
    for (let i = 0; i < 3; i++) await Promise.resolve();
  };
  return { shared, reads, set: (v: number) => (value = v), finishReads };
}

describe('SharedReads', () => {
  it('never answers a request with a read that started before it asked', async () => {
    const s = store();
    const first = s.shared.get('alice');
    await Promise.resolve();
    // The write lands while the first read is under way: requests from now on must see it.
    s.set(1);
    const second = s.shared.get('alice');
    const third = s.shared.get('alice');
    await s.finishReads();
    expect(await first).toBe(0);
    await s.finishReads();
    expect([await second, await third]).toEqual([1, 1]);
  });

  it('makes two reads for a burst of requests for one key, and one per key', async () => {
    let reads = 0;
    const shared = new SharedReads(async (key) => {
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return key.toUpperCase();
    });
    const answers = await Promise.all([...Array.from({ length: 20 }, () => shared.get('a')), shared.get('b')]);
    expect(answers.filter((a) => a === 'A')).toHaveLength(20);
    expect(answers.at(-1)).toBe('B');
    expect(reads).toBe(3);
    // Nothing is held once the reads are done: the next request reads again.
    expect(shared.size).toBe(0);
    await shared.get('a');
    expect(reads).toBe(4);
  });

  it('gives a failed read to the requests that shared it only', async () => {
    let fail = true;
    const shared = new SharedReads(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) throw new Error('directory down');
      return 'ok';
    });
    const failing = shared.get('k');
    const next = shared.get('k');
    await expect(failing).rejects.toThrow('directory down');
    fail = false;
    await expect(next).resolves.toBe('ok');
  });
});
