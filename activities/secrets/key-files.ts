/**
 * The file primitives under the keyring: whole-file JSON reads, durable atomic replaces, and a lock
 * file shared by every process that opens the same data folder (the worker and the API start together).
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretVaultError } from './port.js';

export interface FileRead {
  text: string;
  /** Identifies this version of the file: every write is a rename, so the inode changes each time. */
  stamp: string;
  mtimeMs: number;
}

/** The whole file and its stamp, read through one handle so the two agree; undefined when absent. */
export async function readWholeFile(path: string): Promise<FileRead | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const info = await handle.stat();
    return { text: await handle.readFile('utf8'), stamp: stampOf(info), mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** The current stamp without reading the file; undefined when absent. */
export async function fileStamp(path: string): Promise<string | undefined> {
  try {
    return stampOf(await stat(path));
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Replace `path` with `text`, mode 0600: readers see the old file or the new one, never a torn one.
 * The data and the rename are fsynced before returning, because a key version must be on disk before
 * any ciphertext made with it leaves this process; otherwise a power cut could orphan that ciphertext.
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dirname(path));
}

export interface LockOptions {
  /** Give up (SecretVaultError 'Unavailable', retryable) after this long. */
  timeoutMs: number;
  /** A lock file older than this belongs to a process that died inside its critical section. */
  staleAfterMs: number;
}

/**
 * Run `critical` while holding `lockPath`, created with `wx` so exactly one process (or call) holds it.
 * Critical sections are a read and a small write, so waiters poll briefly rather than queue.
 */
export async function withFileLock<T>(lockPath: string, options: LockOptions, critical: () => Promise<T>): Promise<T> {
  // Callers in this process line up here first, so only one of them at a time polls the file: they follow
  // each other at once instead of each sleeping through the poll (eight signups at a time in one API
  // process spent most of their key creation waiting so). Other processes still meet at the file.
  const before = localQueues.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const queue = before.then(() => mine);
  localQueues.set(lockPath, queue);
  await before;
  try {
    return await withLockFile(lockPath, options, critical);
  } finally {
    release();
    if (localQueues.get(lockPath) === queue) localQueues.delete(lockPath);
  }
}

/** Per lock file, the callers of this process waiting for it (a chain that never rejects). */
const localQueues = new Map<string, Promise<void>>();

async function withLockFile<T>(lockPath: string, options: LockOptions, critical: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
    }
    await breakIfStale(lockPath, options.staleAfterMs);
    if (Date.now() > deadline) {
      throw new SecretVaultError('Unavailable', `keyring is locked by another process (${lockPath})`);
    }
    await sleep(5 + Math.floor(Math.random() * 20));
  }
  try {
    return await critical();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/**
 * Remove a lock left by a dead holder. It is moved aside first (only one waiter's rename can succeed)
 * and put back if it turns out to be a fresh lock taken between our look and our move, so two waiters
 * breaking the same stale lock cannot both end up inside the critical section.
 */
async function breakIfStale(lockPath: string, staleAfterMs: number): Promise<void> {
  let seen: FileRead | undefined;
  try {
    seen = await readWholeFile(lockPath);
  } catch {
    return;
  }
  if (!seen || Date.now() - seen.mtimeMs < staleAfterMs) return;

  const aside = `${lockPath}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lockPath, aside);
  } catch {
    return;
  }
  const moved = await readWholeFile(aside).catch(() => undefined);
  if (moved && moved.stamp !== seen.stamp) {
    // Not the lock we judged stale: restore it unless yet another process already took the path.
    await link(aside, lockPath).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

/** Makes a rename durable; some platforms cannot open a directory for fsync, and that is not an error. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort: the rename itself already happened.
  } finally {
    await handle?.close();
  }
}

function stampOf(info: { ino: number; size: number; mtimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}`;
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
