/** Support's queue of what waits for a human (the console reads it). */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context.js';
import { defaultHook } from '../problem.js';

export const supportQueueRoutes = new OpenAPIHono<ApiEnv>({ defaultHook });
