/**
 * The caller's imported data: `POST /v1/me/providers/{provider}/sync` (run a sync now; joins one that is
 * running) and `GET /v1/me/data?provider=&kind=&cursor=` (their records, with origins, page by page).
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { recordContent, verifyOrigin } from '../../activities/records/store.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { failureTypeOf } from '../../domain/failures.js';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { accountKeysOf, vaultOf } from '../adapters.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { syncNow } from '../processes/sync.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';

const syncRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/providers/{provider}/sync',
  summary: 'Sync a connected provider’s data now (joins a sync that is already running)',
  request: {
    params: z.object({
      provider: z
        .string()
        .min(1)
        .max(32)
        .openapi({ param: { name: 'provider', in: 'path' }, example: 'github' }),
    }),
  },
  responses: {
    202: {
      description: 'The sync runs',
      content: { 'application/json': { schema: z.object({ workflowId: z.string() }).openapi('SyncStarted') } },
    },
    ...problemResponses(400, 401, 404, 409),
  },
});

const dataQuery = z.object({
  provider: z.enum(providerIds).optional(),
  kind: z.string().min(1).max(64).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  integrity: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .openapi({
      description:
        'Also check each record against its origin (content hash and the SecretVault MAC): one MAC verification per record, so off unless asked.',
    }),
});

const recordSchema = z
  .object({
    recordId: z.string(),
    provider: z.enum(providerIds),
    kind: z.string(),
    externalId: z.string(),
    status: z.enum(['active', 'deleted_at_provider', 'detached']),
    data: z.record(z.string(), z.unknown()),
    origin: z.object({
      provider: z.string(),
      providerAccountId: z.string(),
      connectionId: z.string(),
      syncRunId: z.string(),
      fetchedAt: z.string(),
      sourceUrl: z.string(),
      contentHash: z.string(),
    }),
    integrity: z.enum(['verified', 'content_changed', 'origin_changed']).optional().openapi({
      description:
        'With `integrity=true`: `verified` (content and origin as imported), `content_changed` (the stored content was edited), `origin_changed` (the origin or its MAC was edited).',
    }),
  })
  .openapi('ProviderRecord');

const dataRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/data',
  summary: 'The caller’s imported records, with their origins',
  request: { query: dataQuery },
  responses: {
    200: {
      description: 'One page of records',
      content: {
        'application/json': {
          schema: z.object({ items: z.array(recordSchema), nextCursor: z.string().nullable() }).openapi('RecordPage'),
        },
      },
    },
    ...problemResponses(400, 401, 410),
  },
});

const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

export const dataRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(syncRoute, async (c) => {
    const { provider } = c.req.valid('param');
    if (!isProviderId(provider)) throw new ProblemError('provider-not-found', `CRA cannot connect "${provider}".`);
    const principal = c.get('principal');
    const deps = c.get('deps');
    const { db } = deps;
    const account = await db
      .collection<AccountDocument>(collections.accounts)
      .findOne({ _id: principal.accountId }, { projection: { connected_providers: 1 } });
    const active = account?.connected_providers.nodes.filter((n) => n.provider === provider && n.status === 'active');
    // A sign-in recorded at signup holds no tokens: there is nothing to sync until the person links it.
    const node = active?.find((n) => n.source !== 'sign_in');
    if (!node && active?.length)
      throw new ProblemError(
        'conflict',
        `You sign in with ${providerCatalog[provider].displayName}, but it is not connected for data: link it first.`,
      );
    if (!node)
      throw new ProblemError(
        'not-found',
        `${providerCatalog[provider].displayName} is not connected (or needs reconnecting).`,
      );
    if (providerCatalog[provider].dataKinds.length === 0)
      throw new ProblemError('conflict', `${providerCatalog[provider].displayName} has no data to sync.`);
    // A scheduled run already going is joined rather than doubled.
    const { workflowId } = await syncNow(deps, {
      accountId: principal.accountId,
      provider,
      connectionId: node.connectionId,
    });
    return c.json({ workflowId }, 202);
  })
  .openapi(dataRoute, async (c) => {
    const query = c.req.valid('query');
    const principal = c.get('principal');
    const filter: Record<string, unknown> = { accountId: principal.accountId };
    if (query.provider) filter.provider = query.provider;
    if (query.kind) filter.kind = query.kind;
    if (query.cursor) filter._id = { $gt: decodeCursor(query.cursor) };
    const docs = await c
      .get('deps')
      .db.collection<ProviderRecordDocument>(collections.providerRecords)
      .find(filter, { sort: { _id: 1 }, limit: query.limit + 1 })
      .toArray();
    const page = docs.slice(0, query.limit);
    const keys = await accountKeysOf(c.get('deps'));
    const vault = query.integrity ? await vaultOf(c.get('deps')) : undefined;
    let items;
    try {
      items = await Promise.all(
        page.map(async (d) => {
          const data = await recordContent(keys, d);
          const check = vault ? await verifyOrigin(vault, d, data) : undefined;
          return {
            recordId: d._id,
            provider: d.provider,
            kind: d.kind,
            externalId: d.externalId,
            status: d.status,
            data,
            origin: d.origin,
            ...(check
              ? { integrity: check.ok ? ('verified' as const) : (check.reason as 'content_changed' | 'origin_changed') }
              : {}),
          };
        }),
      );
    } catch (err) {
      // The account's key was destroyed (it was erased): its records can never be read again.
      if (failureTypeOf(err) === 'AccountKeyDestroyed')
        throw new ProblemError(
          'account-data-erased',
          'This account was erased: its imported data can no longer be read.',
        );
      throw err;
    }
    return c.json(
      {
        items,
        nextCursor: docs.length > query.limit ? encodeCursor(page[page.length - 1]!._id) : null,
      },
      200,
    );
  });
