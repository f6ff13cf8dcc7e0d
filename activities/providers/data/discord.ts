/**
 * Discord's REST API (v10): the signed-in person's guilds, 200 per page (the most Discord serves) paged by
 * `after` = the last guild's id, snowflakes being in creation order
 * (https://discord.com/developers/docs/resources/user#get-current-user-guilds), and the person's connected
 * accounts, one unpaged list (https://discord.com/developers/docs/resources/user#get-current-user-connections).
 * Rate limits are the `X-RateLimit-*` headers on every answer and a 429 whose body gives `retry_after` in
 * (fractional) seconds (https://discord.com/developers/docs/topics/rate-limits#header-format).
 */
import {
  apiUrl,
  arrayIn,
  itemsOf,
  numberHeader,
  retryAfterMs,
  type ProviderAnswer,
  type ProviderDataReader,
} from './reader.js';

/** A 429's wait: the body's `retry_after` (seconds, fractional), else `Retry-After`. */
function retryAfterOf(answer: ProviderAnswer): number | undefined {
  const body = answer.body as Record<string, unknown> | undefined;
  const seconds = typeof body === 'object' && body !== null ? body.retry_after : undefined;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  return retryAfterMs(answer.headers);
}

export const discordReader: ProviderDataReader = {
  provider: 'discord',
  kinds: {
    guilds: {
      docs: 'https://discord.com/developers/docs/resources/user#get-current-user-guilds',
      maxPageSize: 200,
      first: (ctx) => apiUrl(ctx, 'rest', '/users/@me/guilds', { limit: String(ctx.pageSize) }),
      parse: (answer) => {
        const items = itemsOf(arrayIn(answer), (g) => g.id);
        // Discord gives no next link: a full page may have more after its last guild, a shorter one is the end.
        const limit = Number(answer.url.searchParams.get('limit') ?? 200);
        const last = items.at(-1)?.externalId;
        if (last === undefined || items.length < limit) return { items, next: null };
        const next = new URL(answer.url);
        next.searchParams.set('after', last);
        next.searchParams.delete('before');
        return { items, next: next.toString() };
      },
    },
    connections: {
      docs: 'https://discord.com/developers/docs/resources/user#get-current-user-connections',
      // Not paged: the whole list in one answer.
      maxPageSize: 1000,
      first: (ctx) => apiUrl(ctx, 'rest', '/users/@me/connections'),
      // A connection's `id` is the account's id at the other service, unique only with its `type`.
      parse: (answer) => ({
        items: itemsOf(arrayIn(answer), (c) =>
          typeof c.type === 'string' && (typeof c.id === 'string' || typeof c.id === 'number')
            ? `${c.type}:${String(c.id)}`
            : undefined,
        ),
        next: null,
      }),
    },
  },
  rateLimit: (answer) => {
    const remaining = numberHeader(answer.headers, 'x-ratelimit-remaining');
    const reset = numberHeader(answer.headers, 'x-ratelimit-reset');
    const resetAfter = numberHeader(answer.headers, 'x-ratelimit-reset-after');
    // Reset-After does not depend on our clock agreeing with Discord's; the epoch Reset is the fallback.
    const resetAtMs =
      resetAfter !== undefined ? Date.now() + resetAfter * 1000 : reset !== undefined ? reset * 1000 : undefined;
    const retry = answer.status === 429 ? retryAfterOf(answer) : undefined;
    return {
      ...(remaining !== undefined ? { remaining } : {}),
      ...(resetAtMs !== undefined ? { resetAtMs } : {}),
      ...(retry !== undefined ? { retryAfterMs: retry } : {}),
    };
  },
};
