/**
 * Rate limits on starting a recovery, to the real app in-process (`app.request`, no socket; the client
 * address comes from X-Forwarded-For behind one trusted proxy): per client address and per email address
 * (hashed, case folded), each a token bucket; over the limit the answer is 429 problem+json with
 * Retry-After, the same for addresses with and without an account.
 */
import { describe, expect, it } from 'vitest';
import { listen, useAppWithoutServer } from '../support/app.js';
import { call } from '../support/stack.js';

const api = useAppWithoutServer({
  env: {
    RECOVERY_RATE_LIMIT_PER_IP: '3',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '2',
    RECOVERY_RATE_LIMIT_WINDOW: '1 hour',
    TRUSTED_PROXY_HOPS: '1',
  },
});

const start = (email: string, ip: string) =>
  call(api, 'POST', '/v1/recoveries', { json: { email }, headers: { 'x-forwarded-for': ip } });

describe('POST /v1/recoveries rate limits', () => {
  it('limits one email address, however it is spelt and wherever it comes from', async () => {
    expect((await start('Grace@Example.com', '198.20.1.1')).status).toBe(202);
    expect((await start('grace@example.com', '198.20.2.1')).status).toBe(202);
    const limited = await start(' GRACE@example.COM ', '198.20.3.1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(limited.body).toMatchObject({
      type: 'https://cra.dev/problems/rate-limited',
      status: 429,
      detail: expect.stringContaining('email address'),
    });
    // Two starts an hour: the next token comes after half an hour.
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(1700);
    expect(retryAfter).toBeLessThanOrEqual(1800);
    expect((await start('someone-else@example.com', '198.20.4.1')).status).toBe(202);
  });

  it('limits one client address across email addresses', async () => {
    const ip = '198.20.9.9';
    for (const n of [1, 2, 3]) expect((await start(`person-${n}@example.com`, ip)).status).toBe(202);
    const limited = await start('person-4@example.com', ip);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ detail: expect.stringContaining('your address') });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(1100);
    expect(retryAfter).toBeLessThanOrEqual(1200);
    expect((await start('person-4@example.com', '198.20.10.1')).status).toBe(202);
  });

  it('starts no workflow and stores nothing for a refused request', async () => {
    const before = await api.db.collection('recoveries').countDocuments();
    expect((await start('person-5@example.com', '198.20.9.9')).status).toBe(429);
    expect(await api.db.collection('recoveries').countDocuments()).toBe(before);
  });
});

/**
 * Over real HTTP (a loopback socket): X-Forwarded-For counts only from the peers in TRUSTED_PROXIES (Kong's
 * addresses); from any other peer the per-IP limit applies to the socket's own address.
 */
describe('X-Forwarded-For from trusted proxies only', () => {
  const limits = {
    RECOVERY_RATE_LIMIT_PER_IP: '2',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '5',
    RECOVERY_RATE_LIMIT_WINDOW: '1 hour',
    TRUSTED_PROXY_HOPS: '1',
  };
  const trusted = useAppWithoutServer({ env: { ...limits, TRUSTED_PROXIES: '127.0.0.1' } });
  const untrusted = useAppWithoutServer({ env: { ...limits, TRUSTED_PROXIES: '10.0.0.0/8, 192.168.0.1' } });

  async function startsOverHttp(target: typeof trusted, tag: string) {
    const server = await listen(target);
    try {
      const statuses: number[] = [];
      for (const n of [1, 2, 3]) {
        const res = await fetch(`${server.baseUrl}/v1/recoveries`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${n}` },
          body: JSON.stringify({ email: `${tag}-${n}@example.com` }),
        });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      return statuses;
    } finally {
      await server.close();
    }
  }

  it('counts the forwarded address when the peer (127.0.0.1) is a trusted proxy', async () => {
    expect(await startsOverHttp(trusted, 'trusted')).toEqual([202, 202, 202]);
  });

  it('ignores X-Forwarded-For from a peer outside TRUSTED_PROXIES and limits the peer itself', async () => {
    expect(await startsOverHttp(untrusted, 'untrusted')).toEqual([202, 202, 429]);
  });
});
