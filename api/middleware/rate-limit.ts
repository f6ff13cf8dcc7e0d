/**
 * In-process token buckets: each key (a client IP, a hashed email) holds up to `capacity` tokens that
 * refill evenly over `windowMs`. One API process enforces its own limits; behind several replicas the
 * gateway (Kong's rate-limiting plugin) bounds the total. Over the limit: 429 problem+json with Retry-After.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
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

/** Which peers may speak for a client through X-Forwarded-For (`TRUSTED_PROXIES`: IPs and CIDR ranges). */
export interface ProxyTrust {
  hops: number;
  /** Absent: any peer (the behaviour before `TRUSTED_PROXIES`). */
  proxies?: readonly string[];
}

const blockLists = new WeakMap<readonly string[], BlockList>();
function blockListOf(proxies: readonly string[]): BlockList {
  let list = blockLists.get(proxies);
  if (!list) {
    list = new BlockList();
    for (const entry of proxies) {
      const [address = '', prefix] = entry.split('/');
      const family = isIPv6(address) ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(prefix), family);
    }
    blockLists.set(proxies, list);
  }
  return list;
}

/** Is the socket peer one of the trusted proxies? IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) count as IPv4. */
export function isTrustedPeer(peer: string | undefined, proxies: readonly string[]): boolean {
  if (!peer) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer)?.[1];
  const address = mapped ?? peer;
  const family = isIPv6(address) ? 'ipv6' : isIPv4(address) ? 'ipv4' : undefined;
  return family !== undefined && blockListOf(proxies).check(address, family);
}

/** The proxy trust the config asks for: `TRUSTED_PROXY_HOPS` hops from the `TRUSTED_PROXIES` peers. */
export function proxyTrustOf(config: {
  trustedProxies?: string[];
  recovery?: { trustedProxyHops?: number };
}): ProxyTrust {
  return {
    hops: config.recovery?.trustedProxyHops ?? 0,
    ...(config.trustedProxies ? { proxies: config.trustedProxies } : {}),
  };
}

/**
 * The client's address: the socket's peer, or — when the peer is a trusted proxy (`trust.proxies`, or any
 * peer when unset) behind `trust.hops` proxies that each append to X-Forwarded-For — the entry the
 * outermost trusted proxy saw. Entries further left are client-supplied; a peer that is no trusted proxy is
 * judged by its own address, whatever it claims.
 */
export function clientIp(c: Context, trust: ProxyTrust): string | undefined {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    // Not served by @hono/node-server (app.request in unit tests): no socket to ask.
  }
  if (trust.hops <= 0) return peer;
  const forwarded = (c.req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!trust.proxies) return forwarded[forwarded.length - trust.hops] ?? peer;
  // From the socket leftwards: each address that is a trusted proxy speaks for the entry before it.
  let address = peer;
  for (let hop = 1; hop <= trust.hops; hop++) {
    const previous = forwarded[forwarded.length - hop];
    if (previous === undefined || !isTrustedPeer(address, trust.proxies)) return address;
    address = previous;
  }
  return address;
}

/** The client's country as the gateway tells it (e.g. `cf-ipcountry`), when one is configured. */
export function clientCountry(c: Context, header: string | undefined): string | undefined {
  const value = header ? c.req.header(header)?.trim().toUpperCase() : undefined;
  return value && /^[A-Z]{2}$/.test(value) ? value : undefined;
}
