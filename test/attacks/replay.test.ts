/**
 * Replays of signed requests, over real HTTP: an attacker who captured one signed request sends it again
 * (the same bytes, two copies at once, the header reordered, a fresh delivery id, a fresh timestamp), sends
 * an old one, or changes the body under the signature. Each is refused (401) or answered as the duplicate
 * it is, and starts nothing a second time: the Auth0 post-registration hook, agents' HTTP message
 * signatures (RFC 9421), and the GitHub and Slack webhooks.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { credentialPaths } from '../../activities/providers/resolve.js';
import { signatureHeader, signatureHeaderValue, signPayload } from '../../api/auth/hook-signature.js';
import { signRequest } from '../../api/auth/http-signatures.js';
import { githubSignature, slackSignature } from '../../api/auth/webhook-signatures.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import { insertExistingPerson } from '../support/account-documents.js';
import { call, hookSecrets, tokenFor, useTestStack, type JsonResponse, type ProblemBody } from '../support/stack.js';

const stack = useTestStack({
  workers: false,
  env: { RECOVERY_RATE_LIMIT_PER_IP: '1000', RECOVERY_RATE_LIMIT_PER_EMAIL: '1000' },
});

const tag = randomBytes(3).toString('hex');
const now = () => Math.floor(Date.now() / 1000);
type Answer = JsonResponse<ProblemBody & Record<string, unknown>>;

function expectInvalidSignature(res: Answer, what: string) {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(401);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'https://cra.dev/problems/invalid-signature', status: 401 });
}

/** How many times the signup workflow of `subject` was given details: each accepted hook call is one. */
async function detailSignals(subject: string): Promise<number> {
  try {
    const history = await stack.temporal.workflow.getHandle(`signup/${subject}`).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5) return 0;
    throw err;
  }
}

describe('the post-registration hook', () => {
  const hookPath = '/v1/hooks/auth0/post-registration';
  const registration = (subject: string) =>
    JSON.stringify({
      user: { user_id: subject, email: `${subject.split('|')[1]}@example.com`, email_verified: true },
      consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
    });
  const post = (body: string, signature: string): Promise<Answer> =>
    call(stack, 'POST', hookPath, {
      body,
      headers: { 'content-type': 'application/json', [signatureHeader]: signature },
    });

  it('accepts a signed request once; the same bytes again are refused and start nothing', async () => {
    const subject = `auth0|replay-hook-${tag}`;
    const body = registration(subject);
    const signature = signatureHeaderValue(hookSecrets[0], body);
    const first = await post(body, signature);
    expect(first.status).toBe(202);
    expectInvalidSignature(await post(body, signature), 'the same request again');
    // The same signature with the header's parts reordered or padded is the same request.
    const v1 = /v1=([0-9a-f]+)/.exec(signature)![1]!;
    const t = /t=(\d+)/.exec(signature)![1]!;
    expectInvalidSignature(await post(body, `v1=${'0'.repeat(64)},t=${t},v1=${v1}`), 'a reordered header');
    expect(await detailSignals(subject)).toBe(1);
  });

  it('two copies at once: one is accepted, the other refused', async () => {
    const subject = `auth0|replay-hook-twice-${tag}`;
    const body = registration(subject);
    const signature = signatureHeaderValue(hookSecrets[0], body);
    const answers = await Promise.all([post(body, signature), post(body, signature)]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 401]);
    expect(await detailSignals(subject)).toBe(1);
  });

  it('refuses a request signed outside the 300 s window, and a body changed under the signature', async () => {
    const subject = `auth0|replay-hook-old-${tag}`;
    const body = registration(subject);
    expectInvalidSignature(await post(body, signatureHeaderValue(hookSecrets[0], body, now() - 301)), 'an old one');
    const signature = signatureHeaderValue(hookSecrets[0], body);
    const other = registration(`auth0|replay-hook-other-${tag}`);
    expectInvalidSignature(await post(other, signature), 'another body');
    // The old signature moved to a fresh timestamp.
    const oldT = now() - 301;
    const oldSig = signPayload(hookSecrets[0], oldT, body);
    expectInvalidSignature(await post(body, `t=${now()},v1=${oldSig}`), 'an old signature with a fresh t');
    expect(await detailSignals(subject)).toBe(0);
  });
});

describe('agent HTTP message signatures', () => {
  interface Agent {
    agentId: string;
    privateKey: KeyObject;
    email: string;
  }

  async function agentOf(name: string): Promise<Agent> {
    const subject = `auth0|${name}-${tag}`;
    const email = `${name}-${tag}@example.com`;
    await insertExistingPerson(stack.db, {
      subject,
      accountId: accountIdForSubject(subject),
      email,
      at: new Date(Date.now() - 90 * 24 * 3600_000).toISOString(),
    });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' });
    const res = await call<{ agentId: string }>(stack, 'POST', '/v1/me/agents', {
      token: await tokenFor(stack, subject, { email }),
      json: { name: 'Assistant', publicKeyJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x } },
    });
    expect(res.status).toBe(201);
    return { agentId: res.body.agentId, privateKey, email };
  }

  const path = '/v1/agents/recoveries';
  function signedRequest(agent: Agent, body: string, created?: number) {
    return {
      'content-type': 'application/json',
      ...signRequest({
        method: 'POST',
        path,
        body,
        keyId: agent.agentId,
        privateKey: agent.privateKey,
        ...(created ? { created } : {}),
      }),
    };
  }
  const send = (headers: Record<string, string>, body: string): Promise<Answer> =>
    call(stack, 'POST', path, { headers, body });
  const recoveriesOf = (agent: Agent) =>
    stack.db.collection(collections.recoveries).countDocuments({ 'agent.agentId': agent.agentId });

  it('accepts a signed request once and refuses the same bytes again', async () => {
    const agent = await agentOf('replay-agent');
    const body = JSON.stringify({ email: agent.email });
    const headers = signedRequest(agent, body);
    expect((await send(headers, body)).status).toBe(202);
    const replay = await send(headers, body);
    expectInvalidSignature(replay, 'the replay');
    expect(replay.body.detail).toContain('replay');
    expect(await recoveriesOf(agent)).toBe(1);
  });

  it('two copies at once: one is accepted, the other refused', async () => {
    const agent = await agentOf('replay-agent-twice');
    const body = JSON.stringify({ email: agent.email });
    const headers = signedRequest(agent, body);
    const answers = await Promise.all([send(headers, body), send(headers, body)]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 401]);
    expect(await recoveriesOf(agent)).toBe(1);
  });

  it('refuses a signature older than the window, and a body changed under the signature', async () => {
    const agent = await agentOf('replay-agent-old');
    const body = JSON.stringify({ email: agent.email });
    const window = 300;
    expectInvalidSignature(await send(signedRequest(agent, body, now() - window - 5), body), 'an old signature');
    const headers = signedRequest(agent, body);
    const changed = JSON.stringify({ email: `someone-else-${tag}@example.com` });
    expectInvalidSignature(await send(headers, changed), 'another body');
    // The digest recomputed for the new body: the signature covers the digest, so it no longer verifies.
    const digest = `sha-256=:${createHash('sha256').update(changed).digest('base64')}:`;
    expectInvalidSignature(await send({ ...headers, 'content-digest': digest }, changed), 'a recomputed digest');
    expect(await recoveriesOf(agent)).toBe(0);
  });
});

describe('provider webhooks', () => {
  const secrets = { github: `gh-replay-${tag}-0123456789abcdef`, slack: `slack-replay-${tag}-0123456789abcdef` };
  async function storeSecrets() {
    for (const provider of ['github', 'slack'] as const)
      await stack.deps.vault.writeSecret(credentialPaths.real(provider), { webhookSecret: secrets[provider] });
  }
  const replaysAudited = async () =>
    (await stack.deps.auditLog.list()).filter(
      (e) => e.action === 'webhook.rejected' && (e.details as { reason?: string }).reason === 'replay',
    ).length;

  const github = (body: string, deliveryId: string): Promise<Answer> =>
    call(stack, 'POST', '/v1/webhooks/github', {
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': githubSignature(secrets.github, body),
      },
    });

  it('GitHub: the same delivery again is a duplicate; so is its body under a fresh delivery id', async () => {
    await storeSecrets();
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      head_commit: { id: randomBytes(20).toString('hex') },
      sender: { id: 424242, login: `replay-${tag}` },
    });
    const deliveryId = randomUUID();
    const first = await github(body, deliveryId);
    expect(first.status).toBe(202);
    const before = await replaysAudited();
    const again = await github(body, deliveryId);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true });
    // The delivery id is not signed: an attacker replays the signed body under an id of their own.
    const renamed = await github(body, randomUUID());
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ duplicate: true });
    expect(await replaysAudited()).toBe(before + 2);
  });

  it('Slack: the same event again is a duplicate; an old signature under a fresh timestamp is refused', async () => {
    await storeSecrets();
    const body = JSON.stringify({
      type: 'event_callback',
      team_id: 'T0REPLAY',
      event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
      event: { type: 'member_joined_channel', user: `U${tag}`, channel: 'C1' },
    });
    const t = now();
    const headers = {
      'content-type': 'application/json',
      'x-slack-request-timestamp': String(t),
      'x-slack-signature': slackSignature(secrets.slack, t, body),
    };
    expect((await call(stack, 'POST', '/v1/webhooks/slack', { body, headers })).status).toBe(202);
    const again = await call<Record<string, unknown>>(stack, 'POST', '/v1/webhooks/slack', { body, headers });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true });
    const old = now() - 301;
    const stale = await call<ProblemBody & Record<string, unknown>>(stack, 'POST', '/v1/webhooks/slack', {
      body,
      headers: {
        ...headers,
        'x-slack-request-timestamp': String(old),
        'x-slack-signature': slackSignature(secrets.slack, old, body),
      },
    });
    expectInvalidSignature(stale, 'a stale timestamp');
    const moved = await call<ProblemBody & Record<string, unknown>>(stack, 'POST', '/v1/webhooks/slack', {
      body,
      headers: { ...headers, 'x-slack-request-timestamp': String(now() + 1) },
    });
    expectInvalidSignature(moved, 'the signature under another timestamp');
  });
});
