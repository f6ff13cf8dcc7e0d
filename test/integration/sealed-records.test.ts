/**
 * Provider records and tokens sealed with the account's data key (issue 11, item 2), through the real
 * stack: the sandbox provider, a real sync on the Temporal dev server, FerretDB, the API over HTTP. The
 * database holds no record content and no token in clear; the person still reads their data; origins still
 * verify (old records stored in clear too); once the account's key is destroyed no copy opens any more; a
 * withdrawn consent stops the sync before it fetches a page.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createProviderActivities } from '../../activities/providers/activities.js';
import { verifyAllOrigins } from '../../activities/records/activities.js';
import { providerRecords, recordContent } from '../../activities/records/store.js';
import { openProviderToken, providerTokens, type ProviderTokenDocument } from '../../activities/providers/stores.js';
import { AccountKeys } from '../../activities/secrets/account-keys.js';
import { syncScheduleId } from '../../api/processes/sync.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { failureTypeOf } from '../../domain/failures.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { freshTokenUpdate, stopCustodySignal } from '../../workflows/tokens/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, eventually, useTestStack } from '../support/stack.js';

const suffix = randomBytes(3).toString('hex');
const stack = useTestStack({ sandbox: true });
const kinds = ['repositories', 'organizations', 'starred'];

interface RecordPage {
  items: Array<{ recordId: string; kind: string; externalId: string; data: Record<string, unknown> }>;
  nextCursor: string | null;
}

/** A small known dataset, linked, its first sync finished. */
async function syncedPerson(name: string): Promise<{ who: SignedUp; username: string; connectionId: string }> {
  const username = `${name}-${suffix}`;
  const sandbox = stack.sandbox!.data;
  sandbox.setCount('github', username, 'repositories', 4);
  sandbox.setCount('github', username, 'organizations', 2);
  sandbox.setCount('github', username, 'starred', 3);
  const who = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, who, 'github', username)).answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow.getHandle(`sync/${who.accountId}/github`).result();
  // Read from the database, not GET /v1/me: that opens the account document with the API's key cache, and
  // the erasure test below checks what an API that holds no cached key answers once the key is destroyed.
  const account = await stack.db.collection<AccountDocument>(collections.accounts).findOne({ _id: who.accountId });
  const node = account!.connected_providers.nodes.find((n) => n.provider === 'github')!;
  return { who, username, connectionId: node.connectionId };
}

const rawRecordsOf = (accountId: string) => providerRecords(stack.db).find({ accountId }).sort({ _id: 1 }).toArray();

async function dataOf(who: SignedUp): Promise<RecordPage['items']> {
  const res = await call<RecordPage>(stack, 'GET', '/v1/me/data?provider=github&limit=500', { token: who.token });
  expect(res.status).toBe(200);
  return res.body.items;
}

/** What a person would recognise as theirs in a database dump: the sandbox items' own text fields. */
/** The record as GitHub's API (the sandbox playing it) serves it, by the id CRA stored. */
function servedItem(username: string, kind: string, externalId: string): Record<string, unknown> | undefined {
  const sandbox = stack.sandbox!;
  const id = sandbox.datasetIdOf('github', username, kind, externalId);
  return id === undefined ? undefined : sandbox.providerItem('github', username, kind, id)?.item;
}

function recognisableValues(username: string, docs: ProviderRecordDocument[]): string[] {
  const values: string[] = [];
  for (const doc of docs) {
    const item = servedItem(username, doc.kind, doc.externalId)!;
    for (const [field, value] of Object.entries(item)) {
      if (field === 'id' || typeof value !== 'string' || value.length < 8) continue;
      if (/^\d{4}-\d\d-\d\dT/.test(value)) continue; // timestamps: not the person's words
      values.push(value);
    }
  }
  return values;
}

const accessTokenOf = (doc: ProviderTokenDocument) =>
  openProviderToken(stack.deps.accountKeys, stack.deps.vault, doc, 'access', doc.accessTokenCiphertext);

describe('provider data sealed with the account’s key', () => {
  it('keeps record content and tokens only sealed, yet the person reads their data and every origin verifies', async () => {
    const { who, username, connectionId } = await syncedPerson('sealed');
    const raw = await rawRecordsOf(who.accountId);
    expect(raw).toHaveLength(9);
    for (const doc of raw) {
      expect(doc).not.toHaveProperty('data');
      expect(doc.sealedData).toMatch(/^acct:1:/);
    }
    const values = recognisableValues(username, raw);
    expect(values.length).toBeGreaterThan(20);
    const dump = JSON.stringify(raw);
    for (const value of values) expect(dump).not.toContain(value);

    // The person sees exactly what the provider serves.
    const shown = await dataOf(who);
    expect(shown).toHaveLength(9);
    for (const item of shown) expect(item.data).toEqual(servedItem(username, item.kind, item.externalId));

    expect(
      await verifyAllOrigins(stack.db, stack.deps.vault, stack.deps.accountKeys, { accountId: who.accountId }),
    ).toEqual({
      checked: 9,
      invalid: [],
      erased: 0,
    });

    // Tokens: sealed with the account's key, and they still work at the provider.
    const token = (await providerTokens(stack.db).findOne({ _id: connectionId }))!;
    expect(token.accessTokenCiphertext).toMatch(/^acct:1:/);
    expect(token.refreshTokenCiphertext).toMatch(/^acct:1:/);
    const userinfo = await fetch(stack.sandbox!.endpoints('github').userinfo, {
      headers: { authorization: `Bearer ${await accessTokenOf(token)}` },
    });
    expect(userinfo.status).toBe(200);
  });

  it('still reads, verifies and syncs records and tokens stored the old way, and seals them on the next write', async () => {
    const { who, username, connectionId } = await syncedPerson('legacy');
    // A record as it was written before per-account keys: the content in clear, no sealed field.
    const [sealed] = await rawRecordsOf(who.accountId);
    const clear = await recordContent(stack.deps.accountKeys, sealed!);
    await providerRecords(stack.db).updateOne(
      { _id: sealed!._id },
      { $set: { data: clear }, $unset: { sealedData: '' } },
    );
    // Records stored that way predate the sync ledger too: the connection's next sync has no page to compare with.
    await stack.db.collection(collections.syncLedger).deleteMany({ connectionId });
    // Tokens as they were stored before: SecretVault ciphertext of the global provider-tokens key.
    const tokens = providerTokens(stack.db);
    const current = (await tokens.findOne({ _id: connectionId }))!;
    const refreshToken = await openProviderToken(
      stack.deps.accountKeys,
      stack.deps.vault,
      current,
      'refresh',
      current.refreshTokenCiphertext!,
    );
    await tokens.updateOne(
      { _id: connectionId },
      {
        $set: {
          accessTokenCiphertext: await stack.deps.vault.encrypt('provider-tokens', await accessTokenOf(current)),
          refreshTokenCiphertext: await stack.deps.vault.encrypt('provider-tokens', refreshToken),
        },
        $unset: { connectionId: '' },
      },
    );

    const shown = (await dataOf(who)).find((r) => r.recordId === sealed!._id);
    expect(shown?.data).toEqual(servedItem(username, sealed!.kind, sealed!.externalId));
    expect(
      await verifyAllOrigins(stack.db, stack.deps.vault, stack.deps.accountKeys, { accountId: who.accountId }),
    ).toEqual({
      checked: 9,
      invalid: [],
      erased: 0,
    });

    // A sync reads the old access token and rewrites the old record sealed.
    const started = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
      token: who.token,
    });
    expect(started.status).toBe(202);
    const result = (await stack.temporal.workflow.getHandle(started.body.workflowId).result()) as {
      totals: Record<string, { fetched: number }>;
    };
    expect(kinds.map((k) => result.totals[k]?.fetched)).toEqual([4, 2, 3]);
    const rewritten = (await providerRecords(stack.db).findOne({ _id: sealed!._id }))!;
    expect(rewritten).not.toHaveProperty('data');
    expect(rewritten.sealedData).toMatch(/^acct:1:/);
    expect(await recordContent(stack.deps.accountKeys, rewritten)).toEqual(clear);

    // A refresh reads the old refresh token and stores the new set sealed.
    const custody = stack.temporal.workflow.getHandle(`tokens/${who.accountId}/github`);
    await custody.executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds: 3600 }] });
    const refreshed = (await tokens.findOne({ _id: connectionId }))!;
    expect(refreshed.accessTokenCiphertext).toMatch(/^acct:1:/);
    expect(refreshed.refreshTokenCiphertext).toMatch(/^acct:1:/);
    const userinfo = await fetch(stack.sandbox!.endpoints('github').userinfo, {
      headers: { authorization: `Bearer ${await accessTokenOf(refreshed)}` },
    });
    expect(userinfo.status).toBe(200);
  });

  it('leaves no copy readable once the account’s key is destroyed, and the API says the data was erased', async () => {
    const { who, connectionId } = await syncedPerson('shred');
    // Copies taken now, as a backup or a missed document would keep them.
    const recordCopies = await rawRecordsOf(who.accountId);
    const tokenCopy = (await providerTokens(stack.db).findOne({ _id: connectionId }))!;
    expect(await recordContent(stack.deps.accountKeys, recordCopies[0]!)).toMatchObject({
      id: Number(recordCopies[0]!.externalId),
    });

    // What an erasure does first: nothing of the account runs any more.
    const custody = stack.temporal.workflow.getHandle(`tokens/${who.accountId}/github`);
    await custody.signal(stopCustodySignal, { reason: 'the account is being erased' });
    await custody.result();
    await stack.temporal.schedule.getHandle(syncScheduleId({ accountId: who.accountId, provider: 'github' })).delete();
    expect(await stack.deps.accountKeys.destroy(who.accountId)).toEqual({ existed: true });

    // Neither this process nor another one (no cached key) can open any copy.
    for (const keys of [stack.deps.accountKeys, new AccountKeys(stack.deps.vault)]) {
      for (const copy of recordCopies) {
        const err = await recordContent(keys, copy).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(failureTypeOf(err)).toBe('AccountKeyDestroyed');
      }
      const err = await openProviderToken(
        keys,
        stack.deps.vault,
        tokenCopy,
        'refresh',
        tokenCopy.refreshTokenCiphertext!,
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failureTypeOf(err)).toBe('AccountKeyDestroyed');
    }

    const res = await call<{ type: string; detail: string }>(stack, 'GET', '/v1/me/data', { token: who.token });
    expect(res.status).toBe(410);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.type).toBe('https://cra.dev/problems/account-data-erased');
    expect(res.body.detail).toContain('erased');
    // Nothing is left to revoke with: the tokens' ciphertext is simply deleted.
    const providerActivities = createProviderActivities({
      db: stack.db,
      vault: stack.deps.vault,
      accountKeys: stack.deps.accountKeys,
      providers: stack.config.providers,
      publicUrl: stack.config.publicUrl,
    });
    expect(await providerActivities.revokeConnectionTokens({ connectionId })).toEqual({ revokedAtProvider: false });
    expect(await providerTokens(stack.db).countDocuments({ _id: connectionId })).toBe(0);
    // Unreadable by design, not forged: the origin check says so.
    expect(
      await verifyAllOrigins(stack.db, stack.deps.vault, stack.deps.accountKeys, { accountId: who.accountId }),
    ).toEqual({
      checked: 9,
      invalid: [],
      erased: 9,
    });
  });

  it('stops a sync before it fetches anything once the person withdrew the consent it needs', async () => {
    const { who } = await syncedPerson('consent');
    const before = await rawRecordsOf(who.accountId);
    // The withdrawal is in the account document; the schedule fires before anything paused it.
    await stack.db.collection(collections.accounts).updateOne({ _id: who.accountId as never }, {
      $push: {
        consents: {
          purpose: 'provider_data',
          version: '2026-11',
          granted: false,
          recordedAt: new Date().toISOString(),
          source: 'api',
        },
      },
    } as never);
    const schedule = stack.temporal.schedule.getHandle(
      syncScheduleId({ accountId: who.accountId, provider: 'github' }),
    );
    await schedule.trigger();
    const workflowId = await eventually(async () => {
      const recent = (await schedule.describe()).info.recentActions;
      return recent.at(-1)?.action.workflow.workflowId;
    }, 'the scheduled sync');

    const err = await stack.temporal.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(failureTypeOf(err)).toBe('ConsentWithdrawn');
    expect(String((err as WorkflowFailedError).cause?.message)).toContain('"provider_data"');
    const audit = await stack.deps.auditLog.list({ accountId: who.accountId });
    expect(audit.filter((e) => e.action === 'provider.sync_failed').map((e) => e.details)).toEqual([
      { provider: 'github', reason: 'ConsentWithdrawn' },
    ]);
    // Nothing was fetched or written.
    expect(await rawRecordsOf(who.accountId)).toEqual(before);
  });
});
