/**
 * `POST /v1/hooks/auth0/post-registration` end to end: a body signed with the current or the previous
 * secret starts the signup and the account appears; a stale, future, tampered, missing or garbled
 * signature is refused with 401 and starts nothing; with no secrets configured the hook answers 503.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { signatureHeader, signatureHeaderValue, signPayload } from '../../api/auth/hook-signature.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import { openedAccount } from '../support/account-documents.js';
import {
  call,
  eventually,
  hookSecrets,
  useTestStack,
  tokenFor,
  type JsonResponse,
  type TestStack,
} from '../support/stack.js';

const hookPath = '/v1/hooks/auth0/post-registration';

const stack = useTestStack();

/** Subjects of this file's run: workflow ids are shared by every stack on the run's Temporal namespace. */
const tag = randomBytes(3).toString('hex');
const sub = (name: string) => `auth0|hook-${tag}-${name}`;
const now = () => Math.floor(Date.now() / 1000);

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: Array<{ pointer: string; detail: string }>;
}

function registration(subject: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    user: {
      user_id: subject,
      email: `${subject.split('|')[1]}@example.com`,
      email_verified: true,
      given_name: 'Barbara',
      family_name: 'Liskov',
    },
    consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
    ...extra,
  });
}

function post(
  target: TestStack,
  body: string,
  signature?: string,
  headers: Record<string, string> = {},
): Promise<JsonResponse<ProblemBody & { workflowId?: string; accountId?: string }>> {
  return call(target, 'POST', hookPath, {
    body,
    headers: {
      'content-type': 'application/json',
      ...(signature === undefined ? {} : { [signatureHeader]: signature }),
      ...headers,
    },
  });
}

function expectInvalidSignature(res: JsonResponse<ProblemBody>, reason: RegExp) {
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.headers.get('www-authenticate')).toBe('CRA-Signature realm="cra-hooks"');
  expect(res.body).toMatchObject({
    type: 'https://cra.dev/problems/invalid-signature',
    status: 401,
    title: 'The request signature is not valid',
  });
  expect(res.body.detail).toMatch(reason);
  const text = JSON.stringify(res.body);
  for (const secret of hookSecrets) expect(text).not.toContain(secret);
}

/** Nothing was started for the subject: no workflow, no account. */
async function expectNothingStarted(target: TestStack, subject: string) {
  await expect(target.temporal.workflow.getHandle(`signup/${subject}`).describe()).rejects.toBeInstanceOf(
    WorkflowNotFoundError,
  );
  expect(await target.db.collection(collections.accounts).countDocuments({ 'rootIdentity.subject': subject })).toBe(0);
}

/** Waits for the signup to complete, then returns the account it wrote. */
async function accountAppears(subject: string): Promise<AccountDocument> {
  await eventually(async () => {
    const { status } = await stack.temporal.workflow.getHandle(`signup/${subject}`).describe();
    return status.name === 'COMPLETED' ? true : undefined;
  }, `the signup of ${subject} to complete`);
  const doc = await openedAccount(stack, accountIdForSubject(subject));
  expect(doc, `the account of ${subject}`).not.toBeNull();
  return doc!;
}

describe('signed with a configured secret', () => {
  it('the current secret → 202, and the account appears', async () => {
    const subject = sub('current');
    const body = registration(subject);
    const res = await post(stack, body, signatureHeaderValue(hookSecrets[0], body));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ workflowId: `signup/${subject}`, accountId: accountIdForSubject(subject) });

    const account = await accountAppears(subject);
    expect(account).toMatchObject({
      status: 'active',
      rootIdentity: { subject, email: `hook-${tag}-current@example.com`, emailVerified: true },
      profile: { givenName: 'Barbara', familyName: 'Liskov' },
    });
    expect(account.consents).toEqual([
      expect.objectContaining({ purpose: 'terms', version: '2026-11', granted: true, source: 'auth0-hook' }),
    ]);
    // The person can read it with their own token.
    const me = await call(stack, 'GET', '/v1/me', { token: await tokenFor(stack, subject) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ accountId: accountIdForSubject(subject) });
  });

  it('the previous secret (during a rotation) → 202, and the account appears', async () => {
    const subject = sub('previous');
    const body = registration(subject);
    const res = await post(stack, body, signatureHeaderValue(hookSecrets[1], body));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ workflowId: `signup/${subject}` });
    await accountAppears(subject);
  });

  it('a header with both an unknown and a valid v1 → 202', async () => {
    const subject = sub('two-v1');
    const body = registration(subject);
    const t = now();
    const res = await post(
      stack,
      body,
      `t=${t},v1=${signPayload('not-our-secret-0123456789abcdef0123', t, body)},v1=${signPayload(hookSecrets[0], t, body)}`,
    );
    expect(res.status).toBe(202);
  });

  it('a signed body that is not a valid registration → 400 pointing at the field, nothing started', async () => {
    const subject = sub('invalid-body');
    const body = JSON.stringify({ user: { email: 'no-id@example.com' }, consents: [] });
    const res = await post(stack, body, signatureHeaderValue(hookSecrets[0], body));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: 'https://cra.dev/problems/validation', status: 400 });
    expect(res.body.errors?.map((e) => e.pointer)).toEqual(['#/user/user_id']);
    await expectNothingStarted(stack, subject);
  });

  it('signed malformed JSON → 400 malformed-json, nothing started', async () => {
    const body = '{"user": {"user_id": ';
    const res = await post(stack, body, signatureHeaderValue(hookSecrets[0], body));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: 'https://cra.dev/problems/malformed-json' });
  });
});

describe('refused signatures → 401, nothing started', () => {
  it('a stale timestamp (now − 301 s)', async () => {
    const subject = sub('stale');
    const body = registration(subject);
    expectInvalidSignature(
      await post(stack, body, signatureHeaderValue(hookSecrets[0], body, now() - 301)),
      /tolerance/,
    );
    await expectNothingStarted(stack, subject);
  });

  it('a future timestamp (now + 301 s)', async () => {
    const subject = sub('future');
    const body = registration(subject);
    expectInvalidSignature(
      await post(stack, body, signatureHeaderValue(hookSecrets[0], body, now() + 301)),
      /tolerance/,
    );
    await expectNothingStarted(stack, subject);
  });

  it('a replay of a day-old, correctly signed request', async () => {
    const subject = sub('replay');
    const body = registration(subject);
    expectInvalidSignature(
      await post(stack, body, signatureHeaderValue(hookSecrets[0], body, now() - 86_400)),
      /tolerance/,
    );
    await expectNothingStarted(stack, subject);
  });

  it('a tampered body (the signature is over another body)', async () => {
    const subject = sub('tampered');
    const signedFor = registration(sub('innocent'));
    const sent = registration(subject);
    expectInvalidSignature(await post(stack, sent, signatureHeaderValue(hookSecrets[0], signedFor)), /does not match/);
    await expectNothingStarted(stack, subject);
    await expectNothingStarted(stack, sub('innocent'));
  });

  it('the same JSON, re-serialised (the signature covers the raw bytes)', async () => {
    const subject = sub('reformatted');
    const body = registration(subject);
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    expectInvalidSignature(await post(stack, pretty, signatureHeaderValue(hookSecrets[0], body)), /does not match/);
    await expectNothingStarted(stack, subject);
  });

  it('a fresh timestamp on a signature made for another timestamp', async () => {
    const subject = sub('moved-t');
    const body = registration(subject);
    const v1 = signPayload(hookSecrets[0], now() - 3600, body);
    expectInvalidSignature(await post(stack, body, `t=${now()},v1=${v1}`), /does not match/);
    await expectNothingStarted(stack, subject);
  });

  it('a secret that is not configured', async () => {
    const subject = sub('wrong-secret');
    const body = registration(subject);
    expectInvalidSignature(
      await post(stack, body, signatureHeaderValue('an-attacker-guess-0123456789abcdef', body)),
      /does not match/,
    );
    await expectNothingStarted(stack, subject);
  });

  it('a missing header', async () => {
    const subject = sub('missing');
    expectInvalidSignature(await post(stack, registration(subject)), /missing/);
    await expectNothingStarted(stack, subject);
  });

  it('a missing header, even with a valid bearer token', async () => {
    const subject = sub('bearer-instead');
    const token = await tokenFor(stack, subject, { permissions: ['support:read'] });
    expectInvalidSignature(
      await post(stack, registration(subject), undefined, { authorization: `Bearer ${token}` }),
      /missing/,
    );
    await expectNothingStarted(stack, subject);
  });

  it.each([
    ['garbage', () => 'garbage'],
    ['empty', () => ''],
    ['only a timestamp', () => `t=${now()}`],
    ['only a signature', (body: string) => `v1=${signPayload(hookSecrets[0], now(), body)}`],
    ['a short signature', (body: string) => `t=${now()},v1=${signPayload(hookSecrets[0], now(), body).slice(0, 40)}`],
    [
      'a base64 signature',
      (body: string) =>
        `t=${now()},v1=${Buffer.from(signPayload(hookSecrets[0], now(), body), 'hex').toString('base64')}`,
    ],
    ['another scheme', (body: string) => `t=${now()},v0=${signPayload(hookSecrets[0], now(), body)}`],
    ['a non-numeric timestamp', (body: string) => `t=soon,v1=${signPayload(hookSecrets[0], now(), body)}`],
    ['a bare HMAC', (body: string) => signPayload(hookSecrets[0], now(), body)],
  ])('a garbled header: %s', async (name, header) => {
    const subject = sub(`garbled-${name.replaceAll(' ', '-')}`);
    const body = registration(subject);
    expectInvalidSignature(await post(stack, body, header(body)), /missing|form/);
    await expectNothingStarted(stack, subject);
  });

  it('none of it reached the API log', async () => {
    const log = stack.apiLog.join('\n');
    for (const secret of hookSecrets) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/v1=[0-9a-f]{64}/);
  });
});

describe('with no SIGNUP_HOOK_SECRETS', () => {
  const bare = useTestStack({ workers: false, env: { SIGNUP_HOOK_SECRETS: '' } });

  it('loads the configuration with no secrets', () => {
    expect(bare.config.signup.hookSecrets).toEqual([]);
  });

  it('answers 503 not-configured, whatever the signature, and starts nothing', async () => {
    const subject = sub('unconfigured');
    const body = registration(subject);
    for (const signature of [signatureHeaderValue(hookSecrets[0], body), signatureHeaderValue('', body), undefined]) {
      const res = await post(bare, body, signature);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        type: 'https://cra.dev/problems/not-configured',
        status: 503,
        title: 'Not configured',
        detail: expect.stringContaining('SIGNUP_HOOK_SECRETS'),
      });
    }
    await expectNothingStarted(bare, subject);
  });

  it('still serves the rest of the API', async () => {
    expect((await call(bare, 'GET', '/healthz')).status).toBe(200);
    expect((await call(bare, 'GET', '/v1/me', { token: await tokenFor(bare, sub('unconfigured')) })).status).toBe(404);
  });
});
