/** @jsxImportSource hono/jsx */
/**
 * The account center's security, activity and privacy pages. Every page needs a browser session (or sends
 * the browser to sign in), every form carries the session's CSRF token, and every action is a call to the
 * API as the person (`apiOf`), so a page can do nothing the person's own token could not. Post/Redirect/Get:
 * a done action redirects to a page with a fixed `?done=` key; a refused one re-renders with the API's words.
 */
import { Hono } from 'hono';
import type { ProblemKind } from '../../domain/problem.js';
import { respondProblem } from '../../api/problem.js';
import type { InferRequestType } from 'hono/client';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import QRCode from 'qrcode';
import type { ApiEnv } from '../../api/context.js';
import { csrfTokenMatches, type BrowserSessionDocument } from '../../api/session/browser-session.js';
import { renderPage } from '../layout.js';
import {
  apiOf,
  checkedForm,
  csrfRefused,
  notFoundPage,
  problemDetail,
  sessionOf,
  toSignIn,
  type PageContext,
} from '../page-context.js';
import { securityText } from '../text.js';
import { ActivityPage } from './activity-page.js';
import { securityAssetRoutes } from './assets.js';
import { ErasureConfirmPage, ExportPage, PrivacyPage, privacySection, type ConsentView } from './privacy-pages.js';
import {
  BackupCodesPage,
  PhoneConfirmPage,
  SecurityPage,
  securitySection,
  TotpSetupPage,
  type SecurityOverview,
} from './security-pages.js';

const statusOf = (res: Response) => res.status as ContentfulStatusCode;
const field = (form: Record<string, unknown>, name: string) =>
  typeof form[name] === 'string' ? (form[name] as string) : '';

/** The recovery-factor routes of the person's API (`hc<AppType>`, in process). */
const factorRoutes = (c: PageContext, session: BrowserSessionDocument) => apiOf(c, session).v1.me['recovery-factors'];

async function securityOverview(c: PageContext, session: BrowserSessionDocument): Promise<SecurityOverview> {
  const factorsApi = factorRoutes(c, session);
  const [factors, passkeys, phones, sessions] = await Promise.all([
    apiOf(c, session).v1.me['recovery-factors'].$get(),
    factorsApi.passkeys.$get(),
    factorsApi.phones.$get(),
    apiOf(c, session).v1.me.sessions.$get(),
  ]);
  const kinds = factors.status === 200 ? (await factors.json()).factors : [];
  const totp = kinds.find((f) => f.kind === 'totp');
  const codes = kinds.filter((f) => f.kind === 'backup_code');
  return {
    totp: !totp ? 'off' : totp.confirmed ? 'on' : 'pending',
    backupCodes: { total: codes.length, left: codes.filter((f) => !f.used).length },
    passkeys: passkeys.status === 200 ? (await passkeys.json()).passkeys : [],
    phones: phones.status === 200 ? (await phones.json()).phones : [],
    sessions: sessions.status === 200 ? (await sessions.json()).sessions : [],
  };
}

async function securityPage(
  c: PageContext,
  session: BrowserSessionDocument,
  opts: { problem?: string; status?: ContentfulStatusCode } = {},
) {
  const notice = securityText.security.done[c.req.query('done') ?? ''];
  return renderPage(
    c,
    <SecurityPage
      session={session}
      overview={await securityOverview(c, session)}
      notice={notice}
      problem={opts.problem}
    />,
    opts.status ?? 200,
  );
}

async function privacyPage(
  c: PageContext,
  session: BrowserSessionDocument,
  opts: { problem?: string; status?: ContentfulStatusCode } = {},
) {
  const api = apiOf(c, session).v1.me;
  const [consentsRes, erasureRes] = await Promise.all([api.consents.$get(), api.erasure.$get()]);
  const consents: ConsentView[] = [];
  if (consentsRes.status === 200) {
    const body = await consentsRes.json();
    for (const p of body.purposes) {
      const answer = body.current.find((a) => a.purpose === p.purpose);
      consents.push({ ...p, granted: answer?.granted });
    }
  }
  const erasure = erasureRes.status === 200 ? await erasureRes.json() : undefined;
  const notice = securityText.privacy.done[c.req.query('done') ?? ''];
  return renderPage(
    c,
    <PrivacyPage session={session} consents={consents} erasure={erasure} notice={notice} problem={opts.problem} />,
    opts.status ?? 200,
  );
}

/** A JSON answer for the passkey script: the problem's words, never a page. */
/** The script's calls are answered as the API answers: RFC 9457 problem+json, never cached. */
const scriptProblem = (c: PageContext, kind: ProblemKind, detail: string) =>
  respondProblem(c, kind, detail, { 'cache-control': 'no-store' });
/** A refusal of the API itself reaches the script as the API's own problem. */
const apiRefusal = async (res: { status: number; text(): Promise<string> }) =>
  new Response(await res.text(), {
    status: res.status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
  });

/** The passkey script's calls: the session, and its CSRF token in a header (a form post cannot set one). */
async function scriptSession(c: PageContext): Promise<BrowserSessionDocument | Response> {
  const session = await sessionOf(c);
  if (!session) return scriptProblem(c, 'unauthenticated', securityText.security.passkeyFailed);
  if (!csrfTokenMatches(session, c.req.header('x-csrf-token')))
    return scriptProblem(c, 'forbidden', securityText.security.passkeyFailed);
  return session;
}

export function securityPageRoutes() {
  return (
    new Hono<ApiEnv>()
      .route('/', securityAssetRoutes)

      // ---- Security: recovery factors and sessions ----------------------------------------------------
      .get('/account/security', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        return securityPage(c, session);
      })

      .post('/account/security/totp', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, securitySection);
        const res = await factorRoutes(c, session).totp.$post();
        if (res.status !== 201)
          return securityPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
        const { secret, otpauthUri } = await res.json();
        const qr = await QRCode.toDataURL(otpauthUri, { margin: 1, width: 224 });
        return renderPage(c, <TotpSetupPage session={session} secret={secret} qr={qr} />, 200);
      })

      .post('/account/security/totp/confirm', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const form = await checkedForm(c, session);
        if (!form) return csrfRefused(c, securitySection);
        const res = await factorRoutes(c, session).totp.confirm.$post({
          json: { code: field(form, 'code') },
        });
        if (res.status === 200) return c.redirect(`${securitySection}?done=totp-confirmed`, 303);
        return renderPage(c, <TotpSetupPage session={session} problem={await problemDetail(res)} />, statusOf(res));
      })

      .post('/account/security/totp/remove', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, securitySection);
        const res = await factorRoutes(c, session).totp.$delete();
        if (res.status === 204) return c.redirect(`${securitySection}?done=totp-removed`, 303);
        return securityPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
      })

      .post('/account/security/backup-codes', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, securitySection);
        const res = await factorRoutes(c, session)['backup-codes'].$post();
        if (res.status !== 201)
          return securityPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
        // Shown on this answer only: a reload asks again for the page, which shows how many are left.
        return renderPage(c, <BackupCodesPage session={session} codes={(await res.json()).codes} />, 200);
      })

      .post('/account/security/passkeys/options', async (c) => {
        const session = await scriptSession(c);
        if (session instanceof Response) return session;
        const res = await factorRoutes(c, session).passkeys.options.$post();
        if (res.status !== 201) return apiRefusal(res);
        const { enrolmentId, publicKey } = await res.json();
        return c.json({ enrolmentId, publicKey }, 200, { 'cache-control': 'no-store' });
      })

      .post('/account/security/passkeys', async (c) => {
        const session = await scriptSession(c);
        if (session instanceof Response) return session;
        const body: unknown = await c.req.json().catch(() => undefined);
        if (!body || typeof body !== 'object')
          return scriptProblem(c, 'malformed-json', securityText.security.passkeyFailed);
        // The API validates every field (and verifies the attestation); the page only passes it on.
        const passkeys = factorRoutes(c, session).passkeys;
        const res = await passkeys.$post({ json: body as InferRequestType<typeof passkeys.$post>['json'] });
        if (res.status !== 201) return apiRefusal(res);
        return c.json({ redirectTo: `${securitySection}?done=passkey-added` }, 200, { 'cache-control': 'no-store' });
      })

      .post('/account/security/passkeys/:factorId/remove', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, securitySection);
        const res = await factorRoutes(c, session).passkeys[':factorId'].$delete({
          param: { factorId: c.req.param('factorId') },
        });
        if (res.status === 204) return c.redirect(`${securitySection}?done=passkey-removed`, 303);
        return securityPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
      })

      .post('/account/security/phones', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const form = await checkedForm(c, session);
        if (!form) return csrfRefused(c, securitySection);
        const res = await factorRoutes(c, session).phones.$post({
          json: { number: field(form, 'number') },
        });
        if (res.status === 202)
          return c.redirect(`${securitySection}/phones/${(await res.json()).phoneId}/confirm`, 303);
        return securityPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
      })

      .get('/account/security/phones/:phoneId/confirm', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const phone = await phoneOf(c, session, c.req.param('phoneId'));
        if (!phone) return notFoundPage(c);
        return renderPage(c, <PhoneConfirmPage session={session} phoneId={phone.phoneId} number={phone.number} />);
      })

      .post('/account/security/phones/:phoneId/confirm', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const form = await checkedForm(c, session);
        if (!form) return csrfRefused(c, securitySection);
        const phone = await phoneOf(c, session, c.req.param('phoneId'));
        if (!phone) return notFoundPage(c);
        const res = await factorRoutes(c, session).phones[':phoneId'].confirm.$post({
          param: { phoneId: phone.phoneId },
          json: { code: field(form, 'code') },
        });
        if (res.status === 200) return c.redirect(`${securitySection}?done=phone-confirmed`, 303);
        return renderPage(
          c,
          <PhoneConfirmPage
            session={session}
            phoneId={phone.phoneId}
            number={phone.number}
            problem={await problemDetail(res)}
          />,
          statusOf(res),
        );
      })

      .post('/account/security/phones/:phoneId/remove', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, securitySection);
        const res = await factorRoutes(c, session).phones[':phoneId'].$delete({
          param: { phoneId: c.req.param('phoneId') },
        });
        if (res.status === 204) return c.redirect(`${securitySection}?done=phone-removed`, 303);
        return securityPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
      })

      // ---- Activity -----------------------------------------------------------------------------------
      .get('/account/activity', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const before = c.req.query('before');
        const paged = before !== undefined && /^[1-9][0-9]{0,15}$/.test(before);
        const res = await apiOf(c, session).v1.me.activity.$get({ query: paged ? { before } : {} });
        if (res.status !== 200)
          return renderPage(
            c,
            <ActivityPage
              session={session}
              events={[]}
              nextBefore={null}
              paged={paged}
              problem={await problemDetail(res)}
            />,
            statusOf(res),
          );
        const page = await res.json();
        return renderPage(
          c,
          <ActivityPage session={session} events={page.events} nextBefore={page.nextBefore} paged={paged} />,
        );
      })

      // ---- Privacy: consents, export, erasure -----------------------------------------------------------
      .get('/account/privacy', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        return privacyPage(c, session);
      })

      .post('/account/privacy/consents', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const form = await checkedForm(c, session);
        if (!form) return csrfRefused(c, privacySection);
        const granted = field(form, 'granted') === 'true';
        const res = await apiOf(c, session).v1.me.consents.$put({
          json: { purpose: field(form, 'purpose'), version: field(form, 'version'), granted },
        });
        if (res.status === 200)
          return c.redirect(`${privacySection}?done=${granted ? 'consent-granted' : 'consent-withdrawn'}`, 303);
        return privacyPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
      })

      .post('/account/privacy/exports', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, privacySection);
        const res = await apiOf(c, session).v1.me.exports.$post();
        if (res.status === 202) return c.redirect(`${privacySection}/exports/${(await res.json()).exportId}`, 303);
        return privacyPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
      })

      .get('/account/privacy/exports/:exportId', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const res = await apiOf(c, session).v1.me.exports[':exportId'].$get({
          param: { exportId: c.req.param('exportId') },
        });
        if (res.status !== 200) return notFoundPage(c);
        return renderPage(c, <ExportPage session={session} export={await res.json()} />);
      })

      .get('/account/privacy/erasure', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        const { dataRights } = c.get('deps').config;
        return renderPage(c, <ErasureConfirmPage session={session} gracePeriod={dataRights.erasureGracePeriod} />);
      })

      .post('/account/privacy/erasure', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, privacySection);
        const res = await apiOf(c, session).v1.me.erasure.$post();
        if (res.status === 202) return c.redirect(`${privacySection}?done=erasure-requested`, 303);
        const { dataRights } = c.get('deps').config;
        return renderPage(
          c,
          <ErasureConfirmPage
            session={session}
            gracePeriod={dataRights.erasureGracePeriod}
            problem={await problemDetail(res)}
          />,
          statusOf(res),
        );
      })

      .post('/account/privacy/erasure/cancel', async (c) => {
        const session = await sessionOf(c);
        if (!session) return toSignIn(c);
        if (!(await checkedForm(c, session))) return csrfRefused(c, privacySection);
        const res = await apiOf(c, session).v1.me.erasure.$delete();
        if (res.status === 200) return c.redirect(`${privacySection}?done=erasure-cancelled`, 303);
        return privacyPage(c, session, { problem: await problemDetail(res), status: statusOf(res) });
      })
  );
}

/** One of the person's own phones (the API lists only theirs), by id. */
async function phoneOf(c: PageContext, session: BrowserSessionDocument, phoneId: string) {
  const res = await factorRoutes(c, session).phones.$get();
  if (res.status !== 200) return undefined;
  return (await res.json()).phones.find((p) => p.phoneId === phoneId);
}
