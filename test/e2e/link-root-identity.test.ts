/**
 * A provider account someone signed up with is taken: linking it into another account goes to support review,
 * like a connection of another account, and approving never takes the other person's sign-in away. A verified
 * address that matches an account's is evidence support sees, never a reason to link on its own.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { insertExistingPerson } from '../support/account-documents.js';
import { deliverCallback, linkThroughSandbox, signedUp, type LinkAnswer, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack, tokenFor } from '../support/stack.js';
import type { LinkConflict } from '../../workflows/link/messages.js';

const stack = useTestStack({ sandbox: true });
const run = randomBytes(3).toString('hex');

const nodes = async (who: SignedUp) =>
  (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body.connected_providers.nodes;

/** Link GitHub as `username`, the sandbox's consent page answering with `email` (verified). */
async function linkGithub(who: SignedUp, username: string, email?: string): Promise<LinkAnswer> {
  const started = await call<{ workflowId: string; authorizationUrl: string }>(
    stack,
    'POST',
    '/v1/me/providers/github/link',
    { token: who.token, json: {} },
  );
  expect(started.status).toBe(202);
  const callback = await completeConsent(started.body.authorizationUrl, { username, ...(email ? { email } : {}) });
  const answer = await deliverCallback(stack, callback, { as: who });
  return { workflowId: started.body.workflowId, answer };
}

interface Review {
  stage: string;
  conflictingAccountId?: string;
  conflict?: LinkConflict;
}

/** What support sees of a link under review, once it waits for them. */
async function review(workflowId: string, token: string): Promise<Review> {
  return eventually(async () => {
    const res = await call<Review>(stack, 'GET', `/v1/support/links/${encodeURIComponent(workflowId)}`, { token });
    expect(res.status).toBe(200);
    return res.body.stage === 'awaiting_support' ? res.body : undefined;
  }, 'the link to wait for support');
}

const decide = (workflowId: string, token: string, decision: 'approve' | 'deny', reason: string) =>
  call(stack, 'POST', `/v1/support/links/${encodeURIComponent(workflowId)}/decision`, {
    token,
    json: { decision, reason },
  });

it('sends a link of another person’s sign-in to support review; approving connects it here and leaves their sign-in', async () => {
  const username = `root-${run}`;
  const signsInWithIt = await signedUp(stack, `github|github:${username}`);
  const claimant = await signedUp(stack, `auth0|claimant-${run}`);
  const agent = await tokenFor(stack, `auth0|agent-${run}`, { permissions: ['links:approve'] });

  const conflict = await linkGithub(claimant, username);
  expect(conflict.answer.status).toBe(202);
  expect(conflict.answer.body).toMatchObject({
    status: 'pending_review',
    detail: expect.stringContaining('signs in with this provider account'),
  });
  expect(await review(conflict.workflowId, agent)).toMatchObject({
    conflictingAccountId: signsInWithIt.accountId,
    conflict: { kind: 'root_identity', verifiedEmailMatchesOther: false, verifiedEmailMatchesRequester: false },
  });
  const denied = await call(stack, 'GET', `/v1/support/links/${encodeURIComponent(conflict.workflowId)}`, {
    token: claimant.token,
  });
  expect(denied.status).toBe(403);
  expect(await nodes(claimant)).toEqual([]);

  expect((await decide(conflict.workflowId, agent, 'approve', 'same person, two accounts: ticket 812')).status).toBe(
    202,
  );
  expect(await stack.temporal.workflow.getHandle(conflict.workflowId).result()).toMatchObject({ status: 'linked' });
  // Connected here for data only: never merged into this identity in the directory.
  expect(await nodes(claimant)).toEqual([
    expect.objectContaining({ providerAccountId: `github:${username}`, source: 'link', directoryLinked: false }),
  ]);
  expect((await nodes(claimant))[0]!.signIn).toBeUndefined();
  // The other person still signs in with it, and their account still says so.
  expect(await nodes(signsInWithIt)).toEqual([
    expect.objectContaining({ providerAccountId: `github:${username}`, source: 'sign_in', status: 'active' }),
  ]);
  const audit = await stack.deps.auditLog.list({ accountId: claimant.accountId });
  expect(audit.find((e) => e.action === 'provider.link_conflict')).toMatchObject({
    details: { conflict: 'root_identity', otherAccountId: signsInWithIt.accountId },
  });
  expect(audit.find((e) => e.action === 'provider.link_conflict_approved')).toMatchObject({
    actor: { type: 'support' },
    details: { conflict: 'root_identity', reason: 'same person, two accounts: ticket 812' },
  });
  expect((await stack.deps.auditLog.list({ accountId: signsInWithIt.accountId })).map((e) => e.action)).not.toContain(
    'provider.unlinked',
  );
});

it('counts the sign-in of an account made before sign-in connections, found by its subject', async () => {
  const username = `older-${run}`;
  const subject = `github|github:${username}`;
  const accountId = accountIdForSubject(subject);
  await insertExistingPerson(stack.db, {
    subject,
    accountId,
    email: `${username}@example.com`,
    at: new Date(Date.now() - 30 * 24 * 3600_000).toISOString(),
    profile: { givenName: 'Older' },
  });
  const claimant = await signedUp(stack, `auth0|older-claimant-${run}`);
  const agent = await tokenFor(stack, `auth0|agent-older-${run}`, { permissions: ['links:approve'] });

  const conflict = await linkThroughSandbox(stack, claimant, 'github', username);
  expect(conflict.answer.body).toMatchObject({ status: 'pending_review' });
  expect(await review(conflict.workflowId, agent)).toMatchObject({
    conflictingAccountId: accountId,
    conflict: { kind: 'root_identity' },
  });
  expect((await decide(conflict.workflowId, agent, 'deny', 'no proof of ownership')).status).toBe(202);
  expect(await stack.temporal.workflow.getHandle(conflict.workflowId).result()).toMatchObject({
    status: 'conflict_denied',
  });
  expect(await nodes(claimant)).toEqual([]);
});

it('shows support a verified address that matches an account, and links nothing because of it', async () => {
  const owner = await signedUp(stack, `auth0|ev-owner-${run}`, { email: `ev-owner-${run}@example.com` });
  const claimant = await signedUp(stack, `auth0|ev-claimant-${run}`, { email: `ev-claimant-${run}@example.com` });
  const agent = await tokenFor(stack, `auth0|agent-ev-${run}`, { permissions: ['links:approve'] });

  // Unowned, but carrying the owner's verified address: it links to whoever links it, the owner gets nothing.
  const unowned = await linkGithub(claimant, `ev-free-${run}`, `ev-owner-${run}@example.com`);
  expect(unowned.answer.body).toMatchObject({ status: 'linked' });
  expect(await nodes(owner)).toEqual([]);

  // Connected to the owner, with the owner's address: the evidence points at the owner.
  const shared = `ev-shared-${run}`;
  expect((await linkGithub(owner, shared, `ev-owner-${run}@example.com`)).answer.body).toMatchObject({
    status: 'linked',
  });
  const towardsOwner = await linkGithub(claimant, shared, `ev-owner-${run}@example.com`);
  expect(towardsOwner.answer.body).toMatchObject({ status: 'pending_review' });
  expect(await review(towardsOwner.workflowId, agent)).toMatchObject({
    conflictingAccountId: owner.accountId,
    conflict: {
      kind: 'connection',
      verifiedEmailMatchesOther: true,
      verifiedEmailMatchesRequester: false,
      verifiedEmailAccountIds: [owner.accountId],
    },
  });
  expect((await decide(towardsOwner.workflowId, agent, 'deny', 'the address is the owner’s')).status).toBe(202);
  await stack.temporal.workflow.getHandle(towardsOwner.workflowId).result();

  // The provider account now says the claimant's address: the evidence points at the claimant, still only evidence.
  const towardsClaimant = await linkGithub(claimant, shared, `ev-claimant-${run}@example.com`);
  expect(towardsClaimant.answer.body).toMatchObject({ status: 'pending_review' });
  expect(await review(towardsClaimant.workflowId, agent)).toMatchObject({
    conflict: { kind: 'connection', verifiedEmailMatchesOther: false, verifiedEmailMatchesRequester: true },
  });
  // The workflow audits the conflict as it waits for review: the second entry may land just after the review shows.
  const conflicts = await eventually(async () => {
    const audit = await stack.deps.auditLog.list({ accountId: claimant.accountId });
    const found = audit.filter((e) => e.action === 'provider.link_conflict');
    return found.length >= 2 ? found : undefined;
  }, 'both link conflicts in the audit log');
  expect(conflicts.map((e) => e.details)).toEqual([
    expect.objectContaining({ verifiedEmailMatchesOther: true, verifiedEmailMatchesRequester: false }),
    expect.objectContaining({ verifiedEmailMatchesOther: false, verifiedEmailMatchesRequester: true }),
  ]);
  expect((await nodes(claimant)).map((n) => n.providerAccountId)).toEqual([`github:ev-free-${run}`]);
  expect((await decide(towardsClaimant.workflowId, agent, 'deny', 'closing the test')).status).toBe(202);
});
