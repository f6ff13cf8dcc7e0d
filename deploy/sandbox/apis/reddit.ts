/**
 * Reddit's OAuth API as the sandbox plays it, under `/reddit/api/oauth`: `GET /subreddits/mine/subscriber` and
 * `GET /user/:username/submitted` as Listings (`limit` 1 to 100, default 25; `after` the fullname of the last
 * item seen; https://www.reddit.com/dev/api/#listings), and `GET /api/v1/me` for the username
 * (https://www.reddit.com/dev/api/#GET_api_v1_me). Every answer carries `X-Ratelimit-Used`,
 * `X-Ratelimit-Remaining` (a float, as Reddit writes it) and `X-Ratelimit-Reset` (seconds to the window's end)
 * (https://github.com/reddit-archive/reddit/wiki/API#rules); beyond the quota Reddit answers 429. Its refusals
 * are `{message, error: <status>}`.
 */
import type { SandboxRecord } from '../datasets.js';
import { SandboxDataError } from '../datasets.js';
import { indexOfId, intParam, type ApiAnswer, type ApiRequest, type ApiRoute, type SandboxProviderApi } from './kit.js';

/** Reddit ids are base36; each kind gets its own range so a subreddit and a post never share one. */
const idBase: Record<string, number> = { subscriptions: 36 ** 5, posts: 36 ** 6 };
/** The type prefix of a fullname: t5 a subreddit, t3 a link (post) (https://www.reddit.com/dev/api/#fullnames). */
const typePrefix: Record<string, string> = { subscriptions: 't5', posts: 't3' };
const datasetPrefix: Record<string, string> = { subscriptions: 'sub', posts: 'post' };

const base36 = (kind: string, record: SandboxRecord) => ((idBase[kind] ?? 0) + indexOfId(record.id)).toString(36);
const fullname = (kind: string, record: SandboxRecord) => `${typePrefix[kind]}_${base36(kind, record)}`;

/** The dataset id a fullname of `kind` names, or undefined when it is not one this kind hands out. */
function datasetIdOf(kind: string, name: string): string | undefined {
  const match = /^(t\d)_([0-9a-z]{1,12})$/.exec(name);
  if (!match || match[1] !== typePrefix[kind]) return undefined;
  const index = parseInt(match[2]!, 36) - (idBase[kind] ?? 0);
  return index >= 1 && index < 1_000_000 ? `${datasetPrefix[kind]}-${String(index).padStart(6, '0')}` : undefined;
}

const epochSeconds = (iso: unknown) => Math.floor(Date.parse(String(iso)) / 1000);

function refusal(status: number, message: string): ApiAnswer {
  return { status, body: { message, error: status } };
}

function render(kind: string, r: SandboxRecord, ctx: { username: string; host: string }): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  if (kind === 'subscriptions') {
    const name = String(f.name);
    return {
      id: base36(kind, r),
      name: fullname(kind, r),
      display_name: name,
      display_name_prefixed: `r/${name}`,
      title: f.title,
      url: `/r/${name}/`,
      subscribers: f.subscribers,
      over18: f.over18 ?? false,
      subreddit_type: 'public',
      public_description: `${String(f.title)}`,
      user_is_subscriber: true,
      created: epochSeconds(f.subscribedAt),
      created_utc: epochSeconds(f.subscribedAt),
    };
  }
  const subreddit = String(f.subreddit);
  const id = base36(kind, r);
  return {
    id,
    name: fullname(kind, r),
    title: f.title,
    selftext: f.text,
    author: ctx.username,
    subreddit,
    subreddit_name_prefixed: `r/${subreddit}`,
    score: f.score,
    ups: f.score,
    num_comments: f.commentsCount,
    permalink: `/r/${subreddit}/comments/${id}/`,
    url: f.url,
    is_self: true,
    over_18: false,
    edited: r.updatedAt === f.createdAt ? false : epochSeconds(r.updatedAt),
    created: epochSeconds(f.createdAt),
    created_utc: epochSeconds(f.createdAt),
  };
}

/** A Listing of `kind` for the bearer's user: `limit` and `after` as Reddit takes them. */
function listing(request: ApiRequest, kind: string): ApiAnswer {
  let limit: number;
  try {
    limit = intParam(request.url, 'limit', 25, 1, 100);
  } catch (err) {
    if (err instanceof SandboxDataError) return refusal(400, 'Bad Request');
    throw err;
  }
  const after = request.url.searchParams.get('after');
  const afterId = after ? datasetIdOf(kind, after) : undefined;
  if (after && afterId === undefined) return refusal(400, 'Bad Request');
  const { items, more } = request.datasets.pageAfter('reddit', request.username, kind, afterId, limit);
  const children = items.map((r) => ({ kind: typePrefix[kind], data: request.render(r) }));
  const last = items.at(-1);
  return {
    status: 200,
    body: {
      kind: 'Listing',
      data: {
        after: more && last ? fullname(kind, last) : null,
        dist: children.length,
        modhash: null,
        geo_filter: '',
        children,
        before: null,
      },
    },
    records: items.length,
  };
}

const route = (path: string, kind: string, docs: string, serve: ApiRoute['serve']): ApiRoute => ({
  api: 'oauth',
  path,
  kind,
  docs,
  serve,
});

export const redditApi: SandboxProviderApi = {
  provider: 'reddit',
  routes: [
    route(
      '/subreddits/mine/subscriber',
      'subscriptions',
      'https://www.reddit.com/dev/api/#GET_subreddits_mine_{where}',
      (request) => listing(request, 'subscriptions'),
    ),
    route(
      '/user/:username/submitted',
      'posts',
      'https://www.reddit.com/dev/api/#GET_user_{username}_submitted',
      (request) =>
        // The sandbox holds posts for the bearer's own user only.
        request.params.username === request.username ? listing(request, 'posts') : refusal(404, 'Not Found'),
    ),
    // Counted as a request of `posts`, the kind whose first page needs it.
    route('/api/v1/me', 'posts', 'https://www.reddit.com/dev/api/#GET_api_v1_me', (request) => ({
      status: 200,
      body: {
        id: (36 ** 4 + request.username.length).toString(36),
        name: request.username,
        created_utc: 1_672_531_200,
        link_karma: 1,
        comment_karma: 0,
        has_verified_email: true,
        icon_img: `https://reddit.sandbox.test/avatars/${request.username}.png`,
      },
    })),
  ],
  externalId: (kind, record) => fullname(kind, record),
  render,
  unauthorized: () => refusal(401, 'Unauthorized'),
  // Used up or a burst: 429, and the headers say how long until requests go again.
  rateLimited: (window, retryAfterSeconds, cause) => ({
    ...refusal(429, 'Too Many Requests'),
    headers: {
      'x-ratelimit-remaining': '0.0',
      'x-ratelimit-used': String(window.used),
      'x-ratelimit-reset': String(
        cause === 'quota' ? Math.max(1, Math.ceil((window.resetAtMs - Date.now()) / 1000)) : retryAfterSeconds,
      ),
    },
  }),
  serverError: (status, retryAfterSeconds) => ({
    ...refusal(status, status === 503 ? 'Service Unavailable' : 'Internal Server Error'),
    ...(retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}),
  }),
  rateHeaders: (window) => ({
    'x-ratelimit-used': String(window.used),
    'x-ratelimit-remaining': window.remaining.toFixed(1),
    'x-ratelimit-reset': String(Math.max(0, Math.ceil((window.resetAtMs - Date.now()) / 1000))),
  }),
};
