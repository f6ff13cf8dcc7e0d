/** @jsxImportSource hono/jsx */
/** The account center's own pages: profile, connected providers, connect and disconnect, imported data, processes. */
import type { Child } from 'hono/jsx';
import type { BrowserSession } from '../../api/session/browser-session.js';
import { Csrf, Notice, Problem } from '../components.js';
import { Layout } from '../layout.js';
import { accountPagesText as t } from '../text.js';
import { liveScriptPath } from './live-script.js';

function AccountPage(props: {
  session: BrowserSession;
  title: string;
  section: string;
  wide?: boolean;
  live?: boolean;
  children?: Child;
}) {
  return (
    <Layout
      title={props.title}
      area="account"
      section={props.section}
      signedInAs={props.session.email ?? props.session.subject}
      {...(props.wide ? { wide: true } : {})}
      {...(props.live ? { scripts: [liveScriptPath] } : {})}
    >
      <h1>{props.title}</h1>
      {props.children}
    </Layout>
  );
}

/** Words for a stage code (`syncing:repositories` → "Importing repositories"); the code itself when unknown. */
export function stageWords(stage: string | null): string {
  if (!stage) return '—';
  const [head, detail] = stage.split(':', 2);
  if (head === 'syncing' && detail) return t.processes.importing(detail.replaceAll('_', ' '));
  return t.processes.stageWords[stage] ?? stage.replaceAll('_', ' ');
}

export const processName = (process: string) => t.processes.names[process] ?? process;
export const processStatusWords = (status: string) => t.processes.statusWords[status] ?? status;

// ---- Profile -------------------------------------------------------------------------------------------------

export function ProfilePage(props: {
  session: BrowserSession;
  givenName: string;
  familyName: string;
  email?: string | undefined;
  notice?: string | undefined;
  problem?: string | undefined;
}) {
  return (
    <AccountPage session={props.session} title={t.profile.title} section="/account/profile">
      <Notice text={props.notice} />
      <Problem text={props.problem} />
      <p>{t.profile.intro}</p>
      {props.email ? (
        <dl class="facts">
          <dt>{t.profile.emailLabel}</dt>
          <dd>{props.email}</dd>
        </dl>
      ) : null}
      <form method="post" action="/account/profile" class="stack">
        <Csrf session={props.session} />
        <label>
          {t.profile.givenName}
          <input
            type="text"
            name="givenName"
            value={props.givenName}
            autocomplete="given-name"
            maxlength={100}
            required
          />
        </label>
        <label>
          {t.profile.familyName}
          <input
            type="text"
            name="familyName"
            value={props.familyName}
            autocomplete="family-name"
            maxlength={100}
            required
          />
        </label>
        <button type="submit">{t.profile.save}</button>
      </form>
    </AccountPage>
  );
}

// ---- Connected providers -------------------------------------------------------------------------------------

export interface ProviderRow {
  provider: string;
  displayName: string;
  /** The connection's status, or `none`. */
  status: string;
  since?: string | undefined;
  signInOnly: boolean;
  canConnect: boolean;
  canDisconnect: boolean;
}

export function ProvidersPage(props: { session: BrowserSession; rows: ProviderRow[]; notice?: string | undefined }) {
  return (
    <AccountPage session={props.session} title={t.providers.title} section="/account/providers" wide>
      <Notice text={props.notice} />
      <p>{t.providers.intro}</p>
      {props.rows.length === 0 ? (
        <p>{t.providers.none}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.providers.provider}</th>
              <th scope="col">{t.providers.status}</th>
              <th scope="col">{t.providers.actions}</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r) => (
              <tr>
                <th scope="row">{r.displayName}</th>
                <td>
                  <span class={`badge${r.status === 'active' ? ' ok' : r.status === 'reauth_required' ? ' bad' : ''}`}>
                    {t.providers.statusWords[r.status] ?? r.status}
                  </span>
                  {r.since ? <span class="muted"> {t.providers.since(t.when(r.since))}</span> : null}
                  {r.signInOnly ? <span class="muted"> · {t.providers.signInOnly}</span> : null}
                </td>
                <td>
                  {r.canConnect ? (
                    <a href={`/account/providers/${r.provider}/connect`}>{t.providers.connect(r.displayName)}</a>
                  ) : null}
                  {r.canConnect && r.canDisconnect ? ' · ' : null}
                  {r.canDisconnect ? (
                    <a href={`/account/providers/${r.provider}/disconnect`}>{t.providers.disconnect(r.displayName)}</a>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </AccountPage>
  );
}

function ScopeList({ scopes }: { scopes: string[] }) {
  return (
    <ul>
      {scopes.map((scope) => (
        <li>
          {t.scopes[scope] ?? t.connect.unknownScope} <code>{t.connect.scopeCode(scope)}</code>
        </li>
      ))}
    </ul>
  );
}

export function ConnectPage(props: {
  session: BrowserSession;
  provider: string;
  displayName: string;
  defaultScopes: string[];
  extendedScopes: string[];
  dataKinds: string[];
  revocable: boolean;
  problem?: string | undefined;
}) {
  const name = props.displayName;
  return (
    <AccountPage session={props.session} title={t.connect.title(name)} section="/account/providers">
      <Problem text={props.problem} />
      <p>{t.connect.intro(name)}</p>
      <h2>{t.connect.alwaysHeading}</h2>
      <ScopeList scopes={props.defaultScopes} />
      <p>
        {props.dataKinds.length > 0
          ? t.connect.imports(props.dataKinds.join(', ').replaceAll('_', ' '))
          : t.connect.profileOnly}
      </p>
      <p>{props.revocable ? t.connect.revocable(name) : t.connect.notRevocable(name)}</p>
      <form method="post" action={`/account/providers/${props.provider}/connect`} class="stack">
        <Csrf session={props.session} />
        {props.extendedScopes.length > 0 ? (
          <fieldset>
            <legend>{t.connect.extendedHeading}</legend>
            <ScopeList scopes={props.extendedScopes} />
            <label class="check">
              <input type="checkbox" name="extendedScopes" value="yes" />
              <span>{t.connect.extendedCheck(name)}</span>
            </label>
          </fieldset>
        ) : null}
        <button type="submit">{t.connect.goOn(name)}</button>
      </form>
      <p>
        <a href="/account/providers">{t.connect.cancel}</a>
      </p>
    </AccountPage>
  );
}

export interface DisconnectPreview {
  provider: string;
  displayName: string;
  connections: { connectionId: string; providerAccountId: string; status: string; connectedAt: string }[];
  records: { total: number; byKind: Record<string, number> };
  featuresLost: string[];
  retention: { keep: string; delete: string };
  lastLoginMethod: boolean;
  revocation: 'at_provider' | 'not_supported';
  grantNotice?: string | undefined;
  grantSettingsUrl?: string | undefined;
}

/** Only web addresses become links: a value from elsewhere must never become a `javascript:` link. */
export const webAddress = (url: string | undefined) => (url && /^https?:\/\//i.test(url) ? url : undefined);

export function DisconnectPage(props: {
  session: BrowserSession;
  preview: DisconnectPreview;
  problem?: string | undefined;
}) {
  const p = props.preview;
  const name = p.displayName;
  const settings = webAddress(p.grantSettingsUrl);
  return (
    <AccountPage session={props.session} title={t.disconnect.title(name)} section="/account/providers">
      <Problem text={props.problem} />
      <p>{t.disconnect.intro(name)}</p>
      <h2>{t.disconnect.connectionsHeading}</h2>
      <ul>
        {p.connections.map((n) => (
          <li>
            <code>{n.providerAccountId}</code> · {t.providers.statusWords[n.status] ?? n.status} ·{' '}
            {t.providers.since(t.when(n.connectedAt))}
          </li>
        ))}
      </ul>
      <h2>{t.disconnect.recordsHeading}</h2>
      <p>{t.disconnect.recordCount(p.records.total)}</p>
      {Object.keys(p.records.byKind).length > 0 ? (
        <ul>
          {Object.entries(p.records.byKind).map(([kind, n]) => (
            <li>{t.disconnect.kindCount(kind.replaceAll('_', ' '), n)}</li>
          ))}
        </ul>
      ) : null}
      <h2>{t.disconnect.featuresHeading}</h2>
      <ul>
        {p.featuresLost.map((f) => (
          <li>{f}</li>
        ))}
      </ul>
      <h2>{t.disconnect.grantHeading}</h2>
      <p>
        {p.revocation === 'at_provider' ? t.disconnect.revoked(name) : (p.grantNotice ?? t.connect.notRevocable(name))}
      </p>
      {settings && p.revocation !== 'at_provider' ? (
        <p>
          <a href={settings} rel="noopener noreferrer">
            {t.disconnect.grantSettings}
          </a>
        </p>
      ) : null}
      {p.lastLoginMethod ? (
        <p class="problem" role="alert">
          {t.disconnect.lastLogin(name)}
        </p>
      ) : (
        <form method="post" action={`/account/providers/${p.provider}/disconnect`} class="stack">
          <Csrf session={props.session} />
          <fieldset>
            <legend>{t.disconnect.choiceLegend}</legend>
            <label class="check">
              <input type="radio" name="retention" value="keep" required />
              <span>
                <strong>{t.disconnect.keep}</strong>: {p.retention.keep}
              </span>
            </label>
            <label class="check">
              <input type="radio" name="retention" value="delete" required />
              <span>
                <strong>{t.disconnect.delete}</strong>: {p.retention.delete}
              </span>
            </label>
          </fieldset>
          <button type="submit" class="danger">
            {t.disconnect.confirm(name)}
          </button>
        </form>
      )}
      <p>
        <a href="/account/providers">{t.disconnect.cancel}</a>
      </p>
    </AccountPage>
  );
}

export function DisconnectedPage(props: {
  session: BrowserSession;
  displayName: string;
  retention: 'keep' | 'delete';
  status: string;
  stage: string | null;
  refreshHref: string;
}) {
  const name = props.displayName;
  const running = props.status === 'running';
  const done = props.status === 'completed';
  return (
    <AccountPage
      session={props.session}
      title={done ? t.disconnected.doneTitle(name) : t.disconnected.title(name)}
      section="/account/providers"
      live={running}
    >
      <div id="disconnect-live" {...(running ? { 'data-live': 'true' } : {})}>
        {running ? <p>{t.disconnected.running}</p> : null}
        <dl class="facts">
          <dt>{t.disconnected.status}</dt>
          <dd>{processStatusWords(props.status)}</dd>
          <dt>{t.disconnected.stage}</dt>
          <dd>{stageWords(props.stage)}</dd>
        </dl>
        {done ? (
          <p class="notice" role="status">
            {props.retention === 'keep' ? t.disconnected.kept(name) : t.disconnected.deleted(name)}
          </p>
        ) : null}
        {!running && !done ? (
          <p class="problem" role="alert">
            {t.disconnected.failed}
          </p>
        ) : null}
        {running ? (
          <p>
            <a href={props.refreshHref}>{t.refresh}</a>
          </p>
        ) : null}
      </div>
      <p>
        <a href="/account/data">{t.disconnected.seeData}</a> ·{' '}
        <a href="/account/providers">{t.disconnected.backToProviders}</a>
      </p>
    </AccountPage>
  );
}

// ---- Imported data -------------------------------------------------------------------------------------------

export interface DataRow {
  recordId: string;
  provider: string;
  kind: string;
  externalId: string;
  status: string;
  title?: string | undefined;
  origin: { providerAccountId: string; syncRunId: string; fetchedAt: string; sourceUrl: string; contentHash: string };
  /** The record checked against its origin (content hash and MAC). */
  integrity?: 'verified' | 'content_changed' | 'origin_changed';
}

export function DataPage(props: {
  session: BrowserSession;
  rows: DataRow[];
  providers: { id: string; displayName: string }[];
  kinds: string[];
  provider?: string | undefined;
  kind?: string | undefined;
  nextHref?: string | undefined;
  firstHref?: string | undefined;
  displayName: (provider: string) => string;
  problem?: string | undefined;
}) {
  return (
    <AccountPage session={props.session} title={t.data.title} section="/account/data" wide>
      <Problem text={props.problem} />
      <p>{t.data.intro}</p>
      <form method="get" action="/account/data">
        <fieldset>
          <legend>{t.data.filterLegend}</legend>
          <label>
            {t.data.provider}
            <select name="provider">
              <option value="">{t.data.anyProvider}</option>
              {props.providers.map((p) => (
                <option value={p.id} {...(p.id === props.provider ? { selected: true } : {})}>
                  {p.displayName}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t.data.kind}
            <select name="kind">
              <option value="">{t.data.anyKind}</option>
              {props.kinds.map((k) => (
                <option value={k} {...(k === props.kind ? { selected: true } : {})}>
                  {k.replaceAll('_', ' ')}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="secondary">
            {t.data.show}
          </button>
        </fieldset>
      </form>
      {props.rows.length === 0 ? (
        <p>{t.data.empty}</p>
      ) : (
        <table>
          <caption class="muted">{t.data.caption}</caption>
          <thead>
            <tr>
              <th scope="col">{t.data.item}</th>
              <th scope="col">{t.data.provider}</th>
              <th scope="col">{t.data.kind}</th>
              <th scope="col">{t.data.status}</th>
              <th scope="col">{t.data.origin}</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r) => {
              const source = webAddress(r.origin.sourceUrl);
              return (
                <tr>
                  <td>
                    {r.title ? <strong>{r.title}</strong> : null}
                    {r.title ? <br /> : null}
                    <code>{r.externalId}</code>
                  </td>
                  <td>
                    {props.displayName(r.provider)}
                    <br />
                    <code>{r.origin.providerAccountId}</code>
                  </td>
                  <td>{r.kind.replaceAll('_', ' ')}</td>
                  <td>
                    <span class={`badge${r.status === 'active' ? ' ok' : r.status === 'detached' ? '' : ' bad'}`}>
                      {t.data.statusWords[r.status] ?? r.status}
                    </span>
                  </td>
                  <td>
                    {source ? (
                      <a href={source} rel="noopener noreferrer">
                        {t.data.source}
                      </a>
                    ) : (
                      <code>{r.origin.sourceUrl}</code>
                    )}
                    <br />
                    <span class="muted">{t.data.fetchedAt(t.when(r.origin.fetchedAt))}</span>
                    <br />
                    <span class="muted">{t.data.syncRun(r.origin.syncRunId.slice(0, 8))}</span>
                    <br />
                    {r.integrity ? (
                      <span class={r.integrity === 'verified' ? 'badge ok' : 'badge bad'}>
                        {t.data.integrityWords[r.integrity]}
                      </span>
                    ) : null}
                    <br />
                    <span class="muted">{t.data.integrity(r.origin.contentHash.slice(0, 12))}</span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <p>
        {props.firstHref ? <a href={props.firstHref}>{t.data.first}</a> : null}
        {props.firstHref && props.nextHref ? ' · ' : null}
        {props.nextHref ? <a href={props.nextHref}>{t.data.next}</a> : null}
      </p>
    </AccountPage>
  );
}

// ---- Processes -----------------------------------------------------------------------------------------------

export interface ProcessRow {
  workflowId: string;
  process: string;
  status: string;
  stage: string | null;
  provider: string | null;
  startedAt: string;
  progress: { done: number; total: number; written: number } | null;
}

export function ProcessesPage(props: {
  session: BrowserSession;
  rows: ProcessRow[];
  displayName: (provider: string) => string;
  problem?: string | undefined;
}) {
  return (
    <AccountPage session={props.session} title={t.processes.title} section="/account/processes" wide live>
      <Problem text={props.problem} />
      <p>{t.processes.intro}</p>
      <div id="processes-live" data-live="true">
        {props.rows.length === 0 ? (
          <p>{t.processes.empty}</p>
        ) : (
          <table>
            <caption class="muted">{t.processes.caption}</caption>
            <thead>
              <tr>
                <th scope="col">{t.processes.process}</th>
                <th scope="col">{t.processes.provider}</th>
                <th scope="col">{t.processes.status}</th>
                <th scope="col">{t.processes.stage}</th>
                <th scope="col">{t.processes.started}</th>
                <th scope="col">{t.processes.progress}</th>
              </tr>
            </thead>
            <tbody>
              {props.rows.map((r) => (
                <tr>
                  <th scope="row">{processName(r.process)}</th>
                  <td>{r.provider ? props.displayName(r.provider) : '—'}</td>
                  <td>
                    <span class={`badge${r.status === 'completed' ? ' ok' : r.status === 'running' ? '' : ' bad'}`}>
                      {processStatusWords(r.status)}
                    </span>
                  </td>
                  <td>{stageWords(r.stage)}</td>
                  <td>{t.when(r.startedAt)}</td>
                  <td>
                    {r.progress ? (
                      <>
                        <progress
                          max={Math.max(r.progress.total, 1)}
                          value={r.progress.done}
                          aria-label={t.processes.progressLabel(processName(r.process))}
                        >
                          {`${r.progress.done}/${r.progress.total}`}
                        </progress>
                        <br />
                        <span class="muted">
                          {t.processes.progressText(r.progress.done, r.progress.total, r.progress.written)}
                        </span>
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p>
          <a href="/account/processes">{t.refresh}</a>
        </p>
      </div>
    </AccountPage>
  );
}
