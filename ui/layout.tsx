/** @jsxImportSource hono/jsx */
/**
 * The frame of every page CRA serves to a browser: one stylesheet, no inline code, a strict CSP set by
 * `renderPage`. Pages pass their title and content; forms carry their CSRF token themselves.
 */
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { layoutText } from './text.js';

/** The sections of the account center and of the support console, in the order their menus show them. */
export const accountSections = [
  { href: '/account', label: layoutText.nav.overview },
  { href: '/account/profile', label: layoutText.nav.profile },
  { href: '/account/providers', label: layoutText.nav.providers },
  { href: '/account/data', label: layoutText.nav.data },
  { href: '/account/security', label: layoutText.nav.security },
  { href: '/account/activity', label: layoutText.nav.activity },
  { href: '/account/privacy', label: layoutText.nav.privacy },
  { href: '/account/processes', label: layoutText.nav.processes },
] as const;
export const consoleSections = [
  { href: '/console', label: layoutText.nav.queue },
  { href: '/console/accounts', label: layoutText.nav.accounts },
] as const;
export type Area = 'account' | 'console';

export interface LayoutProps {
  title: string;
  children?: Child;
  /** Shown at the top right: who is signed in. */
  signedInAs?: string;
  /** Scripts from `/assets/` this page needs. */
  scripts?: string[];
  /** Stylesheets from `/assets/` beside the shared one (an area's own). */
  styles?: string[];
  /** The menu to show (a signed-in page) and the section this page belongs to (its `href`). */
  area?: Area;
  section?: string;
  /** Tables and queues: a wider column. */
  wide?: boolean;
}

export function Layout({ title, children, signedInAs, scripts = [], styles = [], area, section, wide }: LayoutProps) {
  const sections = area === 'console' ? consoleSections : area === 'account' ? accountSections : [];
  const brand = area === 'console' ? layoutText.consoleBrand : layoutText.accountBrand;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · ${brand}`}</title>
        <link rel="stylesheet" href="/assets/cra.css" />
        {styles.map((href) => (
          <link rel="stylesheet" href={href} />
        ))}
        {scripts.map((src) => (
          <script src={src} defer></script>
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          {layoutText.skipToContent}
        </a>
        <header>
          <a class="brand" href={area === 'console' ? '/console' : '/account'}>
            {brand}
          </a>
          {signedInAs ? <span class="muted">{layoutText.signedInAs(signedInAs)}</span> : null}
        </header>
        {sections.length > 0 ? (
          <nav aria-label={area === 'console' ? layoutText.consoleMenu : layoutText.accountMenu}>
            <ul>
              {sections.map((s) => (
                <li>
                  <a href={s.href} {...(s.href === section ? { 'aria-current': 'page' } : {})}>
                    {s.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <main id="main" class={wide ? 'wide' : undefined}>
          {children}
        </main>
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
