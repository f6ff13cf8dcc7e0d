/**
 * Setting up recovery factors in advance, signed in (bearer): an authenticator app (TOTP, its seed kept
 * only as SecretVault ciphertext), backup codes, passkeys (WebAuthn registration, verified with
 * @simplewebauthn/server), phones (confirmed with a texted code before they count) and push devices.
 * Each kind can be listed and removed. Bad input is a problem+json and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { generateRegistrationOptions, verifyRegistrationResponse, type RegistrationResponseJSON } from '@simplewebauthn/server';
import { msToNumber } from '@temporalio/common';
import type { Context } from 'hono';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { personName } from '../../domain/names.js';
import {
  backupCodeHash, enrolmentSecretHash, matchTotp, networkOf, newBackupCodes, newRecoveryCode, newTotpSecret, normalizeCode, phoneNumberPattern,
  recoveryFactorKey, sameDigest, totpDefaults, totpSeedPlaintext, type RecoveryEnrolmentDocument, type RecoveryFactorDocument,
} from '../../domain/recovery.js';
import { recoveryPolicy } from '../../workflows/recovery/messages.js';
import { notifierOf, vaultOf } from '../adapters.js';
import { totpSeed } from '../auth/recovery-proofs.js';
import type { ApiEnv } from '../context.js';
import { takeOrRefuse } from '../middleware/rate-limit.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';
import { recoveryContext } from './recoveries.js';

const bearer = [{ bearerAuth: [] }];
/** Enough for anyone; a bound on what one account can make the API store or text. */
const maxPerKind = 10;

const factorsOf = (c: Context<ApiEnv>) => c.get('deps').db.collection<RecoveryFactorDocument>(collections.recoveryFactors);
const enrolmentsOf = (c: Context<ApiEnv>) => c.get('deps').db.collection<RecoveryEnrolmentDocument>(collections.recoveryEnrolments);

async function ownAccount(c: Context<ApiEnv>): Promise<AccountDocument> {
  const account = await c.get('deps').db.collection<AccountDocument>(collections.accounts).findOne({ _id: c.get('principal').accountId });
  if (!account) throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
  return account;
}

const idParam = (name: string, description: string) =>
  z.object({ [name]: z.uuid().openapi({ param: { name, in: 'path' }, description }) }) as z.ZodObject<Record<string, z.ZodUUID>>;

// ---- Schemas -------------------------------------------------------------------------------------

const factorSummarySchema = z.object({
  kind: z.string(), enrolledAt: z.string(), confirmed: z.boolean().optional(), used: z.boolean().optional(), verified: z.boolean().optional(),
});
const passkeySchema = z
  .object({ factorId: z.uuid(), credentialId: z.string(), name: z.string().optional(), transports: z.array(z.string()).optional(), enrolledAt: z.string() })
  .openapi('RecoveryPasskey');
const phoneSchema = z
  .object({ phoneId: z.uuid(), number: z.string(), verified: z.boolean(), enrolledAt: z.string(), verifiedAt: z.string().optional() })
  .openapi('RecoveryPhone');
const pushDeviceSchema = z
  .object({ deviceId: z.uuid(), name: z.string(), endpoint: z.string().optional(), enrolledAt: z.string() })
  .openapi('RecoveryPushDevice');

const b64url = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9_-]+={0,2}$/, 'base64url');
const registrationSchema = z
  .object({
    enrolmentId: z.uuid().openapi({ description: 'From POST /v1/me/recovery-factors/passkeys/options' }),
    name: personName(64).optional().openapi({ description: 'A label to tell passkeys apart' }),
    credential: z.object({
      id: b64url.max(1024),
      rawId: b64url.max(1024),
      type: z.literal('public-key'),
      response: z.object({
        clientDataJSON: b64url,
        attestationObject: b64url,
        transports: z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])).max(8).optional(),
        authenticatorData: b64url.optional(),
        publicKey: b64url.optional(),
        publicKeyAlgorithm: z.number().int().optional(),
      }),
      clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
      authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
    }).openapi({ description: 'What navigator.credentials.create() returned (RegistrationResponseJSON)' }),
  })
  .strict()
  .openapi('RecoveryPasskeyRegistration');
const phoneRequestSchema = z
  .object({ number: z.string().trim().regex(phoneNumberPattern, 'an E.164 phone number such as +15551234567').openapi({ example: '+15551234567' }) })
  .strict()
  .openapi('RecoveryPhoneRequest');
const codeSchema = z.object({ code: z.string().trim().min(6).max(12) }).strict();
const pushRequestSchema = z
  .object({
    name: personName(64).openapi({ example: 'Ada’s phone' }),
    endpoint: z.url({ protocol: /^https$/ }).max(2048).openapi({ description: 'Where the push service delivers notices (https)', example: 'https://push.example.com/send/abc' }),
  })
  .strict()
  .openapi('RecoveryPushDeviceRequest');

// ---- Routes --------------------------------------------------------------------------------------

const listFactorsRoute = createRoute({
  method: 'get', path: '/v1/me/recovery-factors', summary: 'The recovery factors set up for the caller’s account', security: bearer,
  responses: {
    200: { description: 'Kinds and dates, never secrets', content: { 'application/json': { schema: z.object({ factors: z.array(factorSummarySchema) }) } } },
    ...problemResponses(401, 404),
  },
});
const enrollTotpRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/totp', summary: 'Set up an authenticator app (TOTP) for recovery', security: bearer,
  description: `Shown once: the secret and its otpauth URI (${totpDefaults.digits} digits, ${totpDefaults.periodSeconds} s). Confirm with a first code; replaces any earlier one. Stored only encrypted (SecretVault).`,
  responses: {
    201: { description: 'Scan the URI, then confirm', content: { 'application/json': { schema: z.object({ secret: z.string(), otpauthUri: z.string() }) } } },
    ...problemResponses(401, 404),
  },
});
const confirmTotpRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/totp/confirm', summary: 'Confirm the authenticator app with a code', security: bearer,
  request: { body: { required: true, content: { 'application/json': { schema: codeSchema } } } },
  responses: {
    200: { description: 'Confirmed', content: { 'application/json': { schema: z.object({ confirmed: z.literal(true) }) } } },
    ...problemResponses(400, 401, 404, 413, 415),
  },
});
const deleteTotpRoute = createRoute({
  method: 'delete', path: '/v1/me/recovery-factors/totp', summary: 'Remove the authenticator app', security: bearer,
  responses: { 204: { description: 'Removed' }, ...problemResponses(401, 404) },
});
const backupCodesRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/backup-codes', summary: 'New backup codes (replacing the old ones)', security: bearer,
  description: 'Shown once; each code works once. Keep them apart from your devices.',
  responses: {
    201: { description: 'Ten codes', content: { 'application/json': { schema: z.object({ codes: z.array(z.string()) }) } } },
    ...problemResponses(401, 404),
  },
});

const passkeyOptionsRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/passkeys/options', summary: 'WebAuthn registration options for a new passkey', security: bearer,
  description: 'A single-use challenge (valid for the recovery code TTL); user verification and a discoverable credential are required.',
  responses: {
    201: {
      description: 'Pass `publicKey` to navigator.credentials.create(), then POST the result with the enrolmentId',
      content: { 'application/json': { schema: z.object({ enrolmentId: z.uuid(), expiresAt: z.string(), publicKey: z.record(z.string(), z.unknown()) }).openapi('RecoveryPasskeyOptions') } },
    },
    ...problemResponses(401, 404, 409, 429),
  },
});
const registerPasskeyRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/passkeys', summary: 'Register a passkey (verify its attestation)', security: bearer,
  request: { body: { required: true, content: { 'application/json': { schema: registrationSchema } } } },
  responses: {
    201: { description: 'Registered: the public key, counter and transports are stored', content: { 'application/json': { schema: passkeySchema } } },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});
const listPasskeysRoute = createRoute({
  method: 'get', path: '/v1/me/recovery-factors/passkeys', summary: 'The caller’s passkeys', security: bearer,
  responses: { 200: { description: 'Passkeys', content: { 'application/json': { schema: z.object({ passkeys: z.array(passkeySchema) }) } } }, ...problemResponses(401, 404) },
});
const deletePasskeyRoute = createRoute({
  method: 'delete', path: '/v1/me/recovery-factors/passkeys/{factorId}', summary: 'Remove a passkey', security: bearer,
  request: { params: idParam('factorId', 'From GET /v1/me/recovery-factors/passkeys') },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404) },
});

const addPhoneRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/phones', summary: 'Add a phone number: a confirmation code is texted to it', security: bearer,
  description: 'The phone counts (for notices and `sms_code`) only once confirmed. Posting an unconfirmed number again sends a new code.',
  request: { body: { required: true, content: { 'application/json': { schema: phoneRequestSchema } } } },
  responses: {
    202: { description: 'The code is on its way', content: { 'application/json': { schema: z.object({ phoneId: z.uuid(), number: z.string(), verified: z.literal(false), expiresAt: z.string() }) } } },
    ...problemResponses(400, 401, 404, 409, 413, 415, 429),
  },
});
const confirmPhoneRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/phones/{phoneId}/confirm', summary: 'Confirm a phone number with the texted code', security: bearer,
  description: `The latest code, once, before it expires; ${recoveryPolicy.maxFailures} wrong codes spend it.`,
  request: { params: idParam('phoneId', 'From POST /v1/me/recovery-factors/phones'), body: { required: true, content: { 'application/json': { schema: codeSchema } } } },
  responses: {
    200: { description: 'Confirmed', content: { 'application/json': { schema: phoneSchema } } },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});
const listPhonesRoute = createRoute({
  method: 'get', path: '/v1/me/recovery-factors/phones', summary: 'The caller’s phone numbers', security: bearer,
  responses: { 200: { description: 'Phones', content: { 'application/json': { schema: z.object({ phones: z.array(phoneSchema) }) } } }, ...problemResponses(401, 404) },
});
const deletePhoneRoute = createRoute({
  method: 'delete', path: '/v1/me/recovery-factors/phones/{phoneId}', summary: 'Remove a phone number', security: bearer,
  request: { params: idParam('phoneId', 'From GET /v1/me/recovery-factors/phones') },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404) },
});

const addPushDeviceRoute = createRoute({
  method: 'post', path: '/v1/me/recovery-factors/push-devices', summary: 'Register a push device: it receives recovery notices', security: bearer,
  request: { body: { required: true, content: { 'application/json': { schema: pushRequestSchema } } } },
  responses: { 201: { description: 'Registered', content: { 'application/json': { schema: pushDeviceSchema } } }, ...problemResponses(400, 401, 404, 409, 413, 415) },
});
const listPushDevicesRoute = createRoute({
  method: 'get', path: '/v1/me/recovery-factors/push-devices', summary: 'The caller’s push devices', security: bearer,
  responses: { 200: { description: 'Devices', content: { 'application/json': { schema: z.object({ devices: z.array(pushDeviceSchema) }) } } }, ...problemResponses(401, 404) },
});
const deletePushDeviceRoute = createRoute({
  method: 'delete', path: '/v1/me/recovery-factors/push-devices/{deviceId}', summary: 'Remove a push device', security: bearer,
  request: { params: idParam('deviceId', 'From GET /v1/me/recovery-factors/push-devices') },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404) },
});

const passkeyView = (f: RecoveryFactorDocument & { kind: 'passkey' }) => ({
  factorId: f._id, credentialId: f.credentialId, enrolledAt: f.enrolledAt, ...(f.name ? { name: f.name } : {}), ...(f.transports ? { transports: f.transports } : {}),
});
const phoneView = (f: RecoveryFactorDocument & { kind: 'phone' }) => ({
  phoneId: f._id, number: f.number, verified: f.verified, enrolledAt: f.enrolledAt, ...(f.verifiedAt ? { verifiedAt: f.verifiedAt } : {}),
});
const pushView = (f: RecoveryFactorDocument & { kind: 'push_device' }) => ({
  deviceId: f.deviceId, name: f.name, enrolledAt: f.enrolledAt, ...(f.endpoint ? { endpoint: f.endpoint } : {}),
});

/** Remove one factor of the caller's: 404 when there is none with this id (or it is someone else's). */
async function removeFactor(c: Context<ApiEnv>, filter: Record<string, string>, what: string): Promise<Response> {
  const account = await ownAccount(c);
  const removed = await factorsOf(c).deleteOne({ ...filter, accountId: account._id });
  if (removed.deletedCount !== 1) throw new ProblemError('not-found', `You have no ${what} with this id.`);
  return c.body(null, 204);
}

export const recoveryFactorRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(listFactorsRoute, async (c) => {
    const account = await ownAccount(c);
    const enrolled = await factorsOf(c).find({ accountId: account._id }).toArray();
    return c.json({
      factors: enrolled.map((f) => ({
        kind: f.kind, enrolledAt: f.enrolledAt,
        ...(f.kind === 'totp' ? { confirmed: f.confirmed } : {}), ...(f.kind === 'backup_code' ? { used: f.usedAt !== undefined } : {}),
        ...(f.kind === 'phone' ? { verified: f.verified } : {}),
      })),
    }, 200);
  })

  .openapi(enrollTotpRoute, async (c) => {
    const account = await ownAccount(c);
    const { deps, ip } = recoveryContext(c);
    const { secret, otpauthUri } = newTotpSecret(account.rootIdentity.email ?? account._id);
    const secretCiphertext = await (await vaultOf(deps)).encrypt(recoveryFactorKey, totpSeedPlaintext(account._id, secret));
    // Replaced, not added: one authenticator app per account.
    await factorsOf(c).deleteMany({ accountId: account._id, kind: 'totp' });
    await factorsOf(c).insertOne({
      _id: randomUUID(), accountId: account._id, kind: 'totp', secretCiphertext, digits: totpDefaults.digits, periodSeconds: totpDefaults.periodSeconds,
      confirmed: false, enrolledAt: new Date().toISOString(), network: networkOf(ip),
    });
    return c.json({ secret, otpauthUri }, 201);
  })

  .openapi(confirmTotpRoute, async (c) => {
    const account = await ownAccount(c);
    const { code } = c.req.valid('json');
    const pending = await factorsOf(c).findOne({ accountId: account._id, kind: 'totp' });
    if (!pending || pending.kind !== 'totp') throw new ProblemError('not-found', 'Set up an authenticator first: POST /v1/me/recovery-factors/totp.');
    const seed = await totpSeed(await vaultOf(c.get('deps')), pending);
    const step = seed && matchTotp(seed, code, Date.now(), { digits: pending.digits, periodSeconds: pending.periodSeconds });
    if (step === undefined) throw new ProblemError('validation', 'The code does not match the authenticator; check the device clock and try the next code.');
    await factorsOf(c).updateOne({ _id: pending._id }, { $set: { confirmed: true, lastUsedStep: step } });
    return c.json({ confirmed: true as const }, 200);
  })

  .openapi(deleteTotpRoute, async (c) => removeFactor(c, { kind: 'totp' }, 'authenticator app'))

  .openapi(backupCodesRoute, async (c) => {
    const account = await ownAccount(c);
    const { ip } = recoveryContext(c);
    const codes = newBackupCodes();
    const at = new Date().toISOString();
    await factorsOf(c).deleteMany({ accountId: account._id, kind: 'backup_code' });
    await factorsOf(c).insertMany(codes.map((code) => ({
      _id: randomUUID(), accountId: account._id, kind: 'backup_code' as const, hash: backupCodeHash(account._id, code), enrolledAt: at, network: networkOf(ip),
    })));
    return c.json({ codes }, 201);
  })

  // ---- Passkeys ----

  .openapi(passkeyOptionsRoute, async (c) => {
    const account = await ownAccount(c);
    const { settings, steps } = recoveryContext(c);
    takeOrRefuse(steps, `enrol:${account._id}`, 'factor enrolments for your account');
    const existing = await factorsOf(c).find({ accountId: account._id, kind: 'passkey' }).toArray();
    if (existing.length >= maxPerKind) throw new ProblemError('conflict', `At most ${maxPerKind} passkeys per account; remove one first.`);
    const publicKey = await generateRegistrationOptions({
      rpName: 'CRA account center', rpID: settings.webauthn.rpId, userName: account.rootIdentity.email ?? account._id,
      userID: new Uint8Array(Buffer.from(account._id, 'utf8')), timeout: settings.webauthn.ttlMs, attestationType: 'none',
      excludeCredentials: existing.flatMap((f) => (f.kind === 'passkey' ? [{ id: f.credentialId, ...(f.transports ? { transports: f.transports } : {}) }] : [])),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    const now = new Date();
    const enrolmentId = randomUUID();
    const expiresAt = new Date(now.getTime() + settings.webauthn.ttlMs).toISOString();
    await enrolmentsOf(c).insertOne({
      _id: enrolmentId, accountId: account._id, kind: 'passkey', secretHash: enrolmentSecretHash(enrolmentId, publicKey.challenge),
      createdAt: now.toISOString(), expiresAt, failures: 0,
    });
    return c.json({ enrolmentId, expiresAt, publicKey: publicKey as unknown as Record<string, unknown> }, 201);
  })

  .openapi(registerPasskeyRoute, async (c) => {
    const account = await ownAccount(c);
    const body = c.req.valid('json');
    const { settings, ip } = recoveryContext(c);
    const enrolment = await enrolmentsOf(c).findOne({ _id: body.enrolmentId, accountId: account._id, kind: 'passkey' });
    if (!enrolment) throw new ProblemError('not-found', 'No passkey registration with this enrolmentId: ask for options first.');
    const now = new Date();
    if (enrolment.consumedAt || enrolment.expiresAt <= now.toISOString()) throw new ProblemError('conflict', 'These registration options were used or have expired: ask for new ones.');
    let registration;
    try {
      registration = await verifyRegistrationResponse({
        response: body.credential as RegistrationResponseJSON,
        expectedChallenge: (given) => sameDigest(enrolmentSecretHash(enrolment._id, given), enrolment.secretHash),
        expectedOrigin: settings.webauthn.origins, expectedRPID: settings.webauthn.rpId, requireUserVerification: true,
      });
    } catch {
      // The library throws for every malformed or mismatched attestation; its messages may quote client data.
      registration = { verified: false as const };
    }
    if (!registration.verified) {
      throw new ProblemError('validation', 'The attestation does not verify: its challenge, origin, RP ID, user verification and format are checked.');
    }
    const { credential } = registration.registrationInfo;
    if (await factorsOf(c).findOne({ kind: 'passkey', credentialId: credential.id }, { projection: { _id: 1 } })) {
      throw new ProblemError('conflict', 'This passkey is registered already.');
    }
    // Single use: only one registration spends the options.
    const spent = await enrolmentsOf(c).updateOne({ _id: enrolment._id, consumedAt: { $exists: false } }, { $set: { consumedAt: now.toISOString() } });
    if (spent.modifiedCount !== 1) throw new ProblemError('conflict', 'These registration options were used already: ask for new ones.');
    const transports = credential.transports ?? body.credential.response.transports;
    const factor = {
      _id: randomUUID(), accountId: account._id, kind: 'passkey' as const, credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'), counter: credential.counter,
      ...(transports ? { transports } : {}), ...(body.name ? { name: body.name } : {}), enrolledAt: now.toISOString(), network: networkOf(ip),
    };
    await factorsOf(c).insertOne(factor);
    return c.json(passkeyView(factor), 201);
  })

  .openapi(listPasskeysRoute, async (c) => {
    const account = await ownAccount(c);
    const found = await factorsOf(c).find({ accountId: account._id, kind: 'passkey' }).sort({ enrolledAt: 1 }).toArray();
    return c.json({ passkeys: found.flatMap((f) => (f.kind === 'passkey' ? [passkeyView(f)] : [])) }, 200);
  })

  .openapi(deletePasskeyRoute, async (c) => removeFactor(c, { _id: c.req.valid('param').factorId!, kind: 'passkey' }, 'passkey'))

  // ---- Phones ----

  .openapi(addPhoneRoute, async (c) => {
    const account = await ownAccount(c);
    const { number } = c.req.valid('json');
    const { deps, settings, steps, ip } = recoveryContext(c);
    const phones = await factorsOf(c).find({ accountId: account._id, kind: 'phone' }).toArray();
    const existing = phones.find((f) => f.kind === 'phone' && f.number === number);
    if (existing?.kind === 'phone' && existing.verified) throw new ProblemError('conflict', 'This number is confirmed already.');
    if (!existing && phones.length >= maxPerKind) throw new ProblemError('conflict', `At most ${maxPerKind} phone numbers per account; remove one first.`);
    takeOrRefuse(steps, `enrol:${account._id}`, 'factor enrolments for your account');
    const now = new Date();
    const phoneId = existing?._id ?? randomUUID();
    if (!existing) {
      await factorsOf(c).insertOne({ _id: phoneId, accountId: account._id, kind: 'phone', number, verified: false, enrolledAt: now.toISOString(), network: networkOf(ip) });
    }
    // Only the latest code of a phone is valid.
    await enrolmentsOf(c).updateMany({ accountId: account._id, kind: 'phone', factorId: phoneId, consumedAt: { $exists: false } }, { $set: { consumedAt: now.toISOString() } });
    const ttlMs = msToNumber(settings.durations.codeTtl);
    const enrolmentId = randomUUID();
    const code = newRecoveryCode();
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    await enrolmentsOf(c).insertOne({
      _id: enrolmentId, accountId: account._id, kind: 'phone', factorId: phoneId, secretHash: enrolmentSecretHash(enrolmentId, code),
      createdAt: now.toISOString(), expiresAt, failures: 0,
    });
    // Texted straight from here: the code is in no Temporal message, log line or response.
    await notifierOf(deps).send({
      idempotencyKey: `recovery-phone/${phoneId}/${enrolmentId}`, channel: 'sms', to: number, template: 'recovery-phone-confirm', accountId: account._id,
      data: { code, minutes: Math.max(1, Math.round(ttlMs / 60_000)) },
    });
    return c.json({ phoneId, number, verified: false as const, expiresAt }, 202);
  })

  .openapi(confirmPhoneRoute, async (c) => {
    const account = await ownAccount(c);
    const phoneId = c.req.valid('param').phoneId!;
    const { code } = c.req.valid('json');
    const phone = await factorsOf(c).findOne({ _id: phoneId, accountId: account._id, kind: 'phone' });
    if (!phone || phone.kind !== 'phone') throw new ProblemError('not-found', 'You have no phone number with this id.');
    if (phone.verified) return c.json(phoneView(phone), 200);
    const now = new Date();
    const enrolment = await enrolmentsOf(c).find({ accountId: account._id, kind: 'phone', factorId: phoneId }).sort({ createdAt: -1 }).limit(1).next();
    if (!enrolment || enrolment.consumedAt || enrolment.expiresAt <= now.toISOString() || enrolment.failures >= recoveryPolicy.maxFailures) {
      throw new ProblemError('conflict', 'No code is waiting for this number (used, expired or too many wrong tries): POST the number again for a new one.');
    }
    if (!sameDigest(enrolmentSecretHash(enrolment._id, normalizeCode(code)), enrolment.secretHash)) {
      // Counted atomically so parallel guesses cannot exceed the limit; the phone itself is unchanged.
      await enrolmentsOf(c).updateOne({ _id: enrolment._id }, { $inc: { failures: 1 } });
      throw new ProblemError('validation', 'The code does not match the one texted to this number.');
    }
    const spent = await enrolmentsOf(c).updateOne(
      { _id: enrolment._id, consumedAt: { $exists: false }, failures: { $lt: recoveryPolicy.maxFailures } }, { $set: { consumedAt: now.toISOString() } },
    );
    if (spent.modifiedCount !== 1) throw new ProblemError('conflict', 'This code was used already.');
    const verified = await factorsOf(c).findOneAndUpdate(
      { _id: phoneId, accountId: account._id }, { $set: { verified: true, verifiedAt: now.toISOString() } }, { returnDocument: 'after' },
    );
    if (!verified || verified.kind !== 'phone') throw new ProblemError('not-found', 'The phone number was removed meanwhile.');
    return c.json(phoneView(verified), 200);
  })

  .openapi(listPhonesRoute, async (c) => {
    const account = await ownAccount(c);
    const found = await factorsOf(c).find({ accountId: account._id, kind: 'phone' }).sort({ enrolledAt: 1 }).toArray();
    return c.json({ phones: found.flatMap((f) => (f.kind === 'phone' ? [phoneView(f)] : [])) }, 200);
  })

  .openapi(deletePhoneRoute, async (c) => {
    const phoneId = c.req.valid('param').phoneId!;
    const res = await removeFactor(c, { _id: phoneId, kind: 'phone' }, 'phone number');
    await enrolmentsOf(c).deleteMany({ accountId: c.get('principal').accountId, kind: 'phone', factorId: phoneId });
    return res;
  })

  // ---- Push devices ----

  .openapi(addPushDeviceRoute, async (c) => {
    const account = await ownAccount(c);
    const { name, endpoint } = c.req.valid('json');
    const { ip } = recoveryContext(c);
    const devices = await factorsOf(c).find({ accountId: account._id, kind: 'push_device' }).toArray();
    if (devices.some((f) => f.kind === 'push_device' && f.endpoint === endpoint)) throw new ProblemError('conflict', 'This endpoint is registered already.');
    if (devices.length >= maxPerKind) throw new ProblemError('conflict', `At most ${maxPerKind} push devices per account; remove one first.`);
    const deviceId = randomUUID();
    const factor = {
      _id: deviceId, accountId: account._id, kind: 'push_device' as const, deviceId, name, endpoint, enrolledAt: new Date().toISOString(), network: networkOf(ip),
    };
    await factorsOf(c).insertOne(factor);
    return c.json(pushView(factor), 201);
  })

  .openapi(listPushDevicesRoute, async (c) => {
    const account = await ownAccount(c);
    const found = await factorsOf(c).find({ accountId: account._id, kind: 'push_device' }).sort({ enrolledAt: 1 }).toArray();
    return c.json({ devices: found.flatMap((f) => (f.kind === 'push_device' ? [pushView(f)] : [])) }, 200);
  })

  .openapi(deletePushDeviceRoute, async (c) => removeFactor(c, { deviceId: c.req.valid('param').deviceId!, kind: 'push_device' }, 'push device'));
