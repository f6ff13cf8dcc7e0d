/** Phones: confirmed with a texted code before they count (for notices and `sms_code`). */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import { msToNumber } from '@temporalio/common';
import {
  enrolmentSecretHash,
  networkOf,
  newRecoveryCode,
  normalizeCode,
  phoneNumberPattern,
  sameDigest,
  type RecoveryFactorDocument,
} from '../../../domain/recovery.js';
import { recoveryPolicy } from '../../../workflows/recovery/messages.js';
import { notifierOf } from '../../adapters.js';
import type { ApiEnv } from '../../context.js';
import { takeOrRefuse } from '../../middleware/rate-limit.js';
import { defaultHook, ProblemError } from '../../problem.js';
import { problemResponses } from '../openapi.js';
import { recoveryContext } from '../recoveries/settings.js';
import {
  codeSchema,
  enrolmentsOf,
  factorsOf,
  idParam,
  maxPerKind,
  ownAccount,
  removeFactor,
  type EnrolmentStrategy,
} from './shared.js';

const phoneSchema = z
  .object({
    phoneId: z.uuid(),
    number: z.string(),
    verified: z.boolean(),
    enrolledAt: z.string(),
    verifiedAt: z.string().optional(),
  })
  .openapi('RecoveryPhone');
const phoneRequestSchema = z
  .object({
    number: z
      .string()
      .trim()
      .regex(phoneNumberPattern, 'an E.164 phone number such as +15551234567')
      .openapi({ example: '+15551234567' }),
  })
  .strict()
  .openapi('RecoveryPhoneRequest');
const addPhoneRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/phones',
  summary: 'Add a phone number: a confirmation code is texted to it',
  description:
    'The phone counts (for notices and `sms_code`) only once confirmed. Posting an unconfirmed number again sends a new code.',
  request: { body: { required: true, content: { 'application/json': { schema: phoneRequestSchema } } } },
  responses: {
    202: {
      description: 'The code is on its way',
      content: {
        'application/json': {
          schema: z.object({
            phoneId: z.uuid(),
            number: z.string(),
            verified: z.literal(false),
            expiresAt: z.string(),
          }),
        },
      },
      links: {
        confirm: {
          operationRef: '#/paths/~1v1~1me~1recovery-factors~1phones~1{phoneId}~1confirm/post',
          parameters: { phoneId: '$response.body#/phoneId' },
          description: 'Confirm the number with the texted code',
        },
        remove: {
          operationRef: '#/paths/~1v1~1me~1recovery-factors~1phones~1{phoneId}/delete',
          parameters: { phoneId: '$response.body#/phoneId' },
          description: 'Remove the number',
        },
      },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415, 429),
  },
});
const confirmPhoneRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/phones/{phoneId}/confirm',
  summary: 'Confirm a phone number with the texted code',
  description: `The latest code, once, before it expires; ${recoveryPolicy.maxFailures} wrong codes spend it.`,
  request: {
    params: idParam('phoneId', 'From POST /v1/me/recovery-factors/phones'),
    body: { required: true, content: { 'application/json': { schema: codeSchema } } },
  },
  responses: {
    200: { description: 'Confirmed', content: { 'application/json': { schema: phoneSchema } } },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});
const listPhonesRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/recovery-factors/phones',
  summary: 'The caller’s phone numbers',
  responses: {
    200: {
      description: 'Phones',
      content: { 'application/json': { schema: z.object({ phones: z.array(phoneSchema) }) } },
    },
    ...problemResponses(401, 404),
  },
});
const deletePhoneRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/recovery-factors/phones/{phoneId}',
  summary: 'Remove a phone number',
  request: { params: idParam('phoneId', 'From GET /v1/me/recovery-factors/phones') },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404) },
});
const phoneView = (f: RecoveryFactorDocument & { kind: 'phone' }) => ({
  phoneId: f._id,
  number: f.number,
  verified: f.verified,
  enrolledAt: f.enrolledAt,
  ...(f.verifiedAt ? { verifiedAt: f.verifiedAt } : {}),
});
const routes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(addPhoneRoute, async (c) => {
    const account = await ownAccount(c);
    const { number } = c.req.valid('json');
    const { deps, settings, steps, ip } = recoveryContext(c);
    const phones = await factorsOf(c).find({ accountId: account._id, kind: 'phone' }).toArray();
    const existing = phones.find((f) => f.kind === 'phone' && f.number === number);
    if (existing?.kind === 'phone' && existing.verified)
      throw new ProblemError('conflict', 'This number is confirmed already.');
    if (!existing && phones.length >= maxPerKind)
      throw new ProblemError('conflict', `At most ${maxPerKind} phone numbers per account; remove one first.`);
    takeOrRefuse(steps, `enrol:${account._id}`, 'factor enrolments for your account');
    const now = new Date();
    const phoneId = existing?._id ?? randomUUID();
    if (!existing) {
      await factorsOf(c).insertOne({
        _id: phoneId,
        accountId: account._id,
        kind: 'phone',
        number,
        verified: false,
        enrolledAt: now.toISOString(),
        network: networkOf(ip),
      });
    }
    // Only the latest code of a phone is valid.
    await enrolmentsOf(c).updateMany(
      { accountId: account._id, kind: 'phone', factorId: phoneId, consumedAt: { $exists: false } },
      { $set: { consumedAt: now.toISOString() } },
    );
    const ttlMs = msToNumber(settings.durations.codeTtl);
    const enrolmentId = randomUUID();
    const code = newRecoveryCode();
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    await enrolmentsOf(c).insertOne({
      _id: enrolmentId,
      accountId: account._id,
      kind: 'phone',
      factorId: phoneId,
      secretHash: enrolmentSecretHash(enrolmentId, code),
      createdAt: now.toISOString(),
      expiresAt,
      failures: 0,
    });
    // Texted straight from here: the code is in no Temporal message, log line or response.
    await notifierOf(deps).send({
      idempotencyKey: `recovery-phone/${phoneId}/${enrolmentId}`,
      channel: 'sms',
      to: number,
      template: 'recovery-phone-confirm',
      accountId: account._id,
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
    const enrolment = await enrolmentsOf(c)
      .find({ accountId: account._id, kind: 'phone', factorId: phoneId })
      .sort({ createdAt: -1 })
      .limit(1)
      .next();
    if (
      !enrolment ||
      enrolment.consumedAt ||
      enrolment.expiresAt <= now.toISOString() ||
      enrolment.failures >= recoveryPolicy.maxFailures
    ) {
      throw new ProblemError(
        'conflict',
        'No code is waiting for this number (used, expired or too many wrong tries): POST the number again for a new one.',
      );
    }
    if (!sameDigest(enrolmentSecretHash(enrolment._id, normalizeCode(code)), enrolment.secretHash)) {
      // Counted atomically so parallel guesses cannot exceed the limit; the phone itself is unchanged.
      await enrolmentsOf(c).updateOne({ _id: enrolment._id }, { $inc: { failures: 1 } });
      throw new ProblemError('validation', 'The code does not match the one texted to this number.');
    }
    const spent = await enrolmentsOf(c).updateOne(
      { _id: enrolment._id, consumedAt: { $exists: false }, failures: { $lt: recoveryPolicy.maxFailures } },
      { $set: { consumedAt: now.toISOString() } },
    );
    if (spent.modifiedCount !== 1) throw new ProblemError('conflict', 'This code was used already.');
    const verified = await factorsOf(c).findOneAndUpdate(
      { _id: phoneId, accountId: account._id },
      { $set: { verified: true, verifiedAt: now.toISOString() } },
      { returnDocument: 'after' },
    );
    if (!verified || verified.kind !== 'phone')
      throw new ProblemError('not-found', 'The phone number was removed meanwhile.');
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
  });

export const phoneStrategy = {
  kind: 'phone',
  summary: (f) => ({ verified: f.verified }),
  routes,
} satisfies EnrolmentStrategy<'phone'>;
