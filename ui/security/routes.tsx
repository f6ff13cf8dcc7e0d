/** @jsxImportSource hono/jsx */
/** The account center's security, activity and privacy pages. */
import { Hono } from 'hono';
import type { ApiEnv } from '../../api/context.js';

export function securityPageRoutes() {
  return new Hono<ApiEnv>();
}
