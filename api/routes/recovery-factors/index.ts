/**
 * Setting up recovery factors in advance, signed in (bearer), one file per kind: an authenticator app
 * (`totp.ts`), backup codes (`backup-codes.ts`), passkeys (`passkeys.ts`), phones (`phones.ts`) and push
 * devices (`push-devices.ts`). Each kind is a strategy (its routes and what the list shows of it) in
 * `enrolmentStrategies`; each can be listed and removed. Bad input is a problem+json and changes nothing.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import type { RecoveryFactorDocument, RecoveryFactorKind } from '../../../domain/recovery.js';
import type { ApiEnv } from '../../context.js';
import { defaultHook } from '../../problem.js';
import { problemResponses } from '../openapi.js';
import { backupCodeStrategy } from './backup-codes.js';
import { passkeyStrategy } from './passkeys.js';
import { phoneStrategy } from './phones.js';
import { pushDeviceStrategy } from './push-devices.js';
import { factorsOf, ownAccount, type EnrolmentStrategy, type FactorSummary } from './shared.js';
import { totpStrategy } from './totp.js';

/** Every kind of factor, by kind: the list and the routes come from here. */
export const enrolmentStrategies: { readonly [K in RecoveryFactorKind]: EnrolmentStrategy<K> } = {
  totp: totpStrategy,
  backup_code: backupCodeStrategy,
  passkey: passkeyStrategy,
  phone: phoneStrategy,
  push_device: pushDeviceStrategy,
};

const summaryOf = (f: RecoveryFactorDocument): FactorSummary =>
  (enrolmentStrategies[f.kind] as EnrolmentStrategy).summary(f as never);

const factorSummarySchema = z.object({
  kind: z.string(),
  enrolledAt: z.string(),
  confirmed: z.boolean().optional(),
  used: z.boolean().optional(),
  verified: z.boolean().optional(),
});
const listFactorsRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/recovery-factors',
  summary: 'The recovery factors set up for the caller’s account',
  responses: {
    200: {
      description: 'Kinds and dates, never secrets',
      content: { 'application/json': { schema: z.object({ factors: z.array(factorSummarySchema) }) } },
    },
    ...problemResponses(401, 404),
  },
});

const listRoutes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(listFactorsRoute, async (c) => {
  const account = await ownAccount(c);
  const enrolled = await factorsOf(c).find({ accountId: account._id }).toArray();
  return c.json({ factors: enrolled.map((f) => ({ kind: f.kind, enrolledAt: f.enrolledAt, ...summaryOf(f) })) }, 200);
});

/** Chained one by one (not folded over the map) so `AppType`, and `hc<AppType>`, carry every route. */
export const recoveryFactorRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .route('/', listRoutes)
  .route('/', totpStrategy.routes)
  .route('/', backupCodeStrategy.routes)
  .route('/', passkeyStrategy.routes)
  .route('/', phoneStrategy.routes)
  .route('/', pushDeviceStrategy.routes);
