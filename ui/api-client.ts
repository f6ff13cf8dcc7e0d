/**
 * The pages' API client: `hc<AppType>` over the app itself (`app.request`, no socket), as the person whose
 * browser session it is. The routes' own auth and validation run on every call, so a page can do nothing
 * the person could not do with a token, and the exported `AppType` is proven by real use.
 */
import { hc } from 'hono/client';
import type { AppType } from '../api/app.js';
import { inProcessPrincipal, type InProcessApp } from '../api/auth/in-process.js';
import type { Principal } from '../api/context.js';
import type { BrowserSession } from '../api/session/browser-session.js';

export type ApiClient = ReturnType<typeof hc<AppType>>;

/** The principal a browser session stands for: the permissions are those its sign-in's access token held. */
export function principalOfSession(
  session: Pick<BrowserSession, 'subject' | 'accountId' | 'permissions' | 'email'>,
): Principal {
  return {
    subject: session.subject,
    accountId: session.accountId,
    permissions: session.permissions,
    ...(session.email ? { email: session.email } : {}),
    // Only signup reads it, and pages never sign anyone up through the API.
    emailVerified: false,
  };
}

export function apiClientFor(app: InProcessApp, baseUrl: string, principal: Principal): ApiClient {
  return hc<AppType>(baseUrl, {
    fetch: (input: string | URL | Request, init?: RequestInit) =>
      app.request(input instanceof Request ? input : String(input), init, { [inProcessPrincipal]: principal }),
  });
}
