/** @jsxImportSource hono/jsx */
/** The person's activity history: their account's audit events in words, newest first, page by page. */
import type { BrowserSession } from '../../api/session/browser-session.js';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import { Layout } from '../layout.js';
import { securityText } from '../text.js';
import { shortDate } from './security-pages.js';

const t = securityText.activity;

export interface ActivityEvent {
  seq: number;
  at: string;
  action: string;
  actor: string;
  details: Record<string, string | number | boolean>;
}

/** One event in words: the catalog's wording of its action, or a plain fallback naming it. */
export function eventInWords(event: ActivityEvent): string {
  const provider = event.details.provider;
  const purpose = event.details.purpose;
  const words = t.actions[event.action];
  if (!words) return t.fallback(event.action);
  return words({
    ...(typeof provider === 'string'
      ? { provider: isProviderId(provider) ? (providerCatalog[provider].displayName ?? provider) : provider }
      : {}),
    ...(typeof purpose === 'string' ? { purpose } : {}),
  });
}

export function ActivityPage(props: {
  session: BrowserSession;
  events: ActivityEvent[];
  nextBefore: number | null;
  paged: boolean;
  problem?: string | undefined;
}) {
  const { session } = props;
  return (
    <Layout
      title={t.title}
      area="account"
      section="/account/activity"
      signedInAs={session.email ?? session.subject}
      wide
    >
      <h1>{t.title}</h1>
      {props.problem ? (
        <p class="problem" role="alert">
          {props.problem}
        </p>
      ) : null}
      <p>{t.intro}</p>
      {props.events.length === 0 ? (
        <p>{t.none}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.when}</th>
              <th scope="col">{t.what}</th>
              <th scope="col">{t.who}</th>
            </tr>
          </thead>
          <tbody>
            {props.events.map((e) => (
              <tr>
                <td>
                  <time datetime={e.at}>{shortDate(e.at)}</time>
                </td>
                <td>{eventInWords(e)}</td>
                <td>{t.actors[e.actor] ?? e.actor}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p>
        {props.nextBefore !== null ? <a href={`/account/activity?before=${props.nextBefore}`}>{t.older}</a> : null}
        {props.paged ? (
          <>
            {props.nextBefore !== null ? ' · ' : null}
            <a href="/account/activity">{t.newest}</a>
          </>
        ) : null}
      </p>
    </Layout>
  );
}
