/** An authenticator app (TOTP): its seed kept only as SecretVault ciphertext, confirmed with a first code. */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import {
  matchTotp,
  networkOf,
  newTotpSecret,
  recoveryFactorKey,
  totpDefaults,
  totpSeedPlaintext,
} from '../../../domain/recovery.js';
import { vaultOf } from '../../adapters.js';
import { totpSeed } from '../../auth/recovery-proofs.js';
import type { ApiEnv } from '../../context.js';
import { defaultHook, ProblemError } from '../../problem.js';
import { problemResponses } from '../openapi.js';
import { recoveryContext } from '../recoveries/settings.js';
import { codeSchema, factorsOf, ownAccount, removeFactor, type EnrolmentStrategy } from './shared.js';

const enrollTotpRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/totp',
  summary: 'Set up an authenticator app (TOTP) for recovery',
  description: `Shown once: the secret and its otpauth URI (${totpDefaults.digits} digits, ${totpDefaults.periodSeconds} s). Confirm with a first code; replaces any earlier one. Stored only encrypted (SecretVault).`,
  responses: {
    201: {
      description: 'Scan the URI, then confirm',
      content: { 'application/json': { schema: z.object({ secret: z.string(), otpauthUri: z.string() }) } },
    },
    ...problemResponses(401, 404),
  },
});
const confirmTotpRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/totp/confirm',
  summary: 'Confirm the authenticator app with a code',
  request: { body: { required: true, content: { 'application/json': { schema: codeSchema } } } },
  responses: {
    200: {
      description: 'Confirmed',
      content: { 'application/json': { schema: z.object({ confirmed: z.literal(true) }) } },
    },
    ...problemResponses(400, 401, 404, 413, 415),
  },
});
const deleteTotpRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/recovery-factors/totp',
  summary: 'Remove the authenticator app',
  responses: { 204: { description: 'Removed' }, ...problemResponses(401, 404) },
});

const routes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(enrollTotpRoute, async (c) => {
    const account = await ownAccount(c);
    const { deps, ip } = recoveryContext(c);
    const { secret, otpauthUri } = newTotpSecret(account.rootIdentity.email ?? account._id);
    const secretCiphertext = await (
      await vaultOf(deps)
    ).encrypt(recoveryFactorKey, totpSeedPlaintext(account._id, secret));
    // Replaced, not added: one authenticator app per account.
    await factorsOf(c).deleteMany({ accountId: account._id, kind: 'totp' });
    await factorsOf(c).insertOne({
      _id: randomUUID(),
      accountId: account._id,
      kind: 'totp',
      secretCiphertext,
      digits: totpDefaults.digits,
      periodSeconds: totpDefaults.periodSeconds,
      confirmed: false,
      enrolledAt: new Date().toISOString(),
      network: networkOf(ip),
    });
    return c.json({ secret, otpauthUri }, 201);
  })

  .openapi(confirmTotpRoute, async (c) => {
    const account = await ownAccount(c);
    const { code } = c.req.valid('json');
    const pending = await factorsOf(c).findOne({ accountId: account._id, kind: 'totp' });
    if (!pending || pending.kind !== 'totp')
      throw new ProblemError('not-found', 'Set up an authenticator first: POST /v1/me/recovery-factors/totp.');
    const seed = await totpSeed(await vaultOf(c.get('deps')), pending);
    const step =
      seed && matchTotp(seed, code, Date.now(), { digits: pending.digits, periodSeconds: pending.periodSeconds });
    if (step === undefined)
      throw new ProblemError(
        'validation',
        'The code does not match the authenticator; check the device clock and try the next code.',
      );
    await factorsOf(c).updateOne({ _id: pending._id }, { $set: { confirmed: true, lastUsedStep: step } });
    return c.json({ confirmed: true as const }, 200);
  })

  .openapi(deleteTotpRoute, async (c) => removeFactor(c, { kind: 'totp' }, 'authenticator app'));

export const totpStrategy = {
  kind: 'totp',
  summary: (f) => ({ confirmed: f.confirmed }),
  routes,
} satisfies EnrolmentStrategy<'totp'>;
