/** @jsxImportSource hono/jsx */
/**
 * The embedded issuer's sign-in pages (oidc-provider "interactions"): email + password with a throttle,
 * sign-up with email verification, and passkey sign-in. oidc-provider binds each interaction to the
 * browser that started it (its interaction cookie), so a sign-in form cannot be completed from elsewhere.
 * The consent step is skipped: every client of this issuer is one of CRA's own (first party).
 */
import { createHash } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
  type AuthenticationResponseJSON,
} from '@simplewebauthn/server';
import { Hono, type Context } from 'hono';
import type { Db } from 'mongodb';
import { z } from 'zod';
import type { AccountDocument } from '../../../domain/account-center.js';
import { collections } from '../../../domain/collections.js';
import { nameProblem } from '../../../domain/names.js';
import type { ApiEnv } from '../../context.js';
import {
  ConfirmEmailPage,
  MessagePage,
  ResetPasswordPage,
  SignInPage,
  SignUpPage,
  type FormValues,
} from '../../../ui/pages/sign-in.js';
import { passwordTicketHash, type PasswordTicketDocument } from '../../../activities/identity/embedded-directory.js';
import { renderPage } from '../../../ui/layout.js';
import { signInText as t } from '../../../ui/text.js';
import { normalEmail, type EmbeddedAccounts } from './accounts.js';
import { hashPassword, passwordProblem, signInThrottleStore, verifyPassword } from './passwords.js';
import { apiScope, type EmbeddedOidc } from './provider.js';

/** The version of the terms a new account accepts on the sign-up page. */
export const currentTermsVersion = '2026-11';

interface PasskeyChallenge {
  _id: string;
  challengeHash: string;
  expiresAt: number;
}
interface PasskeyFactor {
  accountId: string;
  kind: 'passkey';
  credentialId: string;
  publicKey: string;
  counter: number;
  transports?: AuthenticatorTransport[];
}
type AuthenticatorTransport = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
const emailSchema = z.email();

export interface InteractionDeps {
  oidc: EmbeddedOidc;
  db: Db;
  accounts: EmbeddedAccounts;
  webauthn: { rpId: string; origins: string[]; ttlMs: number };
}

function node(c: Context) {
  const env = c.env as HttpBindings;
  return { req: env.incoming, res: env.outgoing };
}

async function formOf(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody().catch(() => ({}));
  return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export function interactionRoutes(deps: InteractionDeps) {
  const { oidc, db, accounts } = deps;
  const { provider } = oidc;
  const throttle = signInThrottleStore(db);
  const challenges = db.collection<PasskeyChallenge>(collections.signinChallenges);
  const tickets = db.collection<PasswordTicketDocument>(collections.passwordTickets);

  /** The open interaction this browser holds for `uid`, or a page saying it is gone. */
  async function open(c: Context) {
    const { req, res } = node(c);
    const details = await provider.interactionDetails(req, res).catch(() => undefined);
    if (!details || details.uid !== c.req.param('uid')) {
      return {
        page: renderPage(
          c,
          <MessagePage
            title={t.signInFailedTitle}
            text={[t.sessionExpired]}
            link={{ href: '/account/sign-in', label: t.signInLink }}
            problem
          />,
          400,
        ),
      };
    }
    return { details };
  }

  /** Finish the login step (the consent step follows, and is given at once to CRA's own clients). */
  async function finishLogin(c: Context, subject: string, amr: string[]): Promise<string> {
    const { req, res } = node(c);
    return provider.interactionResult(
      req,
      res,
      { login: { accountId: subject, amr } },
      { mergeWithLastSubmission: false },
    );
  }

  return (
    new Hono<ApiEnv>()
      .get('/oidc/interaction/:uid', async (c) => {
        const opened = await open(c);
        if (opened.page) return opened.page;
        const { details } = opened;
        const uid = details.uid;
        // Every client of this issuer is one of CRA's own (the account center, the apps in EMBEDDED_OIDC_CLIENTS).
        if (details.prompt.name === 'consent') {
          const clientId = String(details.params.client_id);
          const grant = details.grantId
            ? await provider.Grant.find(details.grantId)
            : new provider.Grant({ accountId: String(details.session?.accountId), clientId });
          if (!grant) throw new Error('grant vanished');
          const missingScope = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
          if (missingScope.length > 0) grant.addOIDCScope(missingScope.join(' '));
          const missingClaims = (details.prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
          if (missingClaims.length > 0) grant.addOIDCClaims(missingClaims);
          const missingResource =
            (details.prompt.details.missingResourceScopes as Record<string, string[]> | undefined) ?? {};
          for (const [indicator, scopes] of Object.entries(missingResource))
            grant.addResourceScope(indicator, scopes.join(' ') || apiScope);
          const grantId = await grant.save();
          const { req, res } = node(c);
          return c.redirect(
            await provider.interactionResult(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true }),
            303,
          );
        }
        const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
        return renderPage(
          c,
          <SignInPage
            action={`/oidc/interaction/${uid}`}
            signUpHref={`/oidc/interaction/${uid}/sign-up`}
            values={{ ...(hint ? { email: hint } : {}) }}
          />,
        );
      })

      .post('/oidc/interaction/:uid/password', async (c) => {
        const opened = await open(c);
        if (opened.page) return opened.page;
        const uid = opened.details.uid;
        const form = await formOf(c);
        const email = (form.email ?? '').trim();
        const again = (problem: string, status: 400 | 401 | 429 = 401) =>
          renderPage(
            c,
            <SignInPage
              action={`/oidc/interaction/${uid}`}
              signUpHref={`/oidc/interaction/${uid}/sign-up`}
              problem={problem}
              values={{ email }}
            />,
            status,
          );
        if (!email || !form.password) return again(t.badForm, 400);
        const locked = await throttle.lockedFor(email);
        if (locked > 0) return again(t.lockedOut(Math.ceil(locked / 60_000)), 429);
        const user = emailSchema.safeParse(email).success ? await accounts.findByEmail(email) : undefined;
        const ok = await verifyPassword(form.password, user?.password);
        if (!ok || !user) {
          await throttle.recordFailure(email);
          return again(t.wrongCredentials);
        }
        await throttle.recordSuccess(email);
        if (user.password_reset_required) return again(t.resetRequired, 401);
        if (!user.email_verified) {
          await accounts.sendVerification(user._id, user.email);
          return again(t.unverified, 401);
        }
        return c.redirect(await finishLogin(c, user._id, ['pwd']), 303);
      })

      .get('/oidc/interaction/:uid/sign-up', async (c) => {
        const opened = await open(c);
        if (opened.page) return opened.page;
        const uid = opened.details.uid;
        return renderPage(
          c,
          <SignUpPage
            action={`/oidc/interaction/${uid}/sign-up`}
            signInHref={`/oidc/interaction/${uid}`}
            termsVersion={currentTermsVersion}
          />,
        );
      })

      .post('/oidc/interaction/:uid/sign-up', async (c) => {
        const opened = await open(c);
        if (opened.page) return opened.page;
        const uid = opened.details.uid;
        const form = await formOf(c);
        const values: FormValues = {
          email: (form.email ?? '').trim(),
          givenName: (form.givenName ?? '').trim(),
          familyName: (form.familyName ?? '').trim(),
        };
        const problem =
          !values.email || !values.givenName || !values.familyName || !form.password
            ? t.badForm
            : !emailSchema.safeParse(values.email).success
              ? t.emailProblem
              : nameProblem(values.givenName) || nameProblem(values.familyName)
                ? t.nameProblem
                : (passwordProblem(form.password) ?? (form.terms !== currentTermsVersion ? t.termsProblem : undefined));
        if (problem) {
          return renderPage(
            c,
            <SignUpPage
              action={`/oidc/interaction/${uid}/sign-up`}
              signInHref={`/oidc/interaction/${uid}`}
              termsVersion={currentTermsVersion}
              problem={problem}
              values={values}
            />,
            400,
          );
        }
        await accounts.signUp({
          email: values.email!,
          password: form.password!,
          givenName: values.givenName!,
          familyName: values.familyName!,
          consents: [{ purpose: 'terms', version: currentTermsVersion, granted: true }],
        });
        return renderPage(
          c,
          <MessagePage
            title={t.checkEmailTitle}
            text={t.checkEmailText(normalEmail(values.email!))}
            link={{ href: `/oidc/interaction/${uid}`, label: t.signInLink }}
          />,
        );
      })

      .post('/oidc/interaction/:uid/passkey/options', async (c) => {
        const opened = await open(c);
        if (opened.page) return c.json({ detail: t.sessionExpired }, 400);
        const options = await generateAuthenticationOptions({
          rpID: deps.webauthn.rpId,
          userVerification: 'required',
          timeout: deps.webauthn.ttlMs,
          allowCredentials: [],
        });
        await challenges.replaceOne(
          { _id: `signin:${opened.details.uid}` },
          { challengeHash: sha256(options.challenge), expiresAt: Date.now() + deps.webauthn.ttlMs },
          { upsert: true },
        );
        return c.json(
          {
            challenge: options.challenge,
            rpId: deps.webauthn.rpId,
            timeout: deps.webauthn.ttlMs,
            userVerification: 'required',
          },
          200,
        );
      })

      .post('/oidc/interaction/:uid/passkey', async (c) => {
        const opened = await open(c);
        if (opened.page) return c.json({ detail: t.sessionExpired }, 400);
        const refused = () => c.json({ detail: t.passkeyRefused }, 401);
        const assertion = (await c.req.json().catch(() => undefined)) as AuthenticationResponseJSON | undefined;
        // The challenge is single use whatever the outcome.
        const challenge = await challenges.findOneAndDelete({ _id: `signin:${opened.details.uid}` });
        if (!assertion || typeof assertion.id !== 'string' || !challenge || challenge.expiresAt <= Date.now())
          return refused();
        const factor = await db
          .collection<PasskeyFactor>(collections.recoveryFactors)
          .findOne({ kind: 'passkey', credentialId: assertion.id });
        if (!factor) return refused();
        const account = await db
          .collection<AccountDocument>(collections.accounts)
          .findOne({ _id: factor.accountId }, { projection: { rootIdentity: 1, status: 1 } });
        if (!account || account.status !== 'active') return refused();
        try {
          const result = await verifyAuthenticationResponse({
            response: assertion,
            expectedChallenge: (given) => sha256(given) === challenge.challengeHash,
            expectedOrigin: deps.webauthn.origins,
            expectedRPID: deps.webauthn.rpId,
            credential: {
              id: factor.credentialId,
              publicKey: new Uint8Array(Buffer.from(factor.publicKey, 'base64url')),
              counter: factor.counter,
              ...(factor.transports ? { transports: factor.transports } : {}),
            },
            requireUserVerification: true,
          });
          if (!result.verified) return refused();
          await db
            .collection<PasskeyFactor>(collections.recoveryFactors)
            .updateOne(
              { kind: 'passkey', credentialId: factor.credentialId },
              { $set: { counter: result.authenticationInfo.newCounter } },
            );
        } catch {
          return refused();
        }
        return c.json({ redirectTo: await finishLogin(c, account.rootIdentity.subject, ['hwk', 'user']) }, 200);
      })

      // The verification link of the email: a page, then one POST (a mail scanner's prefetch confirms nothing).
      .get('/account/verify-email', async (c) => {
        const token = c.req.query('token') ?? '';
        const found = /^[A-Za-z0-9_-]{43}$/.test(token) ? await accounts.verificationFor(token) : undefined;
        if (!found || found.status === 'used')
          return renderPage(
            c,
            <MessagePage
              title={t.linkInvalidTitle}
              text={[t.linkInvalidText]}
              link={{ href: '/account/sign-in', label: t.signInLink }}
              problem
            />,
            400,
          );
        if (found.status === 'expired')
          return renderPage(
            c,
            <MessagePage
              title={t.linkInvalidTitle}
              text={[t.linkExpiredText]}
              link={{ href: '/account/sign-in', label: t.signInLink }}
              problem
            />,
            410,
          );
        return renderPage(c, <ConfirmEmailPage email={found.email} token={token} />);
      })
      .post('/account/verify-email', async (c) => {
        const form = await formOf(c);
        const ok = /^[A-Za-z0-9_-]{43}$/.test(form.token ?? '') && (await accounts.verifyEmail(form.token!));
        if (!ok)
          return renderPage(
            c,
            <MessagePage
              title={t.linkInvalidTitle}
              text={[t.linkInvalidText]}
              link={{ href: '/account/sign-in', label: t.signInLink }}
              problem
            />,
            400,
          );
        return renderPage(
          c,
          <MessagePage
            title={t.emailConfirmedTitle}
            text={[t.emailConfirmedText]}
            link={{ href: '/account/sign-in', label: t.signInLink }}
          />,
        );
      })

      // A recovery's password-change ticket (sent to the owner's verified address): a form, then one POST.
      .get('/account/reset-password', async (c) => {
        const ticket = c.req.query('ticket') ?? '';
        const found = /^[A-Za-z0-9_-]{43}$/.test(ticket)
          ? await tickets.findOne({ _id: passwordTicketHash(ticket) })
          : null;
        if (!found || found.usedAt)
          return renderPage(
            c,
            <MessagePage
              title={t.linkInvalidTitle}
              text={[t.linkInvalidText]}
              link={{ href: '/account/sign-in', label: t.signInLink }}
              problem
            />,
            400,
          );
        if (Date.parse(found.expiresAt) <= Date.now())
          return renderPage(
            c,
            <MessagePage
              title={t.linkInvalidTitle}
              text={[t.linkExpiredText]}
              link={{ href: '/account/sign-in', label: t.signInLink }}
              problem
            />,
            410,
          );
        return renderPage(c, <ResetPasswordPage ticket={ticket} />);
      })
      .post('/account/reset-password', async (c) => {
        const form = await formOf(c);
        const ticket = form.ticket ?? '';
        const invalid = () =>
          renderPage(
            c,
            <MessagePage
              title={t.linkInvalidTitle}
              text={[t.linkInvalidText]}
              link={{ href: '/account/sign-in', label: t.signInLink }}
              problem
            />,
            400,
          );
        if (!/^[A-Za-z0-9_-]{43}$/.test(ticket)) return invalid();
        const problem = passwordProblem(form.password ?? '');
        if (problem) return renderPage(c, <ResetPasswordPage ticket={ticket} problem={problem} />, 400);
        const hash = await hashPassword(form.password!);
        const now = new Date().toISOString();
        // Single use: only one request spends the ticket.
        const spent = await tickets.findOneAndUpdate(
          { _id: passwordTicketHash(ticket), usedAt: null, expiresAt: { $gt: now } },
          { $set: { usedAt: now } },
        );
        if (!spent) return invalid();
        await db
          .collection<{ _id: string }>(collections.identityUsers)
          .updateOne(
            { _id: spent.subject },
            { $set: { password: hash, updated_at: now }, $unset: { password_reset_required: '' } },
          );
        return renderPage(
          c,
          <MessagePage
            title={t.resetDoneTitle}
            text={[t.resetDoneText]}
            link={{ href: '/account/sign-in', label: t.signInLink }}
          />,
        );
      })
  );
}
