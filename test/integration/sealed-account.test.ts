/**
 * The account document's personal fields sealed with the account's data key (issue 11, item 2), through the
 * real stack: a signup and a sandbox link over HTTP, the workers on the Temporal dev server, FerretDB. The
 * stored document holds no address, no name and no provider address or display name in clear; the person
 * still sees them; a recovery by the address still finds the account (and an account written before sealing
 * too); once the account's key is destroyed, a copy of the document taken before no longer opens.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAccountActivities } from '../../activities/accounts/activities.js';
import { openAccountDocument } from '../../activities/accounts/personal-fields.js';
import { sealForHistory, signupPersonalContext } from '../../activities/secrets/history-values.js';
import { isAccountSealed } from '../../activities/secrets/account-keys.js';
import type { AccountCenter, AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { failureTypeOf } from '../../domain/failures.js';
import { workflowIds } from '../../domain/ids.js';
import { linkThroughSandbox, longStandingAccount, type SignedUp } from '../support/accounts.js';
import { call, eventually, tokenFor, useTestStack } from '../support/stack.js';

const suffix = randomBytes(3).toString('hex');
const stack = useTestStack({ sandbox: true });

const storedAccount = async (accountId: string) =>
  (await stack.db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId }))!;

interface Person extends SignedUp {
  email: string;
  givenName: string;
  familyName: string;
}

/** A person signed up with names of their own (so a search of the stored JSON finds only theirs). */
async function signedUpPerson(name: string): Promise<Person> {
  const subject = `auth0|sealed-${name}-${suffix}`;
  const email = `Sealed.${name}.${suffix}@Example.com`;
  const givenName = `Given${name}${suffix}`;
  const familyName = `Family${name}${suffix}`;
  const token = await tokenFor(stack, subject, { email });
  const res = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
    token,
    json: { givenName, familyName, consents: [{ purpose: 'terms', version: '1', granted: true }] },
  });
  expect(res.status).toBe(202);
  await stack.temporal.workflow.getHandle(res.body.workflowId).result();
  return { subject, token, accountId: res.body.accountId, email, givenName, familyName };
}

/** Start a recovery for the address and wait until it was resolved: the account it found, if any. */
async function recoveryFinds(email: string): Promise<string | undefined> {
  const res = await call<{ recoveryId: string }>(stack, 'POST', '/v1/recoveries', {
    json: { email },
    headers: { 'x-forwarded-for': `198.51.100.${Math.floor(Math.random() * 200) + 1}` },
  });
  expect(res.status).toBe(202);
  const request = await eventually(async () => {
    const doc = await stack.db
      .collection<{ _id: string; resolvedAt?: string; accountId?: string }>(collections.recoveries)
      .findOne({ _id: res.body.recoveryId });
    return doc?.resolvedAt ? doc : undefined;
  }, 'the recovery to look the address up');
  await stack.temporal.workflow
    .getHandle(workflowIds.recovery(res.body.recoveryId))
    .cancel()
    .catch(() => undefined);
  return request.accountId;
}

describe('the account document sealed with the account key', () => {
  it('stores no address, name or provider identity in clear; GET /v1/me and a recovery by address still work', async () => {
    const ada = await signedUpPerson('ada');
    const linked = await linkThroughSandbox(stack, ada, 'github', `octo${suffix}`);
    expect(linked.answer.body.status).toBe('linked');
    await stack.temporal.workflow.getHandle(linked.workflowId).result();

    // What the person sees: everything, in clear.
    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: ada.token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      rootIdentity: { email: ada.email },
      profile: { givenName: ada.givenName, familyName: ada.familyName },
    });
    expect(me.body).not.toHaveProperty('personal');
    expect(me.body.rootIdentity).not.toHaveProperty('emailLookup');
    const github = me.body.connected_providers.nodes.find((n) => n.provider === 'github');
    expect(github?.email).toBeTruthy();
    expect(github?.displayName).toBeTruthy();

    // What the database holds: none of it, in any case.
    const stored = await storedAccount(ada.accountId);
    expect(isAccountSealed(stored.personal)).toBe(true);
    expect(stored.rootIdentity.emailLookup).toBeTruthy();
    // The sandbox's display name is the username, which the provider account id (an id, kept) also holds.
    const raw = JSON.stringify({
      ...stored,
      connected_providers: { nodes: stored.connected_providers.nodes.map(({ providerAccountId: _id, ...n }) => n) },
    }).toLowerCase();
    for (const value of [ada.email, ada.givenName, ada.familyName, github!.email!, github!.displayName!])
      expect(raw, `the stored document holds ${value}`).not.toContain(value.toLowerCase());
    expect(stored.rootIdentity).not.toHaveProperty('email');
    expect(stored.profile).toEqual({});
    for (const node of stored.connected_providers.nodes) {
      expect(node).not.toHaveProperty('email');
      expect(node).not.toHaveProperty('displayName');
    }

    // The recovery's search by address, as typed and as normalised.
    expect(await recoveryFinds(ada.email)).toBe(ada.accountId);
    expect(await recoveryFinds(`  ${ada.email.toUpperCase()} `)).toBe(ada.accountId);
    expect(await recoveryFinds(`nobody-${suffix}@example.com`)).toBeUndefined();
  });

  it('takes the address of a request that arrives after the account was made without one (the hook after the API)', async () => {
    // The person's own API call began the signup without an address; Auth0's hook, a moment later, has it.
    const subject = `auth0|sealed-late-${suffix}`;
    const email = `late.${suffix}@example.com`;
    const token = await tokenFor(stack, subject);
    const res = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: { givenName: 'Late', familyName: 'Address', consents: [{ purpose: 'terms', version: '1', granted: true }] },
    });
    expect(res.status).toBe(202);
    await stack.temporal.workflow.getHandle(res.body.workflowId).result();
    const { accountId } = res.body;
    const before = await call<AccountCenter>(stack, 'GET', '/v1/me', { token });
    expect(before.body.rootIdentity.email).toBeUndefined();

    // What the signup workflow does with a request it takes after its identity step: record its details.
    const accounts = createAccountActivities({
      db: stack.db,
      accountKeys: stack.deps.accountKeys,
      vault: stack.deps.vault,
    });
    const personal = await sealForHistory(stack.deps.accountKeys, accountId, signupPersonalContext, { email });
    await accounts.recordSignupDetails({
      accountId,
      source: 'auth0-hook',
      consents: [],
      ...(personal ? { personal } : {}),
    });
    const after = await call<AccountCenter>(stack, 'GET', '/v1/me', { token });
    expect(after.body.rootIdentity.email).toBe(email);
    expect(JSON.stringify(await storedAccount(accountId))).not.toContain(email);
    expect(await recoveryFinds(email)).toBe(accountId);

    // An address already there is never replaced by a later request's.
    const other = await sealForHistory(stack.deps.accountKeys, accountId, signupPersonalContext, {
      email: `other.${suffix}@example.com`,
    });
    await accounts.recordSignupDetails({
      accountId,
      source: 'auth0-hook',
      consents: [],
      ...(other ? { personal: other } : {}),
    });
    expect((await call<AccountCenter>(stack, 'GET', '/v1/me', { token })).body.rootIdentity.email).toBe(email);
  });

  it('still reads and finds an account written before sealing, and seals it at its next change', async () => {
    const old = await longStandingAccount(stack, `sealed-old-${suffix}`);
    const before = await storedAccount(old.accountId);
    expect(before.rootIdentity.email).toBe(old.email);
    expect(before.personal).toBeUndefined();

    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: old.token });
    expect(me.status).toBe(200);
    expect(me.body.rootIdentity.email).toBe(old.email);
    expect(await recoveryFinds(old.email)).toBe(old.accountId);

    // A signup for the same person records consents: the account activities' write seals the document.
    const res = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
      token: old.token,
      json: {
        givenName: 'Other',
        familyName: 'Oldperson',
        consents: [{ purpose: 'terms', version: '1', granted: true }],
      },
    });
    expect(res.status).toBe(202);
    await stack.temporal.workflow.getHandle(res.body.workflowId).result();
    const after = await storedAccount(old.accountId);
    expect(isAccountSealed(after.personal)).toBe(true);
    expect(JSON.stringify(after)).not.toContain(old.email);
    const again = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: old.token });
    expect(again.body.rootIdentity.email).toBe(old.email);
    // Names the account had are kept; the missing one is filled in, and sealed with the rest.
    expect(again.body.profile).toEqual({ givenName: `sealed-old-${suffix}`, familyName: 'Oldperson' });
    expect(JSON.stringify(after)).not.toContain('Oldperson');
    expect(again.body.consents.map((c) => c.purpose)).toContain('terms');
    expect(await recoveryFinds(old.email)).toBe(old.accountId);
  });

  it('a copy of the document taken before the key is destroyed no longer opens after it', async () => {
    const bo = await signedUpPerson('bo');
    const copy = await storedAccount(bo.accountId);
    expect((await openAccountDocument(stack.deps.accountKeys, copy)).rootIdentity.email).toBe(bo.email);

    await stack.deps.accountKeys.destroy(bo.accountId);
    const opened = await openAccountDocument(stack.deps.accountKeys, copy).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failureTypeOf(opened)).toBe('AccountKeyDestroyed');
    expect(JSON.stringify(copy)).not.toContain(bo.email);
  });
});
