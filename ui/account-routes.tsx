/** @jsxImportSource hono/jsx */
/**
 * The account center's sign-in as a relying party, and its home page: `/account/sign-in` sends the
 * browser to the issuer (code + PKCE + nonce, the transaction bound to this browser by a cookie),
 * `/account/callback` redeems the code and opens a browser session, `/account/sign-out` ends it here
 * and at the issuer. A person who signs in for the first time gets their account center (signup).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Db } from 'mongodb';
import { accountIdOf } from '../activities/erasure/subject-accounts.js';
import type { SecretVault } from '../activities/secrets/port.js';
import type { AccountDocument } from '../domain/account-center.js';
import { collections } from '../domain/collections.js';
import type { ApiDeps, ApiEnv } from '../api/context.js';
import { startSignup } from '../api/processes/signup.js';
import type { PasswordUser } from '../api/auth/embedded-oidc/accounts.js';
import {
  clearBrowserSessionCookie,
  createBrowserSession,
  csrfTokenMatches,
  listBrowserSessions,
  readBrowserSession,
  setBrowserSessionCookie,
  type BrowserSessionDocument,
} from '../api/session/browser-session.js';
import { sessionTokensKey, signOutEverywhere, signOutSession } from '../api/session/sign-out.js';
import { providerCatalog } from '../domain/provider-catalog.js';
import { providerIds } from '../domain/providers.js';
import { providerFlagsFor } from '../api/provider-flags.js';
import { renderPage } from './layout.js';
import { apiOf } from './page-context.js';
import { AccountHome } from './pages/account-home.js';
import { MessagePage } from './pages/sign-in.js';
import { accountText, signInText as t } from './text.js';
import type { SignInClient } from './sign-in-client.js';

interface SignInTransaction {
  _id: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  expiresAt: number;
}

const transactionCookie = 'cra_signin';
const transactionTtlMs = 15 * 60_000;
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Sign-ins started and never finished would stay for ever (no TTL indexes on FerretDB): drop them now and then. */
let lastSweep = 0;
async function sweepTransactions(db: Db): Promise<void> {
  if (Date.now() - lastSweep < 60_000) return;
  lastSweep = Date.now();
  await db
    .collection<SignInTransaction>(collections.signinTransactions)
    .deleteMany({ expiresAt: { $lt: Date.now() } })
    .catch(() => undefined);
}

/** Only paths of this origin: `returnTo` must never send a browser elsewhere (open redirect). */
export function safeReturnTo(value: string | undefined): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || /[\r\n]/.test(value))
    return '/account';
  return value;
}

export interface AccountRouteDeps {
  signIn: SignInClient;
  /** Verifies the issuer's access token (the API's own verifier) to read the person's permissions. */
  accessTokenKeys: JWTVerifyGetKey;
  vault: () => Promise<SecretVault>;
}

export function accountRoutes(routeDeps: AccountRouteDeps) {
  const { signIn } = routeDeps;

  async function session(c: Context<ApiEnv>): Promise<BrowserSessionDocument | undefined> {
    const { db, config } = c.get('deps');
    return readBrowserSession(c, db, config.publicUrl);
  }

  function csrfRefused(c: Context<ApiEnv>) {
    return renderPage(
      c,
      <MessagePage
        title={accountText.csrfProblemTitle}
        text={[accountText.csrfProblemText]}
        link={{ href: '/account', label: t.backToAccount }}
        problem
      />,
      403,
    );
  }

  /** The first sign-in of a person creates their account center (the embedded directory kept their sign-up details). */
  async function ensureAccount(deps: ApiDeps, subject: string, claims: Record<string, unknown>): Promise<void> {
    const accountId = await accountIdOf({ db: deps.db, vault: await routeDeps.vault() }, subject);
    if (
      await deps.db
        .collection<AccountDocument>(collections.accounts)
        .findOne({ _id: accountId }, { projection: { _id: 1 } })
    )
      return;
    const user = await deps.db.collection<PasswordUser>(collections.identityUsers).findOne({ _id: subject });
    const givenName = user?.given_name ?? (typeof claims.given_name === 'string' ? claims.given_name : undefined);
    const familyName = user?.family_name ?? (typeof claims.family_name === 'string' ? claims.family_name : undefined);
    const email = user?.email ?? (typeof claims.email === 'string' ? claims.email : undefined);
    await startSignup(deps, subject, {
      source: 'api',
      requestedBy: subject,
      consents: user?.signup_consents ?? [],
      ...(givenName ? { givenName } : {}),
      ...(familyName ? { familyName } : {}),
      ...(email ? { email, emailVerified: user?.email_verified ?? claims.email_verified === true } : {}),
    });
  }

  async function homePage(c: Context<ApiEnv>, current: BrowserSessionDocument, problem?: string) {
    const { db, config } = c.get('deps');
    const api = apiOf(c, current);
    // Until the signup workflow has created it, the account center answers 404.
    const [me, processes] = await Promise.all([api.v1.me.$get(), api.v1.me.processes.$get()]);
    const account = me.status === 200 ? await me.json() : null;
    const running =
      processes.status === 200 ? (await processes.json()).items.filter((p) => p.status === 'running').length : 0;
    const sessions = await listBrowserSessions(db, current.subject);
    const flags = await providerFlagsFor(db, config, current.accountId);
    const connected = new Set(
      (account?.connected_providers?.nodes ?? []).filter((n) => n.status !== 'disconnected').map((n) => n.provider),
    );
    const connect = providerIds
      .filter((id) => flags[id].enabled || connected.has(id))
      .map((id) => ({ provider: id, displayName: providerCatalog[id].displayName, connected: connected.has(id) }));
    return (
      <AccountHome
        session={current}
        account={account ?? undefined}
        sessions={sessions}
        connect={connect}
        summary={{ providers: connected.size, running }}
        {...(problem ? { problem } : {})}
      />
    );
  }

  return (
    new Hono<ApiEnv>()
      // "Back to your account center" links point at the site's root.
      .get('/', (c) => c.redirect('/account', 302))
      .get('/account/sign-in', async (c) => {
        const { db, config } = c.get('deps');
        const returnTo = safeReturnTo(c.req.query('returnTo'));
        if (await session(c)) return c.redirect(returnTo, 303);
        const begun = await signIn.begin();
        const secret = randomBytes(32).toString('base64url');
        await sweepTransactions(db);
        await db.collection<SignInTransaction>(collections.signinTransactions).insertOne({
          _id: sha256(secret),
          state: begun.state,
          nonce: begun.nonce,
          codeVerifier: begun.codeVerifier,
          returnTo,
          expiresAt: Date.now() + transactionTtlMs,
        });
        setCookie(c, transactionCookie, secret, {
          path: '/account',
          httpOnly: true,
          sameSite: 'Lax',
          secure: new URL(config.publicUrl).protocol === 'https:',
          maxAge: transactionTtlMs / 1000,
        });
        return c.redirect(begun.url, 303);
      })

      .get('/account/callback', async (c) => {
        const deps = c.get('deps');
        const { db, config } = deps;
        const secret = getCookie(c, transactionCookie);
        deleteCookie(c, transactionCookie, { path: '/account' });
        const failed = (text: string, status: 400 | 403 = 400) =>
          renderPage(
            c,
            <MessagePage
              title={t.signInFailedTitle}
              text={[text]}
              link={{ href: '/account/sign-in', label: t.signInLink }}
              problem
            />,
            status,
          );
        // Fixed words only: the query is anyone's to write, so none of it is shown on the page.
        if (c.req.query('error'))
          return failed(c.req.query('error') === 'access_denied' ? t.signInCancelled : t.issuerRefused, 403);
        // The transaction is single use and belongs to the browser that started it.
        const txn = secret
          ? await db
              .collection<SignInTransaction>(collections.signinTransactions)
              .findOneAndDelete({ _id: sha256(secret) })
          : null;
        if (!txn || txn.expiresAt <= Date.now()) return failed(t.sessionExpired);
        let result;
        try {
          const url = new URL(`${config.publicUrl}/account/callback`);
          url.search = new URL(c.req.url).search;
          result = await signIn.finish(url, txn);
        } catch (err) {
          deps.log.warn({ err: { message: (err as Error).message } }, 'sign-in callback refused');
          return failed(t.answerUnchecked);
        }
        const subject = result.claims.sub;
        let permissions: string[] = [];
        try {
          const { payload } = await jwtVerify(result.accessToken, routeDeps.accessTokenKeys, {
            issuer: config.auth.issuer,
            audience: config.auth.audience,
            algorithms: ['RS256'],
          });
          if (payload.sub !== subject) throw new Error('the access token names another subject');
          permissions = Array.isArray(payload.permissions)
            ? payload.permissions.filter((p): p is string => typeof p === 'string')
            : [];
        } catch (err) {
          deps.log.warn({ err: { message: (err as Error).message } }, 'sign-in access token refused');
          return failed(t.tokenRefused);
        }
        const vault = await routeDeps.vault();
        const { cookie } = await createBrowserSession(db, {
          subject,
          accountId: await accountIdOf({ db, vault }, subject),
          permissions,
          method:
            Array.isArray(result.claims.amr) && result.claims.amr.includes('hwk')
              ? 'passkey'
              : config.identity.kind === 'auth0'
                ? 'auth0'
                : 'password',
          ...(typeof result.claims.email === 'string' ? { email: result.claims.email } : {}),
          ...(c.req.header('user-agent') ? { userAgent: c.req.header('user-agent')!.slice(0, 256) } : {}),
          ...(result.refreshToken
            ? { refreshTokenCiphertext: await vault.encrypt(sessionTokensKey, result.refreshToken) }
            : {}),
          ...(result.idToken ? { idToken: result.idToken } : {}),
          ...(typeof result.claims.sid === 'string' ? { issuerSid: result.claims.sid } : {}),
        });
        setBrowserSessionCookie(c, config.publicUrl, cookie);
        await ensureAccount(deps, subject, result.claims as Record<string, unknown>);
        return c.redirect(safeReturnTo(txn.returnTo), 303);
      })

      .get('/account', async (c) => {
        const current = await session(c);
        if (!current) return c.redirect(`/account/sign-in?returnTo=${encodeURIComponent('/account')}`, 303);
        return renderPage(c, await homePage(c, current), 200, { formAction: false });
      })

      .post('/account/sign-out', async (c) => {
        const deps = c.get('deps');
        const current = await session(c);
        if (!current) return c.redirect('/account/signed-out', 303);
        const form = await c.req.parseBody();
        if (!csrfTokenMatches(current, form.csrf)) return csrfRefused(c);
        await signOutSession(deps, current.subject, current.sessionId);
        clearBrowserSessionCookie(c, deps.config.publicUrl);
        // The embedded issuer's session ended with ours; an external issuer (Auth0) is asked to end its own.
        const issuerSignOut = deps.signIn?.embedded
          ? undefined
          : await signIn
              .signOutUrl(current.idToken, `${deps.config.publicUrl}/account/signed-out`)
              .catch(() => undefined);
        return c.redirect(issuerSignOut ?? '/account/signed-out', 303);
      })

      .post('/account/sessions/:sessionId/sign-out', async (c) => {
        const deps = c.get('deps');
        const current = await session(c);
        if (!current) return c.redirect('/account/sign-in', 303);
        const form = await c.req.parseBody();
        if (!csrfTokenMatches(current, form.csrf)) return csrfRefused(c);
        const ended = await signOutSession(deps, current.subject, c.req.param('sessionId'));
        if (ended?.sessionId === current.sessionId) {
          clearBrowserSessionCookie(c, deps.config.publicUrl);
          return c.redirect('/account/signed-out', 303);
        }
        // Back to the page the list was on (the security page's sends its path; only this origin's paths).
        return c.redirect(safeReturnTo(typeof form.returnTo === 'string' ? form.returnTo : undefined), 303);
      })

      .post('/account/sessions/sign-out-all', async (c) => {
        const deps = c.get('deps');
        const current = await session(c);
        if (!current) return c.redirect('/account/sign-in', 303);
        const form = await c.req.parseBody();
        if (!csrfTokenMatches(current, form.csrf)) return csrfRefused(c);
        await signOutEverywhere(deps, current.subject);
        clearBrowserSessionCookie(c, deps.config.publicUrl);
        return c.redirect('/account/signed-out', 303);
      })

      .get('/account/signed-out', (c) =>
        renderPage(
          c,
          <MessagePage
            title={t.signedOutTitle}
            text={[t.signedOutText]}
            link={{ href: '/account/sign-in', label: t.signInLink }}
          />,
        ),
      )
  );
}
