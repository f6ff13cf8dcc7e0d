/**
 * Slack's Web API: the conversations the signed-in person is a member of (`users.conversations`), paged by
 * `cursor` = the previous answer's `response_metadata.next_cursor`, an empty string at the end
 * (https://docs.slack.dev/apis/web-api/pagination). Slack answers HTTP 200 with `{ok: false, error}` for a
 * failed call, a bad token included (https://docs.slack.dev/reference/methods/users.conversations#errors), and
 * a rate limit with HTTP 429 and `Retry-After`; it sends no remaining-count headers but publishes a pace per
 * method: `users.conversations` is Tier 3, 50+ requests per minute (https://docs.slack.dev/apis/web-api/rate-limits).
 */
import {
  apiUrl,
  arrayIn,
  defaultClass,
  itemsOf,
  objectBody,
  retryAfterMs,
  type AnswerClass,
  type ProviderDataReader,
} from './reader.js';

/** `error` values that mean the token is missing, revoked or no longer good (https://docs.slack.dev/reference/methods/users.conversations#errors). */
const tokenErrors = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired']);

export const slackReader: ProviderDataReader = {
  provider: 'slack',
  kinds: {
    channels: {
      docs: 'https://docs.slack.dev/reference/methods/users.conversations',
      // "Must be an integer no larger than 1000"; Slack recommends 200 and may answer fewer.
      maxPageSize: 1000,
      // Public and private channels the person is in (`groups:read` for the private ones); not DMs.
      first: (ctx) =>
        apiUrl(ctx, 'web', '/users.conversations', {
          types: 'public_channel,private_channel',
          limit: String(Math.min(ctx.pageSize, 200)),
        }),
      parse: (answer) => {
        const items = itemsOf(arrayIn(answer, 'channels'), (c) => c.id);
        const meta = objectBody(answer, 'a conversations list').response_metadata as
          Record<string, unknown> | undefined;
        const cursor = typeof meta?.next_cursor === 'string' ? meta.next_cursor : '';
        if (cursor === '') return { items, next: null };
        const next = new URL(answer.url);
        next.searchParams.set('cursor', cursor);
        return { items, next: next.toString() };
      },
    },
  },
  // Tier 3: 50 requests per minute, so one every 1.2 s keeps under it with every sync of the account sharing the pace.
  minIntervalMs: 1200,
  rateLimit: (answer) => {
    const retry = retryAfterMs(answer.headers);
    return answer.status === 429 && retry !== undefined ? { retryAfterMs: retry } : {};
  },
  classify: (answer): AnswerClass => {
    if (answer.status !== 200) return defaultClass(answer.status);
    const body = answer.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || body.ok !== false) return 'ok';
    const error = typeof body.error === 'string' ? body.error : '';
    if (tokenErrors.has(error)) return 'unauthorized';
    if (error === 'ratelimited') return 'rate_limited';
    if (error === 'internal_error' || error === 'fatal_error' || error === 'service_unavailable') return 'unavailable';
    return 'rejected';
  },
};
