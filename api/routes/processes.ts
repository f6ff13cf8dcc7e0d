/** The caller's running processes with their live stage. */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context.js';
import { defaultHook } from '../problem.js';

export const processRoutes = new OpenAPIHono<ApiEnv>({ defaultHook });
