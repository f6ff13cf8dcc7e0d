import { createHash } from 'node:crypto';

/** RFC 9562 name-based namespace for CRA account ids (a fixed random UUID). */
const accountNamespace = '6f1d3c2a-8b4e-4f0a-9c57-2d9e1b7a5c40';

/**
 * The account id of a root identity: a UUIDv5 of its subject. Every path that signs a person up (API,
 * Auth0 hook, a retry of either) derives the same id without coordinating, so they meet on one account.
 */
export function accountIdForSubject(subject: string): string {
  const ns = Buffer.from(accountNamespace.replaceAll('-', ''), 'hex');
  const hash = createHash('sha1').update(ns).update(subject, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
