/**
 * Disconnecting a provider end to end: the real API over HTTP, the disconnect workflow on the Temporal dev
 * server, the sandbox as the provider (revocation, data API). Records come from the real first sync the link
 * starts; the sandbox's dataset sizes are set first so the counts are known.
 */
import { randomBytes } from 'node:crypto';
import { ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createRetentionActivities } from '../../activities/records/retention.js';
import { recordContent, sealRecordData } from '../../activities/records/store.js';
import { openProviderToken, providerTokens } from '../../activities/providers/stores.js';
import type { AccountCenter, ConnectedProviderNode } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { defaultSupportEmail } from '../../domain/config.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { taskQueueNames } from '../../temporal.config.js';
import {
  disconnectWorkflowType,
  type DisconnectResult,
  type DisconnectWorkflow,
} from '../../workflows/disconnect/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { noticesTo } from '../support/outbox.js';
import { call, useTestStack } from '../support/stack.js';

const run = randomBytes(3).toString('hex');

const stack = useTestStack({ sandbox: true });

interface Preview {
  provider: string;
  records: { total: number; byKind: Record<string, number> };
  featuresLost: string[];
  retention: { keep: string; delete: string };
  lastLoginMethod: boolean;
}
type Problem = { type: string; status: number; detail: string; errors?: Array<{ pointer: string; detail: string }> };

const records = () => stack.db.collection<ProviderRecordDocument>(collections.providerRecords);
const recordsOf = (filter: Partial<Pick<ProviderRecordDocument, 'connectionId' | 'accountId' | 'provider'>>) =>
  records().find(filter).sort({ _id: 1 }).toArray();
/** A record's content as the account center reads it (sealed with the account's key). */
const contentOf = (doc: ProviderRecordDocument) => recordContent(stack.deps.accountKeys, doc);

/**
 * Edited in the database by someone who can even seal with the account's key: the content no longer
 * hashes to the signed origin.
 */
async function editContent(recordId: string): Promise<void> {
  const doc = (await records().findOne({ _id: recordId }))!;
  const key = await stack.deps.accountKeys.keyFor(doc.accountId);
  const edited = sealRecordData(key, recordId, { ...(await contentOf(doc)), tampered: true });
  await records().updateOne({ _id: recordId }, { $set: { sealedData: edited } });
}

const me = async (who: SignedUp) => (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body;

/** How many records the sandbox serves the user, per kind (the rest of the provider's kinds: none). */
function sizeDataset(provider: string, username: string, counts: Record<string, number>): void {
  for (const kind of stack.sandbox!.data.kinds(provider))
    stack.sandbox!.data.setCount(provider, username, kind, counts[kind] ?? 0);
}

/** Link through the sandbox's consent page and wait for the first sync the link starts. */
async function link(who: SignedUp, provider: string, username: string): Promise<ConnectedProviderNode> {
  const { answer } = await linkThroughSandbox(stack, who, provider, username);
  expect(answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(`sync/${who.accountId}/${provider}`).result();
  // A GitHub signup also shows its sign-in (`source: 'sign_in'`): the link is the other node.
  return (await me(who)).connected_providers.nodes.find((n) => n.provider === provider && n.source !== 'sign_in')!;
}

const preview = (who: SignedUp, provider: string) =>
  call<Preview & Problem>(stack, 'GET', `/v1/me/providers/${provider}/disconnect-preview`, { token: who.token });
const requestDisconnect = (who: SignedUp, provider: string, json?: unknown) =>
  call<{ workflowId: string } & Problem>(stack, 'DELETE', `/v1/me/providers/${provider}`, {
    token: who.token,
    ...(json !== undefined ? { json } : {}),
  });

async function disconnected(
  who: SignedUp,
  provider: string,
  retention: 'keep' | 'delete',
): Promise<DisconnectResult & { workflowId: string }> {
  const res = await requestDisconnect(who, provider, { retention });
  expect(res.status).toBe(202);
  expect(res.body.workflowId).toBe(`disconnect/${who.accountId}/${provider}`);
  return {
    ...((await stack.temporal.workflow.getHandle(res.body.workflowId).result()) as DisconnectResult),
    workflowId: res.body.workflowId,
  };
}

async function identitiesOf(subject: string): Promise<Array<{ provider: string; user_id: string }>> {
  const user = await stack.db
    .collection<{ _id: string; identities?: Array<{ provider: string; user_id: string }> }>(collections.identityUsers)
    .findOne({ _id: subject });
  return user?.identities ?? [];
}

describe('disconnecting a provider', () => {
  it('keeps the records detached, revokes and deletes the tokens, stops custody and sync, unlinks, audits and tells; reconnecting attaches them again', async () => {
    const username = `keep-${run}`;
    sizeDataset('github', username, { repositories: 3, organizations: 1, starred: 2 });
    const who = await signedUp(stack, `auth0|keep-${run}`, { email: `keep-${run}@example.com` });
    const node = await link(who, 'github', username);
    const before = await recordsOf({ connectionId: node.connectionId });
    expect(before).toHaveLength(6);
    expect(await identitiesOf(who.subject)).toContainEqual({ provider: 'github', user_id: node.providerAccountId });
    // Edited in the database: the content no longer hashes to the signed origin.
    const edited = before.find((r) => r.kind === 'starred')!;
    await editContent(edited._id);

    const shown = await preview(who, 'github');
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      provider: 'github',
      records: { total: 6, byKind: { organizations: 1, repositories: 3, starred: 2 } },
      lastLoginMethod: false,
    });
    expect(shown.body.featuresLost).toEqual(
      expect.arrayContaining(['sign in with GitHub', 'scheduled sync of organizations, repositories, starred']),
    );
    expect(shown.body.retention.keep).toContain('6 records stay');
    expect(shown.body.retention.delete).toContain('6 records');

    const tokens = providerTokens(stack.db);
    const stored = await tokens.findOne({ _id: node.connectionId as never });
    const accessToken = await openProviderToken(
      stack.deps.accountKeys,
      stack.deps.vault,
      stored!,
      'access',
      stored!.accessTokenCiphertext,
    );

    const result = await disconnected(who, 'github', 'keep');
    expect(result).toMatchObject({
      status: 'disconnected',
      retention: 'keep',
      connectionIds: [node.connectionId],
      revokedAtProvider: true,
      unlinked: true,
      deleted: 0,
      detached: 5,
      invalid: 1,
    });

    // Counts unchanged: five detached, the edited one left exactly as it was.
    const after = await recordsOf({ connectionId: node.connectionId });
    expect(after).toHaveLength(6);
    for (const r of after) {
      const was = before.find((b) => b._id === r._id)!;
      if (r._id === edited._id) {
        expect(r).toMatchObject({ status: 'active', originMac: was.originMac });
        expect(await contentOf(r)).toEqual({ ...(await contentOf(was)), tampered: true });
      } else
        expect(r).toMatchObject({
          status: 'detached',
          detachedAt: expect.any(String),
          sealedData: was.sealedData,
          origin: was.origin,
        });
    }
    // Tokens: gone here, revoked at the provider.
    expect(await tokens.countDocuments({ _id: node.connectionId as never })).toBe(0);
    const userinfo = await fetch(stack.sandbox!.endpoints('github').userinfo, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.status).toBe(401);
    // Custody ended, the sync schedule is gone, the connection and the directory identity too.
    expect(await stack.temporal.workflow.getHandle(`tokens/${who.accountId}/github`).result()).toMatchObject({
      status: 'stopped',
    });
    await expect(
      stack.temporal.schedule.getHandle(`sync/${who.accountId}/github/schedule`).describe(),
    ).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await me(who)).connected_providers.nodes).toEqual([]);
    expect(await identitiesOf(who.subject)).not.toContainEqual(expect.objectContaining({ provider: 'github' }));

    const status = await call(stack, 'GET', `/v1/workflows/${encodeURIComponent(result.workflowId)}`, {
      token: who.token,
    });
    expect(status.body).toMatchObject({ process: 'disconnect', status: 'completed', stage: 'disconnected' });
    const audit = await stack.deps.auditLog.list({ accountId: who.accountId });
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['provider.disconnect_requested', 'provider.disconnected']),
    );
    expect(audit.filter((e) => e.action === 'record.origin_invalid').map((e) => e.details)).toEqual([
      expect.objectContaining({ recordId: edited._id, reason: 'content_changed' }),
    ]);
    expect((await stack.deps.auditLog.verify()).ok).toBe(true);
    const notices = await noticesTo(stack, { to: `keep-${run}@example.com`, template: 'provider-disconnected' });
    expect(notices).toHaveLength(1);
    expect(notices[0]!.body).toContain('5 records stay in your account center');
    const support = await noticesTo(stack, {
      to: defaultSupportEmail,
      template: 'record-origin-invalid',
      accountId: who.accountId,
    });
    expect(support).toHaveLength(1);
    expect(support[0]!.data).toMatchObject({ count: 1, provider: 'github', during: 'disconnect' });

    // Meanwhile two kept records went away at the provider, and one of them was edited here: the sync after
    // reconnecting sees neither, so only reattaching can bring them back — the edited one never.
    const [gone, goneEdited] = [
      after.find((r) => r.kind === 'repositories')!,
      after.find((r) => r.kind === 'starred' && r._id !== edited._id)!,
    ];
    // The records' external ids are GitHub's; the sandbox's datasets know them by their own ids.
    const datasetId = (kind: string, externalId: string) =>
      stack.sandbox!.datasetIdOf('github', username, kind, externalId)!;
    stack.sandbox!.data.remove('github', username, 'repositories', datasetId('repositories', gone.externalId));
    stack.sandbox!.data.remove('github', username, 'starred', datasetId('starred', goneEdited.externalId));
    await editContent(goneEdited._id);
    const again = await link(who, 'github', username);
    expect(again.connectionId).toBe(node.connectionId);
    const retention = createRetentionActivities({
      db: stack.db,
      vault: stack.deps.vault,
      accountKeys: stack.deps.accountKeys,
      auditLog: stack.deps.auditLog,
      notifier: stack.deps.notifier,
      supportEmail: defaultSupportEmail,
    });
    expect(
      await retention.reattachDetachedRecords({ accountId: who.accountId, connectionId: node.connectionId }),
    ).toMatchObject({ invalid: 1 });
    const reconnected = await recordsOf({ connectionId: node.connectionId });
    expect(reconnected.filter((r) => r.status === 'detached').map((r) => r._id)).toEqual([goneEdited._id]);
    // Active once reattached; a link that reattaches before its first sync lets that sync mark it deleted at the provider.
    expect(['active', 'deleted_at_provider']).toContain(reconnected.find((r) => r._id === gone._id)?.status);
    expect(
      reconnected
        .filter((r) => r._id !== gone._id && r._id !== goneEdited._id)
        .every((r) => r.status === 'active' && r.detachedAt === undefined),
    ).toBe(true);
    const reported = (
      await noticesTo(stack, { to: defaultSupportEmail, template: 'record-origin-invalid', accountId: who.accountId })
    ).filter((n) => n.data?.during === 'reconnect');
    expect(reported).toHaveLength(1);
  });

  it('deletes only the verified records of this connection; another provider’s records and edited origins stay', async () => {
    const username = `delete-${run}`;
    sizeDataset('github', username, { repositories: 3, organizations: 1, starred: 2 });
    sizeDataset('google', username, { contacts: 2, calendar_events: 2, drive_files: 1 });
    const who = await signedUp(stack, `auth0|delete-${run}`, { email: `delete-${run}@example.com` });
    const github = await link(who, 'github', username);
    await link(who, 'google', username);
    const googleBefore = await recordsOf({ accountId: who.accountId, provider: 'google' });
    expect(googleBefore).toHaveLength(5);
    const githubBefore = await recordsOf({ accountId: who.accountId, provider: 'github' });
    expect(githubBefore).toHaveLength(6);
    // One origin pointed at another connection, one record's content changed: neither may be acted on.
    const [forged, changed] = [
      githubBefore.find((r) => r.kind === 'repositories')!,
      githubBefore.find((r) => r.kind === 'starred')!,
    ];
    await records().updateOne({ _id: forged._id }, { $set: { 'origin.connectionId': 'conn_forged' } });
    await editContent(changed._id);
    const tampered = await records()
      .find({ _id: { $in: [forged._id, changed._id] } })
      .sort({ _id: 1 })
      .toArray();

    expect((await preview(who, 'github')).body.records).toEqual({
      total: 6,
      byKind: { organizations: 1, repositories: 3, starred: 2 },
    });
    const result = await disconnected(who, 'github', 'delete');
    expect(result).toMatchObject({
      status: 'disconnected',
      retention: 'delete',
      connectionIds: [github.connectionId],
      deleted: 4,
      detached: 0,
      invalid: 2,
    });

    expect(await recordsOf({ accountId: who.accountId, provider: 'github' })).toEqual(tampered);
    expect(await recordsOf({ accountId: who.accountId, provider: 'google' })).toEqual(googleBefore);
    const nodes = (await me(who)).connected_providers.nodes;
    expect(nodes.map((n) => [n.provider, n.status])).toEqual([['google', 'active']]);
    expect((await stack.temporal.workflow.getHandle(`tokens/${who.accountId}/google`).describe()).status.name).toBe(
      'RUNNING',
    );

    const invalid = (await stack.deps.auditLog.list({ accountId: who.accountId })).filter(
      (e) => e.action === 'record.origin_invalid',
    );
    expect(invalid.map((e) => [e.details?.recordId, e.details?.reason]).sort()).toEqual(
      [
        [changed._id, 'content_changed'],
        [forged._id, 'origin_changed'],
      ].sort(),
    );
    expect(
      await noticesTo(stack, { to: defaultSupportEmail, template: 'record-origin-invalid', accountId: who.accountId }),
    ).toEqual([expect.objectContaining({ data: expect.objectContaining({ count: 2 }) })]);
    const [notice] = await noticesTo(stack, { to: `delete-${run}@example.com`, template: 'provider-disconnected' });
    expect(notice!.body).toContain('4 records were deleted');
    expect(notice!.body).toContain('2 records could not be verified');
  });

  it('refuses with 409 to disconnect the last way to sign in and changes nothing; with another way in, it goes ahead', async () => {
    const username = `last-${run}`;
    sizeDataset('github', username, { repositories: 1, organizations: 1, starred: 1 });
    sizeDataset('google', username, {});
    // The root identity signed up with GitHub: GitHub is how this person signs in.
    const who = await signedUp(stack, `github|last-${run}`, { email: `last-${run}@example.com` });
    const node = await link(who, 'github', username);
    expect((await preview(who, 'github')).body.lastLoginMethod).toBe(true);
    const accountBefore = await me(who);
    const recordsBefore = await recordsOf({ connectionId: node.connectionId });

    for (const retention of ['keep', 'delete']) {
      const refused = await requestDisconnect(who, 'github', { retention });
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.type).toContain('last-login-method');
    }
    await expect(
      stack.temporal.workflow.getHandle(`disconnect/${who.accountId}/github`).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // The workflow checks again on its own (the API's check may be stale by the time it runs).
    const direct = await stack.temporal.workflow.execute<DisconnectWorkflow>(disconnectWorkflowType, {
      workflowId: `disconnect/${who.accountId}/github`,
      taskQueue: taskQueueNames(stack.config.temporal.taskQueuePrefix).accounts,
      args: [
        {
          accountId: who.accountId,
          subject: who.subject,
          provider: 'github',
          retention: 'delete',
          requestedBy: who.subject,
        },
      ],
    });
    expect(direct).toMatchObject({ status: 'refused', deleted: 0, detached: 0 });
    expect((await stack.deps.auditLog.list({ accountId: who.accountId })).map((e) => e.action)).toContain(
      'provider.disconnect_refused',
    );
    expect(await me(who)).toEqual(accountBefore);
    expect(await recordsOf({ connectionId: node.connectionId })).toEqual(recordsBefore);
    expect(
      await stack.db.collection(collections.providerTokens).countDocuments({ _id: node.connectionId as never }),
    ).toBe(1);
    expect((await stack.temporal.workflow.getHandle(`tokens/${who.accountId}/github`).describe()).status.name).toBe(
      'RUNNING',
    );

    // Google, linked in the directory, is another way in: now GitHub may go.
    await link(who, 'google', username);
    expect((await preview(who, 'github')).body.lastLoginMethod).toBe(false);
    expect(await disconnected(who, 'github', 'delete')).toMatchObject({
      status: 'disconnected',
      deleted: 3,
      invalid: 0,
    });
    // The GitHub account the person signs in with stays: only the link went.
    expect((await me(who)).connected_providers.nodes.map((n) => [n.provider, n.source])).toEqual([
      ['google', 'link'],
      ['github', 'sign_in'],
    ]);
    expect((await preview(who, 'google')).body.lastLoginMethod).toBe(false);
  });

  it('answers 404 for an unknown or unconnected provider and 400 for a missing or invalid retention, and changes nothing', async () => {
    const username = `input-${run}`;
    sizeDataset('github', username, { repositories: 1 });
    const who = await signedUp(stack, `auth0|input-${run}`);
    const node = await link(who, 'github', username);
    const accountBefore = await me(who);

    const unknown = await requestDisconnect(who, 'myspace', { retention: 'keep' });
    expect([unknown.status, unknown.body.type]).toEqual([404, expect.stringContaining('provider-not-found')]);
    expect((await preview(who, 'myspace')).status).toBe(404);
    const notConnected = await requestDisconnect(who, 'google', { retention: 'delete' });
    expect([notConnected.status, notConnected.body.type]).toEqual([
      404,
      expect.stringContaining('provider-not-connected'),
    ]);
    expect((await preview(who, 'google')).body.type).toContain('provider-not-connected');

    for (const body of [{}, { retention: 'maybe' }, { retention: null }, { retention: 'KEEP' }]) {
      const res = await requestDisconnect(who, 'github', body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '#/retention' })]);
    }
    const extra = await requestDisconnect(who, 'github', { retention: 'keep', also: 'delete everything' });
    expect(extra.status).toBe(400);
    expect(extra.body.errors).toEqual([expect.objectContaining({ pointer: '#/also' })]);
    expect((await requestDisconnect(who, 'github')).status).toBe(400);

    await expect(
      stack.temporal.workflow.getHandle(`disconnect/${who.accountId}/github`).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(await me(who)).toEqual(accountBefore);
    expect(await recordsOf({ connectionId: node.connectionId })).toHaveLength(1);
  });
});
