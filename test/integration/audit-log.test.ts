/**
 * The audit log is append-only, hash-chained per account and MAC'ed: any edit, insertion or removal — the
 * last event included — is found by the verifier and by `npm run audit:verify` (`audit-tamper.test.ts` does
 * it as an attacker who recomputes every hash). An erasure makes it forget a person
 * (`forgetAccount`): their values are gone from the stored documents, the chain still verifies, and an edit
 * made any other way is still found.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  AuditLog,
  auditForgetKeysOf,
  auditKeyNames,
  eventMacInput,
  genesisHash,
  hashEvent,
  type AuditEventInput,
} from '../../activities/audit/audit-log.js';
import { KeyringVault } from '../../activities/secrets/keyring-vault.js';
import { collections } from '../../domain/collections.js';

const run = promisify(execFile);
const mongo = new MongoClient(inject('mongoUri'));
let db: Db;
let dbName: string;
let log: AuditLog;
/** The keyring the erasure's keyed hashes and seals are made with; `audit:verify` opens the same one. */
let dataDir: string;
let vault: KeyringVault;

beforeEach(async () => {
  dbName = `cra_audit_${randomBytes(4).toString('hex')}`;
  db = (await mongo.connect()).db(dbName);
  dataDir = mkdtempSync(join(tmpdir(), 'cra-audit-'));
  vault = await KeyringVault.open({ dataDir });
  log = new AuditLog(db, { vault });
  await log.ensureIndexes();
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
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
      env: { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, CRA_DATA_DIR: dataDir },
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
    const writers = [new AuditLog(db, { vault }), new AuditLog(db, { vault }), new AuditLog(db, { vault })];
    await Promise.all(Array.from({ length: 24 }, (_, i) => writers[i % 3]!.append(event(i + 1))));
    const all = await log.list();
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(await log.verify()).toMatchObject({ ok: true, events: 24 });
  });

  it('carries on after a writer crashed between storing its event and moving the head', async () => {
    await appendMany(2);
    const last = await events().findOne({ seq: 2 });
    const body = {
      ...event(3),
      chain: 'acct-1',
      seq: 3,
      at: new Date().toISOString(),
      prevHash: last!.hash as string,
      format: 3 as const,
      personal: [],
    };
    // What a crashed writer leaves behind: the event is stored (with the MAC it made), the head still says 2.
    const hash = hashEvent(body);
    const mac = await vault.hmac(auditKeyNames.chain, eventMacInput('acct-1', 3, hash));
    await events().insertOne({ _id: body.eventId as never, ...body, hash, mac });
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
    // Its hash matches again, but not its MAC, which only the SecretVault can make.
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { chain: 'acct-1', seq: 2, reason: expect.stringContaining('MAC') },
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
    const body = {
      ...event(99),
      chain: 'acct-1',
      seq: 2,
      at: new Date().toISOString(),
      prevHash: first!.hash as string,
      format: 3 as const,
      personal: [],
    };
    await events().insertOne({ _id: body.eventId as never, ...body, hash: hashEvent(body) });
    expect(await log.verify()).toMatchObject({ ok: false, firstBreak: { seq: 2, eventId: 'acct-1/event-99' } });
  });
});

/** Two people, each with the kinds of personal values the log holds: a subject, an email, names, a provider account. */
const ada = {
  accountId: 'acct-ada',
  subject: 'auth0|ada-7f3e',
  email: 'ada.lovelace@example.com',
  givenName: 'Adalinda',
  providerAccountId: 'gh-ada-583231',
};
const bob = {
  accountId: 'acct-bob',
  subject: 'auth0|bob-91c2',
  email: 'bob.builder@example.com',
  givenName: 'Roberto',
  providerAccountId: 'gh-bob-102030',
};
type Person = typeof ada;
const personalValues = (p: Person) => [p.subject, p.email, p.givenName, p.providerAccountId];

function eventsOf(p: Person): AuditEventInput[] {
  return [
    {
      eventId: `${p.accountId}/account.created`,
      action: 'account.created',
      actor: { type: 'user', id: p.subject },
      accountId: p.accountId,
      workflowId: `signup/${p.subject}`,
      details: { directory: 'embedded', email: p.email, givenName: p.givenName },
    },
    {
      eventId: `link/${p.accountId}/github/linked`,
      action: 'provider.linked',
      actor: { type: 'user', id: p.subject },
      accountId: p.accountId,
      workflowId: `link/${p.accountId}/github`,
      details: { provider: 'github', providerAccountId: p.providerAccountId, directoryLinked: false },
    },
    {
      eventId: `sync/${p.accountId}/github/1`,
      action: 'provider.synced',
      actor: { type: 'system', id: 'sync' },
      accountId: p.accountId,
      details: { provider: 'github', records: 12 },
    },
  ];
}

const forgetKeys = () => auditForgetKeysOf(vault);
/** Stored events, chain by chain (the legacy chain first, then by account id), oldest first. */
const rawEvents = () =>
  events()
    .find({}, { sort: { chain: 1, seq: 1 } })
    .toArray();
const rawText = async () => JSON.stringify(await rawEvents());

/**
 * Events as the log wrote them before format 2 (hashed over their clear contents), chained from `prevHash`.
 * The head follows, as `append` would leave it.
 */
async function insertFormat1(inputs: AuditEventInput[]): Promise<void> {
  const head = await db.collection(`${collections.auditEvents}_head`).findOne({ _id: 'head' as never });
  let seq = (head?.seq as number | undefined) ?? 0;
  let prevHash = (head?.hash as string | undefined) ?? genesisHash;
  for (const input of inputs) {
    seq++;
    const body = JSON.parse(
      JSON.stringify({ ...input, seq, at: new Date(Date.UTC(2025, 0, seq)).toISOString(), prevHash }),
    );
    const hash = hashEvent(body);
    await events().insertOne({ _id: input.eventId as never, ...body, hash });
    prevHash = hash;
  }
  await db
    .collection(`${collections.auditEvents}_head`)
    .updateOne({ _id: 'head' as never }, { $set: { seq, hash: prevHash } }, { upsert: true });
}

describe('forgetting a person (erasure)', () => {
  beforeEach(async () => {
    for (const e of [...eventsOf(ada), ...eventsOf(bob)]) await log.append(e);
  });

  it('stores new events in format 3: personal values committed with a salt, everything else as given', async () => {
    const [created] = await rawEvents();
    expect(created).toMatchObject({
      format: 3,
      chain: ada.accountId,
      mac: expect.stringMatching(/^cra:v1:/),
      actor: { type: 'user', id: ada.subject },
      details: { directory: 'embedded', email: ada.email, givenName: ada.givenName },
    });
    expect(created!.personal.map((c: { field: string }) => c.field)).toEqual([
      'actor.id',
      'workflowId',
      'details.email',
      'details.givenName',
    ]);
    for (const c of created!.personal)
      expect(c).toMatchObject({
        commitment: expect.stringMatching(/^[0-9a-f]{64}$/),
        salt: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    // A system event carries nothing personal.
    expect((await rawEvents())[2]!.personal).toEqual([]);
  });

  it('replaces the account’s personal values with keyed hashes, leaves the other account alone, and the chain verifies', async () => {
    const before = await rawEvents();
    const result = await log.forgetAccount(ada.accountId, forgetKeys(), { subjects: [ada.subject] });
    expect(result).toEqual({ events: 3, eventsForgotten: 2, valuesForgotten: 6 });

    const text = await rawText();
    for (const value of personalValues(ada)) expect(text).not.toContain(value);
    for (const value of personalValues(bob)) expect(text).toContain(value);
    // Bob's documents are untouched, byte for byte.
    const after = await rawEvents();
    expect(after.filter((e) => e.accountId === bob.accountId)).toEqual(
      before.filter((e) => e.accountId === bob.accountId),
    );

    // What is left of Ada: the facts, and keyed hashes support can still look her events up by.
    const subjectHash = await vault.hmac(auditKeyNames.pseudonym, ada.subject);
    const [created, linked, synced] = after.filter((e) => e.accountId === ada.accountId);
    expect(created).toMatchObject({
      action: 'account.created',
      actor: { type: 'user', id: subjectHash },
      workflowId: `signup/${subjectHash}`,
      details: { directory: 'embedded', email: await vault.hmac(auditKeyNames.pseudonym, ada.email) },
      redaction: { fields: ['actor.id', 'workflowId', 'details.email', 'details.givenName'] },
    });
    for (const c of created!.personal) expect(c.salt).toBeUndefined();
    expect(linked).toMatchObject({
      details: {
        provider: 'github',
        providerAccountId: await vault.hmac(auditKeyNames.pseudonym, ada.providerAccountId),
      },
    });
    expect(synced).toEqual(before[2]);
    // Hashes and links are those written at append: the chain is the same chain.
    expect(after.map((e) => e.hash)).toEqual(before.map((e) => e.hash));

    expect(await log.verify()).toMatchObject({ ok: true, events: 6 });
    expect(await log.verify({ vault })).toMatchObject({ ok: true, events: 6 });
    const cli = await auditVerifyCli();
    expect(cli.stdout).toContain('audit log intact: 6 events');
    expect(cli.code).toBe(0);
  });

  it('also forgets the person’s known identifiers under keys not in the personal list, under the seal', async () => {
    await log.append({
      eventId: `${ada.accountId}/support.note`,
      action: 'support.note',
      actor: { type: 'support', id: 'staff|carol' },
      accountId: ada.accountId,
      details: { note: ada.email, ticket: 'T-1' },
    });
    const result = await log.forgetAccount(ada.accountId, forgetKeys(), { identifiers: [ada.email, ada.subject] });
    expect(result).toMatchObject({ events: 4, eventsForgotten: 3 });
    expect(await rawText()).not.toContain(ada.email);
    // The support actor is not the person: kept.
    expect((await rawEvents())[3]).toMatchObject({ actor: { id: 'staff|carol' }, details: { ticket: 'T-1' } });
    // That value was hashed in clear: only the seal vouches for it.
    expect(await log.verify()).toMatchObject({ ok: true, events: 7 });
    // A verifier with other keys vouches for nothing.
    const otherDir = mkdtempSync(join(tmpdir(), 'cra-audit-other-'));
    try {
      const other = await KeyringVault.open({ dataDir: otherDir });
      expect(await new AuditLog(db, { vault: other }).verify({ checkpoint: false })).toMatchObject({
        ok: false,
        firstBreak: { chain: 'checkpoint', reason: expect.stringContaining('MAC') },
      });
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('forgetting twice is a no-op', async () => {
    await log.forgetAccount(ada.accountId, forgetKeys());
    const once = await rawEvents();
    expect(await log.forgetAccount(ada.accountId, forgetKeys())).toEqual({
      events: 3,
      eventsForgotten: 0,
      valuesForgotten: 0,
    });
    expect(await rawEvents()).toEqual(once);
    expect(await log.verify({ vault })).toMatchObject({ ok: true, events: 6 });
  });

  it('still finds an edited clear value, at that event', async () => {
    await log.forgetAccount(ada.accountId, forgetKeys());
    await events().updateOne(
      { _id: `${bob.accountId}/account.created` as never },
      { $set: { 'details.email': 'mallory@example.com' } },
    );
    expect(await log.verify({ vault })).toMatchObject({
      ok: false,
      firstBreak: {
        chain: bob.accountId,
        seq: 1,
        reason: expect.stringContaining('details.email does not match its commitment'),
      },
    });
    expect((await auditVerifyCli()).stdout).toContain(`BROKEN at event 1 of chain ${bob.accountId}`);
  });

  it('still finds an edited commitment of a forgotten value, at that event', async () => {
    await log.forgetAccount(ada.accountId, forgetKeys());
    await events().updateOne(
      { _id: `${ada.accountId}/account.created` as never },
      { $set: { 'personal.2.commitment': 'f'.repeat(64) } },
    );
    expect(await log.verify({ vault })).toMatchObject({
      ok: false,
      firstBreak: { seq: 1, reason: expect.stringContaining('edited') },
    });
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('BROKEN at event 1');
  });

  it('still finds a removed event, and an edited keyed hash', async () => {
    await log.forgetAccount(ada.accountId, forgetKeys());
    const linked = { _id: `link/${ada.accountId}/github/linked` as never };
    await events().updateOne(linked, { $set: { 'details.providerAccountId': 'vault:v1:forged' } });
    expect(await log.verify({ vault })).toMatchObject({
      ok: false,
      firstBreak: { seq: 2, reason: expect.stringContaining('seal does not match') },
    });
    await events().deleteOne(linked);
    expect(await log.verify({ vault })).toMatchObject({
      ok: false,
      firstBreak: { seq: 3, reason: 'event 2 is missing' },
    });
  });

  it('finds a value removed by hand (outside forgetAccount)', async () => {
    await events().updateOne(
      { _id: `${bob.accountId}/account.created` as never },
      { $set: { 'details.email': 'gone' }, $unset: { 'personal.2.salt': '' } },
    );
    expect(await log.verify()).toMatchObject({
      ok: false,
      firstBreak: { chain: bob.accountId, seq: 1, reason: 'a personal value was removed without a redaction record' },
    });
  });
});

describe('forgetting a person in events written before format 2', () => {
  beforeEach(async () => {
    await insertFormat1([...eventsOf(ada), ...eventsOf(bob)]);
    // Newer events follow in format 2, on the same chain.
    await log.append({
      eventId: `consent/${ada.accountId}/1`,
      action: 'consent.withdrawn',
      actor: { type: 'user', id: ada.subject },
      accountId: ada.accountId,
      details: { purpose: 'marketing' },
    });
  });

  it('redacts them under a SecretVault seal: the values are gone and the chain verifies with the SecretVault', async () => {
    expect(await log.verify()).toMatchObject({ ok: true, events: 7 });
    const result = await log.forgetAccount(ada.accountId, forgetKeys());
    expect(result).toEqual({ events: 4, eventsForgotten: 3, valuesForgotten: 7 });

    const text = await rawText();
    for (const value of personalValues(ada)) expect(text).not.toContain(value);
    for (const value of personalValues(bob)) expect(text).toContain(value);
    const [created] = await rawEvents();
    expect(created).toMatchObject({
      actor: { id: await vault.hmac(auditKeyNames.pseudonym, ada.subject) },
      redaction: { fields: ['actor.id', 'workflowId', 'details.email', 'details.givenName'], seal: expect.any(String) },
    });
    expect(created!.format).toBeUndefined();

    expect(await log.verify({ vault })).toMatchObject({ ok: true, events: 7 });
    // The newer event is on Ada's chain, numbered after the legacy chain the first checkpoint sealed.
    expect((await rawEvents()).map((e) => [e.chain ?? 'legacy', e.seq])).toEqual([
      ...[1, 2, 3, 4, 5, 6].map((seq) => ['legacy', seq]),
      [ada.accountId, 7],
    ]);
    const cli = await auditVerifyCli();
    expect(cli.stdout).toContain('audit log intact: 7 events');
    expect(cli.code).toBe(0);

    expect(await log.forgetAccount(ada.accountId, forgetKeys())).toMatchObject({ valuesForgotten: 0 });
    expect(await log.verify({ vault })).toMatchObject({ ok: true, events: 7 });
  });

  it('still finds an edit of a redacted event, of an untouched old event, and a removed redaction record', async () => {
    await log.forgetAccount(ada.accountId, forgetKeys());
    await events().updateOne({ seq: 2 }, { $set: { 'details.provider': 'gitlab' } });
    expect(await log.verify({ vault })).toMatchObject({
      ok: false,
      firstBreak: { seq: 2, reason: expect.stringContaining('seal does not match') },
    });
    await events().updateOne({ seq: 2 }, { $set: { 'details.provider': 'github' } });
    expect(await log.verify({ vault })).toMatchObject({ ok: true });

    await events().updateOne({ seq: 1 }, { $unset: { redaction: '' } });
    expect(await log.verify({ vault })).toMatchObject({
      ok: false,
      firstBreak: { seq: 1, reason: expect.stringContaining('edited') },
    });

    await events().updateOne({ seq: 4 }, { $set: { 'details.email': 'mallory@example.com' } });
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('BROKEN at event 1');
  });

  it('refuses a seal made with another key', async () => {
    await log.forgetAccount(ada.accountId, {
      pseudonym: (v) => vault.hmac(auditKeyNames.pseudonym, v),
      seal: (input) => vault.hmac('someone-elses-key', input),
    });
    expect(await log.verify({ vault })).toMatchObject({
      ok: false,
      firstBreak: { seq: 1, reason: expect.stringContaining('seal does not match') },
    });
  });
});
