/**
 * Consents end to end, through the real API, workers, Temporal and the sandbox provider: what a person
 * sees after signup, granting, withdrawing and granting again (history appended, never rewritten, each
 * answer audited), bad answers refused without a change, one person's consents out of another's reach,
 * withdrawal of provider_data stopping the provider sync (schedule paused, running sync cancelled, the
 * sync route refused, a provider linked meanwhile gets a paused schedule) and re-granting resuming it, and
 * `GET /v1/me` after the configured versions change.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../activities/audit/audit-log.js';
import type { AccountDocument, RecordedConsent } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { loadConfig } from '../../domain/config.js';
import { linkThroughSandbox, type SignedUp } from '../support/accounts.js';
import { expectEndedCancelled } from '../support/cancellation.js';
import {
  buildTestApi,
  call,
  eventually,
  tokenFor,
  useTestStack,
  type ProblemBody,
  type TestStack,
} from '../support/stack.js';

interface Consents {
  purposes: Array<{ purpose: string; version: string; description: string; required: boolean; features: string[] }>;
  current: Array<RecordedConsent & { upToDate: boolean }>;
  history: RecordedConsent[];
  stopped: Array<{ feature: string; purpose: string }>;
}
interface Me {
  accountId: string;
  consents: RecordedConsent[];
  consents_required: {
    missing: Array<{ purpose: string; version: string; required: boolean }>;
    outdated: Array<{ purpose: string; given: string; current: string; required: boolean }>;
  };
}

const suffix = randomBytes(3).toString('hex');
const username = `consents-${suffix}`;
const stack = useTestStack({ sandbox: true });
let person: SignedUp;
let other: SignedUp;

const versionOf = (purpose: string) =>
  stack.config.dataRights.consentPurposes.find((p) => p.purpose === purpose)!.version;
const accountDoc = (accountId: string) =>
  stack.db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId });
const consentEvents = async (accountId: string) =>
  (await new AuditLog(stack.db, { vault: stack.deps.vault }).list({ accountId })).filter((e) =>
    e.action.startsWith('consent.'),
  );
const schedule = () => stack.temporal.schedule.getHandle(`sync/${person.accountId}/github/schedule`);
const answer = (who: SignedUp, body: unknown) =>
  call<Consents>(stack, 'PUT', '/v1/me/consents', { token: who.token, json: body });
const consentsOf = (who: SignedUp) => call<Consents>(stack, 'GET', '/v1/me/consents', { token: who.token });

/** Sign up over HTTP agreeing to the terms at their configured version, and wait for the signup to finish. */
async function signedUpWithTerms(s: TestStack, subject: string): Promise<SignedUp> {
  const token = await tokenFor(s, subject, { email: `${subject.replace(/\W/g, '-')}@example.com` });
  const res = await call<{ workflowId: string; accountId: string }>(s, 'POST', '/v1/signup', {
    token,
    json: {
      givenName: 'Consent',
      familyName: 'Tester',
      consents: [{ purpose: 'terms', version: versionOf('terms'), granted: true }],
    },
  });
  expect(res.status).toBe(202);
  await s.temporal.workflow.getHandle(res.body.workflowId).result();
  return { subject, token, accountId: res.body.accountId };
}

beforeAll(async () => {
  person = await signedUpWithTerms(stack, `auth0|${username}`);
  other = await signedUpWithTerms(stack, `auth0|${username}-other`);
  expect((await linkThroughSandbox(stack, person, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
  // The link's first sync, so the schedule exists and nothing is running when the tests begin.
  await stack.temporal.workflow.getHandle(`sync/${person.accountId}/github`).result();
});

describe('consents', () => {
  it('shows the terms given at signup, and provider_data as missing but not required', async () => {
    const me = await call<Me>(stack, 'GET', '/v1/me', { token: person.token });
    expect(me.status).toBe(200);
    expect(me.body.consents_required).toEqual({
      missing: [{ purpose: 'provider_data', version: versionOf('provider_data'), required: false }],
      outdated: [],
    });
    const res = await consentsOf(person);
    expect(res.status).toBe(200);
    expect(res.body.purposes.map((p) => [p.purpose, p.required, p.features])).toEqual([
      ['terms', true, []],
      ['provider_data', false, ['provider_sync']],
    ]);
    expect(res.body.current).toEqual([
      expect.objectContaining({ purpose: 'terms', version: versionOf('terms'), granted: true, upToDate: true }),
    ]);
    expect(res.body.history).toHaveLength(1);
    expect(res.body.stopped).toEqual([]);
    expect((await schedule().describe()).state.paused).toBe(false);
  });

  it('records grant, withdrawal and grant again as three answers, never rewritten, each audited', async () => {
    const version = versionOf('provider_data');
    const granted = await answer(person, { purpose: 'provider_data', version, granted: true });
    expect(granted.status).toBe(200);
    expect(granted.body.current).toContainEqual(
      expect.objectContaining({ purpose: 'provider_data', version, granted: true, source: 'api', upToDate: true }),
    );
    const afterGrant = (await accountDoc(person.accountId))!.consents;

    // The same answer again records nothing and audits nothing new.
    const again = await answer(person, { purpose: 'provider_data', version, granted: true });
    expect(again.status).toBe(200);
    expect(again.body.history).toEqual(granted.body.history);

    const withdrawn = await answer(person, { purpose: 'provider_data', version, granted: false });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.stopped).toEqual([{ feature: 'provider_sync', purpose: 'provider_data' }]);
    const regranted = await answer(person, { purpose: 'provider_data', version, granted: true });
    expect(regranted.status).toBe(200);
    expect(regranted.body.stopped).toEqual([]);

    const history = regranted.body.history.filter((c) => c.purpose === 'provider_data');
    expect(history.map((c) => [c.version, c.granted, c.source])).toEqual([
      [version, true, 'api'],
      [version, false, 'api'],
      [version, true, 'api'],
    ]);
    const times = history.map((c) => Date.parse(c.recordedAt));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    // What the API shows is what the database holds, and what was there before is still there, unchanged.
    const stored = (await accountDoc(person.accountId))!.consents;
    expect(stored).toEqual(regranted.body.history);
    expect(stored.slice(0, afterGrant.length)).toEqual(afterGrant);
    expect(stored).toHaveLength(4);

    const events = (await consentEvents(person.accountId)).filter((e) => e.details?.purpose === 'provider_data');
    expect(events.map((e) => [e.action, e.details?.version, e.details?.source])).toEqual([
      ['consent.granted', version, 'api'],
      ['consent.withdrawn', version, 'api'],
      ['consent.granted', version, 'api'],
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
    expect((await new AuditLog(stack.db, { vault: stack.deps.vault }).verify()).ok).toBe(true);
  });

  it('refuses an outdated version (409, naming the current one) and an unknown purpose (400), changing nothing', async () => {
    const before = await accountDoc(person.accountId);
    const eventsBefore = await consentEvents(person.accountId);

    const outdated = await call<ProblemBody>(stack, 'PUT', '/v1/me/consents', {
      token: person.token,
      json: { purpose: 'provider_data', version: '2020-01', granted: false },
    });
    expect(outdated.status).toBe(409);
    expect(outdated.headers.get('content-type')).toContain('application/problem+json');
    expect(outdated.body.type).toMatch(/consent-version-outdated$/);
    expect(outdated.body.detail).toContain(versionOf('provider_data'));

    const unknown = await call<ProblemBody>(stack, 'PUT', '/v1/me/consents', {
      token: person.token,
      json: { purpose: 'marketing', version: '1', granted: true },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.type).toMatch(/consent-purpose-unknown$/);
    expect(unknown.body.detail).toContain('provider_data');

    const malformed = await call<ProblemBody>(stack, 'PUT', '/v1/me/consents', {
      token: person.token,
      json: { purpose: 'provider_data', version: versionOf('provider_data'), granted: 'no', source: 'support' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors?.map((e) => e.pointer).sort()).toEqual(['#/granted', '#/source']);

    expect(await accountDoc(person.accountId)).toEqual(before);
    expect(await consentEvents(person.accountId)).toEqual(eventsBefore);
  });

  it('keeps each person to their own consents; a suspended account may still change them', async () => {
    const theirs = await consentsOf(other);
    expect(theirs.status).toBe(200);
    expect(theirs.body.history).toHaveLength(1);
    expect(theirs.body.history[0]).toMatchObject({ purpose: 'terms' });

    const mineBefore = await accountDoc(person.accountId);
    await stack.db
      .collection<AccountDocument>(collections.accounts)
      .updateOne({ _id: other.accountId }, { $set: { status: 'suspended' } });
    const withdrawn = await answer(other, {
      purpose: 'provider_data',
      version: versionOf('provider_data'),
      granted: false,
    });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.history).toHaveLength(2);
    expect(await accountDoc(person.accountId)).toEqual(mineBefore);
    expect((await consentsOf(person)).body.stopped).toEqual([]);
    expect((await consentEvents(other.accountId)).map((e) => e.action)).toContain('consent.withdrawn');

    const stranger = await tokenFor(stack, `auth0|${username}-stranger`);
    const none = await call<ProblemBody>(stack, 'GET', '/v1/me/consents', { token: stranger });
    expect(none.status).toBe(404);
    expect(none.body.type).toMatch(/account-not-found$/);
    const noneWrite = await call<ProblemBody>(stack, 'PUT', '/v1/me/consents', {
      token: stranger,
      json: { purpose: 'provider_data', version: versionOf('provider_data'), granted: true },
    });
    expect(noneWrite.status).toBe(404);
  });

  it('stops the provider sync on withdrawal (schedule paused, running sync cancelled, sync refused) and resumes it on re-grant', async () => {
    const version = versionOf('provider_data');
    // A sync slowed down at the sandbox, fetching a page when the consent is withdrawn.
    const slowPages = () => stack.sandbox!.stats().faultsFired.github?.slow ?? 0;
    const slowBefore = slowPages();
    stack.sandbox!.faults.inject('github', { delayMs: 3000, times: 2 });
    const started = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
      token: person.token,
    });
    expect(started.status).toBe(202);
    const running = stack.temporal.workflow.getHandle(started.body.workflowId);
    await eventually(async () => slowPages() > slowBefore || undefined, 'the sync to be fetching a page');
    await eventually(async () => {
      for await (const run of stack.temporal.workflow.list({
        query: `CraProcess = "sync" AND CraAccountId = "${person.accountId}" AND ExecutionStatus = "Running"`,
      }))
        return run.workflowId === started.body.workflowId || undefined;
      return undefined;
    }, 'the sync to be listed as running');

    const withdrawn = await answer(person, { purpose: 'provider_data', version, granted: false });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.stopped).toEqual([{ feature: 'provider_sync', purpose: 'provider_data' }]);
    const paused = await schedule().describe();
    expect(paused.state.paused).toBe(true);
    expect(paused.state.note).toContain('provider_data');
    await expectEndedCancelled(running);

    const refused = await call<ProblemBody>(stack, 'POST', '/v1/me/providers/github/sync', { token: person.token });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toMatch(/consent-required$/);
    expect(refused.body.detail).toContain('provider_data');

    const regranted = await answer(person, { purpose: 'provider_data', version, granted: true });
    expect(regranted.status).toBe(200);
    expect(regranted.body.stopped).toEqual([]);
    expect((await schedule().describe()).state.paused).toBe(false);
    const resumed = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
      token: person.token,
    });
    expect(resumed.status).toBe(202);
    await stack.temporal.workflow.getHandle(resumed.body.workflowId).result();
  });

  it('gives a provider linked while the consent is withdrawn a paused schedule, and imports nothing until re-granted', async () => {
    const version = versionOf('provider_data');
    await answer(person, { purpose: 'provider_data', version, granted: false });
    expect((await linkThroughSandbox(stack, person, 'google', `${username}-g`)).answer.body).toMatchObject({
      status: 'linked',
    });
    const googleSchedule = stack.temporal.schedule.getHandle(`sync/${person.accountId}/google/schedule`);
    const created = await googleSchedule.describe();
    expect(created.state.paused).toBe(true);
    expect(created.state.note).toContain('provider_data');
    // The link's first sync is refused by the sync itself: it ends without importing anything.
    await stack.temporal.workflow
      .getHandle(`sync/${person.accountId}/google`)
      .result()
      .catch(() => undefined);
    const imported = await call<{ items: unknown[] }>(stack, 'GET', '/v1/me/data?provider=google', {
      token: person.token,
    });
    expect(imported.status).toBe(200);
    expect(imported.body.items).toEqual([]);

    await answer(person, { purpose: 'provider_data', version, granted: true });
    expect((await googleSchedule.describe()).state.paused).toBe(false);
    expect((await schedule().describe()).state.paused).toBe(false);
  });

  it('leaves a schedule an operator paused for another reason paused when the consent is granted again', async () => {
    const version = versionOf('provider_data');
    await schedule().pause('operator: provider maintenance');
    await answer(person, { purpose: 'provider_data', version, granted: false });
    await answer(person, { purpose: 'provider_data', version, granted: true });
    const described = await schedule().describe();
    expect(described.state).toMatchObject({ paused: true, note: 'operator: provider maintenance' });
    await schedule().unpause('operator: done');
  });

  it('reports outdated and missing consents once the configured versions change', async () => {
    // The same installation, restarted with new texts: terms and provider_data at a new version, and a new
    // required purpose.
    const purposes = [
      { purpose: 'terms', version: '2027-01', description: 'The new terms.', required: true },
      {
        purpose: 'provider_data',
        version: '2027-01',
        description: 'Provider data, new text.',
        features: ['provider_sync'],
      },
      { purpose: 'ai_processing', version: '1', description: 'Letting agents read your data.', required: true },
    ];
    const config = loadConfig({ ...stack.env, CONSENT_PURPOSES: JSON.stringify(purposes) });
    const { app } = await buildTestApi({
      config,
      dataDir: stack.env.CRA_DATA_DIR!,
      db: stack.db,
      temporal: stack.temporal,
      deps: stack.deps,
    });
    const restarted = { app, baseUrl: stack.baseUrl };

    const me = await call<Me>(restarted, 'GET', '/v1/me', { token: person.token });
    expect(me.status).toBe(200);
    expect(me.body.consents_required).toEqual({
      missing: [{ purpose: 'ai_processing', version: '1', required: true }],
      outdated: [
        { purpose: 'terms', given: versionOf('terms'), current: '2027-01', required: true },
        { purpose: 'provider_data', given: versionOf('provider_data'), current: '2027-01', required: false },
      ],
    });
    const shown = await call<Consents>(restarted, 'GET', '/v1/me/consents', { token: person.token });
    expect(shown.body.current.map((c) => [c.purpose, c.upToDate])).toEqual([
      ['terms', false],
      ['provider_data', false],
    ]);

    const before = await accountDoc(person.accountId);
    const old = await call<ProblemBody>(restarted, 'PUT', '/v1/me/consents', {
      token: person.token,
      json: { purpose: 'terms', version: versionOf('terms'), granted: true },
    });
    expect(old.status).toBe(409);
    expect(old.body.detail).toContain('2027-01');
    expect(await accountDoc(person.accountId)).toEqual(before);

    const accepted = await call<Consents>(restarted, 'PUT', '/v1/me/consents', {
      token: person.token,
      json: { purpose: 'terms', version: '2027-01', granted: true },
    });
    expect(accepted.status).toBe(200);
    const after = await call<Me>(restarted, 'GET', '/v1/me', { token: person.token });
    expect(after.body.consents_required.outdated.map((o) => o.purpose)).toEqual(['provider_data']);
    // The old answer stays in the history next to the new one.
    expect(accepted.body.history.filter((c) => c.purpose === 'terms').map((c) => c.version)).toEqual([
      versionOf('terms'),
      '2027-01',
    ]);
  });
});
