/**
 * Slack's Web API as the sandbox plays it, under `/slack/api/web`: `GET /users.conversations` paged by `limit`
 * (1 to 1000, default 100) and `cursor` = `response_metadata.next_cursor`, an empty string at the end
 * (https://docs.slack.dev/reference/methods/users.conversations, https://docs.slack.dev/apis/web-api/pagination).
 * Like Slack, a page may hold fewer channels than asked (those of other `types` are left out). Failures are
 * HTTP 200 `{ok: false, error}`; a rate limit is HTTP 429 with `Retry-After` and no remaining-count headers
 * (https://docs.slack.dev/apis/web-api/rate-limits).
 */
import { seedOf } from '../data-kinds.js';
import type { SandboxRecord } from '../datasets.js';
import { indexOfId, type ApiAnswer, type ApiRoute, type SandboxProviderApi } from './kit.js';

const failed = (error: string): ApiAnswer => ({ status: 200, body: { ok: false, error } });

/** Slack's conversation ids: `C` and upper-case base-36, the dataset index inside. */
const channelId = (index: number) => `C0${index.toString(36).toUpperCase().padStart(8, '0')}`;
const indexOfChannel = (id: string) => (/^C0[0-9A-Z]{8}$/.test(id) ? parseInt(id.slice(2), 36) : undefined);

/** Slack's cursors are base64 of `<what>:<id>` (its documented example `dXNlcjpVMDYxTkZUVDI=` is `user:U061NFTT2`). */
const cursorOf = (id: string) => Buffer.from(`channel:${id}`, 'utf8').toString('base64');
function indexOfCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9+/]{1,200}={0,2}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  return text.startsWith('channel:') ? indexOfChannel(text.slice('channel:'.length)) : undefined;
}

const allTypes = ['public_channel', 'private_channel', 'mpim', 'im'];

function render(_kind: string, r: SandboxRecord, ctx: { username: string }): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  const created = Math.floor(Date.parse(String(f.createdAt ?? r.updatedAt)) / 1000);
  const name = String(f.name);
  // The person's member id, the same on every channel they made.
  const creator = `U0${seedOf(ctx.username).toString(36).toUpperCase().padStart(8, '0').slice(-8)}`;
  return {
    id: channelId(indexOfId(r.id)),
    name,
    is_channel: true,
    is_group: false,
    is_im: false,
    is_mpim: false,
    is_private: f.isPrivate ?? false,
    created,
    is_archived: f.isArchived ?? false,
    is_general: name === 'general',
    unlinked: 0,
    name_normalized: name,
    is_shared: false,
    is_org_shared: false,
    is_pending_ext_shared: false,
    pending_shared: [],
    creator,
    is_ext_shared: false,
    previous_names: [],
    topic: { value: f.topic ?? '', creator, last_set: created },
    purpose: { value: '', creator: '', last_set: 0 },
  };
}

const usersConversations: ApiRoute = {
  api: 'web',
  path: '/users.conversations',
  kind: 'channels',
  docs: 'https://docs.slack.dev/reference/methods/users.conversations',
  serve(request) {
    const q = request.url.searchParams;
    const rawLimit = q.get('limit');
    const limit = rawLimit === null || rawLimit === '' ? 100 : /^\d{1,5}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= 1000)) return failed('invalid_limit');
    const types = (q.get('types') || 'public_channel').split(',').map((t) => t.trim());
    if (types.some((t) => !allTypes.includes(t))) return failed('invalid_types');
    const cursor = q.get('cursor');
    let afterId: string | undefined;
    if (cursor !== null && cursor !== '') {
      const index = indexOfCursor(cursor);
      if (index === undefined) return failed('invalid_cursor');
      afterId = `channel-${String(index).padStart(6, '0')}`;
    }
    const page = request.datasets.pageAfter('slack', request.username, 'channels', afterId, limit);
    const wanted = page.items.filter((c) => types.includes(c.isPrivate ? 'private_channel' : 'public_channel'));
    const last = page.items.at(-1);
    return {
      status: 200,
      body: {
        ok: true,
        channels: wanted.map(request.render),
        response_metadata: { next_cursor: page.more && last ? cursorOf(channelId(indexOfId(last.id))) : '' },
      },
      records: wanted.length,
    };
  },
};

export const slackApi: SandboxProviderApi = {
  provider: 'slack',
  routes: [usersConversations],
  externalId: (_kind, record) => channelId(indexOfId(record.id)),
  render,
  unauthorized: () => failed('invalid_auth'),
  rateLimited: (_window, retryAfterSeconds) => ({
    status: 429,
    body: { ok: false, error: 'ratelimited' },
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  rateHeaders: () => ({}),
  serverError: (status, retryAfterSeconds) => ({
    status,
    body: { ok: false, error: status === 503 ? 'service_unavailable' : 'internal_error' },
    ...(retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}),
  }),
};
