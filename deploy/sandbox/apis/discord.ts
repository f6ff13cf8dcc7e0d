/**
 * Discord's REST API (v10) as the sandbox plays it, under `/discord/api/rest`: `GET /users/@me/guilds` paged by
 * `limit` (1 to 200, default 200) and `before`/`after` a guild's snowflake
 * (https://discord.com/developers/docs/resources/user#get-current-user-guilds), and `GET /users/@me/connections`,
 * one unpaged list (https://discord.com/developers/docs/resources/user#get-current-user-connections). Every
 * answer carries the `X-RateLimit-*` headers; beyond the window Discord answers 429 with `Retry-After` and a
 * body of `{message, retry_after, global}` (https://discord.com/developers/docs/topics/rate-limits); a bad
 * token is `401 {message: "401: Unauthorized", code: 0}` (https://discord.com/developers/docs/topics/opcodes-and-status-codes#http).
 */
import type { SandboxRecord } from '../datasets.js';
import { indexOfId, type ApiAnswer, type ApiRoute, type SandboxProviderApi } from './kit.js';

/** Snowflakes count milliseconds from Discord's epoch in their top 42 bits (https://discord.com/developers/docs/reference#snowflakes). */
const discordEpochMs = 1_420_070_400_000n;
const firstGuildMs = BigInt(Date.UTC(2019, 0, 1));
const hourMs = 3_600_000n;

/** Guild `index` was made `index` hours after the first: snowflake order is dataset order. */
const guildSnowflake = (index: number) =>
  (((firstGuildMs + BigInt(index) * hourMs - discordEpochMs) << 22n) | BigInt(index & 0xfff)).toString();

/** The index of the last guild whose snowflake is at most `snowflake` (0 when none is). */
function guildIndexAtOrBefore(snowflake: bigint): number {
  const ms = (snowflake >> 22n) + discordEpochMs;
  let index = ms < firstGuildMs ? 0 : Number((ms - firstGuildMs) / hourMs);
  while (index > 0 && BigInt(guildSnowflake(index)) > snowflake) index--;
  return index;
}

const connectionId = (index: number) => String(40_000_000 + index * 7);

function formError(field: string, code: string, message: string): ApiAnswer {
  return {
    status: 400,
    body: { message: 'Invalid Form Body', code: 50035, errors: { [field]: { _errors: [{ code, message }] } } },
  };
}

function render(kind: string, r: SandboxRecord, ctx: { username: string; host: string }): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  const index = indexOfId(r.id);
  if (kind === 'guilds') {
    const members = typeof f.memberCount === 'number' ? f.memberCount : 0;
    return {
      id: guildSnowflake(index),
      name: f.name,
      icon: Buffer.from(`icon:${r.id}`).toString('hex').slice(0, 32),
      banner: null,
      owner: f.owner ?? false,
      permissions: f.permissions ?? '0',
      features: f.features ?? [],
      approximate_member_count: members,
      approximate_presence_count: Math.floor(members / 4),
    };
  }
  return {
    id: connectionId(index),
    name: f.name ?? `${ctx.username}-${index}`,
    type: f.type,
    revoked: false,
    integrations: [],
    verified: f.verified ?? false,
    friend_sync: false,
    show_activity: f.showActivity ?? false,
    two_way_link: false,
    // 0: only the person sees it, 1: everyone (https://discord.com/developers/docs/resources/user#connection-object-visibility-types).
    visibility: f.visibility === 'everyone' ? 1 : 0,
  };
}

function externalId(kind: string, record: SandboxRecord): string {
  const index = indexOfId(record.id);
  return kind === 'guilds' ? guildSnowflake(index) : `${String(record.type)}:${connectionId(index)}`;
}

const guilds: ApiRoute = {
  api: 'rest',
  path: '/users/@me/guilds',
  kind: 'guilds',
  docs: 'https://discord.com/developers/docs/resources/user#get-current-user-guilds',
  serve(request) {
    const q = request.url.searchParams;
    const rawLimit = q.get('limit');
    const limit = rawLimit === null || rawLimit === '' ? 200 : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1)) return formError('limit', 'NUMBER_TYPE_MIN', 'int value should be greater than or equal to 1.');
    if (limit > 200) return formError('limit', 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 200.');
    const snowflakeOf = (name: string): bigint | null | ApiAnswer => {
      const raw = q.get(name);
      if (raw === null || raw === '') return null;
      return /^\d{1,20}$/.test(raw)
        ? BigInt(raw)
        : formError(name, 'NUMBER_TYPE_COERCE', `Value "${raw}" is not snowflake.`);
    };
    const after = snowflakeOf('after');
    if (after !== null && typeof after !== 'bigint') return after;
    const before = snowflakeOf('before');
    if (before !== null && typeof before !== 'bigint') return before;
    const afterIndex = after === null ? 0 : guildIndexAtOrBefore(after);
    const afterId = afterIndex === 0 ? undefined : `guild-${String(afterIndex).padStart(6, '0')}`;
    const page = request.datasets.pageAfter('discord', request.username, 'guilds', afterId, limit);
    const items =
      before === null ? page.items : page.items.filter((g) => BigInt(guildSnowflake(indexOfId(g.id))) < before);
    return { status: 200, body: items.map(request.render), records: items.length };
  },
};

const connections: ApiRoute = {
  api: 'rest',
  path: '/users/@me/connections',
  kind: 'connections',
  docs: 'https://discord.com/developers/docs/resources/user#get-current-user-connections',
  serve(request) {
    const count = request.datasets.count('discord', request.username, 'connections');
    const { items } = request.datasets.pageAt('discord', request.username, 'connections', 0, count);
    return { status: 200, body: items.map(request.render), records: items.length };
  },
};

/** The routes' shared rate-limit bucket: an opaque hash, as Discord's are. */
const bucket = 'f3c52b1a9e0d7a64c8b1e2d3a4f5b6c7';

export const discordApi: SandboxProviderApi = {
  provider: 'discord',
  routes: [guilds, connections],
  externalId,
  render,
  unauthorized: () => ({ status: 401, body: { message: '401: Unauthorized', code: 0 } }),
  rateLimited: (window, retryAfterSeconds, cause) => {
    // The window's end for a used-up quota (fractional seconds, as Discord gives them), the fault's wait otherwise.
    const seconds =
      cause === 'quota' ? Math.max(0.001, Math.round(window.resetAtMs - Date.now()) / 1000) : retryAfterSeconds;
    return {
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: seconds, global: false },
      headers: { 'retry-after': String(Math.ceil(seconds)), 'x-ratelimit-scope': 'user' },
    };
  },
  rateHeaders: (window) => ({
    'x-ratelimit-limit': String(window.limit),
    'x-ratelimit-remaining': String(window.remaining),
    'x-ratelimit-reset': (window.resetAtMs / 1000).toFixed(3),
    'x-ratelimit-reset-after': (Math.max(0, window.resetAtMs - Date.now()) / 1000).toFixed(3),
    'x-ratelimit-bucket': bucket,
  }),
  serverError: (status) => ({
    status,
    body: { message: status === 503 ? '503: Service Unavailable' : '500: Internal Server Error', code: 0 },
  }),
};
