/**
 * Syncing one provider's data through the sandbox playing that provider, as the per-provider e2e tests do:
 * a person links the provider through the sandbox's consent page, the link's first sync runs, "sync now"
 * runs another, and the records are read back through `GET /v1/me/data`.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { expect } from 'vitest';
import type { AccountCenter } from '../../domain/account-center.js';
import type { ProviderId } from '../../domain/providers.js';
import type { SyncResult } from '../../workflows/sync/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from './accounts.js';
import { call, eventually, type TestStack } from './stack.js';

export interface StoredRecord {
  recordId: string;
  kind: string;
  externalId: string;
  status: string;
  data: Record<string, unknown>;
  origin: Record<string, string>;
}

/** `ENABLE_<ID>_LOGIN=true` for each provider, for a stack whose tests link providers that are off by default. */
export function providersEnabled(providers: readonly ProviderId[]): Record<string, string> {
  return Object.fromEntries(providers.map((p) => [`ENABLE_${p.toUpperCase()}_LOGIN`, 'true']));
}

/**
 * A new person who linked `provider` as sandbox user `username`, its datasets sized by `counts` first (kinds
 * not named keep their default size), and the first sync (started by the link) finished.
 */
export async function linkedAndSynced(
  stack: TestStack,
  provider: ProviderId,
  username: string,
  counts: Record<string, number> = {},
): Promise<{ person: SignedUp; first: SyncResult }> {
  for (const [kind, count] of Object.entries(counts)) stack.sandbox!.data.setCount(provider, username, kind, count);
  const person = await signedUp(stack, `auth0|${username}`);
  const linked = await linkThroughSandbox(stack, person, provider, username);
  expect(linked.answer.body).toMatchObject({ status: 'linked' });
  const first: SyncResult = await stack.temporal.workflow.getHandle(`sync/${person.accountId}/${provider}`).result();
  return { person, first };
}

/** `POST /v1/me/providers/<provider>/sync`, and the run's result (rejects with the workflow's failure). */
export async function syncNow(stack: TestStack, person: SignedUp, provider: ProviderId): Promise<SyncResult> {
  const res = await call<{ workflowId: string }>(stack, 'POST', `/v1/me/providers/${provider}/sync`, {
    token: person.token,
  });
  expect(res.status).toBe(202);
  return stack.temporal.workflow.getHandle(res.body.workflowId).result();
}

/** Every record of the person's `provider` (optionally of one kind), through the API, page by page. */
export async function storedRecords(
  stack: TestStack,
  person: SignedUp,
  provider: ProviderId,
  kind?: string,
): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let cursor: string | null = null;
  do {
    const query = `provider=${provider}${kind ? `&kind=${kind}` : ''}&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const res: { status: number; body: { items: StoredRecord[]; nextCursor: string | null } } = await call(
      stack,
      'GET',
      `/v1/me/data?${query}`,
      { token: person.token },
    );
    expect(res.status).toBe(200);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

/**
 * Checks that the stored records of `kind` are exactly the sandbox's dataset as the provider serves it: same
 * external ids, each record's content the provider's own JSON for it, its origin naming the provider's URL.
 */
export function expectRecordsMatchProvider(
  stack: TestStack,
  provider: ProviderId,
  username: string,
  kind: string,
  records: StoredRecord[],
  sourcePath: string,
): void {
  const sandbox = stack.sandbox!;
  const served = sandbox.data
    .ids(provider, username, kind)
    .map((id) => sandbox.providerItem(provider, username, kind, id)!);
  const active = records.filter((r) => r.kind === kind && r.status === 'active');
  expect(active.map((r) => r.externalId).sort()).toEqual(served.map((s) => s.externalId).sort());
  const byId = new Map(served.map((s) => [s.externalId, s.item]));
  for (const record of active) {
    expect(record.data).toEqual(byId.get(record.externalId));
    expect(record.origin.provider).toBe(provider);
    expect(record.origin.sourceUrl).toContain(`/${provider}/api/`);
    expect(new URL(record.origin.sourceUrl!).pathname).toContain(sourcePath);
    expect(record.origin.contentHash).toMatch(/^[0-9a-f]{64}$/);
  }
}

/**
 * The person revokes CRA at the provider (the sandbox's admin route, as they would in its settings): the next
 * sync fails, and the connection shows `reauth_required` so the person is asked to reconnect.
 */
export async function expectReauthAfterRevocation(
  stack: TestStack,
  person: SignedUp,
  provider: ProviderId,
  username: string,
): Promise<void> {
  expect(await stack.sandbox!.revokeAllFor(provider, username)).toBeGreaterThan(0);
  const failed = await syncNow(stack, person, provider).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(failed).toBeInstanceOf(WorkflowFailedError);
  expect(String((failed as WorkflowFailedError).cause?.message)).toMatch(/reconnect|reauth|token/i);
  const me = await eventually(async () => {
    const res = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: person.token });
    const status = res.body.connected_providers.nodes.find((n) => n.provider === provider)?.status;
    return status === 'reauth_required' ? res.body : undefined;
  }, 'the connection to show reauth_required');
  expect(me.connected_providers.nodes.find((n) => n.provider === provider)).toMatchObject({
    status: 'reauth_required',
  });
}
