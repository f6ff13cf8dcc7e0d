/**
 * The pages the provider callback answers a browser with: connected, not connected, "sign in to finish",
 * "started from another account". Server-rendered, no script and no style (a strict CSP), one link at most.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Nothing may load or run; the page only links. The callback URL carries a code: no Referer leaves it. */
export const linkCallbackPageHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export interface LinkCallbackPageProps {
  title: string;
  paragraphs: readonly string[];
  /** The one thing to do next. */
  link: { href: string; text: string };
}

export function LinkCallbackPage(props: LinkCallbackPageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
      </head>
      <body>
        <main>
          <h1>{props.title}</h1>
          {props.paragraphs.map((p) => (
            <p>{p}</p>
          ))}
          <p>
            <a href={props.link.href}>{props.link.text}</a>
          </p>
        </main>
      </body>
    </html>
  );
}

export async function renderLinkCallbackPage(c: Context, props: LinkCallbackPageProps, status: ContentfulStatusCode): Promise<Response> {
  return c.html(`<!doctype html>${await LinkCallbackPage(props).toString()}`, status, { ...linkCallbackPageHeaders });
}
