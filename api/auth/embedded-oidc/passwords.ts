/**
 * Passwords of the embedded directory: scrypt (memory-hard, from node:crypto) with a per-user salt, and a
 * sign-in throttle per email address that locks with a doubling backoff after repeated failures. The
 * throttle counts unknown addresses exactly like known ones, and an unknown address still costs one hash,
 * so neither the answer nor its timing tells whether an account exists.
 */
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Db } from 'mongodb';
import { collections } from '../../../domain/collections.js';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

/** OWASP's scrypt floor is N=2^17, r=8, p=1 (128 MiB); 2^15 keeps a sign-in near 100 ms on two cores. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
export const defaultScryptParams: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const keyLength = 32;

export interface PasswordHash {
  alg: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
}

const maxmem = (params: ScryptParams) => 256 * params.N * params.r + 1024 * 1024;

export async function hashPassword(
  password: string,
  params: ScryptParams = defaultScryptParams,
): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, keyLength, { ...params, maxmem: maxmem(params) });
  return { alg: 'scrypt', ...params, salt: salt.toString('base64'), hash: key.toString('base64') };
}

/** A hash no password matches, so an unknown address costs the same work as a known one. */
let decoy: Promise<PasswordHash> | undefined;

export async function verifyPassword(password: string, stored: PasswordHash | undefined): Promise<boolean> {
  const target = stored ?? (await (decoy ??= hashPassword(randomBytes(24).toString('base64'))));
  const key = await scrypt(password.normalize('NFKC'), Buffer.from(target.salt, 'base64'), keyLength, {
    N: target.N,
    r: target.r,
    p: target.p,
    maxmem: maxmem(target),
  });
  const expected = Buffer.from(target.hash, 'base64');
  return stored !== undefined && key.length === expected.length && timingSafeEqual(key, expected);
}

/** What makes a password acceptable (NIST SP 800-63B §3.1.1.2: length, not composition rules). */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 10) return 'Choose a password of at least 10 characters.';
  if (password.length > 256) return 'Choose a password of at most 256 characters.';
  return undefined;
}

interface ThrottleDocument {
  _id: string;
  failures: number;
  lockedUntil?: number;
  updatedAt: number;
}

/** Failures allowed before the first lock; each further failure doubles the lock, up to an hour. */
export const signInThrottle = {
  freeFailures: 5,
  firstLockMs: 30_000,
  maxLockMs: 60 * 60_000,
  forgetAfterMs: 24 * 60 * 60_000,
} as const;

const throttleKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex');

export function signInThrottleStore(db: Db) {
  const store = db.collection<ThrottleDocument>(collections.signinThrottle);
  return {
    /** Milliseconds until this address may try again (0: now). */
    async lockedFor(email: string, now = Date.now()): Promise<number> {
      const doc = await store.findOne({ _id: throttleKey(email) });
      return doc?.lockedUntil && doc.lockedUntil > now ? doc.lockedUntil - now : 0;
    },
    async recordFailure(email: string, now = Date.now()): Promise<void> {
      const id = throttleKey(email);
      const doc = await store.findOne({ _id: id });
      const failures = doc && now - doc.updatedAt < signInThrottle.forgetAfterMs ? doc.failures + 1 : 1;
      const over = failures - signInThrottle.freeFailures;
      const lockedUntil =
        over >= 0 ? now + Math.min(signInThrottle.firstLockMs * 2 ** over, signInThrottle.maxLockMs) : undefined;
      await store.replaceOne(
        { _id: id },
        { failures, updatedAt: now, ...(lockedUntil ? { lockedUntil } : {}) },
        { upsert: true },
      );
    },
    async recordSuccess(email: string): Promise<void> {
      await store.deleteOne({ _id: throttleKey(email) });
    },
  };
}
