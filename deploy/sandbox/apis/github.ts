/**
 * GitHub's REST API as the sandbox plays it: `GET /user/repos`, `/user/starred` and `/user/orgs` under
 * `/github/api/rest`, paged by `per_page` (1 to 100, default 30) and `page` with an RFC 8288 `Link` header
 * (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api), the `x-ratelimit-*`
 * headers on every answer, and GitHub's own refusals: 401 `Bad credentials`, and 403 with
 * `x-ratelimit-remaining: 0` once the quota is used up
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api). Records have the fields of
 * the documented responses (`id` a number, snake_case names).
 */
import type { SandboxRecord } from '../datasets.js';
import { indexOfId, intParam, linkTo, type ApiRequest, type ApiRoute, type SandboxProviderApi } from './kit.js';

const docsUrl = 'https://docs.github.com/rest';

/** GitHub's ids are numbers: the dataset index, offset per kind so a repository and an organization differ. */
const idBase: Record<string, number> = { repositories: 100_000_000, starred: 200_000_000, organizations: 300_000_000 };
const githubId = (kind: string, record: SandboxRecord) => (idBase[kind] ?? 0) + indexOfId(record.id);

function owner(login: string, id: number, host: string) {
  return { login, id, node_id: `U_${id}`, type: 'User', html_url: `https://${host}/${login}`, site_admin: false };
}

function render(kind: string, r: SandboxRecord, ctx: { username: string; host: string }): Record<string, unknown> {
  const id = githubId(kind, r);
  const f = r as Record<string, unknown>;
  switch (kind) {
    case 'repositories':
    case 'starred': {
      const fullName = String(f.fullName);
      const [login, name] = fullName.split('/') as [string, string];
      return {
        id,
        node_id: r.id,
        name: f.name ?? name,
        full_name: fullName,
        private: f.private ?? false,
        owner: owner(login, 1, ctx.host),
        html_url: f.htmlUrl,
        description: f.description ?? null,
        fork: f.fork ?? false,
        url: `https://api.${ctx.host}/repos/${fullName}`,
        created_at: f.createdAt ?? r.updatedAt,
        updated_at: r.updatedAt,
        pushed_at: f.pushedAt ?? r.updatedAt,
        stargazers_count: f.stargazersCount ?? 0,
        watchers_count: f.stargazersCount ?? 0,
        language: f.language ?? null,
        forks_count: f.forksCount ?? 0,
        open_issues_count: f.openIssuesCount ?? 0,
        default_branch: f.defaultBranch ?? 'main',
        visibility: f.private ? 'private' : 'public',
      };
    }
    default:
      return {
        login: f.login,
        id,
        node_id: r.id,
        url: `https://api.${ctx.host}/orgs/${String(f.login)}`,
        repos_url: `https://api.${ctx.host}/orgs/${String(f.login)}/repos`,
        avatar_url: `https://${ctx.host}/avatars/${String(f.login)}.png`,
        description: f.description ?? null,
      };
  }
}

/** `per_page`/`page` paging with a `Link` header naming next, last, first and prev as GitHub does. */
function listed(path: string, kind: string, docs: string): ApiRoute {
  return {
    api: 'rest',
    path,
    kind,
    docs,
    serve(request: ApiRequest) {
      const perPage = intParam(request.url, 'per_page', 30, 1, 100);
      const page = intParam(request.url, 'page', 1, 1, 1_000_000);
      const { items, total } = request.datasets.pageAt('github', request.username, kind, (page - 1) * perPage, perPage);
      const lastPage = Math.max(1, Math.ceil(total / perPage));
      // The other query parameters (sort, affiliation, …) stay in the links, as GitHub keeps them.
      const keep = Object.fromEntries([...request.url.searchParams].filter(([k]) => k !== 'page' && k !== 'per_page'));
      const link = (p: number, rel: string) =>
        `<${linkTo(request.base, path, { ...keep, per_page: perPage, page: p })}>; rel="${rel}"`;
      const links = [
        ...(page > 1 ? [link(page - 1, 'prev'), link(1, 'first')] : []),
        ...(page < lastPage ? [link(page + 1, 'next'), link(lastPage, 'last')] : []),
      ];
      return {
        status: 200,
        body: items.map(request.render),
        headers: links.length > 0 ? { link: links.join(', ') } : {},
        records: items.length,
      };
    },
  };
}

export const githubApi: SandboxProviderApi = {
  provider: 'github',
  routes: [
    listed(
      '/user/repos',
      'repositories',
      'https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user',
    ),
    listed(
      '/user/starred',
      'starred',
      'https://docs.github.com/en/rest/activity/starring#list-repositories-starred-by-the-authenticated-user',
    ),
    listed(
      '/user/orgs',
      'organizations',
      'https://docs.github.com/en/rest/orgs/orgs#list-organizations-for-the-authenticated-user',
    ),
  ],
  externalId: (kind, record) => String(githubId(kind, record)),
  render,
  unauthorized: () => ({
    status: 401,
    body: { message: 'Bad credentials', documentation_url: docsUrl, status: '401' },
  }),
  // The primary limit used up: 403, remaining 0, wait for the reset. A burst (secondary) limit: 429 with retry-after.
  rateLimited: (window, retryAfterSeconds, cause) =>
    cause === 'quota'
      ? {
          status: 403,
          body: {
            message: `API rate limit exceeded for user.`,
            documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
            status: '403',
          },
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(window.resetAtMs / 1000)) },
        }
      : {
          status: 429,
          body: {
            message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
            status: '429',
          },
          headers: { 'retry-after': String(retryAfterSeconds) },
        },
  // https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
  conditional: true,
  rateHeaders: (window) => ({
    'x-ratelimit-limit': String(window.limit),
    'x-ratelimit-remaining': String(window.remaining),
    'x-ratelimit-used': String(window.used),
    'x-ratelimit-reset': String(Math.ceil(window.resetAtMs / 1000)),
    'x-ratelimit-resource': 'core',
  }),
};
