/**
 * The audit log is append-only and hash-chained: any edit, insertion or removal — the last event
 * included — is found by the verifier and by `npm run audit:verify`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { AuditLog, hashEvent, type AuditEventInput } from '../../activities/audit/audit-log.js';
import { collections } from '../../domain/collections.js';

const run = promisify(execFile);
const mongo = new MongoClient(inject('mongoUri'));
let db: Db;
let dbName: string;
let log: AuditLog;

beforeEach(async () => {
  dbName = `cra_audit_${randomBytes(4).toString('hex')}`;
  db = (await mongo.connect()).db(dbName);
  log = new AuditLog(db);
  await log.ensureIndexes();
});
afterAll(async () => {
  await mongo.close();
});

const event = (n: number): AuditEventInput => ({
  eventId: `acct-1/event-${n}`,
  action: 'consent.granted',
  actor: { type: 'user', id: 'auth0|ada' },
  accountId: 'acct-1',
  details: { purpose: `p${n}`, version: '1' },
});

async function appendMany(count: number) {
  for (let i = 1; i <= count; i++) await log.append(event(i));
}

const events = () => db.collection(collections.auditEvents);

async function auditVerifyCli(): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run('npx', ['tsx', 'deploy/cli/audit-verify.ts'], {
      env: { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('audit log', () => {
  it('chains events in order and stores each event id once', async () => {
    await appendMany(3);
    const again = await log.append(event(2));
    expect(again.seq).toBe(2);
    const all = await log.list();
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(all[1]!.prevHash).toBe(all[0]!.hash);
    expect(await log.verify()).toMatchObject({ ok: true, events: 3 });
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('audit log intact: 3 events');
  });

  it('keeps one unbroken chain when writers append at the same time', async () => {
    const writers = [new AuditLog(db), new AuditLog(db), new AuditLog(db)];
    await Promise.all(Array.from({ length: 24 }, (_, i) => writers[i % 3]!.append(event(i + 1))));
    const all = await log.list();
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(await log.verify()).toMatchObject({ ok: true, events: 24 });
  });

  it('carries on after a writer crashed between storing its event and moving the head', async () => {
    await appendMany(2);
    const last = await events().findOne({ seq: 2 });
    const body = { ...event(3), seq: 3, at: new Date().toISOString(), prevHash: last!.hash as string };
    // What a crashed writer leaves behind: the event is stored, the head still says 2.
    await events().insertOne({ _id: body.eventId as never, ...body, hash: hashEvent(body) });
    await log.append(event(4));
    expect((await log.list()).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(await log.verify()).toMatchObject({ ok: true, events: 4 });
  });

  it('detects an edited event', async () => {
    await appendMany(4);
    await events().updateOne({ seq: 2 }, { $set: { 'details.purpose': 'marketing' } });
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: 2, reason: expect.stringContaining('edited') },
    });
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('BROKEN at event 2');
  });

  it('detects an edit that also recomputes the event’s own hash', async () => {
    await appendMany(4);
    const stored = await events().findOne({ seq: 2 });
    const { _id, hash: _hash, ...body } = stored!;
    const forged = { ...body, details: { purpose: 'forged', version: '1' } };
    await events().updateOne({ _id }, { $set: { details: forged.details, hash: hashEvent(forged as never) } });
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: 3, reason: expect.stringContaining('prevHash') },
    });
  });

  it('detects a removed event in the middle', async () => {
    await appendMany(4);
    await events().deleteOne({ seq: 3 });
    expect(await log.verify()).toMatchObject({ ok: false, firstBreak: { seq: 4, reason: 'event 3 is missing' } });
  });

  it('detects a removed last event', async () => {
    await appendMany(4);
    await events().deleteOne({ seq: 4 });
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: 4, reason: expect.stringContaining('removed') },
    });
    expect((await auditVerifyCli()).code).toBe(1);
  });

  it('detects an inserted event', async () => {
    await appendMany(3);
    // Make room after event 1 and slip in an event with a correct-looking hash of its own.
    for (const seq of [3, 2]) await events().updateOne({ seq }, { $set: { seq: seq + 1 } });
    const first = await events().findOne({ seq: 1 });
    const body = { ...event(99), seq: 2, at: new Date().toISOString(), prevHash: first!.hash as string };
    await events().insertOne({ _id: body.eventId as never, ...body, hash: hashEvent(body) });
    expect(await log.verify()).toMatchObject({ ok: false, firstBreak: { seq: 3 } });
  });
});
