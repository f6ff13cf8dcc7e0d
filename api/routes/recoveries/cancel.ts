/**
 * Cancelling a recovery before the reset: the page a notice's cancel link opens (it changes nothing), its
 * one button (a form post that answers with a page), and the JSON API for the link's token, the signed-in
 * owner and the requester.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../../auth/route-auth.js';
import type { Context } from 'hono';
import { accountEmailOf, addressProjection } from '../../../activities/accounts/personal-fields.js';
import type { AccountDocument } from '../../../domain/account-center.js';
import { collections } from '../../../domain/collections.js';
import { defaultSupportEmail } from '../../../domain/config.js';
import { describeInstant, maskEmail, type RecoveryDocument } from '../../../domain/recovery.js';
import { renderNoticePage, type NoticePageProps } from '../../../ui/pages/notice-page.js';
import { finalRecoveryStages, type RecoveryStatus } from '../../../workflows/recovery/messages.js';
import { signedInCaller } from '../../auth/optional-bearer.js';
import { authorizeRecovery, matchesCancelToken, recoveryTokenHeader } from '../../auth/recovery-proofs.js';
import { accountKeysOf } from '../../adapters.js';
import type { ApiEnv } from '../../context.js';
import { defaultHook, ProblemError } from '../../problem.js';
import { cancelRecovery, recoveryStatusIfRunning } from '../../processes/recovery.js';
import { problemResponses } from '../openapi.js';
import { recoveryIdParam } from './schemas.js';
import { optionalAgentSignature } from './settings.js';
import { noticePagesText } from '../../../ui/text.js';

// ---- Cancel links: the page a notice's link opens ------------------------------------------------

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The cancel page's button posts a plain form (the token in a hidden field); the app and the owner post JSON or nothing. */
const isFormPost = (c: Context<ApiEnv>) =>
  /^application\/x-www-form-urlencoded\s*(;|$)/i.test(c.req.header('content-type') ?? '');

/** What a cancel link opens: nothing, or the recovery its token belongs to, where it stands and whose account it is. */
type CancelLink =
  | { kind: 'invalid' }
  | {
      kind: 'found';
      token: string;
      request: RecoveryDocument;
      stage: RecoveryStatus['stage'];
      resetting: boolean;
      coolingEndsAt: string | null;
      email: string | undefined;
    };

async function openCancelLink(c: Context<ApiEnv>, recoveryId: string, token: unknown): Promise<CancelLink> {
  const { db } = c.get('deps');
  if (typeof token !== 'string' || token.length < 20 || token.length > 200 || !uuidPattern.test(recoveryId))
    return { kind: 'invalid' };
  const request = await db.collection<RecoveryDocument>(collections.recoveries).findOne({ _id: recoveryId });
  if (!request || !matchesCancelToken(request, token)) return { kind: 'invalid' };
  const status = await recoveryStatusIfRunning(c.get('deps'), recoveryId);
  const account = request.accountId
    ? await db
        .collection<AccountDocument>(collections.accounts)
        .findOne({ _id: request.accountId }, { projection: addressProjection })
    : null;
  const stage = status?.stage ?? (request.outcome as RecoveryStatus['stage'] | undefined) ?? 'expired';
  return {
    kind: 'found',
    token,
    request,
    stage,
    resetting: status?.resetting ?? false,
    coolingEndsAt: status?.coolingEndsAt ?? null,
    email: account ? await accountEmailOf(await accountKeysOf(c.get('deps')), account) : undefined,
  };
}

/** Every sentence of the cancel pages, in one place. */
const cancelText = noticePagesText.recoveryCancel;

type Rendered = { props: NoticePageProps; status: 200 | 404 | 409 | 410 };

/** The page for a cancel link as things stand: the question with its one button, or why there is nothing to cancel. */
function cancelLinkPage(c: Context<ApiEnv>, link: CancelLink): Rendered {
  const support = c.get('deps').config.supportEmail ?? defaultSupportEmail;
  if (link.kind === 'invalid')
    return { status: 404, props: { title: cancelText.invalidTitle, paragraphs: cancelText.invalidText(support) } };
  const email = link.email ? maskEmail(link.email) : 'your account';
  const next = cancelText.nextSteps(support);
  if (link.resetting || link.stage === 'completed') {
    return link.stage === 'completed'
      ? {
          status: 410,
          props: { title: cancelText.completedTitle, paragraphs: cancelText.completedText(email, support) },
        }
      : {
          status: 409,
          props: { title: cancelText.resettingTitle, paragraphs: cancelText.resettingText(email, support) },
        };
  }
  switch (link.stage) {
    case 'cancelled':
      return {
        status: 410,
        props: {
          title: cancelText.alreadyCancelledTitle,
          paragraphs: [...cancelText.alreadyCancelledText(email), ...next],
        },
      };
    case 'denied':
      return { status: 410, props: { title: cancelText.deniedTitle, paragraphs: cancelText.deniedText(email) } };
    case 'expired':
      return { status: 410, props: { title: cancelText.expiredTitle, paragraphs: cancelText.expiredText(email) } };
    default: {
      const ends = link.coolingEndsAt ? describeInstant(link.coolingEndsAt) : null;
      const stage =
        link.stage === 'cooling'
          ? cancelText.stages.cooling(ends ?? 'the end of the waiting period')
          : cancelText.stages[link.stage]();
      return {
        status: 200,
        props: {
          title: cancelText.confirmTitle,
          paragraphs: cancelText.confirmText,
          facts: [
            { label: cancelText.account, value: email },
            { label: cancelText.started, value: describeInstant(link.request.createdAt) },
            { label: cancelText.stage, value: stage },
            { label: cancelText.ifNothing, value: cancelText.ifNothingText(ends) },
          ],
          // The token goes in the body: the URL the form posts to carries none.
          form: {
            action: `/v1/recoveries/${link.request._id}/cancel`,
            fields: { token: link.token },
            button: cancelText.button,
          },
          note: cancelText.confirmNote,
        },
      };
    }
  }
}

/** The button's POST: cancel with the token from the form, and answer with a page whatever happens. */
async function cancelByForm(c: Context<ApiEnv>, recoveryId: string): Promise<Response> {
  const form = await c.req.parseBody();
  const token = typeof form.token === 'string' ? form.token : undefined;
  const link = await openCancelLink(c, recoveryId, token);
  if (link.kind === 'found' && !link.resetting && !finalRecoveryStages.includes(link.stage)) {
    try {
      await cancelRecovery(c.get('deps'), recoveryId, { by: 'link' });
      const support = c.get('deps').config.supportEmail ?? defaultSupportEmail;
      const email = link.email ? maskEmail(link.email) : 'your account';
      return renderNoticePage(
        c,
        { title: cancelText.doneTitle, paragraphs: [...cancelText.doneText(email), ...cancelText.nextSteps(support)] },
        200,
      );
    } catch (err) {
      // Refused because it ended or the reset began meanwhile: say how it stands now.
      if (!(err instanceof ProblemError && err.kind === 'conflict')) throw err;
      const now = await openCancelLink(c, recoveryId, token);
      const page = cancelLinkPage(c, now);
      return renderNoticePage(c, page.props, page.status);
    }
  }
  const page = cancelLinkPage(c, link);
  return renderNoticePage(c, page.props, page.status);
}

// ---- Routes ----------------------------------------------------------------------------------------

// Public: the handler checks the cancel link's token, the requester's recovery token or the owner's bearer.
const cancelRoute = secured(auth.public, {
  method: 'post',
  path: '/v1/recoveries/{recoveryId}/cancel',
  summary: 'Cancel a recovery before the reset',
  description: `With the cancel link's \`token\` (sent to every verified channel), the owner's bearer token, or the requester's ${recoveryTokenHeader}.`,
  middleware: [optionalAgentSignature] as const,
  request: { params: recoveryIdParam, query: z.object({ token: z.string().min(20).max(200).optional() }) },
  responses: {
    200: {
      description:
        'Cancelled; nothing changed. The cancel page’s button posts `token` as `application/x-www-form-urlencoded` and gets a page back (200 cancelled, 404/409/410 as for the page).',
      content: { 'application/json': { schema: z.object({ stage: z.literal('cancelled') }) } },
    },
    ...problemResponses(400, 401, 404, 409, 415),
  },
});

const cancelPageRoute = secured(auth.public, {
  method: 'get',
  path: '/v1/recoveries/{recoveryId}/cancel',
  summary: 'The page a notice’s cancel link opens (HTML)',
  description:
    'Says which recovery the link would cancel (the account’s address masked, when it started, where it stands) with one button that POSTs the token as a form. Opening it changes nothing (mail scanners open links too). A wrong token is a 404 page, a recovery that ended a 410 page, one whose reset began a 409 page.',
  request: {
    // Checked by the handler, so a malformed link still gets a page rather than problem+json.
    params: z.object({ recoveryId: z.string().openapi({ param: { name: 'recoveryId', in: 'path' } }) }),
    query: z.object({ token: z.string().optional() }),
  },
  responses: {
    200: { description: 'What will be cancelled, and the button', content: { 'text/html': { schema: z.string() } } },
    404: { description: 'The link does not work (nothing changed)', content: { 'text/html': { schema: z.string() } } },
    409: { description: 'Too late: the reset began', content: { 'text/html': { schema: z.string() } } },
    410: {
      description: 'The recovery ended (cancelled, completed, refused or expired)',
      content: { 'text/html': { schema: z.string() } },
    },
  },
});
export const recoveryCancelRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(cancelPageRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    const page = cancelLinkPage(c, await openCancelLink(c, recoveryId, c.req.valid('query').token));
    return renderNoticePage(c, page.props, page.status) as never;
  })

  .openapi(cancelRoute, async (c) => {
    const { recoveryId } = c.req.valid('param');
    if (isFormPost(c)) return cancelByForm(c, recoveryId) as never;
    const { token } = c.req.valid('query');
    const request = await c
      .get('deps')
      .db.collection<RecoveryDocument>(collections.recoveries)
      .findOne({ _id: recoveryId });
    let by: 'link' | 'owner' | 'requester';
    let actor: string | undefined;
    if (token) {
      if (!request || !matchesCancelToken(request, token))
        throw new ProblemError('not-found', 'No recovery with this id and cancel link.');
      by = 'link';
    } else if (c.req.header(recoveryTokenHeader)) {
      await authorizeRecovery(c, recoveryId);
      by = 'requester';
    } else if (c.req.header('authorization')) {
      const caller = await signedInCaller(c);
      if (caller instanceof Response) return caller as never;
      if (!request?.accountId || request.accountId !== caller.accountId)
        throw new ProblemError('not-found', 'No recovery of your account has this id.');
      by = 'owner';
      actor = caller.subject;
    } else {
      throw new ProblemError(
        'unauthenticated',
        `Cancel with the link's token, your bearer token, or the ${recoveryTokenHeader}.`,
      );
    }
    await cancelRecovery(c.get('deps'), recoveryId, { by, ...(actor ? { actor } : {}) });
    return c.json({ stage: 'cancelled' as const }, 200);
  });
