/**
 * The undo link of a recent connection, carried by the provider-linked notice:
 * `GET /account/links/undo?token=…` shows what would be disconnected and one button (opening it — as mail
 * scanners do — changes nothing); `POST` (the button) disconnects the provider with retention `delete`
 * through the disconnect process. The token is single-use and lasts 7 days; only its SHA-256 is stored.
 * The token is the credential: whoever holds the notice can undo the connection it announces, nothing else.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { openAccountDocument } from '../../activities/accounts/personal-fields.js';
import { linkUndoTokens, type LinkUndoDocument } from '../../activities/providers/stores.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { problemKinds } from '../../domain/problem.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { renderNoticePage, type NoticePageProps } from '../../ui/pages/notice-page.js';
import { accountKeysOf } from '../adapters.js';
import type { ApiEnv } from '../context.js';
import { startDisconnect } from '../processes/disconnect.js';
import { ProblemError } from '../problem.js';
import { attemptIdOf } from './link-attempts.js';
import { noticePagesText } from '../../ui/text.js';

export const linkUndoRoutePath = '/account/links/undo';

/** Every sentence of the undo pages. */
const undoText = noticePagesText.linkUndo;

type Opened =
  | { kind: 'invalid' | 'expired' | 'used' }
  | { kind: 'open'; undo: LinkUndoDocument; account: AccountDocument | null; name: string };

async function open(c: Context<ApiEnv>, token: string | undefined): Promise<Opened> {
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return { kind: 'invalid' };
  const { db } = c.get('deps');
  const undo = await linkUndoTokens(db).findOne({ _id: attemptIdOf(token) });
  if (!undo) return { kind: 'invalid' };
  if (undo.usedAt) return { kind: 'used' };
  if (Date.parse(undo.expiresAt) <= Date.now()) return { kind: 'expired' };
  const stored = await db.collection<AccountDocument>(collections.accounts).findOne({ _id: undo.accountId });
  const account = stored ? await openAccountDocument(await accountKeysOf(c.get('deps')), stored) : null;
  return { kind: 'open', undo, account, name: providerCatalog[undo.provider].displayName };
}

const closedPages: Record<'invalid' | 'expired' | 'used', { status: ContentfulStatusCode; props: NoticePageProps }> = {
  invalid: { status: 404, props: { title: undoText.invalidTitle, paragraphs: [undoText.invalid] } },
  expired: { status: 410, props: { title: undoText.expiredTitle, paragraphs: [undoText.expired] } },
  used: { status: 409, props: { title: undoText.usedTitle, paragraphs: [undoText.used] } },
};

const connected = (opened: Extract<Opened, { kind: 'open' }>) =>
  opened.account?.connected_providers.nodes.find((n) => n.connectionId === opened.undo.connectionId);

export const linkUndoRoutes = new Hono<ApiEnv>()
  .get(linkUndoRoutePath, async (c) => {
    const opened = await open(c, c.req.query('token'));
    if (opened.kind !== 'open')
      return renderNoticePage(c, closedPages[opened.kind].props, closedPages[opened.kind].status);
    const node = connected(opened);
    if (!opened.account || !node)
      return renderNoticePage(c, { title: undoText.goneTitle, paragraphs: [undoText.gone(opened.name)] }, 409);
    return renderNoticePage(
      c,
      {
        title: undoText.confirmTitle(opened.name),
        paragraphs: undoText.confirm(opened.name),
        facts: [
          { label: undoText.account, value: opened.account.rootIdentity.email ?? opened.account._id },
          { label: undoText.provider, value: opened.name },
          { label: undoText.providerAccount, value: node.displayName ?? node.email ?? node.providerAccountId },
          { label: undoText.connectedAt, value: node.connectedAt },
          { label: undoText.until, value: opened.undo.expiresAt },
        ],
        // The token travels in the form's body, never in the URL the form posts to.
        form: {
          action: linkUndoRoutePath,
          fields: { token: c.req.query('token')! },
          button: undoText.button(opened.name),
        },
        note: undoText.confirmNote,
      },
      200,
    );
  })
  .post(linkUndoRoutePath, async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === 'string' ? form.token : undefined;
    const opened = await open(c, token);
    if (opened.kind !== 'open')
      return renderNoticePage(c, closedPages[opened.kind].props, closedPages[opened.kind].status);
    if (!opened.account || !connected(opened))
      return renderNoticePage(c, { title: undoText.goneTitle, paragraphs: [undoText.gone(opened.name)] }, 409);
    const tokens = linkUndoTokens(c.get('deps').db);
    // Single use: only one press moves the token to used.
    const claimed = await tokens.findOneAndUpdate(
      { _id: opened.undo._id, usedAt: null },
      { $set: { usedAt: new Date().toISOString() } },
    );
    if (!claimed) return renderNoticePage(c, closedPages.used.props, closedPages.used.status);
    try {
      const { workflowId } = await startDisconnect(c.get('deps'), {
        account: opened.account,
        provider: opened.undo.provider,
        retention: 'delete',
        requestedBy: opened.account.rootIdentity.subject,
      });
      await tokens.updateOne({ _id: opened.undo._id }, { $set: { disconnectWorkflowId: workflowId } });
    } catch (err) {
      // Refused (the last way to sign in, a disconnect already running): the link stays usable.
      await tokens.updateOne({ _id: opened.undo._id }, { $set: { usedAt: null } });
      if (err instanceof ProblemError) {
        return renderNoticePage(
          c,
          { title: undoText.refusedTitle(opened.name), paragraphs: [err.message] },
          problemKinds[err.kind].status as ContentfulStatusCode,
        );
      }
      throw err;
    }
    return renderNoticePage(c, { title: undoText.doneTitle(opened.name), paragraphs: undoText.done(opened.name) }, 200);
  });
