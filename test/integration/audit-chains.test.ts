/**
 * One audit chain per account: concurrent appends for different accounts do not contend on one head, every
 * event is stored once, and every chain verifies; the log written before chains still verifies, sealed by the
 * first checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  AuditLog,
  auditKeyNames,
  checkpointMacInput,
  genesisHash,
  globalChain,
  type AuditCheckpoint,
  type AuditEventInput,
} from '../../activities/audit/audit-log.js';
import { KeyringVault } from '../../activities/secrets/keyring-vault.js';
import { collections } from '../../domain/collections.js';
import { insertUnkeyedLog } from '../support/audit.js';

const mongo = new MongoClient(inject('mongoUri'));
let db: Db;
let dataDir: string;
let vault: KeyringVault;

beforeEach(async () => {
  db = (await mongo.connect()).db(`cra_audit_chains_${randomBytes(4).toString('hex')}`);
  dataDir = mkdtempSync(join(tmpdir(), 'cra-audit-chains-'));
  vault = await KeyringVault.open({ dataDir });
  await new AuditLog(db, { vault }).ensureIndexes();
});
afterEach(async () => {
  await db.dropDatabase().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});
afterAll(async () => {
  await mongo.close();
});

const events = () => db.collection(collections.auditEvents);
const heads = () => db.collection(`${collections.auditEvents}_head`);

const signup = (account: number, n: number): AuditEventInput => ({
  eventId: `acct-${account}/event-${n}`,
  action: 'account.created',
  actor: { type: 'user', id: `auth0|person-${account}` },
  accountId: `acct-${account}`,
  details: { email: `person-${account}@example.com`, n },
});

describe('one chain per account', () => {
  it('50 concurrent appends across 10 accounts (and the global chain): each stored once, every chain verifies', async () => {
    // Five writers, as if five worker and API processes appended at once.
    const writers = Array.from({ length: 5 }, () => new AuditLog(db, { vault }));
    const inputs = Array.from({ length: 50 }, (_, i) => signup(i % 10, Math.floor(i / 10)));
    const system: AuditEventInput[] = Array.from({ length: 5 }, (_, i) => ({
      eventId: `webhook/rejected/${i}`,
      action: 'webhook.rejected',
      actor: { type: 'system', id: 'webhook:github' },
      details: { provider: 'github', reason: 'bad-signature' },
    }));
    // Every account event twice (a retried activity), all at once.
    const appended = await Promise.all(
      [...inputs, ...system, ...inputs].map((input, i) => writers[i % writers.length]!.append(input)),
    );

    const stored = await events().find({}).toArray();
    expect(stored).toHaveLength(55);
    expect(new Set(stored.map((e) => e._id)).size).toBe(55);
    // A retry got the same event back: same chain, same place.
    expect(appended.slice(55).map((e) => [e.chain, e.seq])).toEqual(appended.slice(0, 50).map((e) => [e.chain, e.seq]));
    for (let a = 0; a < 10; a++) {
      const chain = stored.filter((e) => e.chain === `acct-${a}`).sort((x, y) => x.seq - y.seq);
      expect(chain.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(chain.every((e) => e.accountId === `acct-${a}`)).toBe(true);
      // The head may lag (FerretDB can lose one of two concurrent writes to it); it names one of the chain's events.
      const head = await heads().findOne({ _id: `chain/acct-${a}` as never });
      expect(head).toMatchObject({ chain: `acct-${a}`, hash: chain[(head!.seq as number) - 1]!.hash });
    }
    expect(
      stored
        .filter((e) => e.chain === globalChain)
        .map((e) => e.seq)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5]);

    const result = await new AuditLog(db, { vault }).verify();
    expect(result).toMatchObject({ ok: true, events: 55, chains: 11, checkpoint: 2 });
    // The checkpoint it signed lists every chain's head.
    const checkpoint = (await heads().findOne({ _id: 'checkpoint' as never })) as unknown as AuditCheckpoint;
    expect(checkpoint.chains.map((c) => [c.chain, c.seq])).toEqual([
      ...Array.from({ length: 10 }, (_, a) => [`acct-${a}`, 5]),
      [globalChain, 5],
    ]);
    expect(await vault.verifyHmac(auditKeyNames.chain, checkpointMacInput(checkpoint), checkpoint.mac)).toBe(true);
  });

  it('events written before chains (format 2, one global seq) still verify, sealed by the first checkpoint', async () => {
    const prevHash = await insertUnkeyedLog(
      db,
      [1, 2, 3].map((seq) => signup(seq, 0)),
    );
    const log = new AuditLog(db, { vault });
    // No checkpoint yet: verify walks the legacy chain as before, then signs the first checkpoint (its seal).
    expect(await log.verify()).toMatchObject({ ok: true, events: 3, chains: 1, checkpoint: 1 });
    expect(await heads().findOne({ _id: 'checkpoint' as never })).toMatchObject({
      legacy: { seq: 3, hash: prevHash },
      base: 4,
    });

    const next = await log.append(signup(1, 1));
    expect(next).toMatchObject({ chain: 'acct-1', seq: 4, prevHash: genesisHash, format: 3 });
    // The account's events keep one order across the change.
    expect((await log.list({ accountId: 'acct-1' })).map((e) => e.seq)).toEqual([1, 4]);
    expect(await log.verify()).toMatchObject({ ok: true, events: 4, chains: 2, checkpoint: 2 });
  });
});
