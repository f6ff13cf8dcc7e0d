/** @jsxImportSource hono/jsx */
/**
 * The security page (recovery factors and sessions) and the pages of its steps: an authenticator app's QR
 * code and key, backup codes shown once, a phone's confirmation code. Each secret is on the page that
 * answered the POST that made it, never in a URL, and the page is not cached (`renderPage`).
 */
import type { BrowserSession } from '../../api/session/browser-session.js';
import { Csrf, Messages } from '../components.js';
import { Layout } from '../layout.js';
import { securityText } from '../text.js';

const t = securityText.security;
export const securitySection = '/account/security';

/** "2026-12-02 05:56 UTC": dates as people read them, in one zone. */
export const shortDate = (iso: string | undefined) =>
  iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : securityText.unknownDate;

/** A form of one button that posts to `action` with the session's CSRF token. */
export function PostButton(props: {
  session: BrowserSession;
  action: string;
  label: string;
  kind?: 'secondary' | 'danger';
  fields?: Record<string, string>;
}) {
  return (
    <form method="post" action={props.action} class="inline">
      <Csrf session={props.session} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.kind}>
        {props.label}
      </button>
    </form>
  );
}

export interface SecurityOverview {
  totp: 'on' | 'pending' | 'off';
  backupCodes: { total: number; left: number };
  passkeys: { factorId: string; name?: string | undefined; enrolledAt: string }[];
  phones: { phoneId: string; number: string; verified: boolean }[];
  sessions: {
    sessionId: string;
    method: string;
    createdAt: string;
    lastSeenAt: string;
    userAgent?: string | undefined;
  }[];
}

export function SecurityPage(props: {
  session: BrowserSession;
  overview: SecurityOverview;
  notice?: string | undefined;
  problem?: string | undefined;
}) {
  const { session, overview } = props;
  return (
    <Layout
      title={t.title}
      area="account"
      section={securitySection}
      signedInAs={session.email ?? session.subject}
      scripts={['/assets/security-passkey.js']}
      styles={['/assets/security.css']}
    >
      <h1>{t.title}</h1>
      <Messages notice={props.notice} problem={props.problem} />
      <p>{t.intro}</p>

      <section aria-labelledby="totp">
        <h2 id="totp">{t.totpHeading}</h2>
        <p>
          <span class={`badge ${overview.totp === 'on' ? 'ok' : 'bad'}`}>
            {overview.totp === 'on' ? t.totpOn : overview.totp === 'pending' ? t.totpPending : t.totpOff}
          </span>
        </p>
        <p class="muted">{t.totpHelp}</p>
        <p>
          <PostButton
            session={session}
            action="/account/security/totp"
            label={overview.totp === 'on' ? t.totpReplace : t.totpStart}
            {...(overview.totp === 'on' ? { kind: 'secondary' as const } : {})}
          />{' '}
          {overview.totp !== 'off' ? (
            <PostButton session={session} action="/account/security/totp/remove" label={t.totpRemove} kind="danger" />
          ) : null}
        </p>
      </section>

      <section aria-labelledby="backup-codes">
        <h2 id="backup-codes">{t.backupHeading}</h2>
        <p class="muted">{t.backupHelp}</p>
        <p>{t.backupRemaining(overview.backupCodes.left, overview.backupCodes.total)}</p>
        <PostButton
          session={session}
          action="/account/security/backup-codes"
          label={overview.backupCodes.total === 0 ? t.backupGenerate : t.backupRegenerate}
          {...(overview.backupCodes.total === 0 ? {} : { kind: 'secondary' as const })}
        />
      </section>

      <section aria-labelledby="passkeys">
        <h2 id="passkeys">{t.passkeysHeading}</h2>
        <p class="muted">{t.passkeysHelp}</p>
        {overview.passkeys.length === 0 ? <p>{t.passkeysNone}</p> : null}
        <ul class="plain">
          {overview.passkeys.map((p) => (
            <li>
              <span>
                {p.name ?? t.passkeyUnnamed} <span class="muted">· {t.passkeyAdded(shortDate(p.enrolledAt))}</span>
              </span>
              <PostButton
                session={session}
                action={`/account/security/passkeys/${p.factorId}/remove`}
                label={t.passkeyRemove(p.name ?? t.passkeyUnnamed)}
                kind="secondary"
              />
            </li>
          ))}
        </ul>
        <div class="stack">
          <label>
            {t.passkeyName}
            <input type="text" id="passkey-name" maxlength={64} autocomplete="off" />
          </label>
          <p id="passkey-needs-script" class="muted">
            {t.passkeyNeedsScript}
          </p>
          <button
            type="button"
            id="passkey-add"
            hidden
            data-csrf={session.csrfToken}
            data-working={t.passkeyWorking}
            data-cancelled={t.passkeyCancelled}
            data-failed={t.passkeyFailed}
          >
            {t.passkeyAdd}
          </button>
          <p id="passkey-status" class="status" role="status" aria-live="polite"></p>
        </div>
      </section>

      <section aria-labelledby="phones">
        <h2 id="phones">{t.phonesHeading}</h2>
        <p class="muted">{t.phonesHelp}</p>
        {overview.phones.length === 0 ? <p>{t.phonesNone}</p> : null}
        <ul class="plain">
          {overview.phones.map((p) => (
            <li>
              <span>
                <span class="mono">{p.number}</span>{' '}
                <span class={`badge ${p.verified ? 'ok' : 'bad'}`}>
                  {p.verified ? t.phoneConfirmed : t.phoneUnconfirmed}
                </span>
              </span>
              <span>
                {p.verified ? null : (
                  <>
                    <a href={`/account/security/phones/${p.phoneId}/confirm`}>{t.phoneConfirmLink(p.number)}</a>{' '}
                  </>
                )}
                <PostButton
                  session={session}
                  action={`/account/security/phones/${p.phoneId}/remove`}
                  label={t.phoneRemove(p.number)}
                  kind="secondary"
                />
              </span>
            </li>
          ))}
        </ul>
        <form method="post" action="/account/security/phones" class="stack">
          <Csrf session={session} />
          <label>
            {t.phoneNumber}
            <input type="text" name="number" inputmode="tel" autocomplete="tel" required />
          </label>
          <button type="submit">{t.phoneAdd}</button>
        </form>
      </section>

      <section aria-labelledby="sessions">
        <h2 id="sessions">{t.sessionsHeading}</h2>
        <ul class="plain">
          {overview.sessions.map((s) => (
            <li>
              <span>
                {s.sessionId === session.sessionId ? <strong>{t.thisBrowser}: </strong> : null}
                {s.userAgent ?? t.unknownBrowser}{' '}
                <span class="muted">
                  · {t.sessionFacts(shortDate(s.createdAt), shortDate(s.lastSeenAt), t.methods[s.method] ?? s.method)}
                </span>
              </span>
              <PostButton
                session={session}
                action={`/account/sessions/${s.sessionId}/sign-out`}
                label={t.signOutOne}
                kind="secondary"
                // Where the handler sends the browser back to, once it reads it (today: the overview).
                fields={{ returnTo: securitySection }}
              />
            </li>
          ))}
        </ul>
        <PostButton session={session} action="/account/sessions/sign-out-all" label={t.signOutAll} kind="danger" />
      </section>
    </Layout>
  );
}

/** The secret of an authenticator app in groups of four, for typing it in by hand. */
export const groupedSecret = (secret: string) => secret.match(/.{1,4}/g)?.join(' ') ?? secret;

export function TotpSetupPage(props: {
  session: BrowserSession;
  qr?: string | undefined;
  secret?: string | undefined;
  problem?: string | undefined;
}) {
  const { session } = props;
  const title = props.secret ? t.totpSetupTitle : t.totpConfirmTitle;
  return (
    <Layout
      title={title}
      area="account"
      section={securitySection}
      signedInAs={session.email ?? session.subject}
      styles={['/assets/security.css']}
    >
      <h1>{title}</h1>
      <Messages problem={props.problem} />
      {props.secret ? (
        <>
          <p>{t.totpScan}</p>
          {props.qr ? <img class="qr" src={props.qr} alt={t.qrAlt} width={224} height={224} /> : null}
          <p>{t.totpManual}</p>
          <p>
            <code class="secret" id="totp-secret">
              {groupedSecret(props.secret)}
            </code>
          </p>
        </>
      ) : (
        <p>{t.totpConfirmAgain}</p>
      )}
      <CodeForm
        session={session}
        action="/account/security/totp/confirm"
        label={t.totpCodeLabel}
        button={t.totpConfirm}
      />
    </Layout>
  );
}

export function BackupCodesPage(props: { session: BrowserSession; codes: string[] }) {
  const { session } = props;
  return (
    <Layout
      title={t.backupTitle}
      area="account"
      section={securitySection}
      signedInAs={session.email ?? session.subject}
      styles={['/assets/security.css']}
    >
      <h1>{t.backupTitle}</h1>
      <p class="notice" role="status">
        <strong>{t.backupSaveNow}</strong>
      </p>
      <ol class="codes" id="backup-codes-list">
        {props.codes.map((code) => (
          <li>{code}</li>
        ))}
      </ol>
      <p>
        <a href={securitySection}>{t.backupDone}</a>
      </p>
    </Layout>
  );
}

export function PhoneConfirmPage(props: {
  session: BrowserSession;
  phoneId: string;
  number: string;
  problem?: string | undefined;
}) {
  const { session } = props;
  return (
    <Layout
      title={t.phoneConfirmTitle}
      area="account"
      section={securitySection}
      signedInAs={session.email ?? session.subject}
    >
      <h1>{t.phoneConfirmTitle}</h1>
      <Messages problem={props.problem} />
      <p>{t.phoneConfirmText(props.number)}</p>
      <CodeForm
        session={session}
        action={`/account/security/phones/${props.phoneId}/confirm`}
        label={t.phoneCodeLabel}
        button={t.phoneConfirm}
      />
    </Layout>
  );
}

/** A one-time code to confirm (the authenticator app's, a texted one), then back to the security page. */
function CodeForm(props: { session: BrowserSession; action: string; label: string; button: string }) {
  return (
    <>
      <form method="post" action={props.action} class="stack">
        <Csrf session={props.session} />
        <label>
          {props.label}
          <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required />
        </label>
        <button type="submit">{props.button}</button>
      </form>
      <p>
        <a href={securitySection}>{t.back}</a>
      </p>
    </>
  );
}
