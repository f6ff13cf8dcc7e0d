/**
 * A person who signed up with a social login has that provider in `connected_providers.nodes` from the start:
 * the sign-in itself (`source: 'sign_in'`), no tokens, no custodian, no sync, and not disconnectable while it is
 * the only way in. Linking the same provider account later takes the node over; disconnecting that link leaves
 * the sign-in. Real API, workers, Temporal dev server, FerretDB and the sandbox.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { expect, it } from 'vitest';
import type { AccountCenter, ConnectedProviderNode } from '../../domain/account-center.js';
import { accountCenterSchema } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack } from '../support/stack.js';

const stack = useTestStack({ sandbox: true });
const run = randomBytes(3).toString('hex');

const me = async (who: SignedUp) => (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body;

/** Whether Temporal knows a workflow with this id at all. */
async function exists(workflowId: string): Promise<boolean> {
  try {
    await stack.temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

it('shows a Google signup’s connection from the start, holds nothing for it and keeps it as the last way in', async () => {
  const googleId = `1098${run}`;
  const person = await signedUp(stack, `google-oauth2|${googleId}`);

  const account = await me(person);
  expect(accountCenterSchema.safeParse(account).success).toBe(true);
  expect(account.connected_providers.nodes).toEqual([
    expect.objectContaining({
      provider: 'google',
      providerAccountId: googleId,
      source: 'sign_in',
      signIn: true,
      status: 'active',
      scopes: [],
      directoryLinked: false,
      linkOrigin: { workflowId: workflowIds.signup(person.subject), requestedBy: person.subject },
    }),
  ]);
  const [node] = account.connected_providers.nodes as [ConnectedProviderNode];
  expect(node.connectedAt).toBe(account.createdAt);

  // CRA holds no tokens for a sign-in, so nothing refreshes or syncs them.
  expect(
    await stack.db.collection(collections.providerTokens).countDocuments({ _id: node.connectionId as never }),
  ).toBe(0);
  expect(await exists(workflowIds.tokens(person.accountId, 'google'))).toBe(false);
  expect(await exists(workflowIds.sync(person.accountId, 'google'))).toBe(false);

  const sync = await call<{ type: string }>(stack, 'POST', '/v1/me/providers/google/sync', { token: person.token });
  expect(sync.status).toBe(409);
  expect(await exists(workflowIds.sync(person.accountId, 'google'))).toBe(false);

  const audit = await stack.deps.auditLog.list({ accountId: person.accountId });
  expect(audit.filter((e) => e.action === 'provider.sign_in_connected')).toEqual([
    expect.objectContaining({ details: { provider: 'google', connectionId: node.connectionId } }),
  ]);

  // A second signup call (the hook and the app both signing the person up) adds nothing.
  const again = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
    token: person.token,
    json: { givenName: 'Test', familyName: 'Person', consents: [{ purpose: 'terms', version: '1', granted: true }] },
  });
  expect(again.status).toBe(202);
  await eventually(async () => {
    const status = await call<{ status: string }>(
      stack,
      'GET',
      `/v1/workflows/${encodeURIComponent(again.body.workflowId)}`,
      { token: person.token },
    );
    return status.body.status === 'completed' ? true : undefined;
  }, 'the second signup run');
  expect((await me(person)).connected_providers.nodes).toEqual([node]);

  const preview = await call<{ lastLoginMethod: boolean }>(stack, 'GET', '/v1/me/providers/google/disconnect-preview', {
    token: person.token,
  });
  expect(preview.status).toBe(200);
  expect(preview.body.lastLoginMethod).toBe(true);
  const refused = await call<{ type: string; detail: string }>(stack, 'DELETE', '/v1/me/providers/google', {
    token: person.token,
    json: { retention: 'delete' },
  });
  expect(refused.status).toBe(409);
  expect(refused.body.type).toContain('last-login-method');
  expect((await me(person)).connected_providers.nodes).toEqual([node]);
});

it('shows no connection for a password signup', async () => {
  const person = await signedUp(stack, `auth0|password-${run}`);
  expect((await me(person)).connected_providers.nodes).toEqual([]);
  const audit = await stack.deps.auditLog.list({ accountId: person.accountId });
  expect(audit.map((e) => e.action)).not.toContain('provider.sign_in_connected');
});

it('lets a GitHub signup link the same GitHub account for data, and keeps the sign-in when that link goes', async () => {
  const username = `octo-${run}`;
  const person = await signedUp(stack, `github|github:${username}`);
  const [signIn] = (await me(person)).connected_providers.nodes as [ConnectedProviderNode];
  expect(signIn).toMatchObject({ provider: 'github', providerAccountId: `github:${username}`, source: 'sign_in' });

  // The same provider account: not "already linked", not a conflict, the link takes the node over.
  const linked = await linkThroughSandbox(stack, person, 'github', username);
  expect(linked.answer.body).toMatchObject({ status: 'linked' });
  const nodes = (await me(person)).connected_providers.nodes;
  expect(nodes).toHaveLength(1);
  expect(nodes[0]).toMatchObject({
    provider: 'github',
    providerAccountId: `github:${username}`,
    connectionId: signIn.connectionId,
    source: 'link',
    signIn: true,
    status: 'active',
    // The root identity is the directory user itself: nothing is linked to it.
    directoryLinked: false,
  });
  expect(nodes[0]!.scopes.length).toBeGreaterThan(0);
  const identity = await stack.db
    .collection<{ identities?: unknown[] }>(collections.identityUsers)
    .findOne({ _id: person.subject as never });
  expect(identity?.identities ?? []).toEqual([]);

  // GitHub is still the only way in: its link cannot go either.
  const refused = await call<{ type: string }>(stack, 'DELETE', '/v1/me/providers/github', {
    token: person.token,
    json: { retention: 'delete' },
  });
  expect(refused.status).toBe(409);
  expect(refused.body.type).toContain('last-login-method');

  // Another way in (Google, linked in the directory); then GitHub's link can go, and its sign-in stays.
  expect((await linkThroughSandbox(stack, person, 'google', `g-${username}`)).answer.body).toMatchObject({
    status: 'linked',
  });
  const started = await call<{ workflowId: string }>(stack, 'DELETE', '/v1/me/providers/github', {
    token: person.token,
    json: { retention: 'delete' },
  });
  expect(started.status).toBe(202);
  expect(await stack.temporal.workflow.getHandle(started.body.workflowId).result()).toMatchObject({
    status: 'disconnected',
  });
  const after = (await me(person)).connected_providers.nodes;
  const { linkOrigin: _origin, ...signInItself } = signIn;
  expect(after.find((n) => n.provider === 'github')).toMatchObject({ ...signInItself, scopes: [] });
  expect(after.find((n) => n.provider === 'google')).toMatchObject({ status: 'active', directoryLinked: true });
  expect(
    await stack.db
      .collection(collections.providerTokens)
      .countDocuments({ _id: signIn.connectionId as never, status: 'active' }),
  ).toBe(0);
});
