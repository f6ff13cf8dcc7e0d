/**
 * The principal of a call the pages make to the API in process (`hc<AppType>` over `app.request`): the
 * browser session already authenticated the person, so the call carries its principal in the request's
 * bindings (`c.env`) under this symbol. Over HTTP the bindings are Node's request and response, so no
 * request from outside can set it; the route's permission checks run on it as on a token's.
 */
import type { Principal } from '../context.js';

export const inProcessPrincipal: unique symbol = Symbol('cra.inProcessPrincipal');

export interface InProcessBindings {
  [inProcessPrincipal]: Principal;
}

export function inProcessPrincipalOf(env: unknown): Principal | undefined {
  if (typeof env !== 'object' || env === null || !(inProcessPrincipal in env)) return undefined;
  return (env as InProcessBindings)[inProcessPrincipal];
}

/** What an in-process client needs of the app: its `request` (Hono's `app.request`). */
export interface InProcessApp {
  request(input: string | URL | Request, init?: RequestInit, env?: object): Response | Promise<Response>;
}
