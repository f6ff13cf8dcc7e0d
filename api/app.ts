/**
 * The CRA API: one Hono app, one sub-app per resource. Each route declares its own auth
 * (`secured(auth.…, route)`, `auth/route-auth.ts`), which also gives its OpenAPI `security`: no path
 * pattern decides who may call what.
 * Export `AppType` for `hc<AppType>()` clients.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { keyResolver } from './auth/bearer.js';
import { accountRoutes } from '../ui/account-routes.js';
import { assetRoutes } from '../ui/asset-routes.js';
import { accountPageRoutes } from '../ui/account/routes.js';
import { consoleRoutes } from '../ui/console/routes.js';
import { securityPageRoutes } from '../ui/security/routes.js';
import { vaultOf } from './adapters.js';
import { sessionRoutes } from './routes/sessions.js';
import { interactionRoutes } from './auth/embedded-oidc/interactions.js';
import { securitySchemes } from './auth/route-auth.js';
import type { ApiDeps, ApiEnv } from './context.js';
import { allowedMethods, ownMethodsOnly } from './middleware/allowed-methods.js';
import { jsonOnly, limitedBody } from './middleware/body.js';
import { authorizationLimit } from './middleware/header-limits.js';
import { requestLog } from './middleware/request-log.js';
import { defaultHook, onError, respondProblem } from './problem.js';
import { dataRoutes } from './routes/data.js';
import { disconnectRoutes } from './routes/disconnect.js';
import { erasureCancelRoutes } from './routes/erasure-cancel.js';
import { erasureRoutes } from './routes/erasure.js';
import { exportRoutes } from './routes/exports.js';
import { healthRoutes } from './routes/health.js';
import { jwksRoute, openApiDocumentRoute } from './routes/openapi.js';
import { hookRoutes } from './routes/hooks.js';
import { webhookRoutes } from './routes/webhooks.js';
import { meRoutes } from './routes/me.js';
import { profileRoutes } from './routes/profile.js';
import { consentRoutes } from './routes/consents.js';
import { schemaRoutes } from './routes/schema.js';
import { oauthRoutes } from './routes/oauth.js';
import { linkUndoRoutes } from './routes/link-undo.js';
import { providerRoutes } from './routes/providers.js';
import { agentRoutes } from './routes/agents.js';
import { recoveryRoutes } from './routes/recoveries/index.js';
import { recoveryFactorRoutes } from './routes/recovery-factors/index.js';
import { signupRoutes } from './routes/signup.js';
import { supportRoutes } from './routes/support.js';
import { supportQueueRoutes } from './routes/support-queue.js';
import { activityRoutes } from './routes/activity.js';
import { processRoutes } from './routes/processes.js';
import { workflowRoutes } from './routes/workflows.js';
import { codecLocalRoutes, codecRoutes } from './routes/codec.js';

export function createApp(deps: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>({ defaultHook });
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    c.set('app', app);
    await next();
  });
  app.use('*', requestLog);
  const embedded = deps.signIn?.embedded;
  if (embedded) {
    // oidc-provider answers its own paths (discovery, JWKS, authorize, token, …) on Node's req/res.
    app.use('*', async (c, next) => {
      if (!embedded.oidc.owns(c.req.path)) return next();
      // oidc-provider answers 404 to other methods on the key set; the API's 405 names the ones it has.
      if (c.req.path === jwksRoute.path && c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
      const { incoming, outgoing } = c.env as HttpBindings;
      await embedded.oidc.handle(incoming, outgoing);
      return RESPONSE_ALREADY_SENT;
    });
  }
  // The API takes JSON; the pages take their own forms.
  app.use('*', authorizationLimit, limitedBody);
  app.use(
    '/v1/*',
    ownMethodsOnly(app.routes, (c, allow) =>
      respondProblem(c, 'method-not-allowed', `${c.req.path} answers ${allow.join(', ')}, not ${c.req.method}.`, {
        allow: allow.join(', '),
      }),
    ),
    jsonOnly,
  );

  app.route('/', assetRoutes);
  // The erasure notice's cancel link: a page of the account center (the owner's browser session decides).
  app.route('/', erasureCancelRoutes);
  if (deps.signIn) {
    if (embedded) app.route('/', interactionRoutes(embedded.interactions));
    app.route(
      '/',
      accountRoutes({
        signIn: deps.signIn.client,
        accessTokenKeys: keyResolver(
          deps.config.auth.jwksUrl ? { url: deps.config.auth.jwksUrl } : { keys: (deps.jwks?.keys ?? []) as never[] },
        ),
        vault: () => vaultOf(deps),
      }),
    );
    app.route('/', accountPageRoutes());
    app.route('/', securityPageRoutes());
    app.route('/', consoleRoutes());
  }

  const routes = app
    .route('/', healthRoutes)
    .route('/', schemaRoutes)
    .route('/', signupRoutes)
    .route('/', hookRoutes)
    .route('/', webhookRoutes)
    .route('/', meRoutes)
    .route('/', profileRoutes)
    .route('/', consentRoutes)
    .route('/', workflowRoutes)
    .route('/', providerRoutes)
    .route('/', oauthRoutes)
    .route('/', linkUndoRoutes)
    .route('/', supportRoutes)
    .route('/', supportQueueRoutes)
    .route('/', dataRoutes)
    .route('/', disconnectRoutes)
    .route('/', exportRoutes)
    .route('/', recoveryRoutes)
    .route('/', recoveryFactorRoutes)
    .route('/', agentRoutes)
    .route('/', sessionRoutes)
    .route('/', activityRoutes)
    .route('/', processRoutes)
    .route('/', erasureRoutes)
    .route('/', codecRoutes);

  if (deps.config.temporal.codec.localToken) app.route('/', codecLocalRoutes);

  if (deps.jwks) {
    const jwks = deps.jwks as { keys: Record<string, unknown>[] };
    app.openapi(jwksRoute, (c) => c.json(jwks, 200, { 'cache-control': 'public, max-age=300' }));
  }

  for (const [name, scheme] of Object.entries(securitySchemes))
    app.openAPIRegistry.registerComponent('securitySchemes', name, scheme);
  app.openapi(openApiDocumentRoute, (c) =>
    c.json(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'CRA — Central Rank Authority API',
          version: '0.1.0',
          description: 'Account center: root identity, connected providers, durable account processes.',
        },
      }) as unknown as Record<string, unknown>,
      200,
    ),
  );

  // A known path with another method is a 405 naming the methods it has; only unknown paths are 404.
  const methodsOf = allowedMethods(app.routes);
  app.notFound((c) => {
    const allow = methodsOf(c.req.path);
    if (allow.length > 0)
      return respondProblem(
        c,
        'method-not-allowed',
        `${c.req.path} answers ${allow.join(', ')}, not ${c.req.method}.`,
        { allow: allow.join(', ') },
      );
    return respondProblem(c, 'not-found', `No route for ${c.req.method} ${c.req.path}.`);
  });
  app.onError(onError(deps.log));
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
