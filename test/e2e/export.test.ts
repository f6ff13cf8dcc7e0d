/**
 * Data export end to end (issue 11, item 3): a person with synced provider records asks for an export,
 * follows its progress, downloads the zip through the signed link while signed in, and finds in it —
 * field by field — what the database holds: the account center, connections without tokens, every record
 * with its content, origin and a verified MAC, the consent history, recovery factors without secrets, the
 * audit events and the workflows of the person in Temporal, each file matching the manifest's SHA-256.
 * The link expires with the archive; another person can neither see the export nor use its link; a banned
 * account can still export; an account being erased cannot.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Binary } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { toAccountCenter, type AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { canonicalJson } from '../../activities/audit/canonical-json.js';
import {
  contentHash,
  providerRecords,
  recordContent,
  sealRecordData,
  signOrigin,
} from '../../activities/records/store.js';
import { createExportActivities } from '../../activities/exports/activities.js';
import {
  dataExports,
  exportArchiveBucket,
  signedArchivePath,
  type ManifestFile,
} from '../../activities/exports/store.js';
import { exportStateQuery, type ExportResult } from '../../workflows/export/messages.js';
import { openedAccount } from '../support/account-documents.js';
import { browserSessionOf, linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack, type ProblemBody } from '../support/stack.js';
import { unzip } from '../support/zip.js';
import { decodedPayloads } from '../support/history.js';

const suffix = randomBytes(3).toString('hex');
/** Short enough for a test to see the link and the archive expire; long enough to download first. */
const linkTtlMs = 40_000;

interface ExportView {
  exportId: string;
  workflowId: string;
  status: string;
  progress: { recordsWritten: number; recordsTotal?: number };
  readyAt?: string;
  expiresAt?: string;
  archive?: { bytes: number; files: ManifestFile[] };
  download?: { url: string; expiresAt: string };
}

const stack = useTestStack({ sandbox: true, env: { EXPORT_LINK_TTL: `${linkTtlMs / 1000} seconds` } });
let person: SignedUp;
let other: SignedUp;
const username = `export-${suffix}`;

beforeAll(async () => {
  person = await signedUp(stack, `auth0|${username}`);
  const sandbox = stack.sandbox!.data;
  // A few pages of records, so the archive holds more than one batch of the cursor.
  sandbox.setCount('github', username, 'repositories', 1200);
  const link = await linkThroughSandbox(stack, person, 'github', username);
  expect(link.answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(link.workflowId).result();
  await stack.temporal.workflow.getHandle(`sync/${person.accountId}/github`).result();
  // Recovery factors with secrets the archive must leave out: backup code hashes and a TOTP seed.
  expect((await call(stack, 'POST', '/v1/me/recovery-factors/backup-codes', { token: person.token })).status).toBe(201);
  expect((await call(stack, 'POST', '/v1/me/recovery-factors/totp', { token: person.token })).status).toBe(201);
  other = await signedUp(stack, `auth0|export-other-${suffix}`);
}, 180_000);

async function requestExport(who: SignedUp): Promise<{ exportId: string; workflowId: string; started: boolean }> {
  const res = await call<{ exportId: string; workflowId: string; status: string; started: boolean }>(
    stack,
    'POST',
    '/v1/me/exports',
    { token: who.token },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body;
}

async function exportOf(who: SignedUp, exportId: string) {
  return call<ExportView>(stack, 'GET', `/v1/me/exports/${exportId}`, { token: who.token });
}

async function readyExport(who: SignedUp, exportId: string): Promise<ExportView> {
  return eventually(
    async () => {
      const res = await exportOf(who, exportId);
      expect(res.status).toBe(200);
      return res.body.status === 'ready' ? res.body : undefined;
    },
    `export ${exportId} ready`,
    120_000,
  );
}

async function download(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

const jsonLines = (file: Buffer | undefined) =>
  (file ?? Buffer.alloc(0))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('data export', () => {
  let exportId: string;
  let workflowId: string;
  let ready: ExportView;
  let files: Map<string, Buffer>;

  it('answers 202 with the export and its workflow, and a second request while it runs with the same export', async () => {
    const first = await requestExport(person);
    expect(first.workflowId).toBe(`export/${person.accountId}/${first.exportId}`);
    expect(first.started).toBe(true);
    exportId = first.exportId;
    workflowId = first.workflowId;
    const second = await requestExport(person);
    // The archive of 1 200+ records takes longer than one round trip: the second request joins it.
    expect(second).toMatchObject({ exportId, workflowId, started: false });
    const { typedSearchAttributes } = await stack.temporal.workflow.getHandle(workflowId).describe();
    expect(typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['CraAccountId', person.accountId],
        ['CraProcess', 'export'],
      ]),
    );
  });

  it('shows progress, then a signed download link that expires with the archive', async () => {
    ready = await readyExport(person, exportId);
    const total = await providerRecords(stack.db).countDocuments({ accountId: person.accountId });
    expect(total).toBeGreaterThan(1200);
    expect(ready.progress).toEqual({ recordsWritten: total, recordsTotal: total });
    const state = await stack.temporal.workflow.getHandle(workflowId).query(exportStateQuery);
    expect(state).toMatchObject({ status: 'ready', recordsWritten: total, recordsTotal: total });
    const { typedSearchAttributes } = await stack.temporal.workflow.getHandle(workflowId).describe();
    expect(typedSearchAttributes.getAll().find((p) => p.key.name === 'CraStage')?.value).toBe('ready');
    expect(ready.download?.url).toMatch(
      new RegExp(`^${stack.baseUrl}/v1/exports/${exportId}/archive\\?expires=\\d+&signature=`),
    );
    expect(ready.download?.expiresAt).toBe(ready.expiresAt);
    const lifetime = Date.parse(ready.expiresAt!) - Date.parse(ready.readyAt!);
    expect(lifetime).toBe(linkTtlMs);
    // The history holds ids and counts, never the archive's content.
    const events = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
    const history = [JSON.stringify(events), ...decodedPayloads(events, stack.codec)].join('\n');
    const anyRecord = await providerRecords(stack.db).findOne({ accountId: person.accountId });
    const content = await recordContent(stack.deps.accountKeys, anyRecord!);
    expect(history).not.toContain(String(content.name ?? content.full_name ?? 'never-there'));
    expect(history).not.toContain(`${username}@`);
  });

  it('downloads the zip with the link and a bearer token, and with the link and the account center session', async () => {
    const withToken = await download(ready.download!.url, { authorization: `Bearer ${person.token}` });
    expect(withToken.status).toBe(200);
    expect(withToken.headers.get('content-type')).toBe('application/zip');
    expect(withToken.headers.get('content-disposition')).toBe(`attachment; filename="cra-export-${exportId}.zip"`);
    expect(withToken.body.length).toBe(ready.archive!.bytes);
    const withSession = await download(ready.download!.url, { cookie: await browserSessionOf(stack, person) });
    expect(withSession.status).toBe(200);
    expect(withSession.body.equals(withToken.body)).toBe(true);
    files = await unzip(withToken.body);
    expect([...files.keys()]).toEqual([
      'account.json',
      'connections.jsonl',
      'records.jsonl',
      'consents.jsonl',
      'recovery-factors.jsonl',
      'audit-events.jsonl',
      'workflows.jsonl',
      'manifest.json',
    ]);
  });

  it('lists every file in the manifest with its size, line count and SHA-256', () => {
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as {
      format: string;
      exportId: string;
      accountId: string;
      files: ManifestFile[];
    };
    expect(manifest).toMatchObject({ format: 'cra-export/1', exportId, accountId: person.accountId });
    expect(manifest.files.map((f) => f.name)).toEqual([...files.keys()].filter((n) => n !== 'manifest.json'));
    for (const f of manifest.files) {
      const body = files.get(f.name)!;
      expect(f.bytes, f.name).toBe(body.length);
      expect(f.lines, f.name).toBe(jsonLines(body).length);
      expect(f.sha256, f.name).toBe(createHash('sha256').update(body).digest('hex'));
    }
    expect(ready.archive!.files).toEqual(manifest.files);
  });

  it('holds the account center, its connections without any token, and the consent history', async () => {
    // account.json holds the clear values the stored document seals.
    const doc = (await openedAccount(stack, person.accountId))!;
    const center = toAccountCenter(doc);
    expect(jsonLines(files.get('account.json'))).toEqual([JSON.parse(JSON.stringify(center))]);
    expect(jsonLines(files.get('connections.jsonl'))).toEqual(
      JSON.parse(JSON.stringify(center.connected_providers.nodes)),
    );
    expect(jsonLines(files.get('connections.jsonl'))).toEqual([
      expect.objectContaining({ provider: 'github', providerAccountId: `github:${username}`, status: 'active' }),
    ]);
    expect(jsonLines(files.get('consents.jsonl'))).toEqual(JSON.parse(JSON.stringify(doc.consents)));
    expect(jsonLines(files.get('consents.jsonl'))).toEqual([
      expect.objectContaining({ purpose: 'terms', version: '1', granted: true }),
    ]);
    // No token, ciphertext or MAC of the connection is anywhere in the archive.
    const tokens = await stack.db
      .collection<Record<string, unknown>>(collections.providerTokens)
      .find({ connectionId: center.connected_providers.nodes[0]!.connectionId })
      .toArray();
    expect(tokens.length).toBeGreaterThan(0);
    const everything = [...files.values()].map((b) => b.toString('utf8')).join('\n');
    for (const t of tokens)
      for (const [field, value] of Object.entries(t))
        if (typeof value === 'string' && value.length >= 24 && !['connectionId', 'accountId', '_id'].includes(field))
          expect(everything, `provider_tokens.${field}`).not.toContain(value);
    expect(everything).not.toMatch(/access_?token|refresh_?token/i);
  });

  it('holds every provider record with its content, its origin and a verified origin MAC', async () => {
    const lines = jsonLines(files.get('records.jsonl'));
    const docs = await providerRecords(stack.db).find({ accountId: person.accountId }).toArray();
    expect(lines).toHaveLength(docs.length);
    // In storage order: matched by record id.
    const byId = new Map(lines.map((l) => [l.recordId, l]));
    expect(byId.size).toBe(docs.length);
    for (const doc of docs) {
      const line = byId.get(doc._id);
      expect(line, doc._id).toEqual({
        recordId: doc._id,
        provider: doc.provider,
        kind: doc.kind,
        externalId: doc.externalId,
        connectionId: doc.connectionId,
        status: doc.status,
        updatedAt: doc.updatedAt,
        origin: JSON.parse(JSON.stringify(doc.origin)),
        originValid: true,
        content: JSON.parse(JSON.stringify(await recordContent(stack.deps.accountKeys, doc))),
      });
      expect(canonicalJson(line!.content as Record<string, unknown>).length).toBeGreaterThan(2);
    }
    // What the sandbox serves is what the archive says the person has.
    const sandbox = stack.sandbox!;
    const repo = lines.find((l) => l.kind === 'repositories')!;
    const datasetId = sandbox.datasetIdOf('github', username, 'repositories', String(repo.externalId))!;
    expect(repo.content).toEqual(sandbox.providerItem('github', username, 'repositories', datasetId)!.item);
    expect(JSON.stringify(lines)).not.toContain('originMac');
    expect(JSON.stringify(lines)).not.toContain('sealedData');
  });

  it('holds the recovery factors with their kinds and dates, never their secrets', async () => {
    const factors = await stack.db
      .collection<Record<string, unknown>>(collections.recoveryFactors)
      .find({ accountId: person.accountId })
      .toArray();
    const lines = jsonLines(files.get('recovery-factors.jsonl'));
    expect(lines).toHaveLength(factors.length);
    expect(new Set(lines.map((l) => l.kind))).toEqual(new Set(['backup_code', 'totp']));
    for (const f of factors) {
      const line = lines.find((l) => l.factorId === f._id)!;
      expect(line).toMatchObject({ kind: f.kind, enrolledAt: f.enrolledAt });
      for (const secret of ['hash', 'secretCiphertext', 'publicKey', 'credentialId'])
        expect(line, `${String(f.kind)} ${secret}`).not.toHaveProperty(secret);
      for (const value of [f.hash, f.secretCiphertext])
        if (typeof value === 'string') expect(files.get('recovery-factors.jsonl')!.toString()).not.toContain(value);
    }
  });

  it('holds the person’s audit events as the audit log has them', async () => {
    const lines = jsonLines(files.get('audit-events.jsonl'));
    const events = await stack.db
      .collection(collections.auditEvents)
      .find({ accountId: person.accountId }, { sort: { seq: 1 }, projection: { _id: 0 } })
      .toArray();
    // Events after the archive was written (the export's own `ready`) are not in it; the rest are, in order.
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).toEqual(JSON.parse(JSON.stringify(events.slice(0, lines.length))));
    const actions = lines.map((l) => l.action);
    expect(actions).toEqual(expect.arrayContaining(['provider.linked', 'data.export_requested']));
    expect(events.slice(lines.length).map((e) => e.action)).toContain('data.export_ready');
  });

  it('lists the person’s workflows in Temporal: the signup, the link, the sync and this export', async () => {
    const lines = jsonLines(files.get('workflows.jsonl'));
    const byId = new Map(lines.map((l) => [l.workflowId, l]));
    for (const [id, process] of [
      [`signup/${person.subject}`, 'signup'],
      [`link/${person.accountId}/github`, 'link'],
      [`sync/${person.accountId}/github`, 'sync'],
      [workflowId, 'export'],
    ] as const) {
      const line = byId.get(id);
      expect(line, id).toBeDefined();
      const described = await stack.temporal.workflow.getHandle(id, String(line!.runId)).describe();
      expect(line).toEqual({
        process,
        workflowId: id,
        runId: described.runId,
        type: described.type,
        status: id === workflowId ? 'RUNNING' : described.status.name,
        startTime: described.startTime.toISOString(),
        closeTime: id === workflowId ? null : described.closeTime!.toISOString(),
      });
    }
    // Only this person's.
    expect(
      lines.every(
        (l) => String(l.workflowId).includes(person.accountId) || l.workflowId === `signup/${person.subject}`,
      ),
    ).toBe(true);
  });

  it('is not another person’s: 404 for their status, and their session or token cannot download it', async () => {
    const status = await exportOf(other, exportId);
    expect(status.status).toBe(404);
    expect((status.body as unknown as ProblemBody).type).toMatch(/export-not-found$/);
    const withToken = await download(ready.download!.url, {
      authorization: `Bearer ${other.token}`,
      accept: 'application/json',
    });
    expect(withToken.status).toBe(404);
    expect(JSON.parse(withToken.body.toString()).type).toMatch(/export-not-found$/);
    const withSession = await download(ready.download!.url, { cookie: await browserSessionOf(stack, other) });
    expect(withSession.status).toBe(404);
    // The link alone opens nothing.
    const anonymous = await download(ready.download!.url, {});
    expect(anonymous.status).toBe(401);
  });

  it('refuses a link whose signature or expiry was changed, and one that expired', async () => {
    const url = new URL(ready.download!.url);
    const forged = new URL(url);
    forged.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3_600_000));
    const res = await download(forged.href, { authorization: `Bearer ${person.token}` });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString()).type).toMatch(/export-link-invalid$/);
    // A link CRA signed, but whose time is over.
    const past = await signedArchivePath(stack.deps.vault, {
      exportId,
      accountId: person.accountId,
      expiresAt: new Date(Date.now() - 1000),
    });
    const expired = await download(`${stack.baseUrl}${past}`, { authorization: `Bearer ${person.token}` });
    expect(expired.status).toBe(410);
    expect(JSON.parse(expired.body.toString()).type).toMatch(/export-link-expired$/);
  });

  it('deletes the archive when its link expires: the link answers 410 and the export is expired', async () => {
    const result: ExportResult = await stack.temporal.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ status: 'expired', exportId, records: ready.progress.recordsWritten });
    const after = await exportOf(person, exportId);
    expect(after.body).toMatchObject({ status: 'expired' });
    expect(after.body.download).toBeUndefined();
    const res = await download(ready.download!.url, { authorization: `Bearer ${person.token}` });
    expect(res.status).toBe(410);
    expect(
      await stack.db.collection(`${collections.exportArchives}.files`).countDocuments({ _id: exportId as never }),
    ).toBe(0);
    expect(
      await stack.db.collection(`${collections.exportArchives}.chunks`).countDocuments({ files_id: exportId }),
    ).toBe(0);
  }, 90_000);
});

describe('who may export', () => {
  it('a banned account can still export and download its archive', async () => {
    const banned = await signedUp(stack, `auth0|export-banned-${suffix}`);
    await stack.db
      .collection<AccountDocument>(collections.accounts)
      .updateOne({ _id: banned.accountId }, { $set: { status: 'banned' } });
    const { exportId } = await requestExport(banned);
    const ready = await readyExport(banned, exportId);
    const res = await download(ready.download!.url, { authorization: `Bearer ${banned.token}` });
    expect(res.status).toBe(200);
    const files = await unzip(res.body);
    expect(jsonLines(files.get('account.json'))[0]).toMatchObject({ accountId: banned.accountId, status: 'banned' });
  });

  it('an account being erased cannot start one (409 erasure-in-progress), and nothing is recorded', async () => {
    const leaving = await signedUp(stack, `auth0|export-leaving-${suffix}`);
    await stack.db
      .collection<AccountDocument>(collections.accounts)
      .updateOne({ _id: leaving.accountId }, { $set: { status: 'pending_deletion' } });
    const res = await call<ProblemBody>(stack, 'POST', '/v1/me/exports', { token: leaving.token });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.type).toMatch(/erasure-in-progress$/);
    expect(await stack.db.collection(collections.dataExports).countDocuments({ accountId: leaving.accountId })).toBe(0);
  });

  it('an account whose data key was destroyed ends failed, with no archive, and the next request starts anew', async () => {
    const erased = await signedUp(stack, `auth0|export-shredded-${suffix}`);
    const key = await stack.deps.accountKeys.keyFor(erased.accountId);
    const _id = `${erased.accountId}|github|repositories|1`;
    const data = { id: 1, name: 'sealed-before-the-shred' };
    const origin = {
      provider: 'github' as const,
      providerAccountId: 'github:shredded',
      connectionId: 'c-1',
      syncRunId: 'r-1',
      fetchedAt: new Date().toISOString(),
      sourceUrl: 'https://api.github.com/user/repos',
      contentHash: contentHash(data),
    };
    await providerRecords(stack.db).insertOne({
      _id,
      accountId: erased.accountId,
      provider: 'github',
      kind: 'repositories',
      externalId: '1',
      connectionId: 'c-1',
      sealedData: sealRecordData(key, _id, data),
      origin,
      originMac: await signOrigin(stack.deps.vault, {
        _id,
        accountId: erased.accountId,
        kind: 'repositories',
        externalId: '1',
        origin,
      }),
      status: 'active',
      lastSeenRunId: 'r-1',
      updatedAt: origin.fetchedAt,
    });
    await stack.deps.accountKeys.destroy(erased.accountId);
    const first = await requestExport(erased);
    const result: ExportResult = await stack.temporal.workflow.getHandle(first.workflowId).result();
    expect(result).toMatchObject({ status: 'failed', exportId: first.exportId, archiveBytes: 0 });
    const view = await exportOf(erased, first.exportId);
    expect(view.body).toMatchObject({ status: 'failed', detail: expect.stringContaining('can no longer be read') });
    expect(view.body.download).toBeUndefined();
    expect(
      await stack.db.collection(`${collections.exportArchives}.chunks`).countDocuments({ files_id: first.exportId }),
    ).toBe(0);
    // The failed export does not hold the one-at-a-time claim.
    const second = await requestExport(erased);
    expect(second.started).toBe(true);
    expect(second.exportId).not.toBe(first.exportId);
  });

  it('an unknown export id is 404 export-not-found, a malformed one a 400', async () => {
    const unknown = await exportOf(person, '00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect((unknown.body as unknown as ProblemBody).type).toMatch(/export-not-found$/);
    expect((await exportOf(person, 'not-an-id')).status).toBe(400);
  });
});

describe('the archive activity, retried', () => {
  it('replaces what a crashed attempt left: one archive per export, whole, however often it runs', async () => {
    const exportId = '11111111-2222-4333-8444-555555555555';
    const now = new Date().toISOString();
    await dataExports(stack.db).insertOne({
      _id: exportId,
      accountId: person.accountId,
      workflowId: `export/${person.accountId}/${exportId}`,
      requestedBy: person.subject,
      status: 'building',
      progress: { recordsWritten: 0 },
      requestedAt: now,
      updatedAt: now,
    });
    // What a worker killed mid-upload leaves: chunks of the file, and no file document.
    const chunks = stack.db.collection(`${collections.exportArchives}.chunks`);
    await chunks.insertMany([0, 1, 7].map((n) => ({ files_id: exportId, n, data: new Binary(randomBytes(1024)) })));
    const activities = createExportActivities({
      db: stack.db,
      vault: stack.deps.vault,
      accountKeys: stack.deps.accountKeys,
      temporal: stack.temporal,
    });
    const input = { accountId: person.accountId, exportId, workflowId: `export/${person.accountId}/${exportId}` };
    const env = new MockActivityEnvironment();
    type Built = Awaited<ReturnType<typeof activities.buildExportArchive>>;
    const first = await env.run<[typeof input], Built, typeof activities.buildExportArchive>(
      activities.buildExportArchive,
      input,
    );
    const second = await env.run<[typeof input], Built, typeof activities.buildExportArchive>(
      activities.buildExportArchive,
      input,
    );
    const records = await providerRecords(stack.db).countDocuments({ accountId: person.accountId });
    expect(first.records).toBe(records);
    expect(second.records).toBe(records);
    const files = await exportArchiveBucket(stack.db)
      .find({ _id: exportId as never })
      .toArray();
    expect(files).toHaveLength(1);
    expect(files[0]!.length).toBe(second.archiveBytes);
    // Exactly the chunks of the last archive: none of the crashed attempt's, none of the first run's.
    expect(await chunks.countDocuments({ files_id: exportId })).toBe(Math.ceil(files[0]!.length / files[0]!.chunkSize));
    const stream = exportArchiveBucket(stack.db).openDownloadStream(exportId as never);
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    const entries = await unzip(Buffer.concat(parts));
    expect(jsonLines(entries.get('records.jsonl'))).toHaveLength(records);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as { files: ManifestFile[] };
    for (const f of manifest.files)
      expect(f.sha256, f.name).toBe(createHash('sha256').update(entries.get(f.name)!).digest('hex'));
  });
});
