/**
 * How a route is authenticated, declared on the route itself: `secured(auth.bearer, createRoute-config)`.
 * Each declaration carries both the middleware that checks it and the OpenAPI `security` the document
 * shows, so the two cannot disagree, and no path pattern decides who may call what (renaming a path
 * changes nothing about its auth). `test/e2e/every-operation-auth.test.ts` reads the document and calls
 * every operation without credentials and with a token lacking permissions.
 *
 * | declaration | who may call | OpenAPI `security` |
 * |---|---|---|
 * | `auth.public` | anyone (the handler may still look for a session or a link's token) | `[]` |
 * | `auth.bearer` | a valid access token of the issuer | `[{ bearerAuth: [] }]` |
 * | `auth.permission(p, …)` | a token holding every `p` | `[{ bearerAuth: [p, …] }]` |
 * | `auth.anyPermission(p, …)` | a token holding one of them | one requirement per permission |
 * | `auth.recoveryToken(…)` | the requester of a recovery (its `X-Recovery-Token`), checked by the handler | `[{ recoveryToken: [] }]` |
 * | `auth.agentSignature(…)` | an AI agent with an HTTP message signature (RFC 9421) | `[{ agentSignature: [] }]` |
 * | `auth.hookSignature(…)` | the identity provider's signed hook | `[{ hookSignature: [] }]` |
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { ApiDeps, ApiEnv } from '../context.js';
import { collections } from '../../domain/collections.js';
import { bearerAuth } from './bearer.js';
import { inProcessPrincipalOf } from './in-process.js';
import { requireAnyPermission, requirePermission } from './require-permission.js';
import { SharedReads } from './shared-reads.js';

export type SecurityRequirement = Record<string, string[]>;

export interface RouteAuth {
  /** For people reading code and for tests: what the declaration is. */
  readonly kind: 'public' | 'bearer' | 'permission' | 'recovery-token' | 'agent-signature' | 'hook-signature';
  readonly middleware: readonly MiddlewareHandler<ApiEnv>[];
  readonly security: SecurityRequirement[];
}

/** The security schemes the declarations name, registered once on the app's OpenAPI document. */
export const securitySchemes = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
  recoveryToken: { type: 'apiKey', in: 'header', name: 'X-Recovery-Token' },
  agentSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'Signature',
    description: 'HTTP Message Signature (RFC 9421, Ed25519) of a registered agent key',
  },
  hookSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'CRA-Signature',
    description: 't=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
  },
} as const;

/**
 * When the embedded directory last revoked a subject's sessions (an account recovery resets them). Read for
 * every request; concurrent requests of one subject share a read that started after they arrived.
 */
function embeddedSessionsRevokedAt(deps: ApiDeps) {
  const reads = new SharedReads(async (subject: string): Promise<number | undefined> => {
    const user = await deps.db
      .collection<{ _id: string; sessions_revoked_at?: string }>(collections.identityUsers)
      .findOne({ _id: subject }, { projection: { sessions_revoked_at: 1 } });
    return user?.sessions_revoked_at ? Date.parse(user.sessions_revoked_at) : undefined;
  });
  return (subject: string) => reads.get(subject);
}

const verifiers = new WeakMap<ApiDeps, MiddlewareHandler<ApiEnv>>();

/** The bearer check for one process's deps, built once (the issuer's key set is cached inside it). */
export function bearerVerifierOf(deps: ApiDeps): MiddlewareHandler<ApiEnv> {
  let verifier = verifiers.get(deps);
  if (!verifier) {
    verifier = bearerAuth({
      issuer: deps.config.auth.issuer,
      audience: deps.config.auth.audience,
      clockToleranceSeconds: deps.config.auth.clockToleranceSeconds,
      jwks: deps.config.auth.jwksUrl ? { url: deps.config.auth.jwksUrl } : { keys: (deps.jwks?.keys ?? []) as never[] },
      // Auth0 revokes its own sessions; tokens of the embedded issuer are checked against the directory.
      ...(deps.config.identity.kind === 'embedded' ? { sessionsRevokedAt: embeddedSessionsRevokedAt(deps) } : {}),
    });
    verifiers.set(deps, verifier);
  }
  return verifier;
}

/**
 * Route middleware: 401 (RFC 6750 challenge) unless a valid access token names the caller. A page of the
 * account center or the console calls the API in process (`ui/api-client.ts`) with the browser session's
 * principal in the request's bindings, under a symbol no HTTP request can carry.
 */
const bearer: MiddlewareHandler<ApiEnv> = (c, next) => {
  const inProcess = inProcessPrincipalOf(c.env);
  if (inProcess) {
    c.set('principal', inProcess);
    return next();
  }
  return bearerVerifierOf(c.get('deps'))(c, next);
};

export const auth = {
  public: { kind: 'public', middleware: [], security: [] } satisfies RouteAuth as RouteAuth,
  bearer: { kind: 'bearer', middleware: [bearer], security: [{ bearerAuth: [] }] } satisfies RouteAuth as RouteAuth,
  /** A token that holds every named permission (403 before any validation otherwise). */
  permission: (...permissions: [string, ...string[]]): RouteAuth => ({
    kind: 'permission',
    middleware: [bearer, requirePermission(...permissions)],
    security: [{ bearerAuth: permissions }],
  }),
  /** A token that holds at least one of the named permissions. */
  anyPermission: (...permissions: [string, ...string[]]): RouteAuth => ({
    kind: 'permission',
    middleware: [bearer, requireAnyPermission(...permissions)],
    security: permissions.map((p) => ({ bearerAuth: [p] })),
  }),
  /**
   * The recovery's requester: the handler checks the recovery token against the recovery it names.
   * `alsoAccepted` lists other requirements the handler honours (an agent's signature, the owner's bearer).
   */
  recoveryToken: (middleware: MiddlewareHandler<ApiEnv>[] = [], ...alsoAccepted: SecurityRequirement[]): RouteAuth => ({
    kind: 'recovery-token',
    middleware,
    security: [{ recoveryToken: [] }, ...alsoAccepted],
  }),
  /** An AI agent's signed request; `check` is the signature middleware. */
  agentSignature: (check: MiddlewareHandler<ApiEnv>): RouteAuth => ({
    kind: 'agent-signature',
    middleware: [check],
    security: [{ agentSignature: [] }],
  }),
  /** The identity provider's signed hook; `check` verifies the signature over the raw body. */
  hookSignature: (check: MiddlewareHandler<ApiEnv>): RouteAuth => ({
    kind: 'hook-signature',
    middleware: [check],
    security: [{ hookSignature: [] }],
  }),
} as const;

/**
 * `createRoute` with its auth declared: the declaration's middleware runs first (before the route's own
 * and before any validator, so a caller who may not call learns nothing about what a valid request is),
 * and the operation's `security` is the declaration's.
 */
export function secured<const R extends Omit<RouteConfig, 'security'>>(
  declared: RouteAuth,
  route: R,
): Omit<R, 'middleware'> & { middleware: MiddlewareHandler<ApiEnv>[]; security: SecurityRequirement[] } {
  const own =
    route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
  return createRoute({
    ...route,
    middleware: [...declared.middleware, ...own],
    security: declared.security,
    'x-cra-auth': declared.kind,
  } as RouteConfig) as never;
}
