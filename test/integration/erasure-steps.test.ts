/**
 * The erasure's steps against the real dev server, FerretDB and the sandbox provider: an account with a
 * linked GitHub, synced records, tokens, a recovery factor, an AI agent and audit events is erased; then no
 * collection and no remaining workflow history holds any of the person's identifiers, the audit chain still
 * verifies, the certificate's counts are what was there and its signature verifies, and a record copied
 * before the erasure can no longer be opened. A worker process SIGKILLed after each step resumes the erasure
 * without asking an external system twice: a small proxy in front of the sandbox's revocation endpoint counts
 * the revocations CRA makes, and the SecretVault is the Vault stand-in, which counts the key destroys.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyCertificate } from '../../activities/erasure/certificate.js';
import { createErasureActivities } from '../../activities/erasure/activities.js';
import { erasures, legalHolds, openErasureRequest } from '../../activities/erasure/store.js';
import { accountIdOf, retireSubjectAccount, subjectAccounts } from '../../activities/erasure/subject-accounts.js';
import { providerRecords, recordContent } from '../../activities/records/store.js';
import { AccountKeys } from '../../activities/secrets/account-keys.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import { failureTypeOf } from '../../domain/failures.js';
import { workflowIds } from '../../domain/ids.js';
import { startErasure } from '../../api/processes/erasure.js';
import type { ErasureInput, ErasureResult, ErasureStore } from '../../workflows/erasure/messages.js';
import { linkThroughSandbox, type SignedUp } from '../support/accounts.js';
import { recordContentValues } from '../support/account-documents.js';
import { decodedPayloads } from '../support/history.js';
import { startSandboxProxy, type SandboxProxy } from '../support/sandbox-proxy.js';
import { call, eventually, tokenFor, useTestStack } from '../support/stack.js';
import { startVaultStandIn, type VaultStandIn } from '../support/vault-stand-in.js';
import { startWorkerProcess as startWorker, workerProcesses } from '../support/worker-process.js';

let proxy: SandboxProxy | undefined;
let vault: VaultStandIn;
const vaultToken = `erasure-steps-${randomBytes(8).toString('hex')}`;
/** Every token CRA revoked at the sandbox, in order. */
const revoked: string[] = [];
const run = randomBytes(3).toString('hex');

afterAll(async () => {
  for (const child of workerProcesses) child.kill('SIGKILL');
  await proxy?.close();
  await vault?.close();
});

const stack = useTestStack(async () => {
  proxy = await startSandboxProxy(
    () => stack,
    ({ kind, token, ok }) => {
      if (kind === 'revocation' && ok) revoked.push(token ?? '');
    },
  );
  const proxyUrl = proxy.url;
  // The SecretVault is the Vault stand-in (HTTP, as Vault's API docs say): it counts the key destroys.
  vault = await startVaultStandIn({ token: vaultToken });
  return {
    sandbox: true,
    env: {
      PROVIDER_GITHUB_REVOCATION_URL: `${proxyUrl}/github/revocation`,
      VAULT_ADDR: vault.endpoint,
      VAULT_TOKEN: vaultToken,
    },
  };
});

interface Person extends SignedUp {
  email: string;
  givenName: string;
  familyName: string;
  providerAccountId: string;
  /** Content values of the person's synced records (long enough to be unmistakable). */
  contentValues: string[];
}

/** A person with a linked and synced GitHub, a recovery factor, an AI agent and audit events. */
async function personWithEverything(name: string): Promise<Person> {
  const subject = `auth0|${name}-${run}`;
  const email = `${name}-${run}@example.com`;
  const givenName = `Givenname${run}${name.length}`;
  const familyName = `Familyname${run}${name.length}`;
  const token = await tokenFor(stack, subject, { email });
  const signup = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
    token,
    json: { givenName, familyName, consents: [{ purpose: 'terms', version: '1', granted: true }] },
  });
  expect(signup.status).toBe(202);
  await stack.temporal.workflow.getHandle(signup.body.workflowId).result();
  const who: SignedUp = { subject, token, accountId: signup.body.accountId };

  const username = `${name}-${run}`;
  for (const kind of stack.sandbox!.data.kinds('github')) stack.sandbox!.data.setCount('github', username, kind, 3);
  const { workflowId: linkId, answer } = await linkThroughSandbox(stack, who, 'github', username);
  expect(answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(linkId).result();
  const records = await eventually(async () => {
    const docs = await providerRecords(stack.db).find({ accountId: who.accountId }).toArray();
    return docs.length >= 3 ? docs : undefined;
  }, 'the first sync');
  await stack.temporal.workflow.getHandle(workflowIds.sync(who.accountId, 'github')).result();

  const account = await stack.db.collection(collections.accounts).findOne({ _id: who.accountId as never });
  const providerAccountId = (account!.connected_providers.nodes as Array<{ providerAccountId: string }>)[0]!
    .providerAccountId;
  const contentValues = await recordContentValues(stack.deps.accountKeys, records);

  const at = new Date().toISOString();
  await stack.db.collection(collections.recoveryFactors).insertOne({
    _id: randomUUID() as never,
    accountId: who.accountId,
    kind: 'backup_codes',
    createdAt: at,
    codeHashes: [],
  });
  await stack.db.collection(collections.agents).insertOne({
    _id: `agent-${randomUUID()}` as never,
    accountId: who.accountId,
    name: `${givenName}'s agent`,
    createdAt: at,
  });
  return { ...who, email, givenName, familyName, providerAccountId, contentValues: [...contentValues] };
}

async function erase(accountId: string, overrides: Partial<ErasureInput> = {}) {
  await startErasure(
    { temporal: stack.temporal, config: stack.config },
    {
      accountId,
      requestedAt: new Date().toISOString(),
      requestedBy: { type: 'user', id: accountId },
      gracePeriod: '1 second',
      tombstoneRetention: '612 days',
      ...overrides,
    },
  );
  return stack.temporal.workflow.getHandle(workflowIds.erasure(accountId));
}

/** The steps in the order the workflow runs them, and the activity of each. */
const stepActivities = {
  processes: 'stopAccountProcesses',
  provider_grants: 'revokeProviderGrants',
  tokens: 'deleteProviderTokens',
  provider_records: 'deleteProviderRecords',
  recovery_factors: 'deleteRecoveryData',
  agents: 'deleteAgents',
  exports: 'deleteExports',
  identity_directory: 'eraseDirectoryIdentity',
  sessions: 'deleteSessions',
  account_document: 'deleteAccountDocument',
  temporal_executions: 'deleteAccountExecutions',
  audit: 'pseudonymiseAudit',
  subject_account: 'retireSubjectAccount',
  keys: 'destroyAccountKey',
} as const satisfies Record<ErasureStore, string>;
const stepsInOrder = Object.keys(stepActivities) as ErasureStore[];

/**
 * Waits (polling the database every 10 ms, well under a step's round trip, so no later step slips in) until the step is marked done in
 * the erasure's record; answers every mark there at that moment.
 */
async function markOf(accountId: string, store: ErasureStore, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const done = (await erasures(stack.db).findOne({ _id: accountId }, { projection: { done: 1 } }))?.done ?? {};
    if (done[store]) return Object.keys(done).sort();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for the ${store} step`);
}

/** The account's executions in Temporal (what the erasure deletes, but for itself and its purge). */
async function accountExecutions(accountId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of stack.temporal.workflow.list({ query: `CraAccountId = '${accountId}'` })) ids.push(w.runId);
  return ids;
}

/** Where the SecretVault keeps an account's data key (`accountDataKeyPath`), as Vault's KV path ends. */
const keyPath = (accountId: string) => `/metadata/accounts/${accountId}/data-key`;

const deletedIn = (result: ErasureResult, store: ErasureStore) =>
  result.status === 'erased' ? result.certificate.steps.find((s) => s.store === store)?.deleted : undefined;

/** Every document of every collection, as JSON, that mentions one of `needles`. */
async function documentsMentioning(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { name } of await stack.db.listCollections().toArray()) {
    for await (const doc of stack.db.collection(name).find({})) {
      const json = JSON.stringify(doc);
      for (const needle of needles)
        if (json.includes(needle)) found.push(`${name}: ${needle} in ${json.slice(0, 300)}`);
    }
  }
  return found;
}

describe('erasure steps', () => {
  it('erases everything of the person, with a certificate that verifies and an audit chain that still does', async () => {
    const p = await personWithEverything('erase-all');
    const records = await providerRecords(stack.db).countDocuments({ accountId: p.accountId });
    const copy = await providerRecords(stack.db).findOne({ accountId: p.accountId });
    const revokedBefore = revoked.length;

    const handle = await erase(p.accountId);
    const result = (await handle.result()) as ErasureResult;
    expect(result.status).toBe('erased');
    if (result.status !== 'erased') return;

    // The certificate counts what was there, and its signature verifies with the installation's vault.
    expect(deletedIn(result, 'provider_grants')).toBe(1);
    expect(deletedIn(result, 'tokens')).toBe(1);
    expect(deletedIn(result, 'provider_records')).toBe(records);
    expect(deletedIn(result, 'recovery_factors')).toBe(1);
    expect(deletedIn(result, 'agents')).toBe(1);
    expect(deletedIn(result, 'identity_directory')).toBe(1);
    expect(deletedIn(result, 'account_document')).toBe(1);
    expect(deletedIn(result, 'keys')).toBe(1);
    expect(deletedIn(result, 'subject_account')).toBe(1);
    expect(deletedIn(result, 'temporal_executions')).toBeGreaterThanOrEqual(3); // signup, link, sync (and custody)
    expect(await verifyCertificate(stack.deps.vault, result.certificate)).toEqual({ ok: true });
    const forged = { ...result.certificate, steps: result.certificate.steps.map((s) => ({ ...s, deleted: 0 })) };
    expect(await verifyCertificate(stack.deps.vault, forged)).toMatchObject({ ok: false });
    // The operator's command says the same of the saved answer, and of a copy someone edited.
    const dir = mkdtempSync(join(tmpdir(), 'cra-certificate-'));
    writeFileSync(join(dir, 'erasure.json'), JSON.stringify(result));
    writeFileSync(join(dir, 'edited.json'), JSON.stringify(forged));
    // Run without blocking this process: the command asks the Vault stand-in, which answers from here.
    const verify = (file: string) =>
      new Promise<{ stdout: string; status: number | null }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'deploy/cli/erasure-verify.ts', join(dir, file)], {
          env: { ...process.env, ...stack.env },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.once('close', (status) => resolve({ stdout, status }));
      });
    const good = await verify('erasure.json');
    expect(good.stdout).toMatch(/^OK: erasure certificate of account /);
    expect(good.status).toBe(0);
    const edited = await verify('edited.json');
    expect(edited.stdout).toMatch(/^NOT VALID: the signature does not match/);
    expect(edited.status).toBe(1);
    // One revocation at the provider, for the one connection.
    expect(revoked.length - revokedBefore).toBe(1);

    // Nothing in the database names the person; the tombstone keeps a keyed hash of the subject.
    const identifiers = [p.email, p.subject, p.givenName, p.familyName, p.providerAccountId, ...p.contentValues];
    expect(p.contentValues.length).toBeGreaterThan(0);
    expect(await documentsMentioning(identifiers)).toEqual([]);
    expect(await erasures(stack.db).findOne({ _id: p.accountId })).toMatchObject({
      stage: 'erased',
      subjectHash: result.certificate.subjectHash,
    });
    expect(await stack.deps.auditLog.verify({ vault: stack.deps.vault })).toMatchObject({ ok: true });

    // What is left in Temporal is the erasure and its purge, and neither history names the person. The server
    // deletes an execution in the background and its visibility row after it: on a busy machine that takes
    // more than half a minute for the five executions here, so the wait is longer than `eventually`'s default.
    const left = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of stack.temporal.workflow.list({ query: `CraAccountId = '${p.accountId}'` }))
          ids.push(w.workflowId);
        return ids.length === 2 ? ids.sort() : undefined;
      },
      'the account executions deleted from visibility',
      120_000,
    );
    expect(left).toEqual([workflowIds.erasure(p.accountId), workflowIds.erasurePurge(p.accountId)].sort());
    for (const id of left) {
      const history = JSON.stringify(await stack.temporal.workflow.getHandle(id).fetchHistory());
      const payloads = decodedPayloads(await stack.temporal.workflow.getHandle(id).fetchHistory(), stack.codec).join(
        '\n',
      );
      for (const needle of identifiers) {
        expect(history).not.toContain(needle);
        expect(payloads).not.toContain(needle);
      }
    }

    // A copy of a record taken before the erasure cannot be opened after it: its key is destroyed.
    const opened = await recordContent(new AccountKeys(stack.deps.vault), copy!).catch((err: unknown) => err);
    expect(failureTypeOf(opened)).toBe('AccountKeyDestroyed');
  }, 180_000);

  it('retires a subject’s account id once: a retry keeps the new id, and a mapping naming another account is left alone', async () => {
    const subject = `auth0|retire-${run}`;
    const derived = accountIdForSubject(subject);
    const as = () => accountIdOf({ db: stack.db, vault: stack.deps.vault }, subject);
    expect(await as()).toBe(derived);

    expect(await retireSubjectAccount(stack.db, stack.deps.vault, { subject, erasedAccountId: derived })).toEqual({
      retired: true,
    });
    const next = await as();
    expect(next).not.toBe(derived);
    // A retry of the same step (its first attempt wrote, then its worker died) makes no second new id.
    expect(await retireSubjectAccount(stack.db, stack.deps.vault, { subject, erasedAccountId: derived })).toEqual({
      retired: true,
    });
    expect(await as()).toBe(next);
    // An account that is not the subject's current one changes nothing; erasing the current one moves it on.
    await retireSubjectAccount(stack.db, stack.deps.vault, { subject, erasedAccountId: randomUUID() });
    expect(await as()).toBe(next);
    await retireSubjectAccount(stack.db, stack.deps.vault, { subject, erasedAccountId: next });
    const third = await as();
    expect([derived, next]).not.toContain(third);
    // One document for the subject, under a keyed hash: the subject itself is nowhere in it.
    const docs = await subjectAccounts(stack.db).find({ accountId: third }).toArray();
    expect(docs).toHaveLength(1);
    expect(JSON.stringify(docs)).not.toContain(subject);
  });

  it('stops at a legal hold placed mid-erasure: a step touches nothing while it is in force, and answers its mark when run again', async () => {
    const accountId = randomUUID();
    const activities = createErasureActivities({
      db: stack.db,
      vault: stack.deps.vault,
      accountKeys: stack.deps.accountKeys,
      auditLog: stack.deps.auditLog,
      temporal: stack.temporal,
      providers: stack.config.providers,
    });
    const at = new Date().toISOString();
    await openErasureRequest(stack.db, {
      accountId,
      workflowId: workflowIds.erasure(accountId),
      requestedAt: at,
      graceEndsAt: at,
    });
    await stack.db.collection(collections.agents).insertMany([
      { _id: `agent-${randomUUID()}` as never, accountId, name: 'one', createdAt: at },
      { _id: `agent-${randomUUID()}` as never, accountId, name: 'two', createdAt: at },
    ]);
    await legalHolds(stack.db).insertOne({
      _id: accountId,
      active: true,
      history: [{ action: 'placed', reason: 'litigation', by: 'support-agent', at }],
      updatedAt: at,
    });

    expect(await activities.deleteAgents({ accountId })).toEqual({ held: true });
    expect(await stack.db.collection(collections.agents).countDocuments({ accountId })).toBe(2);

    await legalHolds(stack.db).updateOne({ _id: accountId }, { $set: { active: false } });
    const first = await activities.deleteAgents({ accountId });
    expect(first).toMatchObject({ held: false, step: { store: 'agents', deleted: 2 } });
    expect(await stack.db.collection(collections.agents).countDocuments({ accountId })).toBe(0);
    // A retry (or a resumed run) after the step: the same outcome, from its mark, even under a new hold.
    await legalHolds(stack.db).updateOne({ _id: accountId }, { $set: { active: true } });
    expect(await activities.deleteAgents({ accountId })).toEqual(first);
  });

  it('resumes after its worker is SIGKILLed after every step, asking no external system twice for the same thing', async () => {
    const p = await personWithEverything('erase-crash');
    const executionsBefore = await accountExecutions(p.accountId);
    await stack.stopWorkers();
    const revokedBefore = revoked.length;
    // A step in flight on a killed worker is retried once its start-to-close timeout ran out: 5 s here instead
    // of 30 s, or the kills alone would take minutes. Every step is idempotent, so a timeout only means a retry.
    const handle = await erase(p.accountId, { stepTimeout: '5 seconds' });

    // A new worker process for each step, SIGKILLed as soon as that step is marked done; the marks found at
    // each kill show it landed between that step and the next.
    const marksAtKill: string[][] = [];
    for (const store of stepsInOrder) {
      const worker = await startWorker(stack.env);
      const marks = await markOf(p.accountId, store, 120_000);
      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
      marksAtKill.push(marks);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    }
    await startWorker(stack.env);
    const result = (await handle.result()) as ErasureResult;
    expect(result.status).toBe('erased');
    expect(marksAtKill).toEqual(stepsInOrder.map((_, i) => [...stepsInOrder.slice(0, i + 1)].sort()));

    // Each external system was asked once: one revocation at the provider, one destroy of the data key at Vault.
    expect(revoked.length - revokedBefore).toBe(1);
    expect(
      vault.state.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith(keyPath(p.accountId))),
    ).toHaveLength(1);
    // Every step was scheduled once (a retried attempt of a killed one answered its mark), and counted what was there.
    const history = await handle.fetchHistory();
    const scheduled = (type: string) =>
      history.events?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
    for (const type of Object.values(stepActivities)) expect(scheduled(type), type).toBe(1);
    expect(deletedIn(result, 'provider_grants')).toBe(1);
    expect(deletedIn(result, 'identity_directory')).toBe(1);
    expect(deletedIn(result, 'keys')).toBe(1);
    expect(deletedIn(result, 'subject_account')).toBe(1);
    expect(deletedIn(result, 'temporal_executions')).toBe(executionsBefore.length);
    expect(await stack.db.collection(collections.identityUsers).countDocuments({ _id: p.subject as never })).toBe(0);
    expect(await documentsMentioning([p.email, p.subject, p.providerAccountId])).toEqual([]);
    expect(await stack.deps.auditLog.verify({ vault: stack.deps.vault })).toMatchObject({ ok: true });
  }, 420_000);
});
