/** @jsxImportSource hono/jsx */
/**
 * The page a link in a notice opens (cancel a recovery, undo a link, …): a title, a few plain sentences,
 * optional facts, and at most one button, which POSTs a plain form. Opening the page (a GET, which mail
 * scanners do too) never changes anything; only the button does. The account center's frame and strict
 * Content-Security-Policy (`ui/layout.tsx`): no inline code, forms only to this origin, no framing, no Referer.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiEnv } from '../../api/context.js';
import { readBrowserSession } from '../../api/session/browser-session.js';
import { Layout, renderPage } from '../layout.js';

/**
 * Who is signed in in this browser, if anyone: a notice's page then shows the account center's menu. The
 * page does the same either way; the link's token, not the session, is what it acts on.
 */
export async function signedInOn(c: Context): Promise<string | undefined> {
  const deps = (c as Context<ApiEnv>).get('deps') as ApiEnv['Variables']['deps'] | undefined;
  if (!deps) return undefined;
  const session = await readBrowserSession(c, deps.db, deps.config.publicUrl).catch(() => undefined);
  return session ? (session.email ?? session.subject) : undefined;
}

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
  /** Set by `renderNoticePage` when a session exists: the account center's menu and who is signed in. */
  signedInAs?: string;
}

/** The layout: hono/jsx, server-rendered, no script. */
export function NoticePage(props: NoticePageProps) {
  return (
    <Layout
      title={props.title}
      {...(props.signedInAs ? { area: 'account' as const, signedInAs: props.signedInAs } : {})}
    >
      <h1>{props.title}</h1>
      {props.paragraphs.map((p) => (
        <p>{p}</p>
      ))}
      {props.facts && props.facts.length > 0 ? (
        <dl class="facts">
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
          <button type="submit" class="danger">
            {props.form.button}
          </button>
        </form>
      ) : null}
      {props.note ? <p class="muted">{props.note}</p> : null}
    </Layout>
  );
}

/** Answer with a notice page: the status given, the strict CSP and the no-store, no-referrer headers. */
export async function renderNoticePage(
  c: Context,
  props: NoticePageProps,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  const signedInAs = await signedInOn(c);
  return renderPage(c, <NoticePage {...props} {...(signedInAs ? { signedInAs } : {})} />, status);
}
