/**
 * X's API v2 (https://api.x.com/2): the person's posts (`GET /2/users/:id/tweets`, 5 to 100 per page) and
 * followers (`GET /2/users/:id/followers`, 1 to 1000), `:id` being the provider account id. Records are in
 * `data[]` (absent on an empty page), the next page is the same request with `pagination_token` = `meta.next_token`
 * (https://docs.x.com/x-api/fundamentals/pagination). Every answer carries `x-rate-limit-limit`,
 * `x-rate-limit-remaining` and `x-rate-limit-reset` (epoch seconds); beyond the limit X answers 429 Too Many
 * Requests until the reset (https://docs.x.com/fundamentals/rate-limits).
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

function userList(edge: string, docs: string, maxPageSize: number, fields: Record<string, string>): KindReader {
  return {
    docs,
    maxPageSize,
    first: (ctx) =>
      apiUrl(ctx, 'v2', `/users/${encodeURIComponent(ctx.providerAccountId)}/${edge}`, {
        // tweets take at least 5 (https://docs.x.com/x-api/posts/get-posts-by-user).
        max_results: String(Math.max(edge === 'tweets' ? 5 : 1, ctx.pageSize)),
        ...fields,
      }),
    parse: (answer) => {
      const body = objectBody(answer, 'a "data" array or "meta"');
      if (body.data !== undefined && !Array.isArray(body.data))
        throw new DataError('SyncRejected', `${answer.url.origin} answered without a "data" array`);
      const meta = (typeof body.meta === 'object' && body.meta !== null ? body.meta : {}) as Record<string, unknown>;
      const items = itemsOf((body.data as unknown[] | undefined) ?? [], (r) => r.id);
      const token = typeof meta.next_token === 'string' && meta.next_token !== '' ? meta.next_token : null;
      if (token === null) return { items, next: null };
      const next = new URL(answer.url);
      next.searchParams.set('pagination_token', token);
      return { items, next: next.toString() };
    },
  };
}

export const xReader: ProviderDataReader = {
  provider: 'x',
  kinds: {
    posts: userList('tweets', 'https://docs.x.com/x-api/posts/get-posts-by-user', 100, {
      'tweet.fields': 'created_at,public_metrics,author_id,lang',
    }),
    followers: userList('followers', 'https://docs.x.com/x-api/users/get-followers', 1000, {
      'user.fields': 'created_at,description,public_metrics,verified,url',
    }),
  },
  rateLimit: (answer: ProviderAnswer): RateSignal => {
    const reset = numberHeader(answer.headers, 'x-rate-limit-reset');
    // A 429 is waited out until its reset: only the wait is passed on, so a burst limit's earlier reset does
    // not stand for the endpoint window's count.
    if (answer.status === 429) {
      const wait =
        retryAfterMs(answer.headers) ?? (reset !== undefined ? Math.max(0, reset * 1000 - Date.now()) : undefined);
      return wait !== undefined ? { retryAfterMs: wait } : {};
    }
    const remaining = numberHeader(answer.headers, 'x-rate-limit-remaining');
    return {
      ...(remaining !== undefined ? { remaining } : {}),
      ...(reset !== undefined ? { resetAtMs: reset * 1000 } : {}),
    };
  },
};
