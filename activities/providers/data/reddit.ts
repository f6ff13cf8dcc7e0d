/**
 * Reddit's OAuth API (https://oauth.reddit.com): the subreddits a person subscribes to and the posts they
 * submitted, as Listings (`{kind: "Listing", data: {after, before, children: [{kind, data}]}}`) of at most 100,
 * paged by `after` = the last item's fullname (https://www.reddit.com/dev/api/#listings). Every answer carries
 * `X-Ratelimit-Used`, `X-Ratelimit-Remaining` (a float) and `X-Ratelimit-Reset` (seconds to the window's end)
 * (https://github.com/reddit-archive/reddit/wiki/API#rules); Reddit asks each client for a unique,
 * descriptive User-Agent and throttles generic ones (same page).
 */
import {
  apiUrl,
  itemsOf,
  numberHeader,
  objectBody,
  retryAfterMs,
  DataError,
  type KindReader,
  type ProviderAnswer,
  type ProviderDataReader,
  type RateSignal,
} from './reader.js';

/** The records of a Listing (`data.children[].data`, id `name`, the fullname) and the next page by `after`. */
function parseListing(answer: ProviderAnswer): { items: ReturnType<typeof itemsOf>; next: string | null } {
  const body = objectBody(answer, 'a Listing');
  const data = body.data as Record<string, unknown> | undefined;
  if (body.kind !== 'Listing' || typeof data !== 'object' || data === null || !Array.isArray(data.children))
    throw new DataError('SyncRejected', `${answer.url.origin} answered without a Listing`);
  const records = data.children.map((child) =>
    typeof child === 'object' && child !== null ? (child as Record<string, unknown>).data : undefined,
  );
  const items = itemsOf(records, (r) => r.name);
  const after = typeof data.after === 'string' && data.after !== '' ? data.after : null;
  if (after === null) return { items, next: null };
  // https://www.reddit.com/dev/api/#listings: the same request again with `after` set to the last fullname.
  const next = new URL(answer.url);
  next.searchParams.set('after', after);
  next.searchParams.delete('before');
  return { items, next: next.toString() };
}

function listing(path: string, docs: string): KindReader {
  return {
    docs,
    maxPageSize: 100,
    // raw_json=1: text fields as written, not HTML-escaped (https://www.reddit.com/dev/api/#response_body_encoding).
    first: (ctx) => apiUrl(ctx, 'oauth', path, { limit: String(ctx.pageSize), raw_json: '1' }),
    parse: parseListing,
  };
}

export const redditReader: ProviderDataReader = {
  provider: 'reddit',
  // https://github.com/reddit-archive/reddit/wiki/API#rules: `<platform>:<app ID>:<version> (by /u/<username>)`.
  headers: { 'user-agent': 'web:org.cra.account-center:v1.0 (by /u/cra-account-center)' },
  kinds: {
    subscriptions: listing(
      '/subreddits/mine/subscriber',
      'https://www.reddit.com/dev/api/#GET_subreddits_mine_{where}',
    ),
    posts: {
      docs: 'https://www.reddit.com/dev/api/#GET_user_{username}_submitted',
      maxPageSize: 100,
      // The path names the person's Reddit username, which the provider account id is not: /api/v1/me says it
      // (https://www.reddit.com/dev/api/#GET_api_v1_me).
      first: async (ctx) => {
        const me = await ctx.getJson(apiUrl(ctx, 'oauth', '/api/v1/me'));
        const name = typeof me === 'object' && me !== null ? (me as Record<string, unknown>).name : undefined;
        if (typeof name !== 'string' || name === '')
          throw new DataError('SyncRejected', 'reddit /api/v1/me answered without a username');
        return apiUrl(ctx, 'oauth', `/user/${encodeURIComponent(name)}/submitted`, {
          limit: String(ctx.pageSize),
          raw_json: '1',
        });
      },
      parse: parseListing,
    },
  },
  rateLimit: (answer: ProviderAnswer): RateSignal => {
    const resetSeconds = numberHeader(answer.headers, 'x-ratelimit-reset');
    // A 429 says to wait for the window's end (X-Ratelimit-Reset), or Retry-After where one is sent: only the
    // wait is passed on, so a burst's short reset does not stand for the whole window's count.
    if (answer.status === 429) {
      const wait = retryAfterMs(answer.headers) ?? (resetSeconds !== undefined ? resetSeconds * 1000 : undefined);
      return wait !== undefined ? { retryAfterMs: wait } : {};
    }
    const remaining = numberHeader(answer.headers, 'x-ratelimit-remaining');
    return {
      ...(remaining !== undefined ? { remaining } : {}),
      ...(resetSeconds !== undefined ? { resetAtMs: Date.now() + resetSeconds * 1000 } : {}),
    };
  },
};
