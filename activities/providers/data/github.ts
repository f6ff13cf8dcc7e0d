/**
 * GitHub's REST API: the signed-in person's repositories, starred repositories and organizations, 100 per
 * page (the most GitHub serves), paged by the `Link` header's `rel="next"`. Rate limits are the `x-ratelimit-*`
 * headers; GitHub refuses an exhausted primary limit with 403 (or 429) and `x-ratelimit-remaining: 0`, and a
 * secondary one with `retry-after`
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit).
 */
import {
  apiUrl,
  arrayIn,
  defaultClass,
  itemsOf,
  linkRel,
  numberHeader,
  retryAfterMs,
  type KindReader,
  type ProviderAnswer,
  type ProviderDataReader,
} from './reader.js';

/** A list endpoint of the authenticated user, paged with `per_page`/`page` and `Link` headers. */
function userList(path: string, docs: string, query: Record<string, string> = {}): KindReader {
  return {
    docs,
    maxPageSize: 100,
    first: (ctx) => apiUrl(ctx, 'rest', path, { ...query, per_page: String(ctx.pageSize) }),
    parse: (answer) => ({ items: itemsOf(arrayIn(answer), (r) => r.id), next: linkRel(answer.headers, 'next') }),
  };
}

export const githubReader: ProviderDataReader = {
  provider: 'github',
  // https://docs.github.com/en/rest/about-the-rest-api/api-versions
  headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
  // "Most endpoints return an etag header … you can use the values of these headers to make conditional GET
  // requests … If the resource has not changed, you will get a 304 Not Modified response", which does not count
  // against the primary rate limit:
  // https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
  conditional: true,
  kinds: {
    repositories: userList(
      '/user/repos',
      'https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user',
      { sort: 'full_name' },
    ),
    starred: userList(
      '/user/starred',
      'https://docs.github.com/en/rest/activity/starring#list-repositories-starred-by-the-authenticated-user',
    ),
    organizations: userList(
      '/user/orgs',
      'https://docs.github.com/en/rest/orgs/orgs#list-organizations-for-the-authenticated-user',
    ),
  },
  rateLimit: (answer: ProviderAnswer) => {
    const reset = numberHeader(answer.headers, 'x-ratelimit-reset');
    const retry = retryAfterMs(answer.headers);
    return {
      ...(numberHeader(answer.headers, 'x-ratelimit-remaining') !== undefined
        ? { remaining: numberHeader(answer.headers, 'x-ratelimit-remaining')! }
        : {}),
      ...(reset !== undefined ? { resetAtMs: reset * 1000 } : {}),
      ...(retry !== undefined && answer.status >= 400 ? { retryAfterMs: retry } : {}),
    };
  },
  classify: (answer) => {
    const limited =
      (answer.status === 403 || answer.status === 429) &&
      (answer.headers.get('x-ratelimit-remaining') === '0' || answer.headers.has('retry-after'));
    return limited ? 'rate_limited' : defaultClass(answer.status);
  },
};
