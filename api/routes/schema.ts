/** `GET /v1/schema/account-center.json` (public): the JSON Schema of the account-center document. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { accountCenterSchema } from '../../domain/account-center.js';
import type { ApiEnv } from '../context.js';

export const accountCenterSchemaPath = '/v1/schema/account-center.json';

const jsonSchema = {
  $id: accountCenterSchemaPath,
  ...z.toJSONSchema(accountCenterSchema, { target: 'draft-2020-12', io: 'output' }),
};

export const schemaRoutes = new OpenAPIHono<ApiEnv>().get(accountCenterSchemaPath, (c) =>
  c.body(JSON.stringify(jsonSchema), 200, { 'content-type': 'application/schema+json', 'cache-control': 'public, max-age=300' }),
);
