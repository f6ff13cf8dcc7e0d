/**
 * Token custody that never ends keeps a small history: after 200 refreshes it continues as new, carrying
 * its count and token version, and the new run goes on refreshing and answering `freshToken`.
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { expect, it } from 'vitest';
import { openProviderToken, providerTokens } from '../../activities/providers/stores.js';
import type { AccountCenter } from '../../domain/account-center.js';
import {
  custodyStateQuery,
  freshTokenUpdate,
  stopCustodySignal,
  type CustodyResult,
} from '../../workflows/tokens/messages.js';
import { linkThroughSandbox, signedUp } from '../support/accounts.js';
import { call, eventually, useTestStack } from '../support/stack.js';

// Access tokens live 20 s and are refreshed a minute early: the custodian refreshes back to back (about
// once a second: its shortest timer), so 200 refreshes take three to four minutes.
const stack = useTestStack({ sandbox: { accessTokenTtlSeconds: 20 }, env: { TOKEN_REFRESH_MARGIN: '1 minute' } });
const run = randomBytes(3).toString('hex');

it('continues as new after 200 refreshes and keeps custody of the same connection', async () => {
  const username = `custody-can-${run}`;
  const who = await signedUp(stack, `auth0|${username}`);
  expect((await linkThroughSandbox(stack, who, 'github', username)).answer.body).toMatchObject({ status: 'linked' });

  const workflowId = `tokens/${who.accountId}/github`;
  const firstRun: WorkflowExecutionDescription = await stack.temporal.workflow.getHandle(workflowId).describe();
  const firstRunId = firstRun.runId;

  // The first run ends as continued-as-new; the latest run carries the count on.
  const latest = await eventually(
    async () => {
      const d = await stack.temporal.workflow.getHandle(workflowId).describe();
      return d.runId !== firstRunId ? d : undefined;
    },
    'a second custody run',
    420_000,
  );
  expect(latest.status.name).toBe('RUNNING');
  const ended = await stack.temporal.workflow.getHandle(workflowId, firstRunId).describe();
  expect(ended.status.name).toBe('CONTINUED_AS_NEW');
  const firstHistory = (await stack.temporal.workflow.getHandle(workflowId, firstRunId).fetchHistory()).events ?? [];
  const refreshesInFirstRun = firstHistory.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'refreshConnectionTokens',
  ).length;
  expect(refreshesInFirstRun).toBe(200);
  // About 11 events a refresh: bounded whatever the connection's age, far below Temporal's 51 200-event limit.
  expect(firstHistory.length).toBeLessThan(5_000);

  const custody = stack.temporal.workflow.getHandle(workflowId);
  const state = await eventually(
    async () => {
      const s = await custody.query(custodyStateQuery);
      return s.refreshCount > 200 ? s : undefined;
    },
    'refreshes in the new run',
    60_000,
  );
  const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token });
  expect(me.body.connected_providers.nodes.find((n) => n.provider === 'github')).toMatchObject({
    connectionId: state.connectionId,
    status: 'active',
  });

  // The new run still hands out tokens that the provider accepts.
  const fresh = await custody.executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds: 10 }] });
  expect(fresh.tokenVersion).toBeGreaterThan(200);
  const stored = await providerTokens(stack.db).findOne({ _id: fresh.connectionId });
  expect(stored!.version).toBeGreaterThanOrEqual(fresh.tokenVersion);
  const accessToken = await openProviderToken(
    stack.deps.accountKeys,
    stack.deps.vault,
    stored!,
    'access',
    stored!.accessTokenCiphertext,
  );
  const userinfo = await fetch(stack.sandbox!.endpoints('github').userinfo, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  expect(userinfo.status).toBe(200);

  await custody.signal(stopCustodySignal, { reason: 'test finished' });
  const result: CustodyResult = await custody.result();
  expect(result.status).toBe('stopped');
  expect(result.refreshCount).toBeGreaterThan(200);
}, 600_000);
