/** @jsxImportSource hono/jsx */
/**
 * The pages the provider callback answers a browser with: connected, not connected, "sign in to finish",
 * "started from another account". The account center's frame and policy; one link to what to do next.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { Layout, renderPage } from '../layout.js';
import { signedInOn } from './notice-page.js';

export interface LinkCallbackPageProps {
  title: string;
  paragraphs: readonly string[];
  /** The one thing to do next. */
  link: { href: string; text: string };
  /** Set by `renderLinkCallbackPage` when a session exists: the account center's menu and who is signed in. */
  signedInAs?: string;
}

export function LinkCallbackPage(props: LinkCallbackPageProps) {
  return (
    <Layout
      title={props.title}
      {...(props.signedInAs ? { area: 'account' as const, signedInAs: props.signedInAs } : {})}
    >
      <h1>{props.title}</h1>
      {props.paragraphs.map((p) => (
        <p>{p}</p>
      ))}
      <p>
        <a href={props.link.href}>{props.link.text}</a>
      </p>
    </Layout>
  );
}

/** The callback URL carries a code: the page sends no Referer and is never cached (see `renderPage`). */
export async function renderLinkCallbackPage(
  c: Context,
  props: LinkCallbackPageProps,
  status: ContentfulStatusCode,
): Promise<Response> {
  const signedInAs = await signedInOn(c);
  return renderPage(c, <LinkCallbackPage {...props} {...(signedInAs ? { signedInAs } : {})} />, status);
}
