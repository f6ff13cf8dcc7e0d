/**
 * A provider account already connected to another person is never moved silently: the link waits for a
 * support decision (flagged `CraNeedsApproval` in Temporal Web), and only an approval moves it.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { AccountCenter } from '../../domain/account-center.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack, tokenFor } from '../support/stack.js';

const stack = useTestStack({ sandbox: true });
const run = randomBytes(3).toString('hex');

const link = (who: SignedUp, username: string) => linkThroughSandbox(stack, who, 'github', username);

const nodes = async (who: SignedUp) =>
  (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body.connected_providers.nodes;

async function waitingForApproval(workflowId: string): Promise<string[]> {
  return eventually(async () => {
    const ids: string[] = [];
    for await (const wf of stack.temporal.workflow.list({
      query: `CraProcess = "link" AND CraNeedsApproval = true AND WorkflowId = "${workflowId}"`,
    }))
      ids.push(wf.workflowId);
    return ids.length > 0 ? ids : undefined;
  }, 'the link to show up as needing approval');
}

it('holds a conflicting link for support, then moves the connection when support approves', async () => {
  const shared = `shared-${run}`;
  const first = await signedUp(stack, `auth0|first-${run}`);
  const second = await signedUp(stack, `auth0|second-${run}`);
  expect((await link(first, shared)).answer.body).toMatchObject({ status: 'linked' });

  const conflict = await link(second, shared);
  expect(conflict.answer.status).toBe(202);
  expect(conflict.answer.body).toMatchObject({ status: 'pending_review' });
  expect(await waitingForApproval(conflict.workflowId)).toEqual([conflict.workflowId]);
  expect(await nodes(second)).toEqual([]);
  expect((await nodes(first)).map((n) => n.providerAccountId)).toEqual([`github:${shared}`]);

  const path = `/v1/support/links/${encodeURIComponent(conflict.workflowId)}/decision`;
  const unauthorised = await call(stack, 'POST', path, {
    token: second.token,
    json: { decision: 'approve', reason: 'it is mine' },
  });
  expect(unauthorised.status).toBe(403);
  const agentSubject = `auth0|agent-${run}`;
  const agent = await tokenFor(stack, agentSubject, { permissions: ['links:approve'] });
  const invalid = await call(stack, 'POST', path, { token: agent, json: { decision: 'maybe', reason: 'x' } });
  expect(invalid.status).toBe(400);
  const approved = await call(stack, 'POST', path, {
    token: agent,
    json: { decision: 'approve', reason: 'verified ownership by ticket 4711' },
  });
  expect(approved.status).toBe(202);

  const outcome = await stack.temporal.workflow.getHandle(conflict.workflowId).result();
  expect(outcome).toMatchObject({ status: 'linked' });
  expect((await nodes(second)).map((n) => n.providerAccountId)).toEqual([`github:${shared}`]);
  expect(await nodes(first)).toEqual([]);
  const description = await stack.temporal.workflow.getHandle(conflict.workflowId).describe();
  expect(description.searchAttributes.CraNeedsApproval).toEqual([false]);

  const firstAudit = await stack.deps.auditLog.list({ accountId: first.accountId });
  expect(firstAudit.find((e) => e.action === 'provider.unlinked')).toMatchObject({
    actor: { type: 'support', id: agentSubject },
    details: { reason: 'verified ownership by ticket 4711' },
  });
  const secondAudit = await stack.deps.auditLog.list({ accountId: second.accountId });
  expect(secondAudit.map((e) => e.action)).toEqual(
    expect.arrayContaining(['provider.link_conflict', 'provider.link_conflict_approved', 'provider.linked']),
  );
  const decided = await call(stack, 'POST', path, { token: agent, json: { decision: 'deny', reason: 'too late' } });
  expect(decided.status).toBe(409);
});

it('stores nothing when support denies a conflicting link', async () => {
  const shared = `kept-${run}`;
  const owner = await signedUp(stack, `auth0|owner-${run}`);
  const claimant = await signedUp(stack, `auth0|claimant-${run}`);
  expect((await link(owner, shared)).answer.body).toMatchObject({ status: 'linked' });
  const conflict = await link(claimant, shared);
  expect(conflict.answer.body).toMatchObject({ status: 'pending_review' });
  await waitingForApproval(conflict.workflowId);
  const agent = await tokenFor(stack, `auth0|agent2-${run}`, { permissions: ['links:approve'] });
  const res = await call(stack, 'POST', `/v1/support/links/${encodeURIComponent(conflict.workflowId)}/decision`, {
    token: agent,
    json: { decision: 'deny', reason: 'no proof of ownership' },
  });
  expect(res.status).toBe(202);
  expect(await stack.temporal.workflow.getHandle(conflict.workflowId).result()).toMatchObject({
    status: 'conflict_denied',
    detail: expect.stringContaining('no proof of ownership'),
  });
  expect(await nodes(claimant)).toEqual([]);
  expect((await nodes(owner)).map((n) => n.providerAccountId)).toEqual([`github:${shared}`]);
});
