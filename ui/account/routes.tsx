/** @jsxImportSource hono/jsx */
/**
 * The account center's pages: profile, connected providers (connect with the scopes in words, disconnect
 * with its impact preview), imported data, processes. Every page reads and writes through the person's
 * API client (`apiOf`), so it can do nothing the person could not do with a token.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiEnv } from '../../api/context.js';
import type { BrowserSessionDocument } from '../../api/session/browser-session.js';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import { renderPage } from '../layout.js';
import {
  apiOf,
  checkedForm,
  csrfRefused,
  messagePage,
  notFoundPage,
  problemDetail,
  sessionOf,
  toSignIn,
  type PageContext,
} from '../page-context.js';
import { accountPagesText as t } from '../text.js';
import { liveScriptRoutes } from './live-script.js';
import {
  ConnectPage,
  DataPage,
  DisconnectedPage,
  DisconnectPage,
  ProcessesPage,
  ProfilePage,
  ProvidersPage,
  type DataRow,
  type DisconnectPreview,
  type ProviderRow,
} from './pages.js';

const displayNameOf = (provider: string) => (isProviderId(provider) ? providerCatalog[provider].displayName : provider);
const field = (form: Record<string, unknown>, name: string) =>
  typeof form[name] === 'string' ? (form[name] as string) : '';
const dataPageSize = 25;

/** The signed-in person's session, or the redirect to sign in (and back). */
async function signedIn(
  c: PageContext,
): Promise<{ session: BrowserSessionDocument; answer?: undefined } | { session?: undefined; answer: Response }> {
  const session = await sessionOf(c);
  return session ? { session } : { answer: toSignIn(c) };
}

async function meOf(c: PageContext, session: BrowserSessionDocument) {
  const res = await apiOf(c, session).v1.me.$get();
  return res.status === 200 ? await res.json() : undefined;
}

// ---- Profile ---------------------------------------------------------------------------------------------------

async function profilePage(
  c: PageContext,
  session: BrowserSessionDocument,
  opts: { notice?: string; problem?: string; givenName?: string; familyName?: string } = {},
  status: ContentfulStatusCode = 200,
) {
  const me = await meOf(c, session);
  return renderPage(
    c,
    <ProfilePage
      session={session}
      givenName={opts.givenName ?? me?.profile.givenName ?? ''}
      familyName={opts.familyName ?? me?.profile.familyName ?? ''}
      email={me?.rootIdentity.email ?? session.email}
      notice={opts.notice}
      problem={opts.problem}
    />,
    status,
  );
}

/** The API's validation errors of the names, each under its field's label. */
async function nameProblems(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { errors?: { pointer?: unknown; detail?: unknown }[] };
  const labels: Record<string, string> = { '#/givenName': t.profile.givenName, '#/familyName': t.profile.familyName };
  const fields = (body.errors ?? []).flatMap((e) =>
    typeof e.pointer === 'string' && labels[e.pointer] && typeof e.detail === 'string'
      ? [t.profile.fieldProblem(labels[e.pointer]!, e.detail)]
      : [],
  );
  return [t.profile.badName, ...fields].join(' ');
}

// ---- Providers -------------------------------------------------------------------------------------------------

async function providerRows(c: PageContext, session: BrowserSessionDocument): Promise<ProviderRow[]> {
  const api = apiOf(c, session);
  const [me, list] = await Promise.all([meOf(c, session), api.v1.providers.$get()]);
  const providers = list.status === 200 ? (await list.json()).providers : [];
  const nodes = me?.connected_providers.nodes ?? [];
  return providers.flatMap((p): ProviderRow[] => {
    const mine = nodes.filter((n) => n.provider === p.id);
    const live = mine.find((n) => n.status !== 'disconnected' && n.source !== 'sign_in');
    const signIn = mine.find((n) => n.status !== 'disconnected' && n.source === 'sign_in');
    const shown = live ?? signIn ?? mine[0];
    // A disabled provider is shown only while something of it is connected.
    if (!p.enabled && !live && !signIn) return [];
    return [
      {
        provider: p.id,
        displayName: p.displayName,
        status: shown && shown.status !== 'disconnected' ? shown.status : 'none',
        since: live?.connectedAt ?? signIn?.connectedAt,
        signInOnly: !live && signIn !== undefined,
        canConnect: p.enabled && (!live || live.status === 'reauth_required'),
        canDisconnect: live !== undefined || signIn !== undefined,
      },
    ];
  });
}

function connectPage(
  c: PageContext,
  session: BrowserSessionDocument,
  provider: keyof typeof providerCatalog,
  problem?: string,
  status: ContentfulStatusCode = 200,
) {
  const def = providerCatalog[provider];
  return renderPage(
    c,
    <ConnectPage
      session={session}
      provider={provider}
      displayName={def.displayName}
      defaultScopes={def.defaultScopes}
      extendedScopes={def.extendedScopes}
      dataKinds={def.dataKinds}
      revocable={def.revocation !== undefined}
      problem={problem}
    />,
    status,
    // The form's answer redirects to the provider: `form-action 'self'` would block it.
    { formAction: false },
  );
}

async function disconnectPage(
  c: PageContext,
  session: BrowserSessionDocument,
  provider: string,
  problem?: string,
  status: ContentfulStatusCode = 200,
) {
  const res = await apiOf(c, session).v1.me.providers[':provider']['disconnect-preview'].$get({
    param: { provider },
  });
  if (res.status === 404) return notFoundPage(c);
  if (res.status !== 200)
    return messagePage(
      c,
      {
        title: t.problemHeading,
        text: [await problemDetail(res)],
        link: { href: '/account/providers', label: t.disconnected.backToProviders },
        problem: true,
      },
      res.status as ContentfulStatusCode,
    );
  const preview = (await res.json()) as DisconnectPreview;
  return renderPage(c, <DisconnectPage session={session} preview={preview} problem={problem} />, status);
}

// ---- Imported data ---------------------------------------------------------------------------------------------

function titleOf(data: Record<string, unknown>): string | undefined {
  for (const key of ['full_name', 'name', 'title', 'login', 'display_name', 'summary', 'subject'])
    if (typeof data[key] === 'string' && data[key]) return (data[key] as string).slice(0, 120);
  return undefined;
}

function dataHref(query: { provider?: string | undefined; kind?: string | undefined; cursor?: string | undefined }) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  const search = params.toString();
  return search ? `/account/data?${search}` : '/account/data';
}

export function accountPageRoutes() {
  return (
    new Hono<ApiEnv>()
      .route('/', liveScriptRoutes)

      .get('/account/profile', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        return profilePage(c, session, c.req.query('done') === 'saved' ? { notice: t.profile.saved } : {});
      })
      .post('/account/profile', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const form = await checkedForm(c, session);
        if (!form) return csrfRefused(c, '/account/profile');
        const givenName = field(form, 'givenName');
        const familyName = field(form, 'familyName');
        const res = await apiOf(c, session).v1.me.profile.$patch({ json: { givenName, familyName } });
        if (res.status === 200) return c.redirect('/account/profile?done=saved', 303);
        return profilePage(
          c,
          session,
          { problem: res.status === 400 ? await nameProblems(res) : await problemDetail(res), givenName, familyName },
          res.status as ContentfulStatusCode,
        );
      })

      .get('/account/providers', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        return renderPage(
          c,
          <ProvidersPage
            session={session}
            rows={await providerRows(c, session)}
            notice={c.req.query('done') === 'disconnecting' ? t.providers.disconnectStarted : undefined}
          />,
        );
      })

      .get('/account/providers/:provider/connect', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const provider = c.req.param('provider');
        if (!isProviderId(provider)) return notFoundPage(c);
        return connectPage(c, session, provider);
      })
      // Connect: the link starts as this person (the API's own checks: flags, consents, erasure) and the
      // browser goes to the provider's consent page.
      .post('/account/providers/:provider/connect', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const form = await checkedForm(c, session);
        if (!form) return csrfRefused(c, '/account/providers');
        const provider = c.req.param('provider');
        if (!isProviderId(provider)) return notFoundPage(c);
        const res = await apiOf(c, session).v1.me.providers[':provider'].link.$post({
          param: { provider },
          json: { extendedScopes: field(form, 'extendedScopes') === 'yes' },
        });
        if (res.status === 202) return c.redirect((await res.json()).authorizationUrl, 303);
        return connectPage(c, session, provider, await problemDetail(res), res.status as ContentfulStatusCode);
      })

      .get('/account/providers/:provider/disconnect', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const provider = c.req.param('provider');
        if (!isProviderId(provider)) return notFoundPage(c);
        return disconnectPage(c, session, provider);
      })
      .post('/account/providers/:provider/disconnect', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const form = await checkedForm(c, session);
        if (!form) return csrfRefused(c, '/account/providers');
        const provider = c.req.param('provider');
        if (!isProviderId(provider)) return notFoundPage(c);
        const retention = field(form, 'retention');
        if (retention !== 'keep' && retention !== 'delete')
          return disconnectPage(c, session, provider, t.disconnect.chooseProblem, 400);
        const res = await apiOf(c, session).v1.me.providers[':provider'].$delete({
          param: { provider },
          json: { retention },
        });
        if (res.status === 404) return notFoundPage(c);
        if (res.status !== 202)
          return disconnectPage(c, session, provider, await problemDetail(res), res.status as ContentfulStatusCode);
        const { workflowId } = await res.json();
        const query = new URLSearchParams({ workflow: workflowId, retention });
        return c.redirect(`/account/providers/${provider}/disconnected?${query.toString()}`, 303);
      })
      // The disconnect's result: its live stage while it runs, then what happened to the records.
      .get('/account/providers/:provider/disconnected', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const provider = c.req.param('provider');
        const workflowId = c.req.query('workflow') ?? '';
        const retention = c.req.query('retention') === 'delete' ? 'delete' : 'keep';
        if (!isProviderId(provider) || !workflowId || workflowId.length > 512) return notFoundPage(c);
        const res = await apiOf(c, session).v1.workflows[':workflowId'].$get({
          param: { workflowId: encodeURIComponent(workflowId) },
        });
        // Someone else's process answers like one that does not exist.
        if (res.status !== 200 || !workflowId.startsWith('disconnect/')) return notFoundPage(c);
        const status = await res.json();
        const here = new URL(c.req.url);
        return renderPage(
          c,
          <DisconnectedPage
            session={session}
            displayName={providerCatalog[provider].displayName}
            retention={retention}
            status={status.status}
            stage={status.stage}
            refreshHref={`${here.pathname}${here.search}`}
          />,
        );
      })

      .get('/account/data', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const requested = c.req.query('provider');
        const provider = requested && isProviderId(requested) ? requested : undefined;
        const kindQuery = c.req.query('kind');
        const kind = kindQuery && kindQuery.length <= 64 ? kindQuery : undefined;
        const cursorQuery = c.req.query('cursor');
        const cursor = cursorQuery && cursorQuery.length <= 512 ? cursorQuery : undefined;
        const api = apiOf(c, session);
        const [me, res] = await Promise.all([
          meOf(c, session),
          api.v1.me.data.$get({
            query: {
              ...(provider ? { provider } : {}),
              ...(kind ? { kind } : {}),
              ...(cursor ? { cursor } : {}),
              limit: String(dataPageSize),
              integrity: 'true',
            },
          }),
        ]);
        const providers = [...new Set((me?.connected_providers.nodes ?? []).map((n) => n.provider))]
          .filter((p) => providerCatalog[p].dataKinds.length > 0)
          .map((id) => ({ id, displayName: providerCatalog[id].displayName }));
        const kinds = [
          ...new Set((provider ? [provider] : providers.map((p) => p.id)).flatMap((p) => providerCatalog[p].dataKinds)),
        ];
        let rows: DataRow[] = [];
        let next: string | null = null;
        let problem: string | undefined;
        if (res.status === 200) {
          const page = await res.json();
          rows = page.items.map((r) => ({
            recordId: r.recordId,
            provider: r.provider,
            kind: r.kind,
            externalId: r.externalId,
            status: r.status,
            title: titleOf(r.data),
            origin: r.origin,
            ...(r.integrity ? { integrity: r.integrity } : {}),
          }));
          next = page.nextCursor;
        } else problem = await problemDetail(res);
        return renderPage(
          c,
          <DataPage
            session={session}
            rows={rows}
            providers={providers}
            kinds={kinds}
            provider={provider}
            kind={kind}
            nextHref={next ? dataHref({ provider, kind, cursor: next }) : undefined}
            firstHref={cursor ? dataHref({ provider, kind }) : undefined}
            displayName={displayNameOf}
            problem={problem}
          />,
          problem ? (res.status as ContentfulStatusCode) : 200,
        );
      })

      .get('/account/processes', async (c) => {
        const { session, answer } = await signedIn(c);
        if (!session) return answer;
        const res = await apiOf(c, session).v1.me.processes.$get();
        const rows = res.status === 200 ? (await res.json()).items : [];
        return renderPage(
          c,
          <ProcessesPage
            session={session}
            rows={rows}
            displayName={displayNameOf}
            problem={res.status === 200 ? undefined : await problemDetail(res)}
          />,
        );
      })
  );
}
