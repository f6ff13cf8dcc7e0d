/** @jsxImportSource hono/jsx */
/**
 * The pages of signing in at the embedded issuer: sign in (password or passkey), create an account,
 * check your email, confirm the address, sign out. Every word comes from `signInText`.
 */
import { raw } from 'hono/html';
import { Layout } from '../layout.js';
import { signInText as t } from '../text.js';

export interface FormValues {
  email?: string;
  givenName?: string;
  familyName?: string;
}

export function SignInPage(props: {
  action: string;
  signUpHref: string;
  problem?: string;
  notice?: string;
  values?: FormValues;
}) {
  return (
    <Layout title={t.signInTitle} scripts={['/assets/passkey-sign-in.js']}>
      <h1>{t.signInTitle}</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      {props.problem ? (
        <p class="problem" role="alert">
          {props.problem}
        </p>
      ) : null}
      <form class="stack" method="post" action={`${props.action}/password`}>
        <label>
          {t.email}
          <input
            type="email"
            name="email"
            autocomplete="username webauthn"
            required
            value={props.values?.email ?? ''}
          />
        </label>
        <label>
          {t.password}
          <input type="password" name="password" autocomplete="current-password" required />
        </label>
        <button type="submit">{t.signInButton}</button>
      </form>
      <h2>{t.passkeyHeading}</h2>
      <p class="muted">{t.passkeyHelp}</p>
      <button type="button" class="secondary" id="passkey-sign-in" data-action={`${props.action}/passkey`}>
        {t.passkeyButton}
      </button>
      <p id="passkey-status" role="status"></p>
      <h2>{t.newHereHeading}</h2>
      <p>
        <a href={props.signUpHref}>{t.createAccountLink}</a>
      </p>
    </Layout>
  );
}

export function SignUpPage(props: {
  action: string;
  signInHref: string;
  problem?: string;
  values?: FormValues;
  termsVersion: string;
}) {
  return (
    <Layout title={t.signUpTitle}>
      <h1>{t.signUpTitle}</h1>
      {props.problem ? (
        <p class="problem" role="alert">
          {props.problem}
        </p>
      ) : null}
      <form class="stack" method="post" action={props.action}>
        <label>
          {t.givenName}
          <input
            type="text"
            name="givenName"
            autocomplete="given-name"
            required
            maxlength={100}
            value={props.values?.givenName ?? ''}
          />
        </label>
        <label>
          {t.familyName}
          <input
            type="text"
            name="familyName"
            autocomplete="family-name"
            required
            maxlength={100}
            value={props.values?.familyName ?? ''}
          />
        </label>
        <label>
          {t.email}
          <input type="email" name="email" autocomplete="email" required value={props.values?.email ?? ''} />
        </label>
        <label>
          {t.newPassword}
          <input type="password" name="password" autocomplete="new-password" required minlength={10} />
        </label>
        <p class="muted">{t.passwordHelp}</p>
        <label class="check">
          <input type="checkbox" name="terms" value={props.termsVersion} required /> <span>{t.acceptTerms}</span>
        </label>
        <button type="submit">{t.signUpButton}</button>
      </form>
      <p>
        <a href={props.signInHref}>{t.haveAccountLink}</a>
      </p>
    </Layout>
  );
}

export function MessagePage(props: {
  title: string;
  text: string[];
  link?: { href: string; label: string };
  problem?: boolean;
}) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      {props.text.map((line) => (
        <p class={props.problem ? 'problem' : undefined}>{line}</p>
      ))}
      {props.link ? (
        <p>
          <a href={props.link.href}>{props.link.label}</a>
        </p>
      ) : null}
    </Layout>
  );
}

export function ConfirmEmailPage(props: { email: string; token: string }) {
  return (
    <Layout title={t.confirmEmailTitle}>
      <h1>{t.confirmEmailTitle}</h1>
      <p>{t.confirmEmailText(props.email)}</p>
      <form method="post" action="/account/verify-email">
        <input type="hidden" name="token" value={props.token} />
        <button type="submit">{t.confirmEmailButton}</button>
      </form>
    </Layout>
  );
}

export function ResetPasswordPage(props: { ticket: string; problem?: string }) {
  return (
    <Layout title={t.resetTitle}>
      <h1>{t.resetTitle}</h1>
      {props.problem ? (
        <p class="problem" role="alert">
          {props.problem}
        </p>
      ) : null}
      <p>{t.resetText}</p>
      <form class="stack" method="post" action="/account/reset-password">
        <input type="hidden" name="ticket" value={props.ticket} />
        <label>
          {t.newPassword}
          <input type="password" name="password" autocomplete="new-password" required minlength={10} />
        </label>
        <p class="muted">{t.passwordHelp}</p>
        <button type="submit">{t.resetButton}</button>
      </form>
    </Layout>
  );
}

/** oidc-provider's sign-out form (its hidden xsrf field) with our words and buttons. */
export function signOutConfirmPage(form: string): string {
  return `<!doctype html>${String(
    <Layout title={t.signOutTitle}>
      <h1>{t.signOutTitle}</h1>
      <p>{t.signOutText}</p>
      {raw(form)}
      <p>
        <button type="submit" form="op.logoutForm" name="logout" value="yes">
          {t.signOutEverywhereButton}
        </button>{' '}
        <button type="submit" form="op.logoutForm" class="secondary">
          {t.signOutHereButton}
        </button>
      </p>
    </Layout>,
  )}`;
}

export function issuerErrorPage(error: string, description?: string): string {
  return `<!doctype html>${String(
    <MessagePage
      title={t.issuerErrorTitle}
      text={[description ?? error, t.issuerErrorHelp]}
      link={{ href: '/account', label: t.backToAccount }}
      problem
    />,
  )}`;
}
