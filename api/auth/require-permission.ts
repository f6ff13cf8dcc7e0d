/**
 * `requirePermission(...permissions)`: route middleware that answers 403 unless the bearer's token holds
 * every named permission (Auth0 RBAC `permissions` claim). Declared on the route, it runs before the
 * route's validators, so a caller without the permission learns nothing about what a valid body is.
 */
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';
import { respondProblem } from '../problem.js';

export function requirePermission(...permissions: [string, ...string[]]): MiddlewareHandler<ApiEnv> {
  const needed = permissions.map((p) => `"${p}"`).join(' and ');
  return async (c, next) => {
    const held = c.get('principal')?.permissions ?? [];
    if (!permissions.every((p) => held.includes(p))) {
      return respondProblem(c, 'forbidden', `This needs the ${needed} permission${permissions.length > 1 ? 's' : ''}.`);
    }
    return next();
  };
}

/** The same, for routes that one of several permissions opens (support may read what approvers may decide). */
export function requireAnyPermission(...permissions: [string, ...string[]]): MiddlewareHandler<ApiEnv> {
  const named = permissions.map((p) => `"${p}"`).join(' or ');
  return async (c, next) => {
    const held = c.get('principal')?.permissions ?? [];
    if (!permissions.some((p) => held.includes(p))) return respondProblem(c, 'forbidden', `This needs the ${named} permission.`);
    return next();
  };
}
