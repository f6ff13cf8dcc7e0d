/** @jsxImportSource hono/jsx */
/**
 * The frame of every page CRA serves to a browser: one stylesheet, no inline code, a strict CSP set by
 * `renderPage`. Pages pass their title and content; forms carry their CSRF token themselves.
 */
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export interface LayoutProps {
  title: string;
  children?: Child;
  /** Shown at the top right: who is signed in. */
  signedInAs?: string;
  /** Scripts from `/assets/` this page needs. */
  scripts?: string[];
}

export function Layout({ title, children, signedInAs, scripts = [] }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · CRA account center`}</title>
        <link rel="stylesheet" href="/assets/cra.css" />
        {scripts.map((src) => (
          <script src={src} defer></script>
        ))}
      </head>
      <body>
        <header>
          <a class="brand" href="/account">
            CRA account center
          </a>
          {signedInAs ? <span class="muted">Signed in as {signedInAs}</span> : null}
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}

/**
 * The policy of every page: nothing but this origin's stylesheet and scripts. `formAction` is left out
 * where a form's answer redirects to another origin (connecting a provider), since browsers apply
 * form-action to the redirect too.
 */
export function pagePolicy(opts: { formAction?: boolean } = {}): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    "script-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    ...(opts.formAction === false ? [] : ["form-action 'self'"]),
  ].join('; ');
}

export function renderPage(
  c: Context,
  page: Child,
  status: ContentfulStatusCode = 200,
  opts: { formAction?: boolean } = {},
): Response {
  return c.html(`<!doctype html>${String(page)}`, status, {
    'content-security-policy': pagePolicy(opts),
    'x-content-type-options': 'nosniff',
    // Pages reached from notices carry a token in their URL: no Referer leaves them, no cache keeps them.
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
}
