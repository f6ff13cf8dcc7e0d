/**
 * The one permission check (Auth0 RBAC `permissions` claim). `requirePermission(...permissions)` and
 * `requireAnyPermission(...)` are route middleware (through `auth.permission` / `auth.anyPermission` in
 * `route-auth.ts`): declared on the route, they run before its validators, so a caller without the
 * permission learns nothing about what a valid body is. `holdsPermission` is the same test for a handler
 * that decides by more than the permission (the owner of a workflow, or support).
 */
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv, Principal } from '../context.js';
import { respondProblem } from '../problem.js';

/** Whether the caller's token holds `permission`. */
export function holdsPermission(principal: Pick<Principal, 'permissions'> | undefined, permission: string): boolean {
  return principal?.permissions.includes(permission) ?? false;
}

/** 403 unless the token holds every named permission. */
export function requirePermission(...permissions: [string, ...string[]]): MiddlewareHandler<ApiEnv> {
  const needed = permissions.map((p) => `"${p}"`).join(' and ');
  return async (c, next) => {
    const principal = c.get('principal');
    if (!permissions.every((p) => holdsPermission(principal, p))) {
      return respondProblem(c, 'forbidden', `This needs the ${needed} permission${permissions.length > 1 ? 's' : ''}.`);
    }
    return next();
  };
}

/** 403 unless the token holds one of the named permissions (support may read what approvers may decide). */
export function requireAnyPermission(...permissions: [string, ...string[]]): MiddlewareHandler<ApiEnv> {
  const named = permissions.map((p) => `"${p}"`).join(' or ');
  return async (c, next) => {
    const principal = c.get('principal');
    if (!permissions.some((p) => holdsPermission(principal, p)))
      return respondProblem(c, 'forbidden', `This needs the ${named} permission.`);
    return next();
  };
}
