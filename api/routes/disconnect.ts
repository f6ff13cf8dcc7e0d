/**
 * Disconnecting a provider: `GET /v1/me/providers/{provider}/disconnect-preview` (what would happen under
 * each retention choice) and `DELETE /v1/me/providers/{provider}` with `{retention: "keep" | "delete"}`
 * (202: the disconnect workflow runs). The last way to sign in cannot be disconnected (409).
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Db } from 'mongodb';
import type { AccountDocument, ConnectedProviderNode } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { isLastLoginMethod } from '../../domain/login-methods.js';
import { grantStaysNotice, isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { retentionChoices } from '../../workflows/disconnect/messages.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { startDisconnect } from '../processes/disconnect.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

const providerParam = z.object({
  provider: z
    .string()
    .min(1)
    .max(32)
    .openapi({ param: { name: 'provider', in: 'path' }, example: 'github' }),
});

const previewSchema = z
  .object({
    provider: z.string(),
    displayName: z.string(),
    connections: z.array(
      z.object({
        connectionId: z.string(),
        providerAccountId: z.string(),
        status: z.string(),
        connectedAt: z.string(),
        directoryLinked: z.boolean(),
      }),
    ),
    records: z.object({ total: z.number().int(), byKind: z.record(z.string(), z.number().int()) }),
    featuresLost: z.array(z.string()),
    retention: z.object({ keep: z.string(), delete: z.string() }),
    /** True: this is the account's last way to sign in, and a disconnect is refused (409). */
    lastLoginMethod: z.boolean(),
    /** Whether the disconnect revokes CRA's grant at the provider, or it stays there until removed by hand. */
    revocation: z.enum(['at_provider', 'not_supported']),
    /** Where not revoked there: "the grant stays at <provider> until you remove it there: <settings URL>". */
    grantNotice: z.string().optional(),
    grantSettingsUrl: z.string().optional(),
  })
  .openapi('DisconnectPreview');

const previewRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/providers/{provider}/disconnect-preview',
  summary: 'What disconnecting a provider would do, under each retention choice',
  request: { params: providerParam },
  responses: {
    200: {
      description: 'Record counts, features that stop working, what each choice keeps or deletes',
      content: { 'application/json': { schema: previewSchema } },
    },
    ...problemResponses(400, 401, 404),
  },
});

const disconnectBodySchema = z
  .object({ retention: z.enum(retentionChoices, 'retention is required: "keep" or "delete"') })
  .strict()
  .openapi('DisconnectRequest');

const disconnectRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/providers/{provider}',
  summary: 'Disconnect a provider, keeping its data (detached) or deleting it',
  request: {
    params: providerParam,
    body: { required: true, content: { 'application/json': { schema: disconnectBodySchema } } },
  },
  responses: {
    202: {
      description: 'The disconnect workflow runs',
      content: { 'application/json': { schema: z.object({ workflowId: z.string() }).openapi('DisconnectStarted') } },
    },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});

interface Connected {
  account: AccountDocument;
  provider: ProviderId;
  nodes: ConnectedProviderNode[];
}

/** The caller's account and its connections of `provider`; 404 for an unknown provider, no account, or no connection. */
async function connectedProvider(db: Db, accountId: string, provider: string): Promise<Connected> {
  if (!isProviderId(provider))
    throw new ProblemError(
      'provider-not-found',
      `CRA cannot connect "${provider}". GET /v1/providers lists the providers.`,
    );
  const account = await db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId });
  if (!account)
    throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
  const nodes = account.connected_providers.nodes.filter((n) => n.provider === provider);
  if (nodes.length === 0)
    throw new ProblemError(
      'provider-not-connected',
      `${providerCatalog[provider].displayName} is not connected to this account.`,
    );
  return { account, provider, nodes };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export const disconnectRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(previewRoute, async (c) => {
    const { db } = c.get('deps');
    const { account, provider, nodes } = await connectedProvider(
      db,
      c.get('principal').accountId,
      c.req.valid('param').provider,
    );
    const definition = providerCatalog[provider];
    const name = definition.displayName;
    // $match + $group only: served alike by MongoDB and FerretDB.
    const groups = await db
      .collection<ProviderRecordDocument>(collections.providerRecords)
      .aggregate<{ _id: string; count: number }>([
        { $match: { accountId: account._id, connectionId: { $in: nodes.map((n) => n.connectionId) } } },
        { $group: { _id: '$kind', count: { $sum: 1 } } },
      ])
      .toArray();
    const byKind = Object.fromEntries(groups.sort((a, b) => a._id.localeCompare(b._id)).map((g) => [g._id, g.count]));
    const total = groups.reduce((sum, g) => sum + g.count, 0);
    const syncedKinds = groups.length > 0 ? Object.keys(byKind) : definition.dataKinds;
    const featuresLost = [
      ...(nodes.some((n) => n.directoryLinked === true) ? [`sign in with ${name}`] : []),
      ...(syncedKinds.length > 0 ? [`scheduled sync of ${syncedKinds.join(', ')}`] : []),
      definition.revocation
        ? `token refresh: CRA's access to ${name} ends and is revoked at ${name}`
        : `token refresh: CRA's access to ${name} ends; the grant stays at ${name} until you remove it there`,
    ];
    const grantNotice = grantStaysNotice(definition, definition.revocation !== undefined);
    const records = plural(total, 'record');
    return c.json(
      {
        provider,
        displayName: name,
        connections: nodes.map((n) => ({
          connectionId: n.connectionId,
          providerAccountId: n.providerAccountId,
          status: n.status,
          connectedAt: n.connectedAt,
          directoryLinked: n.directoryLinked === true,
        })),
        records: { total, byKind },
        featuresLost,
        retention: {
          keep: `${records} stay in your account center, marked detached: no longer updated, still yours to see, export or delete. Connecting the same ${name} account again attaches them again.`,
          delete: `${records} imported from ${name} are deleted. Records from other providers are not touched.`,
        },
        lastLoginMethod: isLastLoginMethod(account, provider),
        revocation: definition.revocation ? ('at_provider' as const) : ('not_supported' as const),
        ...(grantNotice ? { grantNotice } : {}),
        ...(grantNotice && definition.grantSettingsUrl ? { grantSettingsUrl: definition.grantSettingsUrl } : {}),
      },
      200,
    );
  })
  .openapi(disconnectRoute, async (c) => {
    const { retention } = c.req.valid('json');
    const principal = c.get('principal');
    const deps = c.get('deps');
    const { account, provider } = await connectedProvider(deps.db, principal.accountId, c.req.valid('param').provider);
    const { workflowId } = await startDisconnect(deps, {
      account,
      provider,
      retention,
      requestedBy: principal.subject,
    });
    return c.json({ workflowId }, 202);
  });
