/** @jsxImportSource hono/jsx */
/** The support console's pages: the queue, a recovery, a provider link, the account search and an account. */
import type { Child } from 'hono/jsx';
import type { BrowserSession } from '../../api/session/browser-session.js';
import type { SupportQueueItem } from '../../api/routes/support-queue.js';
import type { LinkState } from '../../workflows/link/messages.js';
import { finalRecoveryStages, type RecoveryStatus } from '../../workflows/recovery/messages.js';
import { Messages } from '../components.js';
import { Layout } from '../layout.js';
import { consoleText as t } from '../text.js';
import { consoleRefreshPath, consoleStylesheetPath } from './assets.js';

export interface AuditRow {
  seq: number;
  at: string;
  action: string;
  actorType: string;
  workflowId?: string;
  details: Record<string, string | number | boolean | null>;
}

export interface AccountView {
  accountId: string;
  status: string;
  legalHold: { active: boolean; updatedAt?: string };
  flags: Array<{
    flag: string;
    provider: string;
    enabled: boolean;
    reason: string;
    override?: { enabled: boolean; reason: string; setBy: string; setAt: string };
  }>;
  auditEvents: AuditRow[];
}

interface Frame {
  session: BrowserSession;
  notice?: string | undefined;
  problem?: string | undefined;
}

const who = (s: BrowserSession) => s.email ?? s.subject;
const csrfField = (s: BrowserSession) => <input type="hidden" name="csrf" value={s.csrfToken} />;

export const recoveryHref = (recoveryId: string) => `/console/recoveries/${encodeURIComponent(recoveryId)}`;
/** The console's frame: its menu, its stylesheet, who is signed in. */
function ConsolePage(props: {
  title: string;
  section: string;
  session: BrowserSession;
  wide?: boolean;
  scripts?: string[];
  children?: Child;
}) {
  return (
    <Layout
      styles={[consoleStylesheetPath]}
      title={props.title}
      area="console"
      section={props.section}
      signedInAs={who(props.session)}
      {...(props.wide ? { wide: true } : {})}
      {...(props.scripts ? { scripts: props.scripts } : {})}
    >
      {props.children}
    </Layout>
  );
}

export const linkHref = (workflowId: string) => `/console/links/${encodeURIComponent(workflowId)}`;
export const accountHref = (accountId: string) => `/console/accounts/${encodeURIComponent(accountId)}`;

/** A moment as words ("in 3 minutes") and as a machine-readable `<time>`. */
function When({ iso }: { iso: string }) {
  return <time datetime={iso}>{t.utc(iso)}</time>;
}

function Deadline({ deadline, now }: { deadline: SupportQueueItem['deadline']; now: number }) {
  if (!deadline) return <span class="muted">{t.noDeadline}</span>;
  const left = Date.parse(deadline.at) - now;
  const words =
    deadline.kind === 'cooling_ends'
      ? t.coolingEndsIn(t.duration(left))
      : left > 0
        ? t.expiresIn(t.duration(left))
        : t.expired;
  return (
    <span>
      {words} (<When iso={deadline.at} />)
    </span>
  );
}

function RiskBadge({ level }: { level: string }) {
  return (
    <span class={level === 'high' ? 'badge bad' : level === 'low' ? 'badge ok' : 'badge'}>
      {t.risk[level] ?? level}
    </span>
  );
}

// ---- Queue -----------------------------------------------------------------------------------------

export function QueuePage(
  props: Frame & {
    items: SupportQueueItem[];
    filters: { process?: string | undefined; risk?: string | undefined };
    refreshHref: string;
    now: number;
  },
) {
  const { items, filters, now } = props;
  return (
    <ConsolePage title={t.queueTitle} section="/console" session={props.session} wide scripts={[consoleRefreshPath]}>
      <h1>{t.queueTitle}</h1>
      <Messages notice={props.notice} problem={props.problem} />
      <p>{t.queueIntro}</p>
      <form method="get" action="/console">
        <fieldset class="filters">
          <legend>{t.filtersLegend}</legend>
          <div class="field">
            <label for="filter-process">{t.filterProcess}</label>
            <select id="filter-process" name="process">
              <option value="" selected={!filters.process}>
                {t.filterAny}
              </option>
              {['recovery', 'link'].map((p) => (
                <option value={p} selected={filters.process === p}>
                  {t.process[p]}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="filter-risk">{t.filterRisk}</label>
            <select id="filter-risk" name="risk">
              <option value="" selected={!filters.risk}>
                {t.filterAny}
              </option>
              {['high', 'normal', 'low'].map((r) => (
                <option value={r} selected={filters.risk === r}>
                  {t.risk[r]}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="secondary">
            {t.filterButton}
          </button>
        </fieldset>
      </form>
      <p>
        <a href={props.refreshHref}>{t.refresh}</a>
      </p>
      <div id="queue-region">
        {items.length === 0 ? (
          <p class="muted" role="status">
            {t.queueEmpty}
          </p>
        ) : (
          <table>
            <caption class="muted">{t.queueCaption}</caption>
            <thead>
              <tr>
                <th scope="col">{t.col.process}</th>
                <th scope="col">{t.col.account}</th>
                <th scope="col">{t.col.stage}</th>
                <th scope="col">{t.col.age}</th>
                <th scope="col">{t.col.risk}</th>
                <th scope="col">{t.col.timeLeft}</th>
                <th scope="col">{t.col.workflow}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr>
                  <td>
                    <a href={item.recoveryId ? recoveryHref(item.recoveryId) : linkHref(item.workflowId)}>
                      {t.process[item.process]}
                    </a>
                  </td>
                  <td>
                    {item.accountId ? <code>{item.accountId}</code> : <span class="muted">{t.unknownAccount}</span>}
                  </td>
                  <td>{(item.process === 'recovery' ? t.recoveryStages : t.linkStages)[item.stage] ?? item.stage}</td>
                  <td>
                    {t.duration(now - Date.parse(item.startedAt))} (<When iso={item.startedAt} />)
                  </td>
                  <td>
                    <RiskBadge level={item.risk} />
                  </td>
                  <td>
                    <Deadline deadline={item.deadline} now={now} />
                  </td>
                  <td>
                    <code>{item.workflowId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </ConsolePage>
  );
}

// ---- Shared parts of the detail pages --------------------------------------------------------------

/** The decision form for who may decide, while the item waits for one; a line saying why not otherwise. */
function Decide(props: {
  canDecide?: boolean;
  decidable: boolean;
  session: BrowserSession;
  action: string;
  help: string;
  reason?: string | undefined;
  reasonInvalid?: boolean | undefined;
}) {
  if (!props.canDecide) return null;
  if (!props.decidable) return <p class="muted">{t.notDecidable}</p>;
  return (
    <DecisionForm
      session={props.session}
      action={props.action}
      help={props.help}
      reason={props.reason}
      invalid={props.reasonInvalid ?? false}
    />
  );
}

function AuditTable({ events }: { events: AuditRow[] }) {
  return (
    <section aria-labelledby="audit">
      <h2 id="audit">{t.auditHeading}</h2>
      {events.length === 0 ? (
        <p class="muted">{t.auditNone}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.auditTime}</th>
              <th scope="col">{t.auditAction}</th>
              <th scope="col">{t.auditActor}</th>
              <th scope="col">{t.auditDetails}</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr>
                <td>
                  <When iso={e.at} />
                </td>
                <td>
                  <code class="action">{e.action}</code>
                </td>
                <td>{t.actorTypes[e.actorType] ?? e.actorType}</td>
                <td>
                  {Object.entries(e.details)
                    .map(([k, v]) => `${k}: ${String(v)}`)
                    .join(' · ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Evidence({ evidence }: { evidence: Record<string, string | number | boolean> }) {
  const entries = Object.entries(evidence);
  if (entries.length === 0) return <span class="muted">{t.none}</span>;
  return (
    <ul class="plain">
      {entries.map(([k, v]) => (
        <li>
          <span>{k}</span> <code>{String(v)}</code>
        </li>
      ))}
    </ul>
  );
}

function DecisionForm(props: {
  session: BrowserSession;
  action: string;
  help: string;
  reason?: string | undefined;
  invalid?: boolean;
}) {
  return (
    <section aria-labelledby="decide">
      <h2 id="decide">{t.decideHeading}</h2>
      <p class="muted">{props.help}</p>
      <form method="post" action={props.action} class="stack">
        {csrfField(props.session)}
        <label>
          {t.reasonLabel}
          <textarea
            name="reason"
            required
            maxlength={500}
            {...(props.invalid ? { 'aria-invalid': 'true', 'aria-describedby': 'reason-problem' } : {})}
          >
            {props.reason ?? ''}
          </textarea>
        </label>
        {props.invalid ? (
          <p id="reason-problem" class="problem">
            {t.reasonMissing}
          </p>
        ) : null}
        <p>
          <button type="submit" name="decision" value="approve">
            {t.approveButton}
          </button>{' '}
          <button type="submit" name="decision" value="deny" class="danger">
            {t.denyButton}
          </button>
        </p>
      </form>
    </section>
  );
}

function TemporalLink({ href }: { href: string }) {
  return (
    <p>
      <a href={href} rel="noopener noreferrer">
        {t.temporalLink}
      </a>
    </p>
  );
}

// ---- Recovery --------------------------------------------------------------------------------------

export function RecoveryPage(
  props: Frame & {
    recovery: RecoveryStatus;
    audit: AuditRow[];
    temporalHref: string;
    canDecide: boolean;
    reason?: string | undefined;
    reasonInvalid?: boolean;
    now: number;
  },
) {
  const r = props.recovery;
  const decidable = !r.resetting && (r.stage === 'cooling' || r.stage === 'awaiting_approval');
  const cooling = r.coolingEndsAt;
  let coolingText: Child = t.coolingNotStarted;
  if (cooling) {
    const left = Date.parse(cooling) - props.now;
    coolingText = (
      <span>
        {left > 0 ? t.coolingEndsIn(t.duration(left)) : t.coolingEnded(t.duration(-left))} (<When iso={cooling} />)
      </span>
    );
  }
  return (
    <ConsolePage title={t.recoveryTitle} section="/console" session={props.session} wide>
      <h1>{t.recoveryTitle}</h1>
      <Messages notice={props.notice} problem={props.problem} />
      <dl class="facts">
        <dt>{t.facts.stage}</dt>
        <dd id="stage">
          {r.resetting && !finalRecoveryStages.includes(r.stage) ? t.resetting : (t.recoveryStages[r.stage] ?? r.stage)}
        </dd>
        <dt>{t.facts.account}</dt>
        <dd>
          {r.accountId ? (
            <a href={accountHref(r.accountId)}>
              <code>{r.accountId}</code>
            </a>
          ) : (
            t.unknownAccount
          )}
        </dd>
        <dt>{t.facts.requestedVia}</dt>
        <dd>
          {t.requestedVia(r.requestedVia.kind, r.requestedVia.kind === 'agent' ? r.requestedVia.agentId : undefined)}
        </dd>
        <dt>{t.facts.factors}</dt>
        <dd>{r.satisfied.length ? r.satisfied.map((f) => t.factors[f] ?? f).join(', ') : t.none}</dd>
        {r.locked.length ? (
          <>
            <dt>{t.facts.locked}</dt>
            <dd>{r.locked.map((f) => t.factors[f] ?? f).join(', ')}</dd>
          </>
        ) : null}
        <dt>{t.facts.cooling}</dt>
        <dd>{coolingText}</dd>
        <dt>{t.facts.approvals}</dt>
        <dd id="approvals">{t.approvalsOf(r.approvals.length, r.approvalsRequired)}</dd>
        <dt>{t.facts.workflow}</dt>
        <dd>
          <code>{`recovery/${r.recoveryId}`}</code>
        </dd>
      </dl>
      {decidable && r.approvals.length > 0 && r.approvalsNeeded > 0 ? (
        <p class="notice" role="status">
          {t.waitingSecondApprover}
        </p>
      ) : null}
      <TemporalLink href={props.temporalHref} />
      <section aria-labelledby="risk">
        <h2 id="risk">{t.riskHeading}</h2>
        {r.riskFlags.length === 0 ? (
          <p class="muted">{t.riskNone}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t.flagColumn}</th>
                <th scope="col">{t.evidenceColumn}</th>
                <th scope="col">{t.raisedColumn}</th>
              </tr>
            </thead>
            <tbody>
              {r.riskFlags.map((f) => (
                <tr>
                  <td>{t.riskFlags[f.flag] ?? f.flag}</td>
                  <td>
                    <Evidence evidence={f.evidence} />
                  </td>
                  <td>
                    <When iso={f.at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="decisions">
        <h2 id="decisions">{t.decisionsHeading}</h2>
        {r.approvals.length === 0 ? (
          <p class="muted">{t.decisionsNone}</p>
        ) : (
          <ul class="plain">
            {r.approvals.map((a) => (
              <li>
                <span>
                  {t.approvedBy(a.subject)}: {a.reason}
                </span>
                <When iso={a.at} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <Decide
        canDecide={props.canDecide}
        session={props.session}
        reason={props.reason}
        reasonInvalid={props.reasonInvalid}
        decidable={decidable}
        action={`${recoveryHref(r.recoveryId)}/decision`}
        help={t.decideHelp}
      />
      <AuditTable events={props.audit} />
    </ConsolePage>
  );
}

// ---- Provider link ---------------------------------------------------------------------------------

export function LinkPage(
  props: Frame & {
    workflowId: string;
    accountId?: string | undefined;
    link: LinkState & { workflowId: string };
    audit: AuditRow[];
    temporalHref: string;
    canDecide: boolean;
    reason?: string | undefined;
    reasonInvalid?: boolean;
  },
) {
  const l = props.link;
  const decisions = props.audit.filter(
    (e) => e.workflowId === props.workflowId && /link_conflict_(approved|denied)$/.test(e.action),
  );
  return (
    <ConsolePage title={t.linkTitle} section="/console" session={props.session} wide>
      <h1>{t.linkTitle}</h1>
      <Messages notice={props.notice} problem={props.problem} />
      <dl class="facts">
        <dt>{t.facts.stage}</dt>
        <dd id="stage">{t.linkStages[l.stage] ?? l.stage}</dd>
        <dt>{t.facts.provider}</dt>
        <dd>{l.provider}</dd>
        <dt>{t.facts.account}</dt>
        <dd>
          {props.accountId ? (
            <a href={accountHref(props.accountId)}>
              <code>{props.accountId}</code>
            </a>
          ) : (
            t.unknownAccount
          )}
        </dd>
        {l.conflictingAccountId ? (
          <>
            <dt>{t.facts.otherAccount}</dt>
            <dd>
              <a href={accountHref(l.conflictingAccountId)}>
                <code>{l.conflictingAccountId}</code>
              </a>
            </dd>
          </>
        ) : null}
        {l.outcome ? (
          <>
            <dt>{t.facts.outcome}</dt>
            <dd>{l.outcome.detail ? `${l.outcome.status}: ${l.outcome.detail}` : l.outcome.status}</dd>
          </>
        ) : null}
        <dt>{t.facts.workflow}</dt>
        <dd>
          <code>{props.workflowId}</code>
        </dd>
      </dl>
      <TemporalLink href={props.temporalHref} />
      <section aria-labelledby="risk">
        <h2 id="risk">{t.riskHeading}</h2>
        {!l.conflict ? (
          <p class="muted">{t.riskNone}</p>
        ) : (
          <dl class="facts">
            <dt>{t.facts.conflict}</dt>
            <dd>{t.riskFlags[`conflict_${l.conflict.kind}`]}</dd>
            <dt>{t.conflictEvidence.matchesOther}</dt>
            <dd>{l.conflict.verifiedEmailMatchesOther ? t.yes : t.no}</dd>
            <dt>{t.conflictEvidence.matchesRequester}</dt>
            <dd>{l.conflict.verifiedEmailMatchesRequester ? t.yes : t.no}</dd>
            <dt>{t.conflictEvidence.otherAccounts}</dt>
            <dd>
              {l.conflict.verifiedEmailAccountIds.length ? l.conflict.verifiedEmailAccountIds.join(', ') : t.none}
            </dd>
          </dl>
        )}
      </section>
      <section aria-labelledby="decisions">
        <h2 id="decisions">{t.decisionsHeading}</h2>
        {decisions.length === 0 ? (
          <p class="muted">{t.decisionsNone}</p>
        ) : (
          <ul class="plain">
            {decisions.map((d) => (
              <li>
                <span>
                  {t.decidedBy(d.action.endsWith('approved'), String(d.details.approver ?? ''))}
                  {d.details.reason ? `: ${String(d.details.reason)}` : ''}
                </span>
                <When iso={d.at} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <Decide
        canDecide={props.canDecide}
        session={props.session}
        reason={props.reason}
        reasonInvalid={props.reasonInvalid}
        decidable={l.stage === 'awaiting_support'}
        action={`${linkHref(props.workflowId)}/decision`}
        help={t.linkDecideHelp}
      />
      <AuditTable events={props.audit} />
    </ConsolePage>
  );
}

// ---- Accounts --------------------------------------------------------------------------------------

export function AccountSearchPage(props: Frame & { accountId?: string | undefined }) {
  return (
    <ConsolePage title={t.accountsTitle} section="/console/accounts" session={props.session}>
      <h1>{t.accountsTitle}</h1>
      <Messages notice={props.notice} problem={props.problem} />
      <p>{t.accountsIntro}</p>
      <form method="get" action="/console/accounts" class="stack">
        <label>
          {t.accountIdLabel}
          <input type="text" name="accountId" value={props.accountId ?? ''} required autocomplete="off" />
        </label>
        <button type="submit">{t.findButton}</button>
      </form>
    </ConsolePage>
  );
}

export function AccountPage(props: Frame & { account: AccountView; canWriteFlags: boolean; canHold: boolean }) {
  const a = props.account;
  const csrf = csrfField(props.session);
  const base = accountHref(a.accountId);
  return (
    <ConsolePage title={t.accountTitle} section="/console/accounts" session={props.session} wide>
      <h1>
        {t.accountTitle} <code>{a.accountId}</code>
      </h1>
      <Messages notice={props.notice} problem={props.problem} />
      <dl class="facts">
        <dt>{t.accountStatus}</dt>
        <dd>{a.status}</dd>
      </dl>
      <section aria-labelledby="hold">
        <h2 id="hold">{t.holdHeading}</h2>
        <p id="hold-state">
          {a.legalHold.active ? t.holdActive(a.legalHold.updatedAt && t.utc(a.legalHold.updatedAt)) : t.holdInactive}
        </p>
        {props.canHold ? (
          <form method="post" action={`${base}/legal-hold`} class="stack">
            {csrf}
            <input type="hidden" name="hold" value={a.legalHold.active ? 'false' : 'true'} />
            <label>
              {a.legalHold.active ? t.releaseReasonLabel : t.holdReasonLabel}
              <textarea name="reason" required maxlength={500}></textarea>
            </label>
            <button type="submit" class={a.legalHold.active ? 'secondary' : 'danger'}>
              {a.legalHold.active ? t.releaseHold : t.placeHold}
            </button>
          </form>
        ) : null}
      </section>
      <section aria-labelledby="flags">
        <h2 id="flags">{t.flagsHeading}</h2>
        <table>
          <caption class="muted">{t.flagsCaption}</caption>
          <thead>
            <tr>
              <th scope="col">{t.flagCol}</th>
              <th scope="col">{t.stateCol}</th>
              <th scope="col">{t.whyCol}</th>
            </tr>
          </thead>
          <tbody>
            {a.flags.map((f) => (
              <tr>
                <th scope="row">
                  <code class="action">{f.flag}</code>
                </th>
                <td>
                  <span class={f.enabled ? 'badge ok' : 'badge'}>{f.enabled ? t.on : t.off}</span>
                </td>
                <td>
                  {t.flagReasons[f.reason] ?? f.reason}
                  {f.override ? (
                    <span class="muted">
                      {' · '}
                      {t.overrideBy(f.override.setBy, t.utc(f.override.setAt), f.override.reason)}
                    </span>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {props.canWriteFlags ? (
          <form method="post" action={`${base}/flags`} class="stack">
            {csrf}
            <fieldset>
              <legend>{t.overrideLegend}</legend>
              <div class="stack">
                <label for="override-flag">{t.flagLabel}</label>
                <select id="override-flag" name="flag">
                  {a.flags.map((f) => (
                    <option value={f.flag}>{f.flag}</option>
                  ))}
                </select>
                <label for="override-setting">{t.settingLabel}</label>
                <select id="override-setting" name="setting">
                  <option value="on">{t.settingOn}</option>
                  <option value="off">{t.settingOff}</option>
                  <option value="rule">{t.settingRule}</option>
                </select>
                <label>
                  {t.overrideReasonLabel}
                  <textarea name="reason" maxlength={1000}></textarea>
                </label>
                <button type="submit">{t.saveOverride}</button>
              </div>
            </fieldset>
          </form>
        ) : null}
      </section>
      <AuditTable events={a.auditEvents} />
    </ConsolePage>
  );
}
