/**
 * Erasure as a person and support see it, end to end: the real API over HTTP, the erasure workflow and
 * every other process on the Temporal dev server, FerretDB, the sandbox as the provider. The grace period is
 * a few seconds here, so a request runs all the way to the certificate inside the test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectAccounts } from '../../activities/erasure/subject-accounts.js';
import { providerRecords } from '../../activities/records/store.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { erasureStateQuery } from '../../workflows/erasure/messages.js';
import { linkThroughSandbox, longStandingAccount, signedUp, type SignedUp } from '../support/accounts.js';
import { recordContentValues } from '../support/account-documents.js';
import { launchBrowser } from '../support/browser.js';
import { confirmEmail, newPerson, noticesTo, signIn, signUp } from '../support/people.js';
import { call, eventually, tokenFor, useTestStack, type ProblemBody } from '../support/stack.js';
import { startWorkerProcess, workerLog, workerProcesses, workerReady } from '../support/worker-process.js';

const run = randomBytes(3).toString('hex');
const graceMs = 5_000;

afterAll(() => {
  for (const child of workerProcesses) child.kill('SIGKILL');
});

// The workers run as `npm run worker` does, at the default log level, so their log is what an operator keeps:
// after an erasure it must name none of the person's identifiers (`workerLog`).
const stack = useTestStack({ sandbox: true, workers: false, env: { ERASURE_GRACE_PERIOD: `${graceMs / 1000}s` } });

beforeAll(async () => {
  await workerReady(await startWorkerProcess(stack.env, { LOG_LEVEL: 'info' }));
});

interface Requested {
  workflowId: string;
  status: string;
  requestedAt: string;
  graceEndsAt: string;
  onLegalHold: boolean;
  joined: boolean;
}
interface State {
  workflowId: string;
  stage: string;
  graceEndsAt: string;
  onLegalHold: boolean;
  steps: Array<{ store: string; deleted: number }>;
  certificate?: { format: string; accountId: string; steps: Array<{ store: string }>; signature: { mac: string } };
}

const person = (name: string) => signedUp(stack, `auth0|erasure-${name}-${run}`);
const me = async (who: SignedUp) => call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token });
const requestErasure = (who: SignedUp) =>
  call<Requested & ProblemBody>(stack, 'POST', '/v1/me/erasure', { token: who.token });
const cancelErasure = (who: SignedUp) =>
  call<{ status: string } & ProblemBody>(stack, 'DELETE', '/v1/me/erasure', { token: who.token });
const erasureOf = (who: SignedUp) => call<State & ProblemBody>(stack, 'GET', '/v1/me/erasure', { token: who.token });
const dpo = () => tokenFor(stack, `auth0|erasure-dpo-${run}`, { permissions: ['legal:hold', 'support:read'] });
const legalHold = (token: string, accountId: string, json: unknown) =>
  call<{ active: boolean; erasureNotified: boolean } & ProblemBody>(
    stack,
    'POST',
    `/v1/support/accounts/${accountId}/legal-hold`,
    { token, json },
  );

function expectProblem(res: { status: number; headers: Headers; body: unknown }, status: number, kind: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body, JSON.stringify(res.body)).toMatchObject({ type: expect.stringMatching(new RegExp(`/${kind}$`)) });
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect((res.body as ProblemBody).type).toMatch(new RegExp(`/${kind}$`));
}

async function stageReached(who: SignedUp, stage: string, timeoutMs = 60_000): Promise<State> {
  return eventually(
    async () => {
      const res = await erasureOf(who);
      return res.status === 200 && res.body.stage === stage ? res.body : undefined;
    },
    `the erasure's stage ${stage}`,
    timeoutMs,
  );
}

describe('asking for an erasure, and cancelling it', () => {
  it('marks the account pending_deletion, joins a second request, refuses new processes, and a cancel in the grace changes nothing back', async () => {
    const who = await person('cancel');
    const { answer } = await linkThroughSandbox(stack, who, 'github', `erasure-cancel-${run}`);
    expect(answer.body).toMatchObject({ status: 'linked' });
    await stack.temporal.workflow.getHandle(`sync/${who.accountId}/github`).result();
    const recordsBefore = await stack.db
      .collection<ProviderRecordDocument>(collections.providerRecords)
      .countDocuments({ accountId: who.accountId });
    const connectionsBefore = (await me(who)).body.connected_providers.nodes;
    expect(connectionsBefore).toHaveLength(1);

    // Long enough that the grace does not end while this test looks around: cancel comes first.
    const asked = await requestErasure(who);
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    expect(asked.body).toMatchObject({
      workflowId: `erasure/${who.accountId}`,
      status: 'pending_deletion',
      onLegalHold: false,
      joined: false,
    });
    expect(Date.parse(asked.body.graceEndsAt) - Date.parse(asked.body.requestedAt)).toBe(graceMs);
    expect((await me(who)).body.status).toBe('pending_deletion');

    // A second request (another device, a double click) joins the first: same run, same grace, no second notice.
    const again = await requestErasure(who);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({
      workflowId: asked.body.workflowId,
      graceEndsAt: asked.body.graceEndsAt,
      joined: true,
    });
    // signedUp's address: the subject with its punctuation as dashes.
    const mine = await noticesTo(stack, {
      to: `${who.subject.replace(/\W/g, '-')}@example.com`,
      template: 'erasure-requested',
    });
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toMatch(new RegExp(`${stack.baseUrl}/account/erasure/cancel\\?token=[A-Za-z0-9_-]{20,}`));

    // Nothing new starts for an account being erased: link, sync, disconnect, export.
    expectProblem(
      await call(stack, 'POST', '/v1/me/providers/google/link', { token: who.token, json: {} }),
      409,
      'erasure-in-progress',
    );
    expectProblem(
      await call(stack, 'POST', '/v1/me/providers/github/sync', { token: who.token, json: {} }),
      409,
      'erasure-in-progress',
    );
    expectProblem(
      await call(stack, 'DELETE', '/v1/me/providers/github', { token: who.token, json: { retention: 'delete' } }),
      409,
      'erasure-in-progress',
    );
    expectProblem(
      await call(stack, 'POST', '/v1/me/exports', { token: who.token, json: {} }),
      409,
      'erasure-in-progress',
    );

    const state = await erasureOf(who);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ stage: 'grace', graceEndsAt: asked.body.graceEndsAt, onLegalHold: false });

    const cancelled = await cancelErasure(who);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toEqual({ status: 'cancelled' });
    expect((await me(who)).body.status).toBe('active');
    expect((await stageReached(who, 'cancelled')).stage).toBe('cancelled');
    expect(await stack.temporal.workflow.getHandle(asked.body.workflowId).result()).toEqual({ status: 'cancelled' });
    // The cancel link's token and the person's address never reach the workflow's history or the API's log.
    const token = /token=([A-Za-z0-9_-]+)/.exec(mine[0]!.body)![1]!;
    const history = JSON.stringify(await stack.temporal.workflow.getHandle(asked.body.workflowId).fetchHistory());
    for (const secret of [token, mine[0]!.to]) {
      expect(history).not.toContain(secret);
      expect(stack.apiLog.join('\n')).not.toContain(secret);
    }

    // Nothing was deleted, and the account works again.
    await new Promise((r) => setTimeout(r, graceMs));
    expect((await me(who)).body.connected_providers.nodes).toEqual(connectionsBefore);
    expect(
      await stack.db
        .collection<ProviderRecordDocument>(collections.providerRecords)
        .countDocuments({ accountId: who.accountId }),
    ).toBe(recordsBefore);
    const audit = await stack.deps.auditLog.list({ accountId: who.accountId });
    expect(audit.find((e) => e.action === 'erasure.cancelled')?.details).toMatchObject({ by: 'user' });
    expect((await call(stack, 'POST', '/v1/me/providers/github/sync', { token: who.token, json: {} })).status).toBe(
      202,
    );

    // Nothing left to cancel.
    expectProblem(await cancelErasure(who), 404, 'erasure-not-found');
  }, 120_000);

  it('refuses to approve a recovery of an account that is being erased since, before the workflow sees the decision', async () => {
    const who = await longStandingAccount(stack, `erasure-recovered-${run}`);
    const started = await call<{ recoveryId: string }>(stack, 'POST', '/v1/recoveries', { json: { email: who.email } });
    expect(started.status).toBe(202);
    const recoveryId = started.body.recoveryId;
    // The workflow finds the account from the address (a recovery starts from one).
    await eventually(
      async () =>
        (
          await stack.db
            .collection<{ resolvedAt?: string }>(collections.recoveries)
            .findOne({ _id: recoveryId as never })
        )?.resolvedAt
          ? true
          : undefined,
      'the recovery to find the account',
    );
    // The person asks for the erasure while the recovery runs.
    expect((await requestErasure({ subject: who.subject, accountId: who.accountId, token: who.token })).status).toBe(
      202,
    );
    const approver = await tokenFor(stack, `auth0|erasure-approver-${run}`, { permissions: ['recovery:approve'] });
    expectProblem(
      await call(stack, 'POST', `/v1/support/recoveries/${recoveryId}/decision`, {
        token: approver,
        json: { decision: 'approve', reason: 'documents checked' },
      }),
      409,
      'erasure-in-progress',
    );
    const status = await call<{ approvals: unknown[] }>(stack, 'GET', `/v1/support/recoveries/${recoveryId}`, {
      token: await tokenFor(stack, `auth0|erasure-reader3-${run}`, { permissions: ['support:read'] }),
    });
    expect(status.body.approvals).toEqual([]);
  });

  it('answers 404 problems when there is no erasure, and for an account that does not exist', async () => {
    const who = await person('none');
    expectProblem(await erasureOf(who), 404, 'erasure-not-found');
    expectProblem(await cancelErasure(who), 404, 'erasure-not-found');
    const nobody = await tokenFor(stack, `auth0|erasure-nobody-${run}`);
    expectProblem(await call(stack, 'POST', '/v1/me/erasure', { token: nobody }), 404, 'not-found');
    expect(
      await stack.db
        .collection(collections.erasures)
        .countDocuments({ _id: accountIdForSubject(`auth0|erasure-nobody-${run}`) as never }),
    ).toBe(0);
  });
});

describe('a legal hold', () => {
  it('is support’s (legal:hold): a person gets 403, bad input 400, an unknown account 404, nothing changed; placing and releasing are audited', async () => {
    const who = await person('hold-auth');
    expectProblem(await legalHold(who.token, who.accountId, { hold: true, reason: 'mine' }), 403, 'forbidden');
    const support = await dpo();
    expectProblem(await legalHold(support, who.accountId, { hold: true }), 400, 'validation');
    expectProblem(await legalHold(support, who.accountId, { hold: true, reason: '' }), 400, 'validation');
    expectProblem(await legalHold(support, who.accountId, { hold: true, reason: 'x'.repeat(501) }), 400, 'validation');
    expectProblem(
      await legalHold(support, '00000000-0000-4000-8000-000000000000', { hold: true, reason: 'case 1' }),
      404,
      'not-found',
    );
    expectProblem(
      await legalHold(support, who.accountId, { hold: false, reason: 'nothing held' }),
      409,
      'legal-hold-conflict',
    );
    expect(await stack.db.collection(collections.legalHolds).countDocuments({ _id: who.accountId as never })).toBe(0);
    // support:read alone cannot place one.
    const reader = await tokenFor(stack, `auth0|erasure-reader-${run}`, { permissions: ['support:read'] });
    expectProblem(await legalHold(reader, who.accountId, { hold: true, reason: 'case 1' }), 403, 'forbidden');

    // Placed and released by support: each is audited with the agent's account as the actor.
    expect((await legalHold(support, who.accountId, { hold: true, reason: 'case 1' })).status).toBe(200);
    expect((await legalHold(support, who.accountId, { hold: false, reason: 'case 1 closed' })).status).toBe(200);
    const agent = { type: 'support', id: accountIdForSubject(`auth0|erasure-dpo-${run}`) };
    const events = (await stack.deps.auditLog.list({ accountId: who.accountId })).filter((e) =>
      e.action.startsWith('legal_hold.'),
    );
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ['legal_hold.placed', agent],
      ['legal_hold.released', agent],
    ]);
  });

  it('makes an erasure wait after its grace (on_hold, no longer cancellable); released, it erases and support reads the certificate', async () => {
    const who = await person('held');
    const support = await dpo();
    const placed = await legalHold(support, who.accountId, { hold: true, reason: 'litigation, case 2026-17' });
    expect(placed.status, JSON.stringify(placed.body)).toBe(200);
    expect(placed.body).toMatchObject({ active: true, erasureNotified: false });
    expectProblem(await legalHold(support, who.accountId, { hold: true, reason: 'again' }), 409, 'legal-hold-conflict');

    // The request is accepted under the hold, and says it will wait.
    const asked = await requestErasure(who);
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ status: 'pending_deletion', onLegalHold: true });
    const held = await stageReached(who, 'on_hold', graceMs + 30_000);
    expect(held.onLegalHold).toBe(true);
    expect((await me(who)).status).toBe(200);
    expectProblem(await cancelErasure(who), 409, 'erasure-not-cancellable');
    expect((await me(who)).body.status).toBe('pending_deletion');
    // Before the erasure, support cannot read a certificate that does not exist yet.
    expectProblem(
      await call(stack, 'GET', `/v1/support/erasures/${who.accountId}`, { token: support }),
      404,
      'erasure-not-found',
    );

    const released = await legalHold(support, who.accountId, { hold: false, reason: 'case closed' });
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ active: false, erasureNotified: true });
    const hold = await stack.db
      .collection<{ active: boolean; history: Array<{ action: string; reason: string }> }>(collections.legalHolds)
      .findOne({ _id: who.accountId as never });
    expect(hold?.active).toBe(false);
    expect(hold?.history.map((h) => [h.action, h.reason])).toEqual([
      ['placed', 'litigation, case 2026-17'],
      ['released', 'case closed'],
    ]);

    const result = (await stack.temporal.workflow.getHandle(asked.body.workflowId).result()) as {
      status: string;
      certificate: { accountId: string; steps: unknown[] };
    };
    expect(result.status).toBe('erased');
    expect(result.certificate.accountId).toBe(who.accountId);

    // The account is gone; support reads the tombstone's certificate (support:read), a person cannot.
    expect((await me(who)).status).toBe(404);
    const tombstone = await call<{ certificate: { accountId: string; signature: { mac: string } } }>(
      stack,
      'GET',
      `/v1/support/erasures/${who.accountId}`,
      { token: await tokenFor(stack, `auth0|erasure-reader2-${run}`, { permissions: ['support:read'] }) },
    );
    expect(tombstone.status, JSON.stringify(tombstone.body)).toBe(200);
    expect(tombstone.body.certificate).toEqual(result.certificate);
    expectProblem(
      await call(stack, 'GET', `/v1/support/erasures/${who.accountId}`, { token: who.token }),
      403,
      'forbidden',
    );
    expectProblem(
      await call(stack, 'GET', '/v1/support/erasures/00000000-0000-4000-8000-000000000000', { token: support }),
      404,
      'erasure-not-found',
    );
    // Nothing can be cancelled once erased.
    expectProblem(await cancelErasure(who), 404, 'erasure-not-found');
  }, 180_000);
});

describe('an erasure without a hold', () => {
  it('erases after the grace: the person follows it, and reads the certificate after, as support does; nothing is left to cancel or ask again', async () => {
    const who = await person('plain');
    const asked = await requestErasure(who);
    expect(asked.status).toBe(202);
    const erasing = await stageReached(who, 'erasing', graceMs + 60_000);
    expect(erasing.certificate).toBeUndefined();
    const handle = stack.temporal.workflow.getHandle(asked.body.workflowId);
    const result = (await handle.result()) as { status: string; certificate: NonNullable<State['certificate']> };
    expect(result.certificate).toMatchObject({ format: 'cra-erasure-certificate/1', accountId: who.accountId });
    // Every step the erasure reported is in the certificate (which lists the stores in its own order).
    const state = await handle.query(erasureStateQuery);
    expect(state.steps.map((s) => s.store).sort()).toEqual(result.certificate.steps.map((s) => s.store).sort());
    // Erased, the person's identity leads to no account, but still to the certificate of what was erased.
    expect((await me(who)).status).toBe(404);
    const after = await erasureOf(who);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ workflowId: asked.body.workflowId, stage: 'erased' });
    expect(after.body.certificate).toEqual(result.certificate);
    // Someone else signing in finds no erasure, and nothing of this one.
    const stranger = await signedUp(stack, `auth0|erasure-stranger-${run}`);
    expectProblem(await erasureOf(stranger), 404, 'erasure-not-found');
    const tombstone = await call<{ certificate: unknown }>(stack, 'GET', `/v1/support/erasures/${who.accountId}`, {
      token: await dpo(),
    });
    expect(tombstone.body.certificate).toEqual(result.certificate);
    expectProblem(await cancelErasure(who), 404, 'erasure-not-found');
    expectProblem(await requestErasure(who), 404, 'not-found');
  }, 180_000);
});

describe('signing in again after an erasure', () => {
  it('with the same email creates a new, empty account: a new id, no old connection or record', async () => {
    const browser = await launchBrowser();
    try {
      const first = await browser.newContext();
      const who = await newPerson(stack, first, 'returning');
      const users = stack.db.collection<{ _id: string; email: string }>(collections.identityUsers);
      const oldSubject = (await users.findOne({ email: who.email }))!._id;
      const old: SignedUp = {
        subject: oldSubject,
        accountId: accountIdForSubject(oldSubject),
        token: await tokenFor(stack, oldSubject, { email: who.email }),
      };
      await eventually(async () => ((await me(old)).status === 200 ? true : undefined), 'the first account');
      const { answer } = await linkThroughSandbox(stack, old, 'github', `erasure-returning-${run}`);
      expect(answer.body).toMatchObject({ status: 'linked' });
      await stack.temporal.workflow.getHandle(`sync/${old.accountId}/github`).result();

      const asked = await requestErasure(old);
      expect(asked.status).toBe(202);
      expect(await stack.temporal.workflow.getHandle(asked.body.workflowId).result()).toMatchObject({
        status: 'erased',
      });
      await first.close();

      // The same person comes back with the same address: sign-up works again, and it is a new account.
      const second = await browser.newContext();
      const page = await second.newPage();
      await signUp(stack, page, who);
      await confirmEmail(stack, page, who.email);
      await signIn(stack, page, who.email, who.password);
      await page.getByRole('heading', { name: 'Your account center' }).waitFor();
      const newSubject = (await users.findOne({ email: who.email }))!._id;
      expect(newSubject).not.toBe(oldSubject);
      const fresh: SignedUp = {
        subject: newSubject,
        accountId: accountIdForSubject(newSubject),
        token: await tokenFor(stack, newSubject, { email: who.email }),
      };
      expect(fresh.accountId).not.toBe(old.accountId);
      const account = await eventually(async () => {
        const res = await me(fresh);
        return res.status === 200 ? res.body : undefined;
      }, 'the new account');
      expect(account.accountId).toBe(fresh.accountId);
      expect(account.status).toBe('active');
      expect(account.connected_providers.nodes).toEqual([]);
      expect(
        await stack.db
          .collection<ProviderRecordDocument>(collections.providerRecords)
          .countDocuments({ accountId: { $in: [old.accountId, fresh.accountId] } }),
      ).toBe(0);
      // The old account stays gone: its old token finds nothing.
      expect((await me(old)).status).toBe(404);
      await second.close();
    } finally {
      await browser.close();
    }
  }, 240_000);
});

describe('signing in again with the same subject after an erasure (an Auth0 social login gives the erased user_id again)', () => {
  it('creates a new, empty account each time, never an erased id, and no log names the person', async () => {
    const subject = `google-oauth2|${run}104217`;
    const email = `returning-${run}@example.com`;
    const givenName = `Wilhelmina${run}`;
    const familyName = `Returnington${run}`;
    const signUpAgain = async () => {
      const token = await tokenFor(stack, subject, { email });
      const res = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
        token,
        json: { givenName, familyName, consents: [{ purpose: 'terms', version: '1', granted: true }] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      await stack.temporal.workflow.getHandle(res.body.workflowId).result();
      return { subject, token, accountId: res.body.accountId } satisfies SignedUp;
    };
    const erase = async (who: SignedUp) => {
      const asked = await requestErasure(who);
      expect(asked.status, JSON.stringify(asked.body)).toBe(202);
      const result = (await stack.temporal.workflow.getHandle(asked.body.workflowId).result()) as {
        status: string;
        certificate: { accountId: string; steps: Array<{ store: string; deleted: number }>; retained: unknown[] };
      };
      expect(result.status).toBe('erased');
      return result.certificate;
    };

    // The first account: a connection with synced records, so there is something to come back.
    const first = await signUpAgain();
    expect(first.accountId).toBe(accountIdForSubject(subject));
    const username = `erasure-same-subject-${run}`;
    for (const kind of stack.sandbox!.data.kinds('github')) stack.sandbox!.data.setCount('github', username, kind, 2);
    const { answer } = await linkThroughSandbox(stack, first, 'github', username);
    expect(answer.body).toMatchObject({ status: 'linked' });
    await stack.temporal.workflow.getHandle(`sync/${first.accountId}/github`).result();
    const records = await providerRecords(stack.db).find({ accountId: first.accountId }).toArray();
    expect(records.length).toBeGreaterThan(0);
    // The GitHub link's account id (the Google signup also shows its sign-in node).
    const providerAccountId = (await me(first)).body.connected_providers.nodes.find(
      (n) => n.provider === 'github',
    )!.providerAccountId;
    const contentValues = await recordContentValues(stack.deps.accountKeys, records);
    expect(contentValues.size).toBeGreaterThan(0);

    const certificate = await erase(first);
    // The certificate says the id was retired, and what that leaves behind.
    expect(certificate.steps.find((s) => s.store === 'subject_account')).toMatchObject({ deleted: 1 });
    expect(certificate.retained).toContainEqual({
      what: "keyed hash of the subject → the next account's id",
      why: 'so a returning sign-in never gets the erased id; it names no data',
    });

    // Signed in again with the same subject: no account yet, and the old one is not found under the new id.
    const fresh = await tokenFor(stack, subject, { email });
    expectProblem(await call(stack, 'GET', '/v1/me', { token: fresh }), 404, 'account-not-found');
    const second = await signUpAgain();
    expect(second.accountId).not.toBe(first.accountId);
    const account = (await me(second)).body;
    expect(account).toMatchObject({ accountId: second.accountId, status: 'active' });
    // Nothing of the first account comes back: only the new account's own Google sign-in.
    expect(account.connected_providers.nodes).toEqual([
      expect.objectContaining({ provider: 'google', source: 'sign_in', providerAccountId: `${run}104217` }),
    ]);
    expect(
      await providerRecords(stack.db).countDocuments({ accountId: { $in: [first.accountId, second.accountId] } }),
    ).toBe(0);
    expect((await call(stack, 'GET', '/v1/me/data', { token: second.token })).body).toMatchObject({ items: [] });
    // The new account has no erasure of its own: the person reads the one of the account before it, which
    // support reads too.
    const previous = await erasureOf(second);
    expect(previous.status).toBe(200);
    expect(previous.body).toMatchObject({ stage: 'erased', certificate: { accountId: first.accountId } });
    const support = await dpo();
    const tombstone = await call<{ certificate: { accountId: string } }>(
      stack,
      'GET',
      `/v1/support/erasures/${first.accountId}`,
      { token: support },
    );
    expect(tombstone.body.certificate.accountId).toBe(first.accountId);
    expect(await stack.db.collection(collections.accounts).countDocuments({ _id: first.accountId as never })).toBe(0);

    // Erased again, and back a third time: yet another id, never one of the erased ones.
    await erase(second);
    const third = await signUpAgain();
    expect([first.accountId, second.accountId]).not.toContain(third.accountId);
    expect((await me(third)).body).toMatchObject({ accountId: third.accountId, status: 'active' });
    // The certificate the person reads now is the newest erasure's.
    expect((await erasureOf(third)).body).toMatchObject({ certificate: { accountId: second.accountId } });
    // One mapping for the subject, naming the current account and not the subject.
    const mappings = await subjectAccounts(stack.db)
      .find({ accountId: { $in: [second.accountId, third.accountId] } })
      .toArray();
    expect(mappings.map((m) => m.accountId)).toEqual([third.accountId]);
    expect(JSON.stringify(mappings)).not.toContain(subject);

    // Neither the workers' log nor the API's names the person: not the address, the names, the subject, the
    // provider account id or a record's content.
    expect(workerLog.length).toBeGreaterThan(0);
    const identifiers = [email, givenName, familyName, subject, providerAccountId, ...contentValues];
    for (const [name, log] of [
      ['worker', workerLog],
      ['API', stack.apiLog],
    ] as const) {
      const found = identifiers.filter((id) => log.some((line) => line.includes(id)));
      expect(found, `the ${name} log names ${found.join(', ')}`).toEqual([]);
    }
  }, 300_000);
});
