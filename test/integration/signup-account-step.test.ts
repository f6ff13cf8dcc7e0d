/**
 * The signup's one account step (`setUpSignupAccount`, patch `signup-one-account-step`) against FerretDB and
 * the stack's real keyring, outbox and audit log, run as Temporal would run it (`MockActivityEnvironment`
 * gives it the run id it records the account under). A retry after a crash at any point — the document
 * written, part of the audit batch stored — ends with one account, one welcome and each audit event once,
 * on a chain that verifies; and the batched append shares an account's chain with other writers.
 */
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import {
  createSignupAccountActivities,
  type SetUpSignupAccountInput,
} from '../../activities/accounts/signup-account.js';
import { openAccountDocument } from '../../activities/accounts/personal-fields.js';
import {
  sealForHistory,
  signupPersonalContext,
  signupProfileContext,
} from '../../activities/secrets/history-values.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import { noticesTo } from '../support/outbox.js';
import { useTestStack } from '../support/stack.js';

const stack = useTestStack({ workers: false });
const suffix = randomBytes(3).toString('hex');

const activities = () =>
  createSignupAccountActivities({
    db: stack.db,
    accountKeys: stack.deps.accountKeys,
    vault: stack.deps.vault,
    auditLog: stack.deps.auditLog,
    notifier: stack.deps.notifier,
  });

/** One attempt of the step, in the signup run `runId`. */
async function attempt(input: SetUpSignupAccountInput, runId: string) {
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: input.workflowId, runId } });
  const { setUpSignupAccount } = activities();
  return env.run(setUpSignupAccount, input);
}

/** The step's input for a person signing up with Google: the API's request and, optionally, the hook's. */
async function signupOf(name: string): Promise<SetUpSignupAccountInput & { email: string }> {
  const subject = `google-oauth2|${name}-${suffix}`;
  const accountId = accountIdForSubject(subject);
  const email = `${name}.${suffix}@example.com`;
  const keys = stack.deps.accountKeys;
  return {
    email,
    accountId,
    subject,
    workflowId: workflowIds.signup(subject),
    directory: 'embedded',
    emailVerified: true,
    profile: (await sealForHistory(keys, accountId, signupProfileContext, { email, givenName: 'Ada' }))!,
    role: 'member',
    requests: [
      {
        source: 'api',
        requestedBy: subject,
        consents: [
          { purpose: 'terms', version: '1', granted: true },
          { purpose: 'marketing:email', version: '1', granted: false },
        ],
        personal: (await sealForHistory(keys, accountId, signupPersonalContext, { familyName: 'Lovelace' }))!,
      },
    ],
  };
}

const actionsOf = async (accountId: string) => (await stack.deps.auditLog.list({ accountId })).map((e) => e.action);

const accountOf = async (accountId: string) =>
  openAccountDocument(
    stack.deps.accountKeys,
    (await stack.db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId }))!,
  );

const everyEvent = [
  'account.created',
  'provider.sign_in_connected',
  'role.assigned',
  'consent.granted',
  'consent.refused',
  'notice.queued',
];

describe('the signup account step', () => {
  it('writes the whole account at once, and a retry of the same run writes nothing twice', async () => {
    const input = await signupOf('retried');
    expect(await attempt(input, 'run-1')).toEqual({ created: true });
    // The worker died before it reported: Temporal runs the same step of the same run again.
    expect(await attempt(input, 'run-1')).toEqual({ created: true });

    const account = await accountOf(input.accountId);
    expect(account).toMatchObject({
      roles: ['member'],
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      rootIdentity: { email: input.email, emailVerified: true },
      connected_providers: { nodes: [{ provider: 'google', source: 'sign_in', signIn: true }] },
    });
    expect(account.consents.map((c) => `${c.purpose}:${c.granted}`)).toEqual(['terms:true', 'marketing:email:false']);
    const welcome = await noticesTo(stack, { accountId: input.accountId, template: 'welcome' });
    expect(welcome).toHaveLength(1);
    expect(welcome[0]!.data).toEqual({ givenName: 'Ada' });
    expect(await actionsOf(input.accountId)).toEqual(everyEvent);
    expect(await stack.deps.auditLog.verify({ checkpoint: false })).toMatchObject({ ok: true });
  });

  it('after a crash that stored only part of the audit batch, the retry writes the rest behind it', async () => {
    const input = await signupOf('half-audited');
    // What a crashed attempt can leave: the document, the welcome, the first events of the batch.
    await attempt(input, 'run-1');
    const events = await stack.db
      .collection(collections.auditEvents)
      .find({ accountId: input.accountId }, { sort: { seq: 1 } })
      .toArray();
    await stack.db
      .collection(collections.auditEvents)
      .deleteMany({ _id: { $in: events.slice(2).map((e) => e._id) } as never });
    // The batch was the chain's first write, so its head was never moved.
    await stack.db
      .collection<{ _id: string }>(`${collections.auditEvents}_head`)
      .deleteOne({ _id: `chain/${input.accountId}` });

    expect(await attempt(input, 'run-1')).toEqual({ created: true });
    expect(await actionsOf(input.accountId)).toEqual(everyEvent);
    expect(await noticesTo(stack, { accountId: input.accountId, template: 'welcome' })).toHaveLength(1);
    expect(await stack.deps.auditLog.verify({ checkpoint: false })).toMatchObject({ ok: true });
  });

  it('a later run on the account audits only what is new, and sends no second welcome', async () => {
    const input = await signupOf('returning');
    await attempt(input, 'run-1');
    const again = {
      ...input,
      requests: [
        {
          source: 'auth0-hook' as const,
          requestedBy: 'auth0-hook',
          consents: [{ purpose: 'terms', version: '2', granted: true }],
        },
      ],
    };
    expect(await attempt(again, 'run-2')).toEqual({ created: false });
    expect(await actionsOf(input.accountId)).toEqual([...everyEvent, 'consent.granted']);
    expect((await accountOf(input.accountId)).consents).toHaveLength(3);
    expect(await noticesTo(stack, { accountId: input.accountId, template: 'welcome' })).toHaveLength(1);
  });

  it('shares the account’s audit chain with other writers appending at the same time', async () => {
    const accountId = accountIdForSubject(`auth0|chain-${suffix}`);
    const event = (n: string) => ({
      eventId: `${accountId}/test/${n}`,
      action: 'test.event',
      actor: { type: 'system' as const, id: 'test' },
      accountId,
    });
    const log = stack.deps.auditLog;
    await Promise.all([
      log.appendMany(['a1', 'a2', 'a3', 'a4', 'a5'].map(event)),
      log.appendMany(['b1', 'b2', 'b3'].map(event)),
      ...['c1', 'c2', 'c3', 'a3'].map((n) => log.append(event(n))),
    ]);
    const stored = await log.list({ accountId });
    expect(stored.map((e) => e.eventId.split('/').pop()).sort()).toEqual(
      ['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2', 'b3', 'c1', 'c2', 'c3'].sort(),
    );
    // The batch keeps its own order on the chain.
    const order = stored.map((e) => e.eventId.split('/').pop()!).filter((n) => n.startsWith('b'));
    expect(order).toEqual(['b1', 'b2', 'b3']);
    expect(await log.verify({ checkpoint: false })).toMatchObject({ ok: true });
  });
});
