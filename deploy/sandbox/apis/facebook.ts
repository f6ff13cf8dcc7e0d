/**
 * Facebook's Graph API as the sandbox plays it, under `/facebook/api/graph`: `GET /me/friends` and
 * `GET /me/accounts`, `data[]` paged by cursors (`limit` 1 to 100, default 25, `after`), with
 * `paging.cursors.{before,after}` and an absolute `paging.next` that is left out on the last page
 * (https://developers.facebook.com/docs/graph-api/results/). Every answer carries `X-App-Usage`, the
 * percentages of the window used (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/);
 * Facebook's refusals are `{error: {message, type, code, error_subcode, fbtrace_id}}`
 * (https://developers.facebook.com/docs/graph-api/guides/error-handling/): an unaccepted token is code 190 with
 * HTTP 400, the app's limit used up code 4 with HTTP 403, a burst code 17 with HTTP 400.
 */
import type { SandboxRecord } from '../datasets.js';
import { SandboxDataError } from '../datasets.js';
import {
  indexOfId,
  intParam,
  linkTo,
  token,
  type ApiAnswer,
  type ApiRequest,
  type ApiRoute,
  type SandboxProviderApi,
} from './kit.js';
import type { QuotaWindow } from './quotas.js';

/** Graph ids are numeric strings: a per-kind range plus the dataset index. */
const idBase: Record<string, number> = { friends: 100_000_000_000_000, pages: 200_000_000_000_000 };
const graphId = (kind: string, record: SandboxRecord) => String((idBase[kind] ?? 0) + indexOfId(record.id));

let trace = 0;
function graphError(status: number, code: number, type: string, message: string, subcode?: number): ApiAnswer {
  trace = (trace + 1) % 1_000_000;
  return {
    status,
    body: {
      error: {
        message,
        type,
        code,
        ...(subcode !== undefined ? { error_subcode: subcode } : {}),
        fbtrace_id: `Sbx${String(trace).padStart(8, '0')}`,
      },
    },
  };
}

const categories: Record<string, { id: string; name: string }> = {
  'Local business': { id: '2500', name: 'Local Business' },
  Brand: { id: '1605186416478696', name: 'Brand' },
  Community: { id: '2612', name: 'Community' },
  Musician: { id: '180164648685982', name: 'Musician/Band' },
  Restaurant: { id: '273819889375819', name: 'Restaurant' },
  Nonprofit: { id: '2603', name: 'Nonprofit Organization' },
};

/** What a Page role may do there, in Facebook's task names. */
const tasksOf: Record<string, string[]> = {
  admin: ['ANALYZE', 'ADVERTISE', 'MODERATE', 'CREATE_CONTENT', 'MANAGE'],
  editor: ['ANALYZE', 'ADVERTISE', 'MODERATE', 'CREATE_CONTENT'],
  follower: ['ANALYZE'],
};

function render(kind: string, r: SandboxRecord): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  const id = graphId(kind, r);
  if (kind === 'friends') {
    const name = String(f.name);
    const [first, ...rest] = name.split(' ');
    return { id, name, first_name: first, last_name: rest.join(' '), link: f.profileUrl };
  }
  const category = categories[String(f.category)] ?? { id: '2612', name: String(f.category) };
  return {
    id,
    name: f.name,
    category: category.name,
    category_list: [category],
    tasks: tasksOf[String(f.role)] ?? tasksOf.follower,
    about: f.about,
    fan_count: f.followersCount,
    link: f.link,
  };
}

function edge(path: string, kind: string, docs: string): ApiRoute {
  return {
    api: 'graph',
    path,
    kind,
    docs,
    serve(request: ApiRequest) {
      let page: { items: SandboxRecord[]; more: boolean };
      let limit: number;
      try {
        limit = intParam(request.url, 'limit', 25, 1, 100);
        const afterId = token.read(request.url.searchParams.get('after'));
        page = request.datasets.pageAfter('facebook', request.username, kind, afterId, limit);
      } catch (err) {
        if (!(err instanceof SandboxDataError)) throw err;
        return graphError(400, 100, 'OAuthException', `(#100) ${err.message}`);
      }
      const { items, more } = page;
      const first = items[0];
      const last = items.at(-1);
      const paging: Record<string, unknown> = {};
      if (first && last) paging.cursors = { before: token.of(first.id), after: token.of(last.id) };
      if (more && last) {
        // The other parameters (fields, …) stay in the link, as Facebook keeps them.
        const keep = Object.fromEntries([...request.url.searchParams].filter(([k]) => k !== 'after' && k !== 'limit'));
        paging.next = linkTo(request.base, path, { ...keep, limit, after: token.of(last.id) });
      }
      return {
        status: 200,
        body: {
          data: items.map(request.render),
          paging,
          ...(kind === 'friends'
            ? { summary: { total_count: request.datasets.count('facebook', request.username, kind) } }
            : {}),
        },
        records: items.length,
      };
    },
  };
}

/** `X-App-Usage` for a window: the share of its requests used, in whole percent (`total_*` a part of it). */
function appUsage(window: QuotaWindow, full = false): string {
  const calls = full ? 100 : Math.min(100, Math.round((window.used / window.limit) * 100));
  return JSON.stringify({ call_count: calls, total_cputime: Math.floor(calls / 4), total_time: Math.floor(calls / 3) });
}

export const facebookApi: SandboxProviderApi = {
  provider: 'facebook',
  routes: [
    edge('/me/friends', 'friends', 'https://developers.facebook.com/docs/graph-api/reference/user/friends/'),
    edge('/me/accounts', 'pages', 'https://developers.facebook.com/docs/graph-api/reference/user/accounts/'),
  ],
  externalId: (kind, record) => graphId(kind, record),
  render: (kind, record) => render(kind, record),
  unauthorized: () =>
    graphError(
      400,
      190,
      'OAuthException',
      'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
      460,
    ),
  rateLimited: (window, _retryAfterSeconds, cause) =>
    cause === 'quota'
      ? {
          ...graphError(403, 4, 'OAuthException', '(#4) Application request limit reached'),
          headers: { 'x-app-usage': appUsage(window, true) },
        }
      : graphError(400, 17, 'OAuthException', '(#17) User request limit reached', 2446079),
  rateHeaders: (window) => ({ 'x-app-usage': appUsage(window) }),
  serverError: (status) => ({
    ...graphError(status, 2, 'OAuthException', 'An unexpected error has occurred. Please retry your request later.'),
  }),
};
