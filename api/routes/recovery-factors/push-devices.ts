/** Push devices: they receive recovery notices over the push channel. */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import { personName } from '../../../domain/names.js';
import { networkOf, type RecoveryFactorDocument } from '../../../domain/recovery.js';
import type { ApiEnv } from '../../context.js';
import { defaultHook, ProblemError } from '../../problem.js';
import { problemResponses } from '../openapi.js';
import { recoveryContext } from '../recoveries/settings.js';
import { factorsOf, idParam, maxPerKind, ownAccount, removeFactor, type EnrolmentStrategy } from './shared.js';

const pushDeviceSchema = z
  .object({ deviceId: z.uuid(), name: z.string(), endpoint: z.string().optional(), enrolledAt: z.string() })
  .openapi('RecoveryPushDevice');
const pushRequestSchema = z
  .object({
    name: personName(64).openapi({ example: 'Ada’s phone' }),
    endpoint: z
      .url({ protocol: /^https$/ })
      .max(2048)
      // Only https is taken: the pattern says so in the OpenAPI document.
      .meta({ pattern: '^https://' })
      .openapi({
        description: 'Where the push service delivers notices (https)',
        example: 'https://push.example.com/send/abc',
      }),
  })
  .strict()
  .openapi('RecoveryPushDeviceRequest');
const addPushDeviceRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/push-devices',
  summary: 'Register a push device: it receives recovery notices',
  request: { body: { required: true, content: { 'application/json': { schema: pushRequestSchema } } } },
  responses: {
    201: { description: 'Registered', content: { 'application/json': { schema: pushDeviceSchema } } },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});
const listPushDevicesRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/recovery-factors/push-devices',
  summary: 'The caller’s push devices',
  responses: {
    200: {
      description: 'Devices',
      content: { 'application/json': { schema: z.object({ devices: z.array(pushDeviceSchema) }) } },
    },
    ...problemResponses(401, 404),
  },
});
const deletePushDeviceRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/recovery-factors/push-devices/{deviceId}',
  summary: 'Remove a push device',
  request: { params: idParam('deviceId', 'From GET /v1/me/recovery-factors/push-devices') },
  responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404) },
});
const pushView = (f: RecoveryFactorDocument & { kind: 'push_device' }) => ({
  deviceId: f.deviceId,
  name: f.name,
  enrolledAt: f.enrolledAt,
  ...(f.endpoint ? { endpoint: f.endpoint } : {}),
});
const routes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(addPushDeviceRoute, async (c) => {
    const account = await ownAccount(c);
    const { name, endpoint } = c.req.valid('json');
    const { ip } = recoveryContext(c);
    const devices = await factorsOf(c).find({ accountId: account._id, kind: 'push_device' }).toArray();
    if (devices.some((f) => f.kind === 'push_device' && f.endpoint === endpoint))
      throw new ProblemError('conflict', 'This endpoint is registered already.');
    if (devices.length >= maxPerKind)
      throw new ProblemError('conflict', `At most ${maxPerKind} push devices per account; remove one first.`);
    const deviceId = randomUUID();
    const factor = {
      _id: deviceId,
      accountId: account._id,
      kind: 'push_device' as const,
      deviceId,
      name,
      endpoint,
      enrolledAt: new Date().toISOString(),
      network: networkOf(ip),
    };
    await factorsOf(c).insertOne(factor);
    return c.json(pushView(factor), 201);
  })

  .openapi(listPushDevicesRoute, async (c) => {
    const account = await ownAccount(c);
    const found = await factorsOf(c)
      .find({ accountId: account._id, kind: 'push_device' })
      .sort({ enrolledAt: 1 })
      .toArray();
    return c.json({ devices: found.flatMap((f) => (f.kind === 'push_device' ? [pushView(f)] : [])) }, 200);
  })

  .openapi(deletePushDeviceRoute, async (c) =>
    removeFactor(c, { deviceId: c.req.valid('param').deviceId!, kind: 'push_device' }, 'push device'),
  );

export const pushDeviceStrategy = {
  kind: 'push_device',
  summary: () => ({}),
  routes,
} satisfies EnrolmentStrategy<'push_device'>;
