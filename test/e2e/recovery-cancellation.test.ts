/**
 * A recovery cancelled through Temporal (an operator in Temporal Web, or a process that stops it) while its
 * activity is redeeming a provider sign-in: the sandbox's token endpoint is held by a small gate in front
 * of it, so the exchange is under way when `handle.cancel()` arrives. What is checked is what an operator
 * and the owner see: the run Cancelled with `CraStage = cancelled`, the audit trail, the request closed as
 * cancelled (its cancel link then says so), and no provider secret left on its challenges.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../activities/audit/audit-log.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { collections } from '../../domain/collections.js';
import { workflowIds } from '../../domain/ids.js';
import { recoveryStatusQuery } from '../../workflows/recovery/messages.js';
import { openedAccount } from '../support/account-documents.js';
import { linkThroughSandbox, signedUp } from '../support/accounts.js';
import { expectEndedCancelled } from '../support/cancellation.js';
import { call, eventually, useTestStack } from '../support/stack.js';

let gate: Server;
/** While true, token requests wait in `held` until the test lets them through. */
let holding = false;
const held: Array<() => void> = [];

/** Pass a token request on to the sandbox, as it came. */
async function forward(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
  const upstream = await fetch(stack.sandbox!.endpoints('github').token, {
    method: 'POST',
    headers: {
      'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body,
  });
  res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
  res.end(await upstream.text());
}

// Registered before the stack, so it runs after the stack has stopped (afterAll hooks run in reverse).
afterAll(async () => {
  await new Promise((resolve) => gate?.close(resolve));
});
// The gate comes first: its address goes into the stack's environment.
const stack = useTestStack(async () => {
  gate = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = () =>
        void forward(req, res, Buffer.concat(chunks).toString('utf8')).catch(() => {
          res.writeHead(502);
          res.end();
        });
      if (holding) held.push(send);
      else send();
    });
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  return {
    sandbox: true,
    env: {
      PROVIDER_GITHUB_TOKEN_URL: `http://127.0.0.1:${(gate.address() as AddressInfo).port}/github/token`,
      RECOVERY_CODE_TTL: '1 minute',
      RECOVERY_RATE_LIMIT_PER_IP: '1000',
      RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
    },
  };
});
afterAll(() => {
  holding = false;
  for (const send of held.splice(0)) send();
});

const auditOf = (accountId: string) =>
  stack.db.collection<AuditEvent>(collections.auditEvents).find({ accountId }).sort({ seq: 1 }).toArray();

describe('a recovery cancelled through Temporal', () => {
  it('ends as cancelled while its provider sign-in is being redeemed: stage, audit, closed request, nothing left held', async () => {
    const who = await signedUp(stack, 'auth0|cancel-mid-redeem');
    expect((await linkThroughSandbox(stack, who, 'github', 'cancel-mid-redeem-gh')).answer.body.status).toBe('linked');
    const account = await openedAccount(stack, who.accountId);
    const email = String(account!.rootIdentity.email);

    const started = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
      json: { email },
    });
    expect(started.status).toBe(202);
    const { recoveryId, recoveryToken } = started.body;
    const headers = { 'x-recovery-token': recoveryToken };
    const challenge = await call<{ challengeId: string; authorizationUrl: string }>(
      stack,
      'POST',
      `/v1/recoveries/${recoveryId}/challenges`,
      {
        json: { factor: 'provider_reauth', provider: 'github' },
        headers,
      },
    );
    expect(challenge.status).toBe(202);
    const back = await completeConsent(challenge.body.authorizationUrl, { username: 'cancel-mid-redeem-gh' });

    // The provider's answer arrives; the activity's code exchange waits at the gate.
    holding = true;
    const answer = call(stack, 'GET', `${back.pathname}${back.search}`, { headers: { accept: 'application/json' } });
    const handle = stack.temporal.workflow.getHandle(workflowIds.recovery(recoveryId));
    await eventually(async () => (held.length > 0 ? true : undefined), 'the code exchange at the provider');
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    expect(pending.map((a) => a.activityType?.name)).toContain('redeemProviderAnswer');

    await handle.cancel();
    await expectEndedCancelled(handle);
    expect((await handle.query(recoveryStatusQuery)).stage).toBe('cancelled');

    // The person at the callback hears the recovery took no answer; nothing counted.
    const answered = await answer;
    expect(answered.status).toBe(409);
    expect(answered.headers.get('content-type')).toContain('application/problem+json');

    // The audit trail says who stopped it and where, and that it closed.
    const events = await eventually(async () => {
      const all = await auditOf(who.accountId);
      return all.some((e) => e.action === 'recovery.closed' && e.details?.recoveryId === recoveryId)
        ? all.filter((e) => e.details?.recoveryId === recoveryId)
        : undefined;
    }, 'the closing audit event');
    const actions = events.map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'recovery.started',
        'recovery.challenge_issued',
        'recovery.cancelled',
        'recovery.closed',
      ]),
    );
    expect(actions).not.toContain('recovery.factor_accepted');
    expect(events.find((e) => e.action === 'recovery.cancelled')?.details).toMatchObject({
      by: 'operator',
      stage: 'verifying',
    });
    expect(events.find((e) => e.action === 'recovery.closed')?.details).toMatchObject({ outcome: 'cancelled' });
    expect(actions.indexOf('recovery.cancelled')).toBeLessThan(actions.indexOf('recovery.closed'));

    // The request is closed as cancelled, and its challenges hold no verifier, nonce, code or URL.
    const request = await stack.db.collection(collections.recoveries).findOne({ _id: recoveryId as never });
    expect(request).toMatchObject({ outcome: 'cancelled', closedAt: expect.any(String) });
    const challengeDoc = await stack.db
      .collection(collections.recoveryChallenges)
      .findOne({ _id: challenge.body.challengeId as never });
    expect(challengeDoc).toMatchObject({
      codeVerifierCiphertext: null,
      nonce: null,
      codeCiphertext: null,
      authorizationUrlCiphertext: null,
    });
    const status = await call<{ stage: string; satisfied: string[] }>(stack, 'GET', `/v1/recoveries/${recoveryId}`, {
      headers,
    });
    expect(status.body).toMatchObject({ stage: 'cancelled', satisfied: [] });

    // The held exchange goes on to the provider once let through; the cancelled recovery takes nothing from it.
    holding = false;
    for (const send of held.splice(0)) send();
  });
});
