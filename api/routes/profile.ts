/** The caller's profile (names), written to the directory and to the account center. */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../context.js';
import { defaultHook } from '../problem.js';

export const profileRoutes = new OpenAPIHono<ApiEnv>({ defaultHook });
