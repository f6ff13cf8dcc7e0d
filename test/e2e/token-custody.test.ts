/**
 * Token custody: one workflow per connection refreshes the access token before it expires; when the
 * person revokes access at the provider, the connection becomes `reauth_required`, they are told, and
 * nothing is retried forever.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { openProviderToken, providerTokens, type ProviderTokenDocument } from '../../activities/providers/stores.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { custodyStateQuery, freshTokenUpdate } from '../../workflows/tokens/messages.js';
import { deliverCallback, signedUp } from '../support/accounts.js';
import { noticesTo } from '../support/outbox.js';
import { call, eventually, useTestStack } from '../support/stack.js';

const run = randomBytes(3).toString('hex');

// Access tokens live 20 s and are refreshed 15 s early: a refresh about every 5 s.
const stack = useTestStack({ sandbox: { accessTokenTtlSeconds: 20 }, env: { TOKEN_REFRESH_MARGIN: '15 seconds' } });

it('refreshes before expiry, hands out fresh versions, and asks for reauth after a revocation', async () => {
  const username = `custody-${run}`;
  const who = await signedUp(stack, `auth0|custody-${run}`, { email: `custody-${run}@example.com` });
  const started = await call<{ workflowId: string; authorizationUrl: string }>(
    stack,
    'POST',
    '/v1/me/providers/spotify/link',
    { token: who.token, json: {} },
  );
  expect(started.status).toBe(403); // Spotify is off by default…
  const github = await call<{ workflowId: string; authorizationUrl: string }>(
    stack,
    'POST',
    '/v1/me/providers/github/link',
    { token: who.token, json: {} },
  );
  const callback = await completeConsent(github.body.authorizationUrl, { username });
  const linked = await deliverCallback(stack, callback, { as: who });
  expect(linked.body).toMatchObject({ status: 'linked' });

  const custody = stack.temporal.workflow.getHandle(`tokens/${who.accountId}/github`);
  const first = await custody.query(custodyStateQuery);
  const tokens = providerTokens(stack.db);
  const accessTokenOf = (doc: ProviderTokenDocument) =>
    openProviderToken(stack.deps.accountKeys, stack.deps.vault, doc, 'access', doc.accessTokenCiphertext);
  const before = await tokens.findOne({ _id: first.connectionId as never });
  const firstAccess = await accessTokenOf(before!);

  // The custodian refreshes on its own, before the token expires.
  const refreshed = await eventually(
    async () => {
      const state = await custody.query(custodyStateQuery);
      // `refreshing` is transient: the first sync's freshToken calls may have one in flight at any moment.
      return state.refreshCount >= 2 && state.status !== 'refreshing' ? state : undefined;
    },
    'two refreshes',
    40_000,
  );
  expect(refreshed.status).toBe('active');
  expect(Date.parse(refreshed.accessTokenExpiresAt!)).toBeGreaterThan(Date.now());
  const after = await tokens.findOne({ _id: first.connectionId as never });
  expect(after!.version).toBeGreaterThan(before!.version);
  const newAccess = await accessTokenOf(after!);
  expect(newAccess).not.toBe(firstAccess);
  const userinfo = await fetch(stack.sandbox!.endpoints('github').userinfo, {
    headers: { authorization: `Bearer ${newAccess}` },
  });
  expect(userinfo.status).toBe(200);

  // Asking for a token valid longer than it has left (all of them: they live 20 s) forces a refresh now.
  const fresh = await custody.executeUpdate(freshTokenUpdate, { args: [{ minValiditySeconds: 3600 }] });
  expect(fresh.tokenVersion).toBeGreaterThan(after!.version);

  // The person revokes CRA's access at the provider: the next refresh gets invalid_grant.
  expect(await stack.sandbox!.revokeAllFor('github', username)).toBeGreaterThan(0);
  const result = await custody.result();
  expect(result.status).toBe('reauth_required');
  const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token });
  expect(me.body.connected_providers.nodes.find((n) => n.provider === 'github')?.status).toBe('reauth_required');
  const notices = await noticesTo(stack, { to: `custody-${run}@example.com`, template: 'provider-reauth-required' });
  expect(notices).toHaveLength(1);
  const audit = await stack.deps.auditLog.list({ accountId: who.accountId });
  expect(audit.map((e) => e.action)).toContain('provider.reauth_required');
  // The history shows the refreshes that worked and exactly one failed refresh: no endless retries.
  const history = await custody.fetchHistory();
  const failed = history.events?.filter((e) => e.activityTaskFailedEventAttributes) ?? [];
  expect(failed).toHaveLength(1);
}, 90_000);
