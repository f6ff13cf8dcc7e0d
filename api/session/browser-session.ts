/**
 * The account center's browser session: a random secret in an httpOnly, SameSite=Lax cookie, the
 * session itself in MongoDB (only the secret's SHA-256 is stored). Every form carries the session's CSRF
 * token. A session ends when it expires, when the person signs it out (one or all), or when the
 * directory revokes the subject's sessions (an account recovery does).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Db } from 'mongodb';
import { collections } from '../../domain/collections.js';

export interface BrowserSessionDocument {
  /** SHA-256 of the cookie's secret: a stolen database does not hold live cookies. */
  _id: string;
  /** The id people and the API use to name a session (listing, sign-out of one). */
  sessionId: string;
  subject: string;
  accountId: string;
  email?: string;
  permissions: string[];
  csrfToken: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent?: string;
  ip?: string;
  /** How the person signed in: `password`, `passkey`, or the upstream issuer (`auth0`). */
  method: string;
  /** The issuer's refresh token for this sign-in, encrypted; revoked when the session ends. */
  refreshTokenCiphertext?: string;
  /** The id_token, for RP-initiated sign-out at the issuer (`id_token_hint`). */
  idToken?: string;
  /** The issuer's session id (`sid` of the id_token): signing this session out ends that one too. */
  issuerSid?: string;
}

export type BrowserSession = Omit<BrowserSessionDocument, '_id' | 'refreshTokenCiphertext' | 'idToken' | 'issuerSid'>;

/** Absolute lifetime of a browser session; the issuer's refresh token lives as long. */
export const browserSessionTtlMs = 7 * 24 * 60 * 60 * 1000;
/** `lastSeenAt` is written at most this often, so reading a page is not a write each time. */
const touchEveryMs = 60_000;

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * The cookie's name and flags. Over https it is a `__Host-` cookie (Secure, Path=/, no Domain: only this
 * origin can set or read it). Browsers refuse `__Host-` without Secure, and Secure needs https except on
 * localhost in some browsers only, so a plain-http loopback run uses an unprefixed name without Secure.
 */
export function sessionCookieSpec(publicUrl: string): { name: string; secure: boolean } {
  const secure = new URL(publicUrl).protocol === 'https:';
  return secure ? { name: '__Host-cra_session', secure: true } : { name: 'cra_session', secure: false };
}

export function browserSessions(db: Db) {
  return db.collection<BrowserSessionDocument>(collections.browserSessions);
}

export interface NewBrowserSession {
  subject: string;
  accountId: string;
  email?: string;
  permissions: string[];
  method: string;
  userAgent?: string;
  ip?: string;
  refreshTokenCiphertext?: string;
  idToken?: string;
  issuerSid?: string;
}

/** Create a session; returns the cookie value (shown to the browser once, never stored). */
export async function createBrowserSession(
  db: Db,
  input: NewBrowserSession,
  now = new Date(),
): Promise<{ cookie: string; session: BrowserSession }> {
  const cookie = randomBytes(32).toString('base64url');
  const doc: BrowserSessionDocument = {
    _id: sha256(cookie),
    sessionId: randomUUID(),
    csrfToken: randomBytes(24).toString('base64url'),
    createdAt: now.toISOString(),
    lastSeenAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + browserSessionTtlMs).toISOString(),
    ...input,
  };
  await browserSessions(db).insertOne(doc);
  return { cookie, session: publicView(doc) };
}

function publicView(doc: BrowserSessionDocument): BrowserSession {
  const { _id: _hash, refreshTokenCiphertext: _rt, idToken: _it, issuerSid: _sid, ...session } = doc;
  return session;
}

/**
 * The live session a cookie value names, or undefined: unknown, expired, or issued before the
 * directory revoked the subject's sessions (checked against `sessions_revoked_at`).
 */
export async function findBrowserSession(
  db: Db,
  cookie: string,
  now = new Date(),
): Promise<BrowserSessionDocument | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(cookie)) return undefined;
  const doc = await browserSessions(db).findOne({ _id: sha256(cookie) });
  if (!doc || Date.parse(doc.expiresAt) <= now.getTime()) return undefined;
  const user = await db
    .collection<{ _id: string; sessions_revoked_at?: string }>(collections.identityUsers)
    .findOne({ _id: doc.subject }, { projection: { sessions_revoked_at: 1 } });
  if (user?.sessions_revoked_at && Date.parse(user.sessions_revoked_at) >= Date.parse(doc.createdAt)) return undefined;
  if (now.getTime() - Date.parse(doc.lastSeenAt) > touchEveryMs) {
    await browserSessions(db).updateOne({ _id: doc._id }, { $set: { lastSeenAt: now.toISOString() } });
  }
  return doc;
}

/** The session of this request's cookie, if any (cached on the request). */
export async function readBrowserSession(
  c: Context,
  db: Db,
  publicUrl: string,
): Promise<BrowserSessionDocument | undefined> {
  const cached = c.get('browserSession' as never) as BrowserSessionDocument | null | undefined;
  if (cached !== undefined) return cached ?? undefined;
  const value = getCookie(c, sessionCookieSpec(publicUrl).name);
  const doc = value ? await findBrowserSession(db, value) : undefined;
  c.set('browserSession' as never, (doc ?? null) as never);
  return doc;
}

export function setBrowserSessionCookie(c: Context, publicUrl: string, cookie: string): void {
  const { name, secure } = sessionCookieSpec(publicUrl);
  setCookie(c, name, cookie, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure,
    maxAge: Math.floor(browserSessionTtlMs / 1000),
  });
}

export function clearBrowserSessionCookie(c: Context, publicUrl: string): void {
  const { name, secure } = sessionCookieSpec(publicUrl);
  deleteCookie(c, name, { path: '/', secure, httpOnly: true, sameSite: 'Lax' });
}

/** Does a submitted form's CSRF token match the session's? Constant time. */
export function csrfTokenMatches(session: Pick<BrowserSession, 'csrfToken'>, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The person's sessions, newest first. */
export async function listBrowserSessions(db: Db, subject: string, now = new Date()): Promise<BrowserSession[]> {
  const docs = await browserSessions(db).find({ subject }).toArray();
  return docs
    .filter((d) => Date.parse(d.expiresAt) > now.getTime())
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .map(publicView);
}

/** End sessions of a subject (one, or all); returns the ended documents so their issuer tokens can be revoked. */
export async function endBrowserSessions(
  db: Db,
  subject: string,
  sessionId?: string,
): Promise<BrowserSessionDocument[]> {
  const filter = sessionId ? { subject, sessionId } : { subject };
  const docs = await browserSessions(db).find(filter).toArray();
  if (docs.length > 0) await browserSessions(db).deleteMany({ _id: { $in: docs.map((d) => d._id) } });
  return docs;
}
