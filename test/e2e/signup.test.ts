/**
 * Signup end to end: real HTTP into the API, the real workers on the Temporal dev server, FerretDB.
 */
import { describe, expect, it } from 'vitest';
import { signatureHeaderValue } from '../../api/auth/hook-signature.js';
import type { AccountCenter } from '../../domain/account-center.js';
import { accountCenterSchema } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { call, eventually, hookSecrets, useTestStack, tokenFor } from '../support/stack.js';
import { noticesTo } from '../support/outbox.js';
import { decodedPayloads } from '../support/history.js';

const stack = useTestStack();

const signupBody = {
  givenName: 'Ada',
  familyName: 'Lovelace',
  consents: [
    { purpose: 'terms', version: '2026-11', granted: true },
    { purpose: 'marketing', version: '2026-11', granted: false },
  ],
};

async function completed(workflowId: string, token: string) {
  return eventually(async () => {
    const res = await call<{ status: string; stage: string }>(
      stack,
      'GET',
      `/v1/workflows/${encodeURIComponent(workflowId)}`,
      { token },
    );
    return res.body.status === 'completed' ? res.body : undefined;
  }, `${workflowId} to complete`);
}

describe('POST /v1/signup', () => {
  it('creates one account, however many times it is called', async () => {
    const subject = 'auth0|ada-twice';
    const token = await tokenFor(stack, subject, { email: 'ada@example.com' });

    const before = await call(stack, 'GET', '/v1/me', { token });
    expect(before.status).toBe(404);
    expect(before.headers.get('content-type')).toContain('application/problem+json');
    expect(before.body).toMatchObject({ status: 404, type: expect.stringContaining('account-not-found') });

    const first = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: signupBody,
    });
    expect(first.status).toBe(202);
    expect(first.body.workflowId).toBe(`signup/${subject}`);
    const second = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: signupBody,
    });
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);

    const status = await completed(first.body.workflowId, token);
    expect(status).toMatchObject({ process: 'signup', stage: 'completed' });
    // A third call after completion runs again and still finds the same account.
    const third = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: signupBody,
    });
    expect(third.body).toEqual(first.body);
    await completed(first.body.workflowId, token);

    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token });
    expect(me.status).toBe(200);
    expect(accountCenterSchema.safeParse(me.body).success).toBe(true);
    expect(me.body).toMatchObject({
      accountId: first.body.accountId,
      rootIdentity: { subject, email: 'ada@example.com', emailVerified: true, directory: 'embedded' },
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      roles: ['member'],
      status: 'active',
    });
    expect(me.body.consents.map((c) => [c.purpose, c.version, c.granted])).toEqual([
      ['terms', '2026-11', true],
      ['marketing', '2026-11', false],
    ]);

    expect(await stack.db.collection(collections.accounts).countDocuments({ 'rootIdentity.subject': subject })).toBe(1);
    const identity = await stack.db.collection(collections.identityUsers).findOne({ _id: subject as never });
    expect(identity?.app_metadata).toEqual({ cra_account_id: first.body.accountId });

    const notices = await noticesTo(stack, { to: 'ada@example.com' });
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      template: 'welcome',
      channel: 'email',
      subject: 'Welcome to your account center',
    });

    const audit = await stack.deps.auditLog.list({ accountId: first.body.accountId });
    expect(audit.map((e) => e.action)).toEqual([
      'account.created',
      'role.assigned',
      'consent.granted',
      'consent.refused',
      'notice.queued',
    ]);
    expect(await stack.deps.auditLog.verify()).toMatchObject({ ok: true });
  });

  it('lets Temporal Web find every signup by its search attributes', async () => {
    const subject = 'auth0|searchable';
    const token = await tokenFor(stack, subject);
    const { body } = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: signupBody,
    });
    await completed(body.workflowId, token);
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of stack.temporal.workflow.list({
        query: `CraProcess = "signup" AND CraAccountId = "${body.accountId}" AND CraStage = "completed"`,
      }))
        ids.push(wf.workflowId);
      return ids.length > 0 ? ids : undefined;
    }, 'the visibility store to index the signup');
    expect(found).toContain(body.workflowId);
  });

  it('meets the Auth0 post-registration hook on the same account', async () => {
    const subject = 'auth0|hook-and-api';
    const hookBody = JSON.stringify({
      user: {
        user_id: subject,
        email: 'grace@example.com',
        email_verified: true,
        given_name: 'Grace',
        family_name: 'Hopper',
      },
      consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
    });
    const token = await tokenFor(stack, subject);
    const [viaHook, viaApi] = await Promise.all([
      call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/hooks/auth0/post-registration', {
        body: hookBody,
        headers: {
          'content-type': 'application/json',
          'CRA-Signature': signatureHeaderValue(hookSecrets[0], hookBody),
        },
      }),
      call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
        token,
        json: {
          givenName: 'Grace',
          familyName: 'Hopper',
          consents: [{ purpose: 'analytics', version: '2026-11', granted: true }],
        },
      }),
    ]);
    expect(viaHook.status).toBe(202);
    expect(viaApi.status).toBe(202);
    expect(viaHook.body).toEqual(viaApi.body);
    await completed(viaApi.body.workflowId, token);
    // Both requests' consents end up on the one account, whichever run recorded them.
    const me = await eventually(async () => {
      const res = await call<AccountCenter>(stack, 'GET', '/v1/me', { token });
      return res.status === 200 && res.body.consents.length === 2 ? res.body : undefined;
    }, 'both consents');
    expect(me.rootIdentity.email).toBe('grace@example.com');
    expect(me.consents.map((c) => c.purpose).sort()).toEqual(['analytics', 'terms']);
    expect(await stack.db.collection(collections.accounts).countDocuments({ 'rootIdentity.subject': subject })).toBe(1);
  });
});

describe('GET /v1/workflows/{workflowId}', () => {
  it('answers the owner, hides it from others, and lets support read', async () => {
    const owner = await tokenFor(stack, 'auth0|owner');
    const { body } = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
      token: owner,
      json: signupBody,
    });
    await completed(body.workflowId, owner);
    const path = `/v1/workflows/${encodeURIComponent(body.workflowId)}`;

    const stranger = await call(stack, 'GET', path, { token: await tokenFor(stack, 'auth0|stranger') });
    expect(stranger.status).toBe(404);
    expect(stranger.body).toMatchObject({ status: 404, type: expect.stringContaining('workflow-not-found') });

    const support = await call(stack, 'GET', path, {
      token: await tokenFor(stack, 'auth0|agent', { permissions: ['support:read'] }),
    });
    expect(support.status).toBe(200);
    expect(support.body).toEqual({
      workflowId: body.workflowId,
      process: 'signup',
      status: 'completed',
      stage: 'completed',
    });

    const missing = await call(stack, 'GET', `/v1/workflows/${encodeURIComponent('signup/auth0|nobody')}`, {
      token: owner,
    });
    expect(missing.status).toBe(404);
  });
});

describe('signing up while the account is being erased', () => {
  it('is refused (409 erasure-in-progress) and writes nothing; once the erasure is cancelled it works again', async () => {
    const subject = 'auth0|signup-while-erasing';
    const token = await tokenFor(stack, subject, { email: 'leaving@example.com' });
    const { body } = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', { token, json: signupBody });
    await completed(body.workflowId, token);
    const asked = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/erasure', { token });
    expect(asked.status).toBe(202);
    const runsBefore = (await stack.temporal.workflow.getHandle(body.workflowId).describe()).runId;

    const refused = await call<{ type: string; detail: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: { ...signupBody, givenName: 'Changed' },
    });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.type).toMatch(/erasure-in-progress$/);
    expect(refused.body.detail).toContain('being erased');
    // No new signup run, and the account is as it was.
    expect((await stack.temporal.workflow.getHandle(body.workflowId).describe()).runId).toBe(runsBefore);
    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token });
    expect(me.body).toMatchObject({ status: 'pending_deletion', profile: { givenName: 'Ada' } });

    expect((await call(stack, 'DELETE', '/v1/me/erasure', { token })).status).toBeLessThan(300);
    await eventually(async () => {
      const again = await call(stack, 'POST', '/v1/signup', { token, json: signupBody });
      return again.status === 202 ? true : undefined;
    }, 'signup to be accepted after the cancel');
  });
});

describe('secrets', () => {
  it('keeps the address and the names out of the history: sealed, while the account and the welcome have them', async () => {
    const subject = 'auth0|personal-scan';
    const email = 'grace.personal@example.com';
    const names = { givenName: 'Gracehopperine', familyName: 'Personalscan' };
    const token = await tokenFor(stack, subject, { email });
    // The Auth0 hook and the API both sign the person up, each with what it knows.
    const hookBody = JSON.stringify({ user: { user_id: subject, email } });
    await call(stack, 'POST', '/v1/hooks/auth0/post-registration', {
      body: hookBody,
      headers: { 'content-type': 'application/json', 'CRA-Signature': signatureHeaderValue(hookSecrets[0], hookBody) },
    });
    const { body } = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: { ...signupBody, ...names },
    });
    await completed(body.workflowId, token);

    const me = await call<AccountCenter>(stack, 'GET', '/v1/me', { token });
    expect(me.body).toMatchObject({ rootIdentity: { email }, profile: names });
    const [welcome] = await noticesTo(stack, { to: email, template: 'welcome' });
    expect(JSON.stringify(welcome)).toContain(names.givenName);

    const history = await stack.temporal.workflow.getHandle(body.workflowId).fetchHistory();
    const decoded = decodedPayloads(history, stack.codec);
    // The scan reads the payloads: the subject (an id, kept) is there, the sealed details too.
    expect(decoded.some((d) => d.includes(subject))).toBe(true);
    expect(decoded.some((d) => d.includes('acct:1:'))).toBe(true);
    for (const value of [email, names.givenName, names.familyName]) {
      expect(decoded.filter((d) => d.toLowerCase().includes(value.toLowerCase()))).toEqual([]);
      expect(JSON.stringify(history)).not.toContain(value);
    }
  });

  it('never puts the access token or the hook secret into workflow history or API logs', async () => {
    const subject = 'auth0|secret-scan';
    const token = await tokenFor(stack, subject, { email: 'scan@example.com' });
    const hookBody = JSON.stringify({ user: { user_id: subject, email: 'scan@example.com' } });
    const signature = signatureHeaderValue(hookSecrets[0], hookBody);
    await call(stack, 'POST', '/v1/hooks/auth0/post-registration', {
      body: hookBody,
      headers: { 'content-type': 'application/json', 'CRA-Signature': signature },
    });
    const { body } = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', { token, json: signupBody });
    await completed(body.workflowId, token);

    const history = await stack.temporal.workflow.getHandle(body.workflowId).fetchHistory();
    // Payloads are base64 JSON: decode every one so a secret cannot hide in an encoding.
    const decoded = decodedPayloads(history, stack.codec);
    const haystacks = [JSON.stringify(history), ...decoded, ...stack.apiLog];
    expect(decoded.some((d) => d.includes(subject))).toBe(true); // the scan does see payload contents
    const signatureHex = signature.split('v1=')[1]!;
    for (const secret of [token, token.split('.')[2]!, ...hookSecrets, signatureHex]) {
      expect(haystacks.filter((h) => h.includes(secret))).toEqual([]);
    }
  });
});
