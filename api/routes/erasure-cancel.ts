/**
 * The cancel link of the erasure notice: `GET /account/erasure/cancel?token=…` shows which erasure the link
 * would cancel and changes nothing (mail scanners open links too); its one button POSTs the token as a form.
 * The POST cancels only for the account's owner signed in in that browser (the account center's session and
 * its CSRF token): the token proves the mail arrived, the session proves who presses. Anyone else, a used,
 * expired or foreign link gets a page that says so, and nothing changes.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { accountEmailOf, addressProjection } from '../../activities/accounts/personal-fields.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { defaultSupportEmail } from '../../domain/config.js';
import { describeInstant, maskEmail, tokenHash } from '../../domain/recovery.js';
import { renderNoticePage, type NoticePageProps } from '../../ui/pages/notice-page.js';
import { accountKeysOf } from '../adapters.js';
import type { ApiEnv } from '../context.js';
import { ProblemError } from '../problem.js';
import { erasureUnderWay } from '../processes/erasure.js';
import { csrfTokenMatches, readBrowserSession } from '../session/browser-session.js';
import { cancelErasureRequest, erasureCancelPath, erasureRequests, type ErasureRequestDocument } from './erasure.js';
import { noticePagesText } from '../../ui/text.js';

/** Every sentence of the erasure's cancel pages, in one place. */
export const erasureCancelText = noticePagesText.erasureCancel;

type Link =
  | { kind: 'invalid' }
  | { kind: 'used' | 'too-late' }
  | { kind: 'open'; token: string; request: ErasureRequestDocument; email: string };

/** What a link names: nothing, a request it can no longer cancel, or one it can. */
async function openLink(c: Context<ApiEnv>, token: unknown): Promise<Link> {
  const deps = c.get('deps');
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{20,200}$/.test(token)) return { kind: 'invalid' };
  const request = await erasureRequests(deps.db).findOne({ cancelTokenHash: tokenHash(token) });
  if (!request) return { kind: 'invalid' };
  if (request.cancelTokenUsedAt) return { kind: 'used' };
  if (!request.cancelTokenExpiresAt || Date.parse(request.cancelTokenExpiresAt) <= Date.now())
    return { kind: 'too-late' };
  // Cancelled some other way (the account center, the API) while this link was in the mailbox.
  if (!(await erasureUnderWay(deps, request._id))) return { kind: 'used' };
  const account = await deps.db
    .collection<AccountDocument>(collections.accounts)
    .findOne({ _id: request._id }, { projection: addressProjection });
  const address = account ? await accountEmailOf(await accountKeysOf(deps), account) : undefined;
  const email = address ? maskEmail(address) : 'your account';
  return { kind: 'open', token, request, email };
}

function pageOf(c: Context<ApiEnv>, link: Exclude<Link, { kind: 'open' }>) {
  const support = c.get('deps').config.supportEmail ?? defaultSupportEmail;
  const t = erasureCancelText;
  switch (link.kind) {
    case 'invalid':
      return renderNoticePage(c, { title: t.invalidTitle, paragraphs: t.invalidText(support) }, 404);
    case 'used':
      return renderNoticePage(c, { title: t.usedTitle, paragraphs: t.usedText }, 410);
    case 'too-late':
      return renderNoticePage(c, { title: t.tooLateTitle, paragraphs: t.tooLateText(support) }, 409);
  }
}

function confirmPage(link: Extract<Link, { kind: 'open' }>, csrf: string | undefined): NoticePageProps {
  const t = erasureCancelText;
  return {
    title: t.confirmTitle,
    paragraphs: t.confirmText,
    facts: [
      { label: t.account, value: link.email },
      { label: t.requested, value: describeInstant(link.request.requestedAt) },
      { label: t.deletedAfter, value: describeInstant(link.request.graceEndsAt) },
    ],
    // The token goes in the body: the URL the form posts to carries none.
    form: {
      action: erasureCancelPath,
      fields: { token: link.token, ...(csrf ? { csrf } : {}) },
      button: t.button,
    },
    note: t.confirmNote,
  };
}

export const erasureCancelRoutes = new Hono<ApiEnv>()
  .get(erasureCancelPath, async (c) => {
    const link = await openLink(c, c.req.query('token'));
    if (link.kind !== 'open') return pageOf(c, link);
    const { db, config } = c.get('deps');
    const session = await readBrowserSession(c, db, config.publicUrl);
    return renderNoticePage(c, confirmPage(link, session?.csrfToken), 200);
  })

  .post(erasureCancelPath, async (c) => {
    const deps = c.get('deps');
    const form = await c.req.parseBody();
    const link = await openLink(c, form.token);
    if (link.kind !== 'open') return pageOf(c, link);
    const session = await readBrowserSession(c, deps.db, deps.config.publicUrl);
    // Not signed in here: sign in, then back to this page (the token alone cancels nothing).
    if (!session)
      return c.redirect(
        `/account/sign-in?returnTo=${encodeURIComponent(`${erasureCancelPath}?token=${link.token}`)}`,
        303,
      );
    if (session.accountId !== link.request._id) {
      return renderNoticePage(
        c,
        { title: erasureCancelText.otherAccountTitle, paragraphs: erasureCancelText.otherAccountText(link.email) },
        403,
      );
    }
    // A form from before this sign-in (or from elsewhere) carries no valid CSRF token: show the button again.
    if (!csrfTokenMatches(session, form.csrf)) return renderNoticePage(c, confirmPage(link, session.csrfToken), 200);
    try {
      await cancelErasureRequest(deps, link.request._id, 'link');
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      if (err.kind === 'erasure-not-cancellable') return pageOf(c, { kind: 'too-late' });
      if (err.kind === 'erasure-not-found') return pageOf(c, { kind: 'used' });
      throw err;
    }
    return renderNoticePage(c, { title: erasureCancelText.doneTitle, paragraphs: erasureCancelText.doneText }, 200);
  });
