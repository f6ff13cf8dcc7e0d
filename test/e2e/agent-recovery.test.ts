/**
 * AI agents over HTTP: a person registers an agent's Ed25519 key; the agent signs its requests (RFC 9421).
 * Good signatures pass once; replayed, expired, wrongly keyed, tampered, revoked or missing ones get 401.
 * A recovery the agent starts is flagged `ai_agent` and does not complete without human approvals.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signRequest } from '../../api/auth/http-signatures.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { insertExistingPerson } from '../support/account-documents.js';
import { noticesTo } from '../support/outbox.js';
import { searchAttributes } from '../../temporal.config.js';
import { call, eventually, useTestStack, tokenFor, type JsonResponse } from '../support/stack.js';

const stack = useTestStack({
  env: {
    RECOVERY_COOLING_PERIOD: '2s',
    RECOVERY_NOTICE_INTERVAL: '1 hour',
    RECOVERY_RATE_LIMIT_PER_IP: '1000',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
    TRUSTED_PROXY_HOPS: '1',
  },
});

interface Person {
  subject: string;
  accountId: string;
  email: string;
  token: string;
  backupCodes: string[];
}

async function person(name: string): Promise<Person> {
  const subject = `auth0|${name}`;
  const accountId = accountIdForSubject(subject);
  const email = `${name}@example.com`;
  const at = new Date(Date.now() - 90 * 24 * 3600_000).toISOString();
  await insertExistingPerson(stack.db, { subject, accountId, email, at });
  const token = await tokenFor(stack, subject, { email });
  const backup = await call<{ codes: string[] }>(stack, 'POST', '/v1/me/recovery-factors/backup-codes', {
    token,
    headers: { 'x-forwarded-for': '198.19.1.1' },
  });
  expect(backup.status).toBe(201);
  return { subject, accountId, email, token, backupCodes: backup.body.codes };
}

interface Agent {
  agentId: string;
  privateKey: KeyObject;
}

async function registerAgent(owner: Person, name = 'Travel assistant'): Promise<Agent> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const res = await call<{ agentId: string }>(stack, 'POST', '/v1/me/agents', {
    token: owner.token,
    json: { name, publicKeyJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x } },
  });
  expect(res.status).toBe(201);
  return { agentId: res.body.agentId, privateKey };
}

/** A request the agent signs; `tamper` changes it after signing. */
async function signed<T = Record<string, unknown>>(
  agent: Agent,
  method: string,
  path: string,
  json: unknown,
  opts: {
    created?: number;
    privateKey?: KeyObject;
    headers?: Record<string, string>;
    tamper?: (body: string) => string;
  } = {},
): Promise<JsonResponse<T> & { sent: { body: string; headers: Record<string, string> } }> {
  const body = json === undefined ? '' : JSON.stringify(json);
  const signature = signRequest({
    method,
    path,
    body,
    keyId: agent.agentId,
    privateKey: opts.privateKey ?? agent.privateKey,
    ...(opts.created ? { created: opts.created } : {}),
  });
  const headers = {
    ...signature,
    'x-forwarded-for': '198.19.2.1',
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...opts.headers,
  };
  const sentBody = opts.tamper ? opts.tamper(body) : body;
  const res = await call<T>(stack, method, path, { headers, ...(sentBody ? { body: sentBody } : {}) });
  return { ...res, sent: { body: sentBody, headers } };
}

describe('agent keys', () => {
  it('are registered by a signed-in person, as Ed25519 JWKs only', async () => {
    const owner = await person('key-owner');
    expect(
      (
        await call(stack, 'POST', '/v1/me/agents', {
          json: { name: 'x', publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } },
        })
      ).status,
    ).toBe(401);
    const rsa = await call(stack, 'POST', '/v1/me/agents', {
      token: owner.token,
      json: { name: 'x', publicKeyJwk: { kty: 'RSA', n: 'abc', e: 'AQAB' } },
    });
    expect(rsa.status).toBe(400);
    const short = await call(stack, 'POST', '/v1/me/agents', {
      token: owner.token,
      json: { name: 'x', publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' } },
    });
    expect(short.status).toBe(400);
    const agent = await registerAgent(owner);
    expect(agent.agentId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('agent signatures', () => {
  it('accept a good signature once and refuse its replay', async () => {
    const owner = await person('sig-good');
    const agent = await registerAgent(owner);
    const first = await signed<{ recoveryId: string }>(agent, 'POST', '/v1/agents/recoveries', { email: owner.email });
    expect(first.status).toBe(202);
    const replay = await call(stack, 'POST', '/v1/agents/recoveries', {
      headers: first.sent.headers,
      body: first.sent.body,
    });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({
      type: expect.stringContaining('invalid-signature'),
      detail: expect.stringContaining('replay'),
    });
  });

  it.each([
    ['an expired signature', { created: Math.floor(Date.now() / 1000) - 6 * 60 }, 'created more than 300 s ago'],
    ['a signature by another key', { privateKey: generateKeyPairSync('ed25519').privateKey }, 'does not verify'],
    ['a tampered body', { tamper: (b: string) => b.replace('@', '+evil@') }, 'Content-Digest'],
  ] as const)('refuse %s with 401', async (_what, opts, reason) => {
    const owner = await person(`sig-bad-${randomUUID().slice(0, 8)}`);
    const agent = await registerAgent(owner);
    const res = await signed(agent, 'POST', '/v1/agents/recoveries', { email: owner.email }, opts);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Signature');
    expect(res.body).toMatchObject({ detail: expect.stringContaining(reason) });
  });

  it('refuse unsigned agent requests, unknown keys and revoked agents', async () => {
    const owner = await person('sig-missing');
    const agent = await registerAgent(owner);
    const unsigned = await call(stack, 'POST', '/v1/agents/recoveries', { json: { email: owner.email } });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatchObject({ detail: expect.stringContaining('not signed') });
    const stranger = await signed(agent, 'POST', '/v1/agents/recoveries', { email: owner.email }, {});
    expect(stranger.status).toBe(202);
    const unknownKey = await signed(
      { agentId: randomUUID(), privateKey: agent.privateKey },
      'POST',
      '/v1/agents/recoveries',
      { email: owner.email },
    );
    expect(unknownKey.status).toBe(401);
    expect((await call(stack, 'DELETE', `/v1/me/agents/${agent.agentId}`, { token: owner.token })).status).toBe(204);
    const revoked = await signed(agent, 'POST', '/v1/agents/recoveries', { email: owner.email });
    expect(revoked.status).toBe(401);
    // A signature on a public recovery route must hold too.
    const badOnPublic = await signed(agent, 'POST', '/v1/recoveries', { email: owner.email });
    expect(badOnPublic.status).toBe(401);
  });
});

describe('agent-started recovery', () => {
  it('is flagged ai_agent, needs two human approvals, and waits for them after the cooling period', async () => {
    const owner = await person('agent-recovery');
    const agent = await registerAgent(owner, 'Personal assistant');
    const started = await signed<{ recoveryId: string; recoveryToken: string }>(
      agent,
      'POST',
      '/v1/agents/recoveries',
      { email: owner.email },
    );
    expect(started.status).toBe(202);
    const { recoveryId, recoveryToken } = started.body;
    const base = `/v1/recoveries/${recoveryId}`;
    const tokenHeader = { 'x-recovery-token': recoveryToken };

    // The agent carries on, signing each request; the requester sees two approvals needed already.
    const publicStatus = await signed<{ stage: string; approvalsNeeded: number }>(agent, 'GET', base, undefined, {
      headers: tokenHeader,
    });
    expect(publicStatus.body).toMatchObject({ stage: 'verifying', approvalsNeeded: 2 });
    const challenge = await signed<{ challengeId: string }>(
      agent,
      'POST',
      `${base}/challenges`,
      { factor: 'email_code' },
      { headers: tokenHeader },
    );
    expect(challenge.status).toBe(202);
    const notice = await eventually(
      async () => (await noticesTo(stack, { to: owner.email, template: 'recovery-code' }))[0],
      'the code',
    );
    const email = await signed<{ accepted: boolean }>(
      agent,
      'POST',
      `${base}/factors`,
      { factor: 'email_code', code: String(notice.data?.code) },
      { headers: tokenHeader },
    );
    expect(email.body.accepted).toBe(true);
    const badSignature = await signed(
      agent,
      'POST',
      `${base}/factors`,
      { factor: 'backup_code', code: owner.backupCodes[0] },
      { headers: tokenHeader, tamper: (b) => `${b} ` },
    );
    expect(badSignature.status).toBe(401);
    const backup = await signed<{ accepted: boolean }>(
      agent,
      'POST',
      `${base}/factors`,
      { factor: 'backup_code', code: owner.backupCodes[0] },
      { headers: tokenHeader },
    );
    expect(backup.body.accepted).toBe(true);
    const doc = await call<{ remaining: number }>(
      stack,
      'POST',
      `/v1/support/recoveries/${recoveryId}/document-check`,
      {
        token: await tokenFor(stack, 'auth0|support-docs', { permissions: ['recovery:approve'] }),
        json: { verified: true, reason: 'passport and video call' },
      },
    );
    expect(doc.body.remaining).toBe(0);

    const support = await tokenFor(stack, 'auth0|support-lead', { permissions: ['support:read', 'recovery:approve'] });
    const view = await call<{
      requestedVia: unknown;
      riskFlags: Array<{ flag: string; evidence: Record<string, unknown> }>;
      approvalsRequired: number;
    }>(stack, 'GET', `/v1/support/recoveries/${recoveryId}`, { token: support });
    expect(view.body.requestedVia).toEqual({ kind: 'agent', agentId: agent.agentId });
    expect(view.body.approvalsRequired).toBe(2);
    expect(view.body.riskFlags.find((f) => f.flag === 'ai_agent')?.evidence).toEqual({
      agentId: agent.agentId,
      agentName: 'Personal assistant',
      agentRegisteredBySameAccount: true,
    });

    const stageOf = async () =>
      (await call<{ stage: string; approvalsNeeded: number }>(stack, 'GET', base, { headers: tokenHeader })).body;
    await eventually(
      async () => ((await stageOf()).stage === 'awaiting_approval' ? true : undefined),
      'the end of the cooling period',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stageOf()).toMatchObject({ stage: 'awaiting_approval', approvalsNeeded: 2 });
    expect(
      (await stack.temporal.workflow.getHandle(`recovery/${recoveryId}`).describe()).typedSearchAttributes.get(
        searchAttributes.needsApproval,
      ),
    ).toBe(true);
    for (const who of ['auth0|support-one', 'auth0|support-two']) {
      const res = await call(stack, 'POST', `/v1/support/recoveries/${recoveryId}/decision`, {
        token: await tokenFor(stack, who, { permissions: ['recovery:approve'] }),
        json: { decision: 'approve', reason: 'owner confirmed by phone call' },
      });
      expect(res.status).toBe(200);
    }
    await eventually(async () => ((await stageOf()).stage === 'completed' ? true : undefined), 'the reset');
  });
});
