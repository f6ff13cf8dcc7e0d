/**
 * Microsoft Graph: the signed-in person's contacts, calendar events and OneDrive files. Every list answers
 * `{ value: [...] }` and, while more follow, an absolute `@odata.nextLink` that is requested as it is, an opaque
 * URL (https://learn.microsoft.com/en-us/graph/paging). Throttling is a 429 with `Retry-After`
 * (https://learn.microsoft.com/en-us/graph/throttling); errors are `{ error: { code, message } }`, a bad token
 * 401 `InvalidAuthenticationToken` (https://learn.microsoft.com/en-us/graph/errors).
 */
import {
  apiUrl,
  arrayIn,
  defaultClass,
  itemsOf,
  objectBody,
  retryAfterMs,
  type AnswerClass,
  type KindReader,
  type ParsedPage,
  type ProviderAnswer,
  type ProviderDataReader,
  type ReaderContext,
} from './reader.js';

/** `path?$top=n` under the Graph API, `$` kept literal as Graph's own links write it. */
function withTop(ctx: ReaderContext, path: string): string {
  return `${apiUrl(ctx, 'graph', path)}?$top=${ctx.pageSize}`;
}

function pageOf(answer: ProviderAnswer, keep: (item: Record<string, unknown>) => boolean = () => true): ParsedPage {
  const body = objectBody(answer, 'a "value" list');
  const list = arrayIn(answer, 'value').filter(
    (entry) => typeof entry === 'object' && entry !== null && keep(entry as Record<string, unknown>),
  );
  const next = body['@odata.nextLink'];
  return { items: itemsOf(list, (r) => r.id), next: typeof next === 'string' && next !== '' ? next : null };
}

const driveFiles: KindReader = {
  // A full listing: "Using delta is the only way to guarantee that you've read all of the data you need to"
  // (paging `children` folder by folder may miss items written meanwhile). Supports `$top`; the last page
  // carries `@odata.deltaLink` instead of a nextLink.
  docs: 'https://learn.microsoft.com/en-us/graph/api/driveitem-delta',
  // 200: the page size OneDrive documents as its default for item collections
  // (https://learn.microsoft.com/en-us/graph/api/driveitem-list-children#response).
  maxPageSize: 200,
  first: (ctx) => withTop(ctx, '/me/drive/root/delta'),
  // The enumeration names the drive's root too, and items deleted since a token: neither is a file of the person.
  parse: (answer) => pageOf(answer, (item) => item.deleted === undefined && item.root === undefined),
};

const calendarEvents: KindReader = {
  // Single instances and series masters of the person's calendars, start and end in UTC without a Prefer header.
  docs: 'https://learn.microsoft.com/en-us/graph/api/user-list-events',
  // Outlook resources page 10 by default; $top up to 1000 is accepted (as for messages:
  // https://learn.microsoft.com/en-us/graph/api/user-list-messages), 100 keeps event bodies under Graph's 504s.
  maxPageSize: 100,
  first: (ctx) => withTop(ctx, '/me/events'),
  parse: (answer) => pageOf(answer),
};

const contacts: KindReader = {
  docs: 'https://learn.microsoft.com/en-us/graph/api/user-list-contacts',
  maxPageSize: 100,
  first: (ctx) => withTop(ctx, '/me/contacts'),
  parse: (answer) => pageOf(answer),
};

/** `error.code` of a Graph error body. */
function errorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

export const microsoftReader: ProviderDataReader = {
  provider: 'microsoft',
  kinds: { drive_files: driveFiles, calendar_events: calendarEvents, contacts },
  // Graph sends no remaining counts for these APIs: only Retry-After on a 429 (or 503).
  rateLimit: (answer) => {
    const retry = answer.status >= 400 ? retryAfterMs(answer.headers) : undefined;
    return retry !== undefined ? { retryAfterMs: retry } : {};
  },
  // "activityLimitReached: The app or user has been throttled" (https://learn.microsoft.com/en-us/graph/errors#code-property).
  classify: (answer): AnswerClass =>
    answer.status >= 400 && errorCode(answer.body) === 'activityLimitReached'
      ? 'rate_limited'
      : defaultClass(answer.status),
};
