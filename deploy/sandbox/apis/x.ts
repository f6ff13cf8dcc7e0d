/**
 * X's API v2 as the sandbox plays it, under `/x/api/v2`: `GET /users/:id/tweets` (`max_results` 5 to 100,
 * default 10; https://docs.x.com/x-api/posts/get-posts-by-user) and `GET /users/:id/followers` (1 to 1000,
 * default 100; https://docs.x.com/x-api/users/get-followers), `:id` the bearer's user id (the sandbox's
 * `x:<username>`), records in `data[]`, `meta.result_count` and `meta.next_token`, taken back as
 * `pagination_token` (https://docs.x.com/x-api/fundamentals/pagination). Every answer carries
 * `x-rate-limit-limit`, `x-rate-limit-remaining` and `x-rate-limit-reset` (epoch seconds); beyond the limit a
 * 429 `Too Many Requests` problem (https://docs.x.com/fundamentals/rate-limits). Refusals are X's problem
 * documents `{title, detail, type, status}` (https://docs.x.com/x-api/fundamentals/response-codes-and-errors).
 */
import type { SandboxRecord } from '../datasets.js';
import { SandboxDataError } from '../datasets.js';
import { accountIdFor } from '../accounts.js';
import {
  indexOfId,
  intParam,
  token,
  type ApiAnswer,
  type ApiRequest,
  type ApiRoute,
  type SandboxProviderApi,
} from './kit.js';

/** X ids are 64-bit snowflakes written as strings: a per-kind range plus the dataset index. */
const idBase: Record<string, bigint> = { posts: 1_700_000_000_000_000_000n, followers: 1_500_000_000_000_000_000n };
const xId = (kind: string, record: SandboxRecord) => String((idBase[kind] ?? 0n) + BigInt(indexOfId(record.id)));
/** The bearer's own numeric id, as the author of their posts. */
const userIdOf = (username: string) => String(1_200_000_000_000_000_000n + BigInt(username.length));

function problem(status: number, title: string, detail: string, type = 'about:blank'): ApiAnswer {
  return { status, body: { title, detail, type, status } };
}

function render(kind: string, r: SandboxRecord, ctx: { username: string }): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  const id = xId(kind, r);
  if (kind === 'posts')
    return {
      id,
      text: f.text,
      edit_history_tweet_ids: [id],
      author_id: userIdOf(ctx.username),
      created_at: f.createdAt,
      lang: 'en',
      public_metrics: {
        retweet_count: f.repostCount,
        reply_count: f.replyCount,
        like_count: f.likeCount,
        quote_count: 0,
      },
    };
  return {
    id,
    name: f.name,
    username: f.username,
    created_at: f.followingSince,
    description: f.description,
    verified: f.verified,
    url: f.profileUrl,
    public_metrics: { followers_count: f.followersCount, following_count: 0, tweet_count: 0, listed_count: 0 },
  };
}

function userList(path: string, kind: string, docs: string, min: number, max: number, fallback: number): ApiRoute {
  return {
    api: 'v2',
    path,
    kind,
    docs,
    serve(request: ApiRequest) {
      // The path id is the bearer's own user (`x:<username>`, the sandbox's account id for X).
      if (request.params.id !== accountIdFor('x', request.username))
        return problem(403, 'Forbidden', 'The sandbox serves the authenticated user’s own data only.');
      let page: { items: SandboxRecord[]; more: boolean };
      try {
        const limit = intParam(request.url, 'max_results', fallback, min, max);
        const afterId = token.read(request.url.searchParams.get('pagination_token'));
        page = request.datasets.pageAfter('x', request.username, kind, afterId, limit);
      } catch (err) {
        if (!(err instanceof SandboxDataError)) throw err;
        return problem(
          400,
          'Invalid Request',
          'One or more parameters to your request was invalid.',
          'https://api.twitter.com/2/problems/invalid-request',
        );
      }
      const { items, more } = page;
      const last = items.at(-1);
      const meta: Record<string, unknown> = { result_count: items.length };
      if (items.length > 0) {
        meta.newest_id = xId(kind, items[0]!);
        meta.oldest_id = xId(kind, last!);
      }
      if (more && last) meta.next_token = token.of(last.id);
      // An empty page has no `data` at all, as X answers it.
      return {
        status: 200,
        body: { ...(items.length > 0 ? { data: items.map(request.render) } : {}), meta },
        records: items.length,
      };
    },
  };
}

const resetEpoch = (resetAtMs: number) => String(Math.ceil(resetAtMs / 1000));

export const xApi: SandboxProviderApi = {
  provider: 'x',
  routes: [
    userList('/users/:id/tweets', 'posts', 'https://docs.x.com/x-api/posts/get-posts-by-user', 5, 100, 10),
    userList('/users/:id/followers', 'followers', 'https://docs.x.com/x-api/users/get-followers', 1, 1000, 100),
  ],
  externalId: (kind, record) => xId(kind, record),
  render,
  unauthorized: () => problem(401, 'Unauthorized', 'Unauthorized'),
  rateLimited: (window, retryAfterSeconds, cause) => ({
    ...problem(429, 'Too Many Requests', 'Too Many Requests'),
    headers: {
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': resetEpoch(cause === 'quota' ? window.resetAtMs : Date.now() + retryAfterSeconds * 1000),
    },
  }),
  serverError: (status, retryAfterSeconds) => ({
    ...(status === 503
      ? problem(503, 'Service Unavailable', 'Service Unavailable')
      : problem(500, 'Internal Server Error', 'Internal Server Error')),
    ...(retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}),
  }),
  rateHeaders: (window) => ({
    'x-rate-limit-limit': String(window.limit),
    'x-rate-limit-remaining': String(window.remaining),
    'x-rate-limit-reset': resetEpoch(window.resetAtMs),
  }),
};
