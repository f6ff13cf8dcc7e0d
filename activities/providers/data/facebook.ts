/**
 * Facebook's Graph API (https://graph.facebook.com/v19.0): the person's friends who use the app
 * (`/me/friends`, with `user_friends`) and the Pages they manage (`/me/accounts`, with `pages_show_list`), in
 * `data[]`, paged by cursors: `limit`, `paging.cursors.after` and `paging.next`, an absolute URL that is absent
 * on the last page (https://developers.facebook.com/docs/graph-api/results/).
 *
 * Errors are `{error: {message, type, code, error_subcode, fbtrace_id}}` whatever the status
 * (https://developers.facebook.com/docs/graph-api/guides/error-handling/): code 190 is a token no longer
 * accepted (HTTP 400 or 401), codes 4, 17, 32 and 613 are rate limits (HTTP 400 or 403), 1 and 2 are transient.
 *
 * Rate limits are not counts: `X-App-Usage` is `{"call_count", "total_time", "total_cputime"}`, each the
 * percentage used of a rolling one-hour allowance, throttled at 100
 * (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/). We map it as follows: below 90 %
 * nothing is reported (far from the limit the quota has nothing to spread); from 90 % on, the percentage
 * points left (100 − the highest of the three, 0 at or past 100) are `remaining`, with a reset
 * `nearLimitRecheckMs` ahead, since Facebook names no reset time: the quota spreads the few points left over
 * that time, and at 0 sends nothing until then, when the next answer's header says how far usage has fallen.
 */
import {
  apiUrl,
  DataError,
  defaultClass,
  itemsOf,
  objectBody,
  retryAfterMs,
  type AnswerClass,
  type KindReader,
  type ProviderAnswer,
  type ProviderDataReader,
  type RateSignal,
} from './reader.js';

/** How long ahead of a near-limit answer its usage is read again (Facebook gives no reset time). */
export const nearLimitRecheckMs = 10_000;
/** From this usage (in %) on, the quota is told how little is left. */
const nearLimitPercent = 90;

const tokenCodes = new Set([190, 102]);
// https://developers.facebook.com/docs/graph-api/overview/rate-limiting/
const rateCodes = new Set([4, 17, 32, 613, 80001, 80004]);
const transientCodes = new Set([1, 2]);

/** The Graph error of an answer, if it has one. */
export function graphError(body: unknown): { code?: number; message?: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as Record<string, unknown>).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as Record<string, unknown>;
  return {
    ...(typeof e.code === 'number' ? { code: e.code } : {}),
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
  };
}

/** The highest percentage in `X-App-Usage`, or undefined when absent or not JSON. */
export function appUsagePercent(headers: Headers): number | undefined {
  const raw = headers.get('x-app-usage');
  if (!raw) return undefined;
  try {
    const usage = JSON.parse(raw) as Record<string, unknown>;
    const values = ['call_count', 'total_time', 'total_cputime']
      .map((k) => usage[k])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return values.length > 0 ? Math.max(...values) : undefined;
  } catch {
    return undefined;
  }
}

function edge(path: string, docs: string, fields: string): KindReader {
  return {
    docs,
    maxPageSize: 100,
    first: (ctx) => apiUrl(ctx, 'graph', path, { fields, limit: String(ctx.pageSize) }),
    parse: (answer) => {
      const body = objectBody(answer, 'a "data" array');
      if (!Array.isArray(body.data))
        throw new DataError('SyncRejected', `${answer.url.origin} answered without a "data" array`);
      // A Page's record never keeps its page access token, should Facebook send one (it does when `fields` is absent).
      const items = itemsOf(body.data, (r) => r.id).map(({ externalId, data }) => {
        const { access_token: _token, ...rest } = data;
        return { externalId, data: rest };
      });
      const paging = (typeof body.paging === 'object' && body.paging !== null ? body.paging : {}) as Record<
        string,
        unknown
      >;
      if (typeof paging.next !== 'string' || paging.next === '') return { items, next: null };
      // Facebook's next links repeat the access token in the query: it goes in the header, never in a stored URL.
      const next = new URL(paging.next, answer.url);
      next.searchParams.delete('access_token');
      return { items, next: next.toString() };
    },
  };
}

export const facebookReader: ProviderDataReader = {
  provider: 'facebook',
  kinds: {
    friends: edge(
      '/me/friends',
      'https://developers.facebook.com/docs/graph-api/reference/user/friends/',
      'id,name,first_name,last_name,link',
    ),
    // Fields named so the answer carries no page access token (https://developers.facebook.com/docs/graph-api/reference/user/accounts/).
    pages: edge(
      '/me/accounts',
      'https://developers.facebook.com/docs/graph-api/reference/user/accounts/',
      'id,name,category,category_list,tasks,about,fan_count,link',
    ),
  },
  rateLimit: (answer: ProviderAnswer): RateSignal => {
    const usage = appUsagePercent(answer.headers);
    const retry = retryAfterMs(answer.headers);
    const signal: RateSignal = {};
    if (usage !== undefined && usage >= nearLimitPercent) {
      signal.remaining = Math.max(0, Math.floor(100 - usage));
      signal.resetAtMs = Date.now() + nearLimitRecheckMs;
    }
    if (retry !== undefined && answer.status >= 400) signal.retryAfterMs = retry;
    return signal;
  },
  classify: (answer): AnswerClass => {
    if (answer.status >= 200 && answer.status < 300) return 'ok';
    const code = graphError(answer.body)?.code;
    if (code !== undefined && tokenCodes.has(code)) return 'unauthorized';
    if (code !== undefined && rateCodes.has(code)) return 'rate_limited';
    if (code !== undefined && transientCodes.has(code)) return 'unavailable';
    return defaultClass(answer.status);
  },
};
