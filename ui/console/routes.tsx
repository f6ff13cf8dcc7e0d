/** @jsxImportSource hono/jsx */
/** The support console under /console. */
import { Hono } from 'hono';
import type { ApiEnv } from '../../api/context.js';

export function consoleRoutes() {
  return new Hono<ApiEnv>();
}
