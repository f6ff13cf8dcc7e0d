/** Backup codes: ten at a time, shown once, each usable once, stored as hashes. */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import { backupCodeHash, networkOf, newBackupCodes } from '../../../domain/recovery.js';
import type { ApiEnv } from '../../context.js';
import { defaultHook } from '../../problem.js';
import { problemResponses } from '../openapi.js';
import { recoveryContext } from '../recoveries/settings.js';
import { factorsOf, ownAccount, type EnrolmentStrategy } from './shared.js';

const backupCodesRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/recovery-factors/backup-codes',
  summary: 'New backup codes (replacing the old ones)',
  description: 'Shown once; each code works once. Keep them apart from your devices.',
  responses: {
    201: {
      description: 'Ten codes',
      content: { 'application/json': { schema: z.object({ codes: z.array(z.string()) }) } },
    },
    ...problemResponses(401, 404),
  },
});

const routes = new OpenAPIHono<ApiEnv>({ defaultHook }).openapi(backupCodesRoute, async (c) => {
  const account = await ownAccount(c);
  const { ip } = recoveryContext(c);
  const codes = newBackupCodes();
  const at = new Date().toISOString();
  await factorsOf(c).deleteMany({ accountId: account._id, kind: 'backup_code' });
  await factorsOf(c).insertMany(
    codes.map((code) => ({
      _id: randomUUID(),
      accountId: account._id,
      kind: 'backup_code' as const,
      hash: backupCodeHash(account._id, code),
      enrolledAt: at,
      network: networkOf(ip),
    })),
  );
  return c.json({ codes }, 201);
});

export const backupCodeStrategy = {
  kind: 'backup_code',
  summary: (f) => ({ used: f.usedAt !== undefined }),
  routes,
} satisfies EnrolmentStrategy<'backup_code'>;
