/** The caller's own activity history (their audit events). */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context.js';
import { defaultHook } from '../problem.js';

export const activityRoutes = new OpenAPIHono<ApiEnv>({ defaultHook });
