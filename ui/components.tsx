/** @jsxImportSource hono/jsx */
/** Small parts every area's pages share: the form's CSRF field, and the status and alert lines. */
import type { BrowserSession } from '../api/session/browser-session.js';

/** The session's CSRF token, in every form that posts. */
export function Csrf({ session }: { session: Pick<BrowserSession, 'csrfToken'> }) {
  return <input type="hidden" name="csrf" value={session.csrfToken} />;
}

/** What just happened (after a redirect), announced politely. */
export function Notice({ text }: { text?: string | undefined }) {
  return text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;
}

/** What went wrong, announced at once. */
export function Problem({ text }: { text?: string | undefined }) {
  return text ? (
    <p class="problem" role="alert">
      {text}
    </p>
  ) : null;
}

export function Messages({ notice, problem }: { notice?: string | undefined; problem?: string | undefined }) {
  return (
    <>
      <Notice text={notice} />
      <Problem text={problem} />
    </>
  );
}
