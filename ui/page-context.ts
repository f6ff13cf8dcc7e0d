/**
 * What every signed-in page does first: find the browser session (or send the browser to sign in), check
 * the CSRF token of a form, check a permission (a 403 page, never data), and call the API as the person.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { jsx } from 'hono/jsx';
import type { ApiEnv } from '../api/context.js';
import { csrfTokenMatches, readBrowserSession, type BrowserSessionDocument } from '../api/session/browser-session.js';
import { apiClientFor, principalOfSession, type ApiClient } from './api-client.js';
import { renderPage } from './layout.js';
import { MessagePage } from './pages/sign-in.js';
import { accountText, layoutText, signInText } from './text.js';

export type PageContext = Context<ApiEnv>;

/** The browser's session, if it has a live one. */
export async function sessionOf(c: PageContext): Promise<BrowserSessionDocument | undefined> {
  const { db, config } = c.get('deps');
  return readBrowserSession(c, db, config.publicUrl);
}

/** A redirect to sign in that comes back to this page (only a path of this origin). */
export function toSignIn(c: PageContext): Response {
  const here = new URL(c.req.url);
  const returnTo = c.req.method === 'GET' ? `${here.pathname}${here.search}` : here.pathname;
  return c.redirect(`/account/sign-in?returnTo=${encodeURIComponent(returnTo)}`, 303);
}

/** The person's API, in process: every call runs the route's own auth and validation as this session. */
export function apiOf(c: PageContext, session: BrowserSessionDocument): ApiClient {
  return apiClientFor(c.get('app'), c.get('deps').config.publicUrl, principalOfSession(session));
}

/** A page that says something and offers one link onward. */
export function messagePage(
  c: PageContext,
  page: { title: string; text: string[]; link?: { href: string; label: string }; problem?: boolean },
  status: ContentfulStatusCode = 200,
): Response {
  return renderPage(c, jsx(MessagePage, page), status);
}

/** A form without its session's CSRF token (too old, or posted from another site): refused, nothing done. */
export function csrfRefused(c: PageContext, back = '/account'): Response {
  return messagePage(
    c,
    {
      title: accountText.csrfProblemTitle,
      text: [accountText.csrfProblemText],
      link: { href: back, label: signInText.backToAccount },
      problem: true,
    },
    403,
  );
}

/** The form's fields, or undefined when its CSRF token is not this session's. */
export async function checkedForm(
  c: PageContext,
  session: BrowserSessionDocument,
): Promise<Record<string, string | File | (string | File)[]> | undefined> {
  const form = await c.req.parseBody({ all: true });
  return csrfTokenMatches(session, form.csrf) ? form : undefined;
}

/** 403 page: the permission is named, nothing of what the page would show is. */
export function forbiddenPage(c: PageContext, permission: string): Response {
  return messagePage(
    c,
    {
      title: layoutText.forbiddenTitle,
      text: [layoutText.forbiddenText(permission)],
      // Staff and people alike have an account center to go back to.
      link: { href: '/account', label: signInText.backToAccount },
      problem: true,
    },
    403,
  );
}

export function notFoundPage(c: PageContext): Response {
  return messagePage(
    c,
    {
      title: layoutText.notFoundTitle,
      text: [layoutText.notFoundText],
      link: { href: '/account', label: signInText.backToAccount },
      problem: true,
    },
    404,
  );
}

/** The `detail` of an API problem (RFC 9457), to show on the page; the title when there is no detail. */
export async function problemDetail(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { detail?: unknown; title?: unknown };
  if (typeof body.detail === 'string' && body.detail) return body.detail;
  if (typeof body.title === 'string' && body.title) return body.title;
  return `The request failed (${res.status}).`;
}
