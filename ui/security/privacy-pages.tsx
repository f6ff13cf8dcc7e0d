/** @jsxImportSource hono/jsx */
/**
 * The privacy page (consents, a copy of one's data, erasure), an export's own page (its stage, then its
 * download link) and the confirmation page before an erasure is asked for.
 */
import type { BrowserSession } from '../../api/session/browser-session.js';
import { Layout } from '../layout.js';
import { securityText } from '../text.js';
import { Csrf, Messages } from '../components.js';
import { PostButton, shortDate } from './security-pages.js';

const t = securityText.privacy;
export const privacySection = '/account/privacy';

export interface ConsentView {
  purpose: string;
  version: string;
  description: string;
  required: boolean;
  features: string[];
  /** The answer in force, if any. */
  granted?: boolean | undefined;
}

export interface ErasureView {
  stage: string;
  graceEndsAt: string;
  onLegalHold: boolean;
}

export function PrivacyPage(props: {
  session: BrowserSession;
  consents: ConsentView[];
  erasure?: ErasureView | undefined;
  notice?: string | undefined;
  problem?: string | undefined;
}) {
  const { session, erasure } = props;
  const pending = erasure && (erasure.stage === 'grace' || erasure.stage === 'on_hold');
  return (
    <Layout title={t.title} area="account" section={privacySection} signedInAs={session.email ?? session.subject}>
      <h1>{t.title}</h1>
      <Messages notice={props.notice} problem={props.problem} />
      <p>{t.intro}</p>

      <section aria-labelledby="consents">
        <h2 id="consents">{t.consentsHeading}</h2>
        <ul class="plain">
          {props.consents.map((c) => (
            <li>
              <span>
                <strong>{c.description}</strong>{' '}
                <span class={`badge ${c.granted ? 'ok' : 'bad'}`}>
                  {c.granted === undefined ? t.consentUnanswered : c.granted ? t.consentGranted : t.consentWithdrawn}
                </span>
                <br />
                <span class="muted">
                  {c.purpose} · {t.consentVersion(c.version)}
                  {c.required ? ` · ${t.consentRequired}` : ''}
                </span>
                {c.features.length > 0 ? (
                  <>
                    <br />
                    <span class="muted">{t.consentStops(c.features.map((f) => t.features[f] ?? f).join(', '))}</span>
                  </>
                ) : null}
              </span>
              <PostButton
                session={session}
                action="/account/privacy/consents"
                label={c.granted ? t.withdraw(c.purpose) : t.grant(c.purpose)}
                {...(c.granted ? { kind: 'secondary' as const } : {})}
                fields={{ purpose: c.purpose, version: c.version, granted: c.granted ? 'false' : 'true' }}
              />
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="export">
        <h2 id="export">{t.exportHeading}</h2>
        <p class="muted">{t.exportHelp}</p>
        <PostButton session={session} action="/account/privacy/exports" label={t.exportRequest} />
      </section>

      <section aria-labelledby="erasure">
        <h2 id="erasure">{t.erasureHeading}</h2>
        {pending ? (
          <>
            <p>{t.erasurePending(shortDate(erasure.graceEndsAt).replace(' UTC', ''))}</p>
            <dl class="facts">
              <dt>{t.exportStage}</dt>
              <dd>{t.erasureStageText[erasure.stage] ?? erasure.stage}</dd>
            </dl>
            {erasure.onLegalHold ? <p>{t.erasureOnHold}</p> : null}
            <PostButton session={session} action="/account/privacy/erasure/cancel" label={t.erasureKeep} />
          </>
        ) : (
          <>
            <p class="muted">{t.erasureHelp}</p>
            <p>
              <a href="/account/privacy/erasure">{t.erasureStart}</a>
            </p>
          </>
        )}
      </section>
    </Layout>
  );
}

export interface ExportView {
  exportId: string;
  status: string;
  requestedAt: string;
  progress: { recordsWritten: number; recordsTotal?: number | undefined };
  download?: { url: string; expiresAt: string } | undefined;
  detail?: string | undefined;
}

export function ExportPage(props: { session: BrowserSession; export: ExportView }) {
  const { session } = props;
  const e = props.export;
  const running = e.status === 'requested' || e.status === 'building';
  return (
    <Layout
      title={t.exportTitle}
      area="account"
      section={privacySection}
      signedInAs={session.email ?? session.subject}
      scripts={running ? ['/assets/security-refresh.js'] : []}
    >
      <h1>{t.exportTitle}</h1>
      <dl class="facts">
        <dt>{t.exportStage}</dt>
        <dd>{t.stages[e.status] ?? e.status}</dd>
        <dt>{t.exportRequested}</dt>
        <dd>{shortDate(e.requestedAt)}</dd>
      </dl>
      {running ? (
        <>
          <p data-refresh-seconds="3">{t.exportProgress(e.progress.recordsWritten, e.progress.recordsTotal)}</p>
          {e.progress.recordsTotal ? (
            <progress
              max={e.progress.recordsTotal}
              value={e.progress.recordsWritten}
              aria-label={t.exportProgressLabel}
            ></progress>
          ) : null}
          <p>
            <a href={`/account/privacy/exports/${e.exportId}`}>{t.exportRefresh}</a>
          </p>
        </>
      ) : null}
      {e.status === 'failed' && e.detail ? (
        <p class="problem" role="alert">
          {e.detail}
        </p>
      ) : null}
      {e.status === 'ready' && e.download ? (
        <>
          <p>
            <a href={e.download.url} download>
              {t.exportDownload}
            </a>
          </p>
          <p class="muted">{t.exportDownloadUntil(shortDate(e.download.expiresAt).replace(' UTC', ''))}</p>
        </>
      ) : null}
      <p>
        <a href={privacySection}>{t.exportBack}</a>
      </p>
    </Layout>
  );
}

export function ErasureConfirmPage(props: {
  session: BrowserSession;
  gracePeriod: string;
  problem?: string | undefined;
}) {
  const { session } = props;
  return (
    <Layout
      title={t.erasureConfirmTitle}
      area="account"
      section={privacySection}
      signedInAs={session.email ?? session.subject}
    >
      <h1>{t.erasureConfirmTitle}</h1>
      <Messages problem={props.problem} />
      <p>{t.erasureWhat}</p>
      <ul>
        {t.erasureItems.map((item) => (
          <li>{item}</li>
        ))}
      </ul>
      <p>{t.erasureKept}</p>
      <p>
        <strong>{t.erasureGrace(props.gracePeriod)}</strong>
      </p>
      <form method="post" action="/account/privacy/erasure" class="stack">
        <Csrf session={session} />
        <button type="submit" class="danger">
          {t.erasureConfirm}
        </button>
      </form>
      <p>
        <a href={privacySection}>{t.erasureCancelLink}</a>
      </p>
    </Layout>
  );
}
