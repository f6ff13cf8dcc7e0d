/**
 * The page a link in a notice opens (cancel a recovery, undo a link, …): a title, a few plain sentences,
 * optional facts, and at most one button, which POSTs a plain form. Opening the page (a GET, which mail
 * scanners do too) never changes anything; only the button does. Served with a strict Content-Security-Policy:
 * no script at all, the one stylesheet below allowed by its hash, forms only to this origin, no framing.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { raw } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The page's only style, inline but allowed by its SHA-256 in the CSP (no inline style attributes anywhere). */
const css = [
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2328;background:#fff}',
  'h1{font-size:1.5rem;line-height:1.25}',
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1.5rem 0}',
  'dt{font-weight:600}dd{margin:0}',
  'button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#b42318;color:#fff;cursor:pointer}',
  'button:focus{outline:3px solid #f5a524;outline-offset:2px}',
  '.note{color:#57606a;font-size:.9rem}',
].join('');

const styleHash = createHash('sha256').update(css, 'utf8').digest('base64');

/** The Content-Security-Policy of every notice page. */
export const noticePageCsp = [
  "default-src 'none'",
  `style-src 'sha256-${styleHash}'`,
  "img-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * Headers of every notice page. The URL of a notice page carries its token, so the page sends no Referer,
 * and neither it nor its answer is stored by a cache.
 */
export const noticePageHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': noticePageCsp,
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

export interface NoticePageForm {
  /** Where the button posts (same origin). */
  action: string;
  /** Hidden fields, e.g. the notice's token: in the body, never in the URL the form posts to. */
  fields: Record<string, string>;
  /** The one button's words: the action it takes ("Cancel the recovery"). */
  button: string;
}

export interface NoticePageProps {
  title: string;
  /** Plain sentences, one paragraph each. */
  paragraphs: readonly string[];
  /** Facts about the thing the page acts on (label, value), shown as a list. */
  facts?: ReadonlyArray<{ label: string; value: string }>;
  form?: NoticePageForm;
  /** A smaller line under the button or text (what happens if one does nothing, whom to contact). */
  note?: string;
}

/** The layout: hono/jsx, server-rendered, no script. */
export function NoticePage(props: NoticePageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        <style>{raw(css)}</style>
      </head>
      <body>
        <main>
          <h1>{props.title}</h1>
          {props.paragraphs.map((p) => (
            <p>{p}</p>
          ))}
          {props.facts && props.facts.length > 0 ? (
            <dl>
              {props.facts.map((f) => (
                <>
                  <dt>{f.label}</dt>
                  <dd>{f.value}</dd>
                </>
              ))}
            </dl>
          ) : null}
          {props.form ? (
            <form method="post" action={props.form.action}>
              {Object.entries(props.form.fields).map(([name, value]) => (
                <input type="hidden" name={name} value={value} />
              ))}
              <button type="submit">{props.form.button}</button>
            </form>
          ) : null}
          {props.note ? <p class="note">{props.note}</p> : null}
        </main>
      </body>
    </html>
  );
}

/** Answer with a notice page: the status given, the strict CSP and the no-store, no-referrer headers. */
export async function renderNoticePage(c: Context, props: NoticePageProps, status: ContentfulStatusCode = 200): Promise<Response> {
  const body = `<!doctype html>${await NoticePage(props).toString()}`;
  return c.html(body, status, { ...noticePageHeaders });
}
