/**
 * Setting up recovery factors over HTTP: passkeys (a real WebAuthn registration from a software
 * authenticator), phones (confirmed with the code texted through the outbox before they count) and push
 * devices, each listed and removed; bad input is a problem+json and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { openedAccount } from '../support/account-documents.js';
import { signedUp, type SignedUp } from '../support/accounts.js';
import { noticesTo } from '../support/outbox.js';
import { call, eventually, useTestStack, type JsonResponse } from '../support/stack.js';
import { SoftwareAuthenticator } from '../support/webauthn.js';

const stack = useTestStack({
  env: {
    RECOVERY_NOTICE_INTERVAL: '1 hour',
    RECOVERY_RATE_LIMIT_PER_IP: '1000',
    RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
    WEBAUTHN_RP_ID: 'cra.test',
    WEBAUTHN_ORIGINS: 'https://cra.test',
  },
});

const factors = () => stack.db.collection(collections.recoveryFactors);
const expectProblem = (res: JsonResponse, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status });
};

type Options = {
  enrolmentId: string;
  expiresAt: string;
  publicKey: {
    challenge: string;
    rp: { id: string };
    excludeCredentials: Array<{ id: string }>;
    authenticatorSelection: Record<string, unknown>;
    attestation: string;
  };
};
const passkeyOptions = (who: SignedUp) =>
  call<Options>(stack, 'POST', '/v1/me/recovery-factors/passkeys/options', { token: who.token });
const registerPasskey = (who: SignedUp, json: unknown) =>
  call<{ factorId: string; credentialId: string }>(stack, 'POST', '/v1/me/recovery-factors/passkeys', {
    token: who.token,
    json,
  });

describe('passkeys', () => {
  it('registers a real attestation once, for the right origin only, and lists and removes it', async () => {
    const who = await signedUp(stack, 'auth0|passkey-enrol');
    const authenticator = new SoftwareAuthenticator();
    expect((await call(stack, 'POST', '/v1/me/recovery-factors/passkeys/options')).status).toBe(401);
    const options = await passkeyOptions(who);
    expect(options.status).toBe(201);
    expect(options.body.publicKey).toMatchObject({
      rp: { id: 'cra.test' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    const { enrolmentId } = options.body;
    const { challenge } = options.body.publicKey;

    // Bad input: a problem, and nothing stored; the options stay usable.
    expectProblem(await registerPasskey(who, { enrolmentId }), 400);
    expectProblem(
      await registerPasskey(who, {
        enrolmentId,
        credential: {
          ...authenticator.attest(challenge, { rpId: 'cra.test', origin: 'https://cra.test' }),
          type: 'password',
        },
      }),
      400,
    );
    expectProblem(
      await registerPasskey(who, {
        enrolmentId,
        credential: authenticator.attest(challenge, { rpId: 'cra.test', origin: 'https://evil.test' }),
      }),
      400,
    );
    expectProblem(
      await registerPasskey(who, {
        enrolmentId,
        credential: authenticator.attest(challenge, { rpId: 'evil.test', origin: 'https://cra.test' }),
      }),
      400,
    );
    expectProblem(
      await registerPasskey(who, {
        enrolmentId,
        credential: authenticator.attest(challenge, {
          rpId: 'cra.test',
          origin: 'https://cra.test',
          userVerified: false,
        }),
      }),
      400,
    );
    expectProblem(
      await registerPasskey(who, {
        enrolmentId,
        credential: authenticator.attest('A'.repeat(43), { rpId: 'cra.test', origin: 'https://cra.test' }),
      }),
      400,
    );
    expectProblem(
      await registerPasskey(who, {
        enrolmentId: randomUUID(),
        credential: authenticator.attest(challenge, { rpId: 'cra.test', origin: 'https://cra.test' }),
      }),
      404,
    );
    expect(await factors().countDocuments({ accountId: who.accountId, kind: 'passkey' })).toBe(0);

    const good = authenticator.attest(challenge, { rpId: 'cra.test', origin: 'https://cra.test' });
    const registered = await registerPasskey(who, { enrolmentId, name: 'Laptop', credential: good });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({
      credentialId: authenticator.credentialId,
      name: 'Laptop',
      transports: ['internal'],
    });
    const stored = await factors().findOne({ accountId: who.accountId, kind: 'passkey' });
    expect(stored).toMatchObject({
      credentialId: authenticator.credentialId,
      publicKey: authenticator.cosePublicKey,
      counter: 0,
      transports: ['internal'],
    });
    // The options are single-use.
    expectProblem(await registerPasskey(who, { enrolmentId, credential: good }), 409);
    // Another person's options cannot register it either.
    const other = await signedUp(stack, 'auth0|passkey-other');
    expectProblem(await registerPasskey(other, { enrolmentId, credential: good }), 404);

    const next = await passkeyOptions(who);
    expect(next.body.publicKey.excludeCredentials.map((c) => c.id)).toEqual([authenticator.credentialId]);
    const listed = await call<{ passkeys: Array<{ factorId: string; credentialId: string }> }>(
      stack,
      'GET',
      '/v1/me/recovery-factors/passkeys',
      { token: who.token },
    );
    expect(listed.body.passkeys).toEqual([
      expect.objectContaining({ factorId: registered.body.factorId, credentialId: authenticator.credentialId }),
    ]);
    expectProblem(
      await call(stack, 'DELETE', `/v1/me/recovery-factors/passkeys/${registered.body.factorId}`, {
        token: other.token,
      }),
      404,
    );
    expectProblem(
      await call(stack, 'DELETE', '/v1/me/recovery-factors/passkeys/not-a-uuid', { token: who.token }),
      400,
    );
    expect(
      (
        await call(stack, 'DELETE', `/v1/me/recovery-factors/passkeys/${registered.body.factorId}`, {
          token: who.token,
        })
      ).status,
    ).toBe(204);
    expect(
      (await call<{ passkeys: unknown[] }>(stack, 'GET', '/v1/me/recovery-factors/passkeys', { token: who.token })).body
        .passkeys,
    ).toEqual([]);
  });
});

const textedCode = async (to: string, after: string) => {
  const notice = await eventually(
    async () => (await noticesTo(stack, { to, template: 'recovery-phone-confirm' })).find((n) => n.queuedAt > after),
    `the text to ${to}`,
  );
  return String(notice.data?.code);
};

describe('phones', () => {
  it('count only once confirmed with the texted code, for notices and sms_code', async () => {
    const who = await signedUp(stack, 'auth0|phone-enrol');
    const number = '+15550001111';
    for (const bad of [{ number: '5550001111' }, { number: '+1 555 000' }, { number, extra: true }, {}]) {
      expectProblem(await call(stack, 'POST', '/v1/me/recovery-factors/phones', { token: who.token, json: bad }), 400);
    }
    expect(await factors().countDocuments({ accountId: who.accountId })).toBe(0);

    let before = new Date(Date.now() - 1).toISOString();
    const added = await call<{ phoneId: string; verified: boolean }>(stack, 'POST', '/v1/me/recovery-factors/phones', {
      token: who.token,
      json: { number },
    });
    expect(added.status).toBe(202);
    expect(added.body.verified).toBe(false);
    const first = await textedCode(number, before);
    expect(first).toMatch(/^\d{8}$/);

    // Unconfirmed: a recovery sends no code to it.
    const email = (await openedAccount(stack, who.accountId))!.rootIdentity.email as string;
    const r = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
      json: { email },
    });
    const headers = { 'x-recovery-token': r.body.recoveryToken };
    const smsChallenge = async () => {
      const res = await call<{ challengeId: string }>(stack, 'POST', `/v1/recoveries/${r.body.recoveryId}/challenges`, {
        json: { factor: 'sms_code' },
        headers,
      });
      expect(res.status).toBe(202);
      return eventually(
        async () =>
          (await stack.db.collection(collections.recoveryChallenges).findOne({ _id: res.body.challengeId as never }))
            ?.deliveredVia as string | undefined,
        'the challenge',
      );
    };
    expect(await smsChallenge()).toBe('none');

    // A new code replaces the first; wrong and old codes are refused and change nothing.
    before = new Date(Date.now() - 1).toISOString();
    expect(
      (await call(stack, 'POST', '/v1/me/recovery-factors/phones', { token: who.token, json: { number } })).body,
    ).toMatchObject({ phoneId: added.body.phoneId });
    const second = await textedCode(number, before);
    const confirm = (code: string, phoneId = added.body.phoneId) =>
      call<{ verified: boolean }>(stack, 'POST', `/v1/me/recovery-factors/phones/${phoneId}/confirm`, {
        token: who.token,
        json: { code },
      });
    expectProblem(await confirm(first === second ? '00000000' : first), 400);
    expectProblem(await confirm(String((Number(second) + 1) % 10 ** 8).padStart(8, '0')), 400);
    expectProblem(await confirm('12'), 400);
    expectProblem(await confirm(second, randomUUID()), 404);
    expect(await factors().findOne({ _id: added.body.phoneId as never })).toMatchObject({ verified: false });
    expect((await confirm(second)).body).toMatchObject({ phoneId: added.body.phoneId, number, verified: true });

    expect(await smsChallenge()).toBe('sms');
    await eventually(
      async () => (await noticesTo(stack, { to: number, template: 'recovery-code' }))[0],
      'the recovery code by SMS',
    );
    expectProblem(
      await call(stack, 'POST', '/v1/me/recovery-factors/phones', { token: who.token, json: { number } }),
      409,
    );
    const listed = await call<{ phones: Array<{ phoneId: string; verified: boolean }> }>(
      stack,
      'GET',
      '/v1/me/recovery-factors/phones',
      { token: who.token },
    );
    expect(listed.body.phones).toEqual([
      expect.objectContaining({ phoneId: added.body.phoneId, number, verified: true }),
    ]);
    const summary = await call<{ factors: Array<{ kind: string; verified?: boolean }> }>(
      stack,
      'GET',
      '/v1/me/recovery-factors',
      { token: who.token },
    );
    expect(summary.body.factors).toEqual([expect.objectContaining({ kind: 'phone', verified: true })]);
    expect(
      (await call(stack, 'DELETE', `/v1/me/recovery-factors/phones/${added.body.phoneId}`, { token: who.token }))
        .status,
    ).toBe(204);
    expect(
      (await call<{ phones: unknown[] }>(stack, 'GET', '/v1/me/recovery-factors/phones', { token: who.token })).body
        .phones,
    ).toEqual([]);
    await call(stack, 'POST', `/v1/recoveries/${r.body.recoveryId}/cancel`, { headers });
  });
});

describe('push devices', () => {
  it('are registered with an https endpoint, listed and removed', async () => {
    const who = await signedUp(stack, 'auth0|push-enrol');
    for (const bad of [
      { name: 'x', endpoint: 'http://push.example.com/x' },
      { name: '', endpoint: 'https://push.example.com/x' },
      { name: 'x' },
      { name: 'x', endpoint: 'not a url' },
    ]) {
      expectProblem(
        await call(stack, 'POST', '/v1/me/recovery-factors/push-devices', { token: who.token, json: bad }),
        400,
      );
    }
    expect(await factors().countDocuments({ accountId: who.accountId })).toBe(0);
    const device = { name: 'Ada’s phone', endpoint: 'https://push.example.com/send/ada' };
    const added = await call<{ deviceId: string }>(stack, 'POST', '/v1/me/recovery-factors/push-devices', {
      token: who.token,
      json: device,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject(device);
    expectProblem(
      await call(stack, 'POST', '/v1/me/recovery-factors/push-devices', { token: who.token, json: device }),
      409,
    );
    const listed = await call<{ devices: unknown[] }>(stack, 'GET', '/v1/me/recovery-factors/push-devices', {
      token: who.token,
    });
    expect(listed.body.devices).toEqual([expect.objectContaining({ deviceId: added.body.deviceId, ...device })]);
    expectProblem(
      await call(stack, 'DELETE', `/v1/me/recovery-factors/push-devices/${randomUUID()}`, { token: who.token }),
      404,
    );
    expect(
      (await call(stack, 'DELETE', `/v1/me/recovery-factors/push-devices/${added.body.deviceId}`, { token: who.token }))
        .status,
    ).toBe(204);
    expect(await factors().countDocuments({ accountId: who.accountId })).toBe(0);
  });
});

describe('authenticator app', () => {
  it('can be removed', async () => {
    const who = await signedUp(stack, 'auth0|totp-remove');
    expectProblem(await call(stack, 'DELETE', '/v1/me/recovery-factors/totp', { token: who.token }), 404);
    expect((await call(stack, 'POST', '/v1/me/recovery-factors/totp', { token: who.token })).status).toBe(201);
    expect((await call(stack, 'DELETE', '/v1/me/recovery-factors/totp', { token: who.token })).status).toBe(204);
    expect(await factors().countDocuments({ accountId: who.accountId, kind: 'totp' })).toBe(0);
  });
});

describe('OpenAPI', () => {
  it('describes the enrolment routes and the provider sign-in challenge', async () => {
    type Doc = {
      paths: Record<string, Record<string, { security?: unknown }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const res = await call<Doc>(stack, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/me/recovery-factors/passkeys/options',
        '/v1/me/recovery-factors/passkeys',
        '/v1/me/recovery-factors/passkeys/{factorId}',
        '/v1/me/recovery-factors/phones',
        '/v1/me/recovery-factors/phones/{phoneId}/confirm',
        '/v1/me/recovery-factors/phones/{phoneId}',
        '/v1/me/recovery-factors/push-devices',
        '/v1/me/recovery-factors/push-devices/{deviceId}',
        '/v1/me/recovery-factors/totp',
      ]),
    );
    expect(Object.keys(res.body.paths['/v1/me/recovery-factors/totp']!).sort()).toEqual(['delete', 'post']);
    expect(res.body.paths['/v1/me/recovery-factors/phones']?.post?.security).toEqual([{ bearerAuth: [] }]);
    expect(res.body.components.schemas.RecoveryChallengeRequest?.properties).toHaveProperty('provider');
    expect(res.body.components.schemas.RecoveryChallenge?.properties).toHaveProperty('authorizationUrl');
  });
});
