/**
 * The audit log under attack by someone who can write to the database but does not hold the SecretVault's
 * keys: they edit, insert and remove events with direct writes, then recompute every hash, link and head the
 * way the verifier does (`hashEvent`), so that a keyless SHA-256 chain would look whole again. Each attack
 * must still be reported, by `verify` and by `npm run audit:verify` (exit 1).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient, type Db, type Document } from 'mongodb';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { AuditLog, hashEvent, type AuditEventInput } from '../../activities/audit/audit-log.js';
import { KeyringVault } from '../../activities/secrets/keyring-vault.js';
import { collections } from '../../domain/collections.js';
import { insertUnkeyedLog } from '../support/audit.js';

const run = promisify(execFile);
const mongo = new MongoClient(inject('mongoUri'));
let db: Db;
let dbName: string;
let dataDir: string;
let vault: KeyringVault;
let log: AuditLog;

beforeEach(async () => {
  dbName = `cra_audit_tamper_${randomBytes(4).toString('hex')}`;
  db = (await mongo.connect()).db(dbName);
  dataDir = mkdtempSync(join(tmpdir(), 'cra-audit-tamper-'));
  vault = await KeyringVault.open({ dataDir });
  // The same keyring `audit:verify` opens; the attacker never touches it.
  log = new AuditLog(db, { vault });
  await log.ensureIndexes();
});
afterEach(async () => {
  await db.dropDatabase().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});
afterAll(async () => {
  await mongo.close();
});

const accountA = 'acct-a';
const accountB = 'acct-b';

const eventOf = (accountId: string | undefined, n: number): AuditEventInput => ({
  eventId: `${accountId ?? 'system'}/event-${n}`,
  action: accountId ? 'consent.granted' : 'webhook.rejected',
  actor: accountId ? { type: 'user', id: `auth0|${accountId}` } : { type: 'system', id: 'webhook:github' },
  ...(accountId ? { accountId } : {}),
  details: { purpose: `p${n}`, version: '1' },
});

/** Five events of A, three of B and two without an account, interleaved as they would be in production. */
async function seed(): Promise<void> {
  const order: [string | undefined, number][] = [
    [accountA, 1],
    [accountB, 1],
    [undefined, 1],
    [accountA, 2],
    [accountA, 3],
    [accountB, 2],
    [accountA, 4],
    [undefined, 2],
    [accountB, 3],
    [accountA, 5],
  ];
  for (const [accountId, n] of order) await log.append(eventOf(accountId, n));
}

// ---- The attacker's tools: direct writes and the public hash function, no key. ----

/** A stored document as the attacker sees it: whatever fields it has. */
type Stored = Document & { _id: string };
const events = () => db.collection<Stored>(collections.auditEvents);
const heads = () => db.collection<Stored>(`${collections.auditEvents}_head`);
/** Which chain a stored event is on (a log without chain names is one chain). */
const chainKey = (e: Document): string => (typeof e.chain === 'string' ? e.chain : '(the one chain)');

/** The stored events of the chain that holds `eventId`, oldest first. */
async function chainHolding(eventId: string): Promise<Stored[]> {
  const all = await events()
    .find({}, { sort: { seq: 1 } })
    .toArray();
  const target = all.find((e) => e._id === eventId);
  if (!target) throw new Error(`no event ${eventId}`);
  return all.filter((e) => chainKey(e) === chainKey(target)).sort((x, y) => x.seq - y.seq);
}

/** The head record that names the end of `chain` (the log's one head when chains have no names). */
async function headOf(chain: Stored[]): Promise<Stored | null> {
  const key = chainKey(chain[0]!);
  const all = await heads().find({}).toArray();
  return all.find((h) => (key === '(the one chain)' ? h._id === 'head' : h.chain === key)) ?? null;
}

const withoutHash = (e: Document) => {
  const { _id: _ignored, hash: _hash, ...body } = e;
  return body;
};

/**
 * Rewrite `chain` as `wanted` (the attacker's new sequence of event bodies): renumber from the chain's first
 * seq, link each to the one before, recompute each hash with `hashEvent`, store them and point the head at
 * the new end. Whatever else an event carries (a MAC the attacker cannot remake) is left as it was.
 */
async function rechain(chain: Stored[], wanted: Stored[]): Promise<void> {
  const firstSeq = chain[0]!.seq as number;
  const firstPrev = chain[0]!.prevHash as string;
  // Out of the way first: the sequence numbers are unique.
  for (const e of chain) await events().deleteOne({ _id: e._id });
  let prevHash = firstPrev;
  let seq = firstSeq - 1;
  for (const doc of wanted) {
    seq++;
    const body = { ...withoutHash(doc), seq, prevHash };
    const hash = hashEvent(body as never);
    await events().insertOne({ _id: doc._id, ...body, hash });
    prevHash = hash;
  }
  const head = await headOf(chain);
  if (head) await heads().updateOne({ _id: head._id }, { $set: { seq, hash: prevHash } });
}

async function auditVerifyCli(): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run('npm', ['run', '--silent', 'audit:verify'], {
      env: { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, CRA_DATA_DIR: dataDir },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('the audit log against an attacker without the key', () => {
  beforeEach(async () => {
    await seed();
    expect(await log.verify()).toMatchObject({ ok: true, events: 10 });
  });

  it('(a) an event edited, its hash and every later link and the head recomputed', async () => {
    const chain = await chainHolding(`${accountA}/event-3`);
    const wanted = chain.map((e) =>
      e._id === `${accountA}/event-3` ? { ...e, details: { purpose: 'marketing', version: '1' } } : e,
    );
    await rechain(chain, wanted);
    const edited = (await chainHolding(`${accountA}/event-3`))[2]!;
    expect(edited.hash).toBe(hashEvent(withoutHash(edited) as never));

    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { chain: accountA, seq: edited.seq, eventId: `${accountA}/event-3` },
    });
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`BROKEN at event ${edited.seq} of chain ${accountA}`);
  });

  it('(b) an event inserted in the middle, the chain renumbered and relinked', async () => {
    const chain = await chainHolding(`${accountA}/event-2`);
    const forged = { ...chain[1]!, _id: `${accountA}/event-forged`, eventId: `${accountA}/event-forged` };
    await rechain(chain, [chain[0]!, chain[1]!, forged, ...chain.slice(2)]);
    const stored = await chainHolding(`${accountA}/event-forged`);
    expect(stored).toHaveLength(chain.length + 1);

    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: {
        chain: accountA,
        seq: stored.find((e) => e._id === forged._id)!.seq,
        eventId: `${accountA}/event-forged`,
      },
    });
  });

  it('(c) an event removed from the middle, the rest renumbered and relinked', async () => {
    const chain = await chainHolding(`${accountA}/event-3`);
    await rechain(
      chain,
      chain.filter((e) => e._id !== `${accountA}/event-3`),
    );
    const stored = await chainHolding(`${accountA}/event-4`);
    expect(stored).toHaveLength(chain.length - 1);

    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { chain: accountA, seq: stored.find((e) => e._id === `${accountA}/event-4`)!.seq },
    });
  });

  it('(c) the last event removed and the head moved back to the one before', async () => {
    const chain = await chainHolding(`${accountA}/event-5`);
    await rechain(chain, chain.slice(0, -1));

    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { chain: accountA, reason: expect.stringContaining('head') },
    });
  });

  it('(d) the tail re-chained: the last three events replaced by others, linked and headed', async () => {
    const chain = await chainHolding(`${accountA}/event-3`);
    const replaced = chain
      .slice(2)
      .map((e, i) => ({ ...e, action: 'consent.withdrawn', details: { purpose: `forged-${i}`, version: '9' } }));
    await rechain(chain, [...chain.slice(0, 2), ...replaced]);

    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { chain: accountA, seq: chain[2]!.seq, eventId: `${accountA}/event-3` },
    });
  });

  it('(d) an event moved to another chain, relinked there', async () => {
    const fromA = await chainHolding(`${accountA}/event-5`);
    const last = fromA.at(-1)!;
    await rechain(fromA, fromA.slice(0, -1));
    const toB = await chainHolding(`${accountB}/event-3`);
    const moved = { ...last, accountId: accountB, ...(last.chain === undefined ? {} : { chain: accountB }) };
    await rechain(toB, [...toB, moved]);

    expect(await log.verify()).toMatchObject({ ok: false });
  });
});

describe('the audit log’s checkpoint against an attacker without the key', () => {
  it('a whole account’s chain removed (its events and its head) after a checkpoint', async () => {
    await seed();
    expect(await log.verify()).toMatchObject({ ok: true, events: 10 });
    // Every trace of B goes: its events, its head, and the links of whatever chain held them.
    const chain = await chainHolding(`${accountB}/event-1`);
    await rechain(
      chain,
      chain.filter((e) => e.accountId !== accountB),
    );
    const head = await heads().findOne({ chain: accountB });
    if (head) await heads().deleteOne({ _id: head._id });
    expect(await events().countDocuments({ accountId: accountB })).toBe(0);

    expect(await log.verify()).toMatchObject({ ok: false, firstBreak: { chain: accountB } });
  });

  it('a head rolled back to an older signed value (and the events after it removed) after a checkpoint', async () => {
    for (let n = 1; n <= 4; n++) await log.append(eventOf(accountA, n));
    const chain = await chainHolding(`${accountA}/event-4`);
    const olderHead = await headOf(chain);
    expect(olderHead).not.toBeNull();
    await log.append(eventOf(accountA, 5));
    await log.append(eventOf(accountA, 6));
    expect(await log.verify()).toMatchObject({ ok: true, events: 6 });

    // Back to the head as it was after event 4, which the writer signed itself: only the checkpoint knows better.
    await events().deleteMany({ _id: { $in: [`${accountA}/event-5`, `${accountA}/event-6`] } as never });
    await heads().replaceOne({ _id: olderHead!._id }, olderHead!);

    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { chain: accountA, reason: expect.stringContaining('checkpoint') },
    });
  });

  it('the checkpoint itself removed', async () => {
    await seed();
    expect(await log.verify()).toMatchObject({ ok: true });
    await heads().deleteOne({ _id: 'checkpoint' as never });

    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { reason: expect.stringContaining('checkpoint') },
    });
  });
});

describe('events written before the keyed chains (one global SHA-256 chain)', () => {
  /** The log as the unkeyed version left it: format-2 events on one global seq, and its one head. */
  async function insertUnkeyed(count: number): Promise<void> {
    await insertUnkeyedLog(
      db,
      Array.from({ length: count }, (_, i) => eventOf(i % 2 === 1 ? accountA : accountB, 101 + i)),
    );
  }

  it('are sealed by the first checkpoint: rewriting them with recomputed hashes and head is found', async () => {
    await insertUnkeyed(4);
    await seed();
    expect(await log.verify()).toMatchObject({ ok: true, events: 14 });

    // The chain that holds the old events (the whole log, to a keyless verifier).
    const legacy = await chainHolding(`${accountB}/event-101`);
    expect(legacy.slice(0, 4).map((e) => e.format)).toEqual([2, 2, 2, 2]);
    const wanted = legacy.map((e, i) => (i === 1 ? { ...e, details: { purpose: 'forged', version: '1' } } : e));
    await rechain(legacy, wanted);

    expect(await log.verify()).toMatchObject({ ok: false, firstBreak: { chain: 'legacy' } });
  });
});
