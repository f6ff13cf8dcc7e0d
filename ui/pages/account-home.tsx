/** @jsxImportSource hono/jsx */
/** The account center's first page: who is signed in, their connections, where they are signed in. */
import type { AccountCenter } from '../../domain/account-center.js';
import type { BrowserSession } from '../../api/session/browser-session.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import { accountStylesPath } from '../account/live-script.js';
import { Layout } from '../layout.js';
import { accountPagesText, accountText as t, layoutText } from '../text.js';

const o = accountPagesText.overview;
/** Each section of the menu with a line saying what it holds (the overview links to all). */
const sectionLines: [string, string, string][] = [
  ['/account/profile', layoutText.nav.profile, o.sections.profile],
  ['/account/providers', layoutText.nav.providers, o.sections.providers],
  ['/account/data', layoutText.nav.data, o.sections.data],
  ['/account/security', layoutText.nav.security, o.sections.security],
  ['/account/activity', layoutText.nav.activity, o.sections.activity],
  ['/account/privacy', layoutText.nav.privacy, o.sections.privacy],
  ['/account/processes', layoutText.nav.processes, o.sections.processes],
];

export interface ConnectOption {
  provider: ProviderId;
  displayName: string;
  connected: boolean;
}

export function AccountHome(props: {
  session: BrowserSession;
  account?: AccountCenter;
  sessions: BrowserSession[];
  connect?: ConnectOption[];
  /** Connected providers and running processes, for the summary. */
  summary?: { providers: number; running: number };
  notice?: string;
  problem?: string;
}) {
  const { session, account } = props;
  const who = account
    ? [account.profile?.givenName, account.profile?.familyName].filter(Boolean).join(' ') ||
      session.email ||
      session.subject
    : (session.email ?? session.subject);
  const csrf = <input type="hidden" name="csrf" value={session.csrfToken} />;
  return (
    <Layout
      title={t.homeTitle}
      signedInAs={session.email ?? who}
      area="account"
      section="/account"
      styles={[accountStylesPath]}
    >
      <h1>{t.homeTitle}</h1>
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
      <p>{t.signedInAs(who)}</p>
      {!account ? (
        <p class="notice" role="status">
          {t.creatingAccount}
        </p>
      ) : null}
      {account && props.summary ? (
        <section aria-labelledby="summary">
          <h2 id="summary">{o.summaryHeading}</h2>
          <ul>
            <li>
              <a href="/account/providers">{o.providersConnected(props.summary.providers)}</a>
            </li>
            <li>
              <a href="/account/processes">{o.processesRunning(props.summary.running)}</a>
            </li>
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="sections">
        <h2 id="sections">{o.sectionsHeading}</h2>
        <dl class="facts">
          {sectionLines.map(([href, label, line]) => (
            <>
              <dt>
                <a href={href}>{label}</a>
              </dt>
              <dd>{line}</dd>
            </>
          ))}
        </dl>
      </section>
      {account ? (
        <section aria-labelledby="providers">
          <h2 id="providers">{t.providersHeading}</h2>
          <ul class="plain">
            {(
              props.connect ??
              (account.connected_providers?.nodes ?? []).map((n) => ({
                provider: n.provider,
                displayName: providerCatalog[n.provider].displayName,
                connected: true,
              }))
            ).map((p) => (
              <li>
                <span>{p.displayName}</span>
                {p.connected ? (
                  <span class="muted">{t.connected}</span>
                ) : (
                  <form method="post" action={`/account/providers/${p.provider}/connect`} class="inline">
                    {csrf}
                    <button type="submit" class="secondary">
                      {t.connectButton(p.displayName)}
                    </button>
                  </form>
                )}
                {p.connected ? null : (
                  // What connecting from here asks for (the default scopes), in words, before the button is pressed.
                  <details class="scopes">
                    <summary>{o.maySee(p.displayName)}</summary>
                    {providerCatalog[p.provider].defaultScopes.map((scope) => (
                      <p>{accountPagesText.scopes[scope] ?? accountPagesText.connect.unknownScope}</p>
                    ))}
                    <p>
                      <a href={`/account/providers/${p.provider}/connect`}>{o.moreOptions(p.displayName)}</a>
                    </p>
                  </details>
                )}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="sessions">
        <h2 id="sessions">{t.sessionsHeading}</h2>
        <ul class="plain">
          {props.sessions.map((s) => (
            <li>
              <span>
                {s.sessionId === session.sessionId ? <strong>{t.thisBrowser}: </strong> : null}
                {s.userAgent ?? 'Unknown browser'}{' '}
                <span class="muted">
                  · since {s.createdAt.slice(0, 16).replace('T', ' ')} UTC · {s.method}
                </span>
              </span>
              <form method="post" action={`/account/sessions/${s.sessionId}/sign-out`} class="inline">
                {csrf}
                <button type="submit" class="secondary">
                  {t.signOutOneButton}
                </button>
              </form>
            </li>
          ))}
        </ul>
        <form method="post" action="/account/sessions/sign-out-all">
          {csrf}
          <button type="submit" class="danger">
            {t.signOutAllButton}
          </button>
        </form>
      </section>
      <form method="post" action="/account/sign-out">
        {csrf}
        <p>
          <button type="submit">{t.signOutButton}</button>
        </p>
      </form>
    </Layout>
  );
}
