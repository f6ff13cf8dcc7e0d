/**
 * Contract of the production email Notifier (`activities/notify/smtp-notifier.ts`) against a real SMTP
 * server on loopback: `smtp-server`, Nodemailer's own server library, speaking RFC 5321 (EHLO, AUTH,
 * MAIL FROM, RCPT TO, DATA), with the real Nodemailer SMTP transport (https://nodemailer.com/smtp/) and
 * a real FerretDB for the delivery log. Checked: the mail carries the notice; the delivery log holds no
 * subject, body, data or address; one notice per idempotency key, also when the activity is retried; a
 * refused recipient (RFC 5321 section 4.2.2, 550) gives the key back for the retry; a claim left by an
 * attempt that died is taken over only once it lapsed, with the same Message-ID.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildNotifier, noticeTemplates } from '../../activities/notices.js';
import { noticeAddressHash, queuedNotices } from '../../activities/notify/outbox-notifier.js';
import {
  DeliveryInProgressError,
  deliveryLog,
  ensureDeliveryLogIndexes,
  SmtpNotifier,
} from '../../activities/notify/smtp-notifier.js';
import { AccountKeys } from '../../activities/secrets/account-keys.js';
import { buildSecretVault } from '../../activities/secrets/build.js';
import type { SecretVault } from '../../activities/secrets/port.js';
import { freePort, startMongo, type RunningService } from '../../deploy/local/services.js';
import { ensureTools } from '../../deploy/local/tools.js';

interface ReceivedMail {
  from: string;
  to: string[];
  user?: string;
  data: string;
}

const relayUser = 'cra-relay';
const relayPassword = 'relay-password-not-logged';
let work: string;
let mongoService: RunningService | undefined;
let mongo: MongoClient;
let db: Db;
let vault: SecretVault;
let server: SMTPServer;
let smtpUrl: string;
let received: ReceivedMail[] = [];
/** Recipients the server answers 550 to (RFC 5321 section 4.2.2: mailbox unavailable). */
const refused = new Set<string>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cra-smtp-'));
  const { mongo: found } = ensureTools(['mongo']);
  if (!found) throw new Error('No MongoDB-compatible server: install mongod or Go (for FerretDB), `npm run tools`.');
  const started = await startMongo({
    mongo: found,
    port: await freePort(),
    dataDir: join(work, 'mongo'),
    log: () => {},
  });
  mongoService = started;
  mongo = await new MongoClient(started.uri).connect();
  db = mongo.db('cra_smtp_contract');
  await ensureDeliveryLogIndexes(db);
  vault = await buildSecretVault({ dataDir: join(work, 'data') });

  server = new SMTPServer({
    // Loopback only: no certificate to offer, so no STARTTLS, and AUTH over the plain connection.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === relayUser && auth.password === relayPassword) callback(null, { user: auth.username });
      else callback(new Error('535 5.7.8 authentication credentials invalid'));
    },
    onRcptTo(address, _session, callback) {
      if (refused.has(address.address)) {
        const err = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
        callback(err);
      } else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  smtpUrl = `smtp://${relayUser}:${relayPassword}@127.0.0.1:${port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await mongo?.close();
  await mongoService?.stop(5_000);
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(async () => {
  received = [];
  refused.clear();
  await deliveryLog(db).deleteMany({});
});

const from = 'CRA <no-reply@cra.test>';
const notifier = (opts: { claimLeaseMs?: number } = {}) =>
  new SmtpNotifier(db, { templates: noticeTemplates, smtp: smtpUrl, from, vault, ...opts });

const codeNotice = (key: string, to: string, code: string) => ({
  idempotencyKey: key,
  channel: 'email' as const,
  to,
  template: 'recovery-code',
  data: { code, minutes: 10 },
});

describe('SmtpNotifier against a real SMTP server', () => {
  it('sends the notice through the relay (authenticated) and logs the delivery without its words or address', async () => {
    const sent = await notifier().send(codeNotice('smtp-1', 'ada@example.com', '31415926'));
    expect(sent.queued).toBe(true);
    expect(received).toHaveLength(1);
    const [mail] = received;
    expect(mail).toMatchObject({ from: 'no-reply@cra.test', to: ['ada@example.com'], user: relayUser });
    expect(mail!.data).toContain('Subject: Your account recovery code');
    expect(mail!.data).toContain('Your code: 31415926');
    expect(mail!.data).toMatch(/^X-CRA-Notice: recovery-code\r?$/im);

    const entries = await deliveryLog(db).find({}).toArray();
    expect(entries).toHaveLength(1);
    const entry = entries[0]!;
    expect(Object.keys(entry).sort()).toEqual(
      ['_id', 'channel', 'claimedAt', 'idempotencyKey', 'messageId', 'sentAt', 'template', 'toHash'].sort(),
    );
    expect(entry).toMatchObject({
      _id: sent.id,
      idempotencyKey: 'smtp-1',
      template: 'recovery-code',
      toHash: await noticeAddressHash(vault, 'ADA@example.com'),
    });
    expect(mail!.data).toContain(`Message-ID: ${entry.messageId}`);
    const stored = JSON.stringify(entries);
    for (const secret of ['31415926', 'ada@example.com', 'Your account recovery code', relayPassword])
      expect(stored).not.toContain(secret);
  });

  it('sends once per idempotency key: a retried activity sends nothing more', async () => {
    const first = await notifier().send(codeNotice('smtp-2', 'bob@example.com', '27182818'));
    const again = await notifier().send(codeNotice('smtp-2', 'bob@example.com', '27182818'));
    expect(again).toEqual({ id: first.id, queued: false });
    expect(received).toHaveLength(1);
  });

  it('gives the key back when the relay refuses the recipient, so the retry sends it', async () => {
    refused.add('cy@example.com');
    const failed = await notifier()
      .send(codeNotice('smtp-3', 'cy@example.com', '16180339'))
      .catch((err: Error) => err);
    expect(failed).toBeInstanceOf(Error);
    // The reason names the reply code and command, not the address.
    expect((failed as Error).message).toContain('550');
    expect((failed as Error).message).not.toContain('cy@example.com');
    expect(await deliveryLog(db).countDocuments({ idempotencyKey: 'smtp-3' })).toBe(0);
    refused.clear();
    expect((await notifier().send(codeNotice('smtp-3', 'cy@example.com', '16180339'))).queued).toBe(true);
    expect(received.map((m) => m.to)).toEqual([['cy@example.com']]);
  });

  it('waits for a live claim, and takes a lapsed one over with the same Message-ID (at least once)', async () => {
    const toHash = await noticeAddressHash(vault, 'dee@example.com');
    // An attempt that claimed the key and died before recording its send.
    await deliveryLog(db).insertOne({
      _id: 'claimed-by-a-dead-attempt',
      idempotencyKey: 'smtp-4',
      channel: 'email',
      template: 'recovery-code',
      toHash,
      claimedAt: new Date().toISOString(),
    });
    await expect(notifier().send(codeNotice('smtp-4', 'dee@example.com', '14142135'))).rejects.toBeInstanceOf(
      DeliveryInProgressError,
    );
    expect(received).toHaveLength(0);
    const taken = await notifier({ claimLeaseMs: 0 }).send(codeNotice('smtp-4', 'dee@example.com', '14142135'));
    expect(taken).toEqual({ id: 'claimed-by-a-dead-attempt', queued: true });
    expect(received).toHaveLength(1);
    const entry = await deliveryLog(db).findOne({ idempotencyKey: 'smtp-4' });
    expect(received[0]!.data).toContain(`Message-ID: ${entry!.messageId}`);
    // The Message-ID is the key's: another sender of the same notice would give the same one.
    await deliveryLog(db).deleteMany({});
    await notifier().send(codeNotice('smtp-4', 'dee@example.com', '14142135'));
    expect(received[1]!.data).toContain(`Message-ID: ${entry!.messageId}`);
  });

  it('as the installation builds it (CRA_NOTIFIER=smtp): email is sent, a text goes to the sealed outbox', async () => {
    const accountKeys = new AccountKeys(vault);
    const installed = buildNotifier(db, { accountKeys, config: { kind: 'smtp', url: smtpUrl, from } });
    await installed.send(codeNotice('smtp-5-email', 'eve@example.com', '17320508'));
    await installed.send({ ...codeNotice('smtp-5-sms', '+4915112345678', '22360679'), channel: 'sms' });
    expect(received.map((m) => m.to)).toEqual([['eve@example.com']]);
    expect(await queuedNotices(db, accountKeys, { to: 'eve@example.com' })).toEqual([]);
    const [text] = await queuedNotices(db, accountKeys, { to: '+4915112345678' });
    expect(text?.body).toContain('22360679');
  });
});
