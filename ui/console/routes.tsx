/** @jsxImportSource hono/jsx */
/**
 * The support console under /console: the queue of what waits for a person, a page per recovery and per
 * provider link with its evidence and the decision form, and the per-account tools (flag overrides, legal
 * hold). Every page needs a browser session holding `support:read`; every action its own permission. All
 * data comes through the API as the signed-in agent (`apiOf`), so the API's and the workflows' rules hold.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiEnv } from '../../api/context.js';
import type { BrowserSessionDocument } from '../../api/session/browser-session.js';
import { queueProcesses, riskLevels } from '../../api/routes/support-queue.js';
import { staffPermissions } from '../../domain/roles.js';
import type { LinkState } from '../../workflows/link/messages.js';
import type { RecoveryStatus } from '../../workflows/recovery/messages.js';
import { renderPage } from '../layout.js';
import {
  apiOf,
  checkedForm,
  csrfRefused,
  forbiddenPage,
  notFoundPage,
  problemDetail,
  sessionOf,
  toSignIn,
  type PageContext,
} from '../page-context.js';
import { consoleText as t } from '../text.js';
import { consoleRefreshPath, consoleRefreshScript, consoleStylesheet, consoleStylesheetPath } from './assets.js';
import {
  AccountPage,
  AccountSearchPage,
  LinkPage,
  QueuePage,
  RecoveryPage,
  accountHref,
  linkHref,
  recoveryHref,
  type AccountView,
  type AuditRow,
} from './pages.js';

const assetHeaders = { 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' };
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const doneKeys = ['decided', 'waiting', 'flag', 'hold'] as const;

type Staff = { session: BrowserSessionDocument } | { response: Response };

/** The agent's session holding `permission`, or the answer to give instead (sign in, or the 403 page). */
async function staffSession(c: PageContext, permission: string = staffPermissions.supportRead): Promise<Staff> {
  const session = await sessionOf(c);
  if (!session) return { response: toSignIn(c) };
  if (!session.permissions.includes(staffPermissions.supportRead))
    return { response: forbiddenPage(c, staffPermissions.supportRead) };
  if (!session.permissions.includes(permission)) return { response: forbiddenPage(c, permission) };
  return { session };
}

/** A form posted without a session: sign in, then back to the page the form was on (not to the POST's address). */
const signInThen = (c: PageContext, page: string) =>
  c.redirect(`/account/sign-in?returnTo=${encodeURIComponent(page)}`, 303);

/** A fixed notice for `?done=<key>`: never words from the query. */
function noticeOf(c: PageContext): string | undefined {
  const done = c.req.query('done');
  return (doneKeys as readonly string[]).includes(done ?? '') ? t.done[done!] : undefined;
}

/** Temporal Web's page of a workflow (`TEMPORAL_UI_URL`). */
function temporalHref(c: PageContext, workflowId: string): string {
  const { temporal } = c.get('deps').config;
  const base = temporal.uiUrl;
  return `${base}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The account's recent audit events through the API (empty when the account is gone). */
async function auditOf(c: PageContext, session: BrowserSessionDocument, accountId?: string): Promise<AuditRow[]> {
  if (!accountId) return [];
  const res = await apiOf(c, session).v1.support.accounts[':accountId'].$get({ param: { accountId } });
  return res.status === 200 ? (await res.json()).auditEvents : [];
}

const has = (s: BrowserSessionDocument, permission: string) => s.permissions.includes(permission);
const text = (v: unknown) => (typeof v === 'string' ? v : '');

interface Redo {
  problem?: string;
  reason?: string;
  reasonInvalid?: boolean;
  status?: ContentfulStatusCode;
}

async function recoveryPage(c: PageContext, session: BrowserSessionDocument, recoveryId: string, redo: Redo = {}) {
  if (!uuidPattern.test(recoveryId)) return notFoundPage(c);
  const res = await apiOf(c, session).v1.support.recoveries[':recoveryId'].$get({ param: { recoveryId } });
  if (res.status === 404 || res.status === 400) return notFoundPage(c);
  if (res.status !== 200) return forbiddenPage(c, staffPermissions.supportRead);
  const recovery = (await res.json()) as unknown as RecoveryStatus;
  return renderPage(
    c,
    <RecoveryPage
      session={session}
      recovery={recovery}
      audit={await auditOf(c, session, recovery.accountId)}
      temporalHref={temporalHref(c, `recovery/${recoveryId}`)}
      canDecide={has(session, staffPermissions.recoveryApprove)}
      notice={redo.problem ? undefined : noticeOf(c)}
      problem={redo.problem}
      reason={redo.reason}
      reasonInvalid={redo.reasonInvalid ?? false}
      now={Date.now()}
    />,
    redo.status ?? 200,
  );
}

/** `link/<accountId>/<provider>`: the account that links. */
const linkAccountOf = (workflowId: string) => workflowId.split('/')[1];

async function linkPage(c: PageContext, session: BrowserSessionDocument, workflowId: string, redo: Redo = {}) {
  if (!workflowId.startsWith('link/')) return notFoundPage(c);
  const res = await apiOf(c, session).v1.support.links[':workflowId'].$get({
    param: { workflowId: encodeURIComponent(workflowId) },
  });
  if (res.status === 404 || res.status === 400) return notFoundPage(c);
  // Every console page already needs `support:read`, which the API's link view also takes.
  if (res.status !== 200) return forbiddenPage(c, staffPermissions.supportRead);
  const link = (await res.json()) as LinkState & { workflowId: string };
  const accountId = linkAccountOf(workflowId);
  return renderPage(
    c,
    <LinkPage
      session={session}
      workflowId={workflowId}
      accountId={accountId}
      link={link}
      audit={await auditOf(c, session, accountId && uuidPattern.test(accountId) ? accountId : undefined)}
      temporalHref={temporalHref(c, workflowId)}
      canDecide={has(session, staffPermissions.linksApprove)}
      notice={redo.problem ? undefined : noticeOf(c)}
      problem={redo.problem}
      reason={redo.reason}
      reasonInvalid={redo.reasonInvalid ?? false}
    />,
    redo.status ?? 200,
  );
}

async function accountPage(c: PageContext, session: BrowserSessionDocument, accountId: string, redo: Redo = {}) {
  if (!uuidPattern.test(accountId))
    return renderPage(
      c,
      <AccountSearchPage session={session} accountId={accountId} problem={t.accountIdInvalid} />,
      400,
    );
  const res = await apiOf(c, session).v1.support.accounts[':accountId'].$get({ param: { accountId } });
  if (res.status === 404)
    return renderPage(
      c,
      <AccountSearchPage session={session} accountId={accountId} problem={t.accountNotFound} />,
      404,
    );
  if (res.status !== 200) return forbiddenPage(c, staffPermissions.supportRead);
  const account = (await res.json()) as AccountView;
  return renderPage(
    c,
    <AccountPage
      session={session}
      account={account}
      canWriteFlags={has(session, staffPermissions.flagsWrite)}
      canHold={has(session, staffPermissions.legalHold)}
      notice={redo.problem ? undefined : noticeOf(c)}
      problem={redo.problem}
    />,
    redo.status ?? 200,
  );
}

export function consoleRoutes() {
  return new Hono<ApiEnv>()
    .get(consoleRefreshPath, (c) =>
      c.body(consoleRefreshScript, 200, { 'content-type': 'text/javascript; charset=utf-8', ...assetHeaders }),
    )
    .get(consoleStylesheetPath, (c) =>
      c.body(consoleStylesheet, 200, { 'content-type': 'text/css; charset=utf-8', ...assetHeaders }),
    )

    .get('/console', async (c) => {
      const staff = await staffSession(c);
      if ('response' in staff) return staff.response;
      const process = (queueProcesses as readonly string[]).includes(c.req.query('process') ?? '')
        ? (c.req.query('process') as (typeof queueProcesses)[number])
        : undefined;
      const risk = (riskLevels as readonly string[]).includes(c.req.query('risk') ?? '')
        ? (c.req.query('risk') as (typeof riskLevels)[number])
        : undefined;
      const res = await apiOf(c, staff.session).v1.support.queue.$get({
        query: { ...(process ? { process } : {}), ...(risk ? { risk } : {}) },
      });
      const items = res.status === 200 ? (await res.json()).items : [];
      const problem = res.status === 200 ? undefined : await problemDetail(res);
      const search = new URLSearchParams({ ...(process ? { process } : {}), ...(risk ? { risk } : {}) }).toString();
      return renderPage(
        c,
        <QueuePage
          session={staff.session}
          items={items}
          filters={{ process, risk }}
          refreshHref={search ? `/console?${search}` : '/console'}
          problem={problem}
          now={Date.now()}
        />,
        res.status === 200 ? 200 : 502,
      );
    })

    .get('/console/recoveries/:recoveryId', async (c) => {
      const staff = await staffSession(c);
      if ('response' in staff) return staff.response;
      return recoveryPage(c, staff.session, c.req.param('recoveryId'));
    })

    .post('/console/recoveries/:recoveryId/decision', async (c) => {
      const recoveryId = c.req.param('recoveryId');
      const session = await sessionOf(c);
      if (!session) return signInThen(c, recoveryHref(recoveryId));
      const form = await checkedForm(c, session);
      if (!form) return csrfRefused(c, recoveryHref(recoveryId));
      const staff = await staffSession(c, staffPermissions.recoveryApprove);
      if ('response' in staff) return staff.response;
      if (!uuidPattern.test(recoveryId)) return notFoundPage(c);
      const reason = text(form.reason).trim();
      const decision = form.decision === 'deny' ? 'deny' : form.decision === 'approve' ? 'approve' : undefined;
      if (!reason || !decision)
        return recoveryPage(c, session, recoveryId, {
          problem: t.reasonMissing,
          reasonInvalid: true,
          status: 400,
        });
      const res = await apiOf(c, session).v1.support.recoveries[':recoveryId'].decision.$post({
        param: { recoveryId },
        json: { decision, reason },
      });
      if (res.status !== 200)
        return recoveryPage(c, session, recoveryId, {
          problem: t.refused(await problemDetail(res)),
          reason,
          status: res.status as ContentfulStatusCode,
        });
      const outcome = await res.json();
      const done = decision === 'approve' && outcome.approvalsNeeded > 0 ? 'waiting' : 'decided';
      return c.redirect(`${recoveryHref(recoveryId)}?done=${done}`, 303);
    })

    .get('/console/links/:workflowId', async (c) => {
      const staff = await staffSession(c);
      if ('response' in staff) return staff.response;
      return linkPage(c, staff.session, c.req.param('workflowId'));
    })

    .post('/console/links/:workflowId/decision', async (c) => {
      const workflowId = c.req.param('workflowId');
      const session = await sessionOf(c);
      if (!session) return signInThen(c, linkHref(workflowId));
      const form = await checkedForm(c, session);
      if (!form) return csrfRefused(c, linkHref(workflowId));
      const staff = await staffSession(c, staffPermissions.linksApprove);
      if ('response' in staff) return staff.response;
      const reason = text(form.reason).trim();
      const decision = form.decision === 'deny' ? 'deny' : form.decision === 'approve' ? 'approve' : undefined;
      if (!reason || !decision)
        return linkPage(c, session, workflowId, { problem: t.reasonMissing, reasonInvalid: true, status: 400 });
      const res = await apiOf(c, session).v1.support.links[':workflowId'].decision.$post({
        param: { workflowId: encodeURIComponent(workflowId) },
        json: { decision, reason },
      });
      if (res.status !== 202)
        return linkPage(c, session, workflowId, {
          problem: t.refused(await problemDetail(res)),
          reason,
          status: res.status as ContentfulStatusCode,
        });
      return c.redirect(`${linkHref(workflowId)}?done=decided`, 303);
    })

    .get('/console/accounts', async (c) => {
      const staff = await staffSession(c);
      if ('response' in staff) return staff.response;
      const accountId = c.req.query('accountId')?.trim();
      if (accountId && uuidPattern.test(accountId)) return c.redirect(accountHref(accountId.toLowerCase()), 303);
      return renderPage(
        c,
        <AccountSearchPage
          session={staff.session}
          accountId={accountId}
          problem={accountId ? t.accountIdInvalid : undefined}
        />,
        accountId ? 400 : 200,
      );
    })

    .get('/console/accounts/:accountId', async (c) => {
      const staff = await staffSession(c);
      if ('response' in staff) return staff.response;
      return accountPage(c, staff.session, c.req.param('accountId'));
    })

    .post('/console/accounts/:accountId/flags', async (c) => {
      const accountId = c.req.param('accountId');
      const session = await sessionOf(c);
      if (!session) return signInThen(c, accountHref(accountId));
      const form = await checkedForm(c, session);
      if (!form) return csrfRefused(c, accountHref(accountId));
      const staff = await staffSession(c, staffPermissions.flagsWrite);
      if ('response' in staff) return staff.response;
      if (!uuidPattern.test(accountId)) return notFoundPage(c);
      const flag = text(form.flag);
      const setting = text(form.setting);
      const reason = text(form.reason).trim();
      const api = apiOf(c, session).v1.support['feature-flags'][':flag'].accounts[':accountId'];
      let res: Response;
      if (setting === 'rule') res = await api.$delete({ param: { flag, accountId } });
      else {
        if (!reason) return accountPage(c, session, accountId, { problem: t.reasonMissing, status: 400 });
        res = await api.$put({ param: { flag, accountId }, json: { enabled: setting === 'on', reason } });
      }
      if (!res.ok)
        return accountPage(c, session, accountId, {
          problem: t.refused(await problemDetail(res)),
          status: res.status as ContentfulStatusCode,
        });
      return c.redirect(`${accountHref(accountId)}?done=flag`, 303);
    })

    .post('/console/accounts/:accountId/legal-hold', async (c) => {
      const accountId = c.req.param('accountId');
      const session = await sessionOf(c);
      if (!session) return signInThen(c, accountHref(accountId));
      const form = await checkedForm(c, session);
      if (!form) return csrfRefused(c, accountHref(accountId));
      const staff = await staffSession(c, staffPermissions.legalHold);
      if ('response' in staff) return staff.response;
      if (!uuidPattern.test(accountId)) return notFoundPage(c);
      const reason = text(form.reason).trim();
      if (!reason) return accountPage(c, session, accountId, { problem: t.reasonMissing, status: 400 });
      const res = await apiOf(c, session).v1.support.accounts[':accountId']['legal-hold'].$post({
        param: { accountId },
        json: { hold: form.hold === 'true', reason },
      });
      if (res.status !== 200)
        return accountPage(c, session, accountId, {
          problem: t.refused(await problemDetail(res)),
          status: res.status as ContentfulStatusCode,
        });
      return c.redirect(`${accountHref(accountId)}?done=hold`, 303);
    });
}
