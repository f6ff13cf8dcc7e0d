/** `GET /v1/schema/account-center.json` (public): the JSON Schema of the account-center document. */
import { OpenAPIHono, z as openapi } from '@hono/zod-openapi';
import { z } from 'zod';
import { accountCenterSchema } from '../../domain/account-center.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';

export const accountCenterSchemaPath = '/v1/schema/account-center.json';

/** The document schema at the root (zod puts schemas with an id under `$defs` and refers to them). */
function rootedSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(accountCenterSchema, { target: 'draft-2020-12', io: 'output' }) as Record<
    string,
    unknown
  > & {
    $ref?: string;
    $defs?: Record<string, Record<string, unknown>>;
  };
  const { $ref, $defs = {}, ...rest } = generated;
  const rootName = $ref?.startsWith('#/$defs/') ? $ref.slice('#/$defs/'.length) : undefined;
  if (!rootName || !$defs[rootName]) return { ...generated, $id: accountCenterSchemaPath };
  const { [rootName]: root, ...otherDefs } = $defs;
  return {
    ...rest,
    $id: accountCenterSchemaPath,
    ...root,
    ...(Object.keys(otherDefs).length ? { $defs: otherDefs } : {}),
  };
}

const jsonSchema = rootedSchema();

const route = secured(auth.public, {
  method: 'get',
  path: accountCenterSchemaPath,
  summary: 'The JSON Schema of the account-center document (public, for any client)',
  responses: {
    200: {
      description: 'JSON Schema (draft 2020-12)',
      content: { 'application/schema+json': { schema: openapi.record(openapi.string(), openapi.unknown()) } },
    },
  },
});

export const schemaRoutes = new OpenAPIHono<ApiEnv>().openapi(route, (c) =>
  c.json(jsonSchema, 200, { 'Content-Type': 'application/schema+json', 'cache-control': 'public, max-age=300' }),
);
