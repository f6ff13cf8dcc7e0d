/**
 * Revocation at each provider, end to end: the real API over HTTP, the disconnect workflow on the Temporal
 * dev server, and the sandbox playing each provider's own revocation endpoint (its path, method, client
 * authentication and answers), so CRA's per-provider revocation code runs as against the real one. Where a
 * provider has no revocation (Spotify, Microsoft, Amazon), the preview and the result say the grant stays there.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { openProviderToken, providerTokens } from '../../activities/providers/stores.js';
import type { AccountCenter, ConnectedProviderNode } from '../../domain/account-center.js';
import type { DisconnectResult } from '../../workflows/disconnect/messages.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack } from '../support/stack.js';

const run = randomBytes(3).toString('hex');

const stack = useTestStack({
  sandbox: true,
  env: Object.fromEntries(
    ['x', 'discord', 'amazon', 'spotify', 'slack', 'reddit'].map((p) => [`ENABLE_${p.toUpperCase()}_LOGIN`, 'true']),
  ),
});

interface Preview {
  featuresLost: string[];
  revocation: 'at_provider' | 'not_supported';
  grantNotice?: string;
  grantSettingsUrl?: string;
}

const me = async (who: SignedUp) => (await call<AccountCenter>(stack, 'GET', '/v1/me', { token: who.token })).body;

/** Link through the sandbox's consent page (a few records per kind) and wait for the first sync, if any. */
async function link(who: SignedUp, provider: string, username: string): Promise<ConnectedProviderNode> {
  for (const kind of stack.sandbox!.data.kinds(provider)) stack.sandbox!.data.setCount(provider, username, kind, 2);
  const { answer } = await linkThroughSandbox(stack, who, provider, username);
  expect(answer.body).toMatchObject({ status: 'linked' });
  await stack.temporal.workflow
    .getHandle(`sync/${who.accountId}/${provider}`)
    .result()
    .catch((err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    });
  return (await me(who)).connected_providers.nodes.find((n) => n.provider === provider)!;
}

/** The connection's access token, as the sandbox issued it (read before the disconnect deletes it). */
async function accessTokenOf(node: ConnectedProviderNode): Promise<string> {
  const stored = await providerTokens(stack.db).findOne({ _id: node.connectionId as never });
  return openProviderToken(stack.deps.accountKeys, stack.deps.vault, stored!, 'access', stored!.accessTokenCiphertext);
}

async function disconnect(who: SignedUp, provider: string): Promise<DisconnectResult> {
  const res = await call<{ workflowId: string }>(stack, 'DELETE', `/v1/me/providers/${provider}`, {
    token: who.token,
    json: { retention: 'delete' },
  });
  expect(res.status).toBe(202);
  return (await stack.temporal.workflow.getHandle(res.body.workflowId).result()) as DisconnectResult;
}

const basic = 'client_secret_basic';
const post = 'client_secret_post';
/** What each provider's documentation says the revocation call is; the sandbox checks the same. */
const revoking = [
  {
    provider: 'github',
    method: 'DELETE',
    path: '/github/applications/cra-github/grant',
    clientAuth: basic,
    tokenIn: 'body',
    status: 204,
  },
  {
    provider: 'slack',
    method: 'POST',
    path: '/slack/api/auth.revoke',
    clientAuth: 'none',
    tokenIn: 'bearer',
    status: 200,
  },
  {
    provider: 'facebook',
    method: 'DELETE',
    path: '/facebook/v19.0/me/permissions',
    clientAuth: 'none',
    tokenIn: 'bearer',
    status: 200,
  },
  { provider: 'google', method: 'POST', path: '/google/revoke', clientAuth: 'none', tokenIn: 'body', status: 200 },
  {
    provider: 'reddit',
    method: 'POST',
    path: '/reddit/api/v1/revoke_token',
    clientAuth: basic,
    tokenIn: 'body',
    status: 204,
  },
  { provider: 'x', method: 'POST', path: '/x/2/oauth2/revoke', clientAuth: basic, tokenIn: 'body', status: 200 },
  {
    provider: 'discord',
    method: 'POST',
    path: '/discord/api/oauth2/token/revoke',
    clientAuth: basic,
    tokenIn: 'body',
    status: 200,
  },
  {
    provider: 'linkedin',
    method: 'POST',
    path: '/linkedin/oauth/v2/revoke',
    clientAuth: post,
    tokenIn: 'body',
    status: 200,
  },
  { provider: 'apple', method: 'POST', path: '/apple/auth/revoke', clientAuth: post, tokenIn: 'body', status: 200 },
] as const;

describe('revocation at each provider', () => {
  for (const expected of revoking) {
    it(`${expected.provider}: the disconnect revokes the grant with ${expected.method} ${expected.path} (${expected.clientAuth}), and the token stops working there`, async () => {
      const { provider } = expected;
      const username = `rev-${provider}-${run}`;
      const who = await signedUp(stack, `auth0|rev-${provider}-${run}`);
      const node = await link(who, provider, username);
      const accessToken = await accessTokenOf(node);

      const preview = await call<Preview>(stack, 'GET', `/v1/me/providers/${provider}/disconnect-preview`, {
        token: who.token,
      });
      expect(preview.body.revocation).toBe('at_provider');
      expect(preview.body.grantNotice).toBeUndefined();

      const before = stack.sandbox!.revocations().length;
      const result = await disconnect(who, provider);
      expect(result).toMatchObject({ status: 'disconnected', revokedAtProvider: true });
      expect(result.grantNotice).toBeUndefined();

      const calls = stack.sandbox!.revocations().slice(before);
      expect(calls).toEqual([
        {
          provider,
          method: expected.method,
          path: expected.path,
          clientAuth: expected.clientAuth,
          tokenIn: expected.tokenIn,
          revoked: true,
          status: expected.status,
        },
      ]);
      const userinfo = await fetch(stack.sandbox!.endpoints(provider).userinfo, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(userinfo.status).toBe(401);
      expect(await providerTokens(stack.db).countDocuments({ _id: node.connectionId as never })).toBe(0);
    });
  }

  it('a grant the person already removed at the provider counts as revoked (each provider\'s own "not found")', async () => {
    // GitHub 404, Slack 200 invalid_auth, Google 400 invalid_token, Facebook 400 OAuthException 190, Reddit 204.
    const gone = { github: 404, slack: 200, google: 400, facebook: 400, reddit: 204 } as const;
    for (const provider of Object.keys(gone) as Array<keyof typeof gone>) {
      const username = `gone-${provider}-${run}`;
      const who = await signedUp(stack, `auth0|gone-${provider}-${run}`);
      await link(who, provider, username);
      expect(await stack.sandbox!.revokeAllFor(provider, username)).toBe(1);

      const before = stack.sandbox!.revocations().length;
      const result = await disconnect(who, provider);
      expect(result).toMatchObject({ status: 'disconnected', revokedAtProvider: true });
      expect(stack.sandbox!.revocations().slice(before)).toEqual([
        expect.objectContaining({ provider, revoked: false, status: gone[provider] }),
      ]);
      expect((await me(who)).connected_providers.nodes).toEqual([]);
    }
  });

  for (const [provider, name, settingsUrl] of [
    ['spotify', 'Spotify', 'https://www.spotify.com/account/apps/'],
    ['microsoft', 'Microsoft', 'https://account.live.com/consent/Manage'],
    ['amazon', 'Amazon', 'https://www.amazon.com/ap/adam'],
  ] as const) {
    it(`${provider}: no revocation there; the preview and the result say the grant stays at ${name}, with its settings page`, async () => {
      const username = `stays-${provider}-${run}`;
      const who = await signedUp(stack, `auth0|stays-${provider}-${run}`);
      const node = await link(who, provider, username);
      const notice = `The grant stays at ${name} until you remove it there: ${settingsUrl}.`;

      const preview = await call<Preview>(stack, 'GET', `/v1/me/providers/${provider}/disconnect-preview`, {
        token: who.token,
      });
      expect(preview.status).toBe(200);
      expect(preview.body).toMatchObject({
        revocation: 'not_supported',
        grantNotice: notice,
        grantSettingsUrl: settingsUrl,
      });
      expect(preview.body.featuresLost).toContain(
        `token refresh: CRA's access to ${name} ends; the grant stays at ${name} until you remove it there`,
      );

      const before = stack.sandbox!.revocations().length;
      const result = await disconnect(who, provider);
      expect(result).toMatchObject({
        status: 'disconnected',
        revokedAtProvider: false,
        grantNotice: notice,
        grantSettingsUrl: settingsUrl,
        detail: `${name} is disconnected. ${notice}`,
      });
      // Nothing was sent to the provider; the tokens are gone here all the same.
      expect(stack.sandbox!.revocations().slice(before)).toEqual([]);
      expect(await providerTokens(stack.db).countDocuments({ _id: node.connectionId as never })).toBe(0);
    });
  }

  it('token requests authenticate the client as each provider requires: HTTP Basic at Reddit and X, the form elsewhere', async () => {
    for (const [provider, clientAuth] of [
      ['reddit', 'client_secret_basic'],
      ['x', 'client_secret_basic'],
      ['github', 'client_secret_post'],
      ['discord', 'client_secret_post'],
    ] as const) {
      const before = stack.sandbox!.tokenRequests().length;
      const who = await signedUp(stack, `auth0|auth-${provider}-${run}`);
      await link(who, provider, `auth-${provider}-${run}`);
      const requests = stack.sandbox!.tokenRequests().slice(before);
      expect(requests.length).toBeGreaterThan(0);
      expect(requests).toEqual(requests.map(() => ({ provider, clientAuth })));
    }
    // Reddit refuses a secret in the form, as its documentation says it takes Basic only.
    const refused = await fetch(stack.sandbox!.endpoints('reddit').token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'whatever',
        client_id: 'cra-reddit',
        client_secret: 'cra-reddit-sandbox-secret',
      }),
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('GET /v1/providers says per provider whether revocation happens there, and where to remove a grant that stays', async () => {
    const who = await signedUp(stack, `auth0|catalog-${run}`);
    const res = await call<{ providers: Array<{ id: string; revocation: string; grantSettingsUrl?: string }> }>(
      stack,
      'GET',
      '/v1/providers',
      { token: who.token },
    );
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.providers.map((p) => [p.id, p]));
    for (const { provider } of revoking) expect(byId[provider]?.revocation).toBe('at_provider');
    expect(byId.spotify).toMatchObject({
      revocation: 'not_supported',
      grantSettingsUrl: 'https://www.spotify.com/account/apps/',
    });
    expect(byId.microsoft).toMatchObject({
      revocation: 'not_supported',
      grantSettingsUrl: expect.stringMatching(/^https:\/\//),
    });
    expect(byId.amazon).toMatchObject({
      revocation: 'not_supported',
      grantSettingsUrl: 'https://www.amazon.com/ap/adam',
    });
  });
});
