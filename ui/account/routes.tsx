/** @jsxImportSource hono/jsx */
/** The account center's pages: profile, connected providers, imported data, processes. */
import { Hono } from 'hono';
import type { ApiEnv } from '../../api/context.js';

export function accountPageRoutes() {
  return new Hono<ApiEnv>();
}
