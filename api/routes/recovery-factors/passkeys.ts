/** Passkeys: WebAuthn registration (verified with @simplewebauthn/server), listed and removed. */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { personName } from '../../../domain/names.js';
import { enrolmentSecretHash, networkOf, sameDigest, type RecoveryFactorDocument } from '../../../domain/recovery.js';
import type { ApiEnv } from '../../context.js';
import { takeOrRefuse } from '../../middleware/rate-limit.js';
import { defaultHook, ProblemError } from '../../problem.js';
import { problemResponses } from '../openapi.js';
import { recoveryContext } from '../recoveries/settings.js';
import {
  enrolmentsOf,
  factorsOf,
  idParam,
  maxPerKind,
  ownAccount,
  removeFactor,
  type EnrolmentStrategy,
} from './shared.js';

const passkeySchema = z
  .object({
    factorId: z.uuid(),
    credentialId: z.string(),
    name: z.string().optional(),
    transports: z.array(z.string()).optional(),
    enrolledAt: z.string(),
  })
  .openapi('RecoveryPasskey');
const b64url = z
  .string()
  .min(1)
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'base64url');
const registrationSchema = z
  .object({
    enrolmentId: z.uuid().openapi({ description: 'From POST /v1/me/recovery-factors/passkeys/options' }),
    name: personName(64).optional().openapi({ description: 'A label to tell passkeys apart' }),
    credential: z
      .object({
        id: b64url.max(1024),
        rawId: b64url.max(1024),
        type: z.literal('public-key'),
        response: z.object({
          clientDataJSON: b64url,
          attestationObject: b64url,
          transports: z
            .array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']))
            .max(8)
            .optional(),
          authenticatorData: b64url.optional(),
          publicKey: b64url.optional(),
          publicKeyAlgorithm: z.number().int().optional(),
        }),
        clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
        authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
      })
      .openapi({ description: 'What navigator.credentials.create() returned (RegistrationResponseJSON)' }),
  })
  .strict()
  .openapi('RecoveryPasskeyRegistration');
const passkeyOptionsRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/passkeys/options',
  summary: 'WebAuthn registration options for a new passkey',
  description:
    'A single-use challenge (valid for the recovery code TTL); user verification and a discoverable credential are required.',
  responses: {
    201: {
      description: 'Pass `publicKey` to navigator.credentials.create(), then POST the result with the enrolmentId',
      content: {
        'application/json': {
          schema: z
            .object({ enrolmentId: z.uuid(), expiresAt: z.string(), publicKey: z.record(z.string(), z.unknown()) })
            .openapi('RecoveryPasskeyOptions'),
        },
      },
    },
    ...problemResponses(401, 404, 409, 429),
  },
});
const registerPasskeyRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/passkeys',
  summary: 'Register a passkey (verify its attestation)',
  request: { body: { required: true, content: { 'application/json': { schema: registrationSchema } } } },
  responses: {
    201: {
      description: 'Registered: the public key, counter and transports are stored',
      content: { 'application/json': { schema: passkeySchema } },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});
const listPasskeysRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/recovery-factors/passkeys',
  summary: 'The caller’s passkeys',
  responses: {
    200: {
      description: 'Passkeys',
      content: { 'application/json': { schema: z.object({ passkeys: z.array(passkeySchema) }) } },
    },
    ...problemResponses(401, 404),
  },
});
const deletePasskeyRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/recovery-factors/passkeys/{factorId}',
  summary: 'Remove a passkey',
  request: { params: idParam('factorId', 'From GET /v1/me/recovery-factors/passkeys') },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404) },
});
const passkeyView = (f: RecoveryFactorDocument & { kind: 'passkey' }) => ({
  factorId: f._id,
  credentialId: f.credentialId,
  enrolledAt: f.enrolledAt,
  ...(f.name ? { name: f.name } : {}),
  ...(f.transports ? { transports: f.transports } : {}),
});
const routes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(passkeyOptionsRoute, async (c) => {
    const account = await ownAccount(c);
    const { settings, steps } = recoveryContext(c);
    takeOrRefuse(steps, `enrol:${account._id}`, 'factor enrolments for your account');
    const existing = await factorsOf(c).find({ accountId: account._id, kind: 'passkey' }).toArray();
    if (existing.length >= maxPerKind)
      throw new ProblemError('conflict', `At most ${maxPerKind} passkeys per account; remove one first.`);
    const publicKey = await generateRegistrationOptions({
      rpName: 'CRA account center',
      rpID: settings.webauthn.rpId,
      userName: account.rootIdentity.email ?? account._id,
      userID: new Uint8Array(Buffer.from(account._id, 'utf8')),
      timeout: settings.webauthn.ttlMs,
      attestationType: 'none',
      excludeCredentials: existing.flatMap((f) =>
        f.kind === 'passkey' ? [{ id: f.credentialId, ...(f.transports ? { transports: f.transports } : {}) }] : [],
      ),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    const now = new Date();
    const enrolmentId = randomUUID();
    const expiresAt = new Date(now.getTime() + settings.webauthn.ttlMs).toISOString();
    await enrolmentsOf(c).insertOne({
      _id: enrolmentId,
      accountId: account._id,
      kind: 'passkey',
      secretHash: enrolmentSecretHash(enrolmentId, publicKey.challenge),
      createdAt: now.toISOString(),
      expiresAt,
      failures: 0,
    });
    return c.json({ enrolmentId, expiresAt, publicKey: publicKey as unknown as Record<string, unknown> }, 201);
  })

  .openapi(registerPasskeyRoute, async (c) => {
    const account = await ownAccount(c);
    const body = c.req.valid('json');
    const { settings, ip } = recoveryContext(c);
    const enrolment = await enrolmentsOf(c).findOne({ _id: body.enrolmentId, accountId: account._id, kind: 'passkey' });
    if (!enrolment)
      throw new ProblemError('not-found', 'No passkey registration with this enrolmentId: ask for options first.');
    const now = new Date();
    if (enrolment.consumedAt || enrolment.expiresAt <= now.toISOString())
      throw new ProblemError('conflict', 'These registration options were used or have expired: ask for new ones.');
    let registration;
    try {
      registration = await verifyRegistrationResponse({
        response: body.credential as RegistrationResponseJSON,
        expectedChallenge: (given) => sameDigest(enrolmentSecretHash(enrolment._id, given), enrolment.secretHash),
        expectedOrigin: settings.webauthn.origins,
        expectedRPID: settings.webauthn.rpId,
        requireUserVerification: true,
      });
    } catch {
      // The library throws for every malformed or mismatched attestation; its messages may quote client data.
      registration = { verified: false as const };
    }
    if (!registration.verified) {
      throw new ProblemError(
        'validation',
        'The attestation does not verify: its challenge, origin, RP ID, user verification and format are checked.',
      );
    }
    const { credential } = registration.registrationInfo;
    if (await factorsOf(c).findOne({ kind: 'passkey', credentialId: credential.id }, { projection: { _id: 1 } })) {
      throw new ProblemError('conflict', 'This passkey is registered already.');
    }
    // Single use: only one registration spends the options.
    const spent = await enrolmentsOf(c).updateOne(
      { _id: enrolment._id, consumedAt: { $exists: false } },
      { $set: { consumedAt: now.toISOString() } },
    );
    if (spent.modifiedCount !== 1)
      throw new ProblemError('conflict', 'These registration options were used already: ask for new ones.');
    const transports = credential.transports ?? body.credential.response.transports;
    const factor = {
      _id: randomUUID(),
      accountId: account._id,
      kind: 'passkey' as const,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      ...(transports ? { transports } : {}),
      ...(body.name ? { name: body.name } : {}),
      enrolledAt: now.toISOString(),
      network: networkOf(ip),
    };
    await factorsOf(c).insertOne(factor);
    return c.json(passkeyView(factor), 201);
  })

  .openapi(listPasskeysRoute, async (c) => {
    const account = await ownAccount(c);
    const found = await factorsOf(c)
      .find({ accountId: account._id, kind: 'passkey' })
      .sort({ enrolledAt: 1 })
      .toArray();
    return c.json({ passkeys: found.flatMap((f) => (f.kind === 'passkey' ? [passkeyView(f)] : [])) }, 200);
  })

  .openapi(deletePasskeyRoute, async (c) =>
    removeFactor(c, { _id: c.req.valid('param').factorId!, kind: 'passkey' }, 'passkey'),
  );

export const passkeyStrategy = {
  kind: 'passkey',
  summary: () => ({}),
  routes,
} satisfies EnrolmentStrategy<'passkey'>;
