/**
 * Google's data APIs: the person's contacts (People API), the events of their primary calendar (Calendar API)
 * and their Drive files (Drive API). All three page the same way: the answer's `nextPageToken` goes back as
 * `pageToken` on the same request (https://developers.google.com/calendar/api/guides/pagination), and the
 * last page has none. Google sends no remaining-count headers: a used-up quota is a 429, or a 403 whose error
 * names `rateLimitExceeded`/`userRateLimitExceeded`, sometimes with `Retry-After`
 * (https://developers.google.com/calendar/api/guides/errors, https://developers.google.com/drive/api/guides/limits).
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
} from './reader.js';

/** The People API's person fields CRA reads (`personFields` is required: without it the API answers 400). */
export const googlePersonFields = 'names,emailAddresses,phoneNumbers,organizations,metadata';

/** The Drive file fields CRA reads; `nextPageToken` must be named, or Drive leaves it out of the answer. */
export const googleDriveFields =
  'nextPageToken,files(kind,id,name,mimeType,size,createdTime,modifiedTime,webViewLink,parents,shared,trashed)';

/** The same request again with `pageToken` set, as Google asks ("all other parameters must match"). */
function nextByToken(answer: ProviderAnswer, body: Record<string, unknown>): string | null {
  const token = body.nextPageToken;
  if (typeof token !== 'string' || token === '') return null;
  const next = new URL(answer.url);
  next.searchParams.set('pageToken', token);
  return next.toString();
}

/** A list answer whose records are at `field`; an absent field is an empty page (People leaves `connections` out). */
function pageOf(answer: ProviderAnswer, field: string, idOf: (item: Record<string, unknown>) => unknown): ParsedPage {
  const body = objectBody(answer, `a "${field}" list`);
  const list = body[field] === undefined ? [] : arrayIn(answer, field);
  return { items: itemsOf(list, idOf), next: nextByToken(answer, body) };
}

const contacts: KindReader = {
  docs: 'https://developers.google.com/people/api/rest/v1/people.connections/list',
  // "pageSize: … Valid values are between 1 and 1000, inclusive. Defaults to 100 if not set or set to 0."
  maxPageSize: 1000,
  first: (ctx) =>
    apiUrl(ctx, 'people', '/people/me/connections', {
      personFields: googlePersonFields,
      pageSize: String(ctx.pageSize),
    }),
  parse: (answer) => pageOf(answer, 'connections', (p) => p.resourceName),
};

const calendarEvents: KindReader = {
  docs: 'https://developers.google.com/calendar/api/v3/reference/events/list',
  // "maxResults: … By default the value is 250 events. The page size can never be larger than 2500 events."
  maxPageSize: 2500,
  // singleEvents: recurring events come as their instances, each with its own id, as a calendar shows them.
  first: (ctx) =>
    apiUrl(ctx, 'calendar', '/calendars/primary/events', {
      maxResults: String(ctx.pageSize),
      singleEvents: 'true',
    }),
  parse: (answer) => pageOf(answer, 'items', (e) => e.id),
};

const driveFiles: KindReader = {
  docs: 'https://developers.google.com/drive/api/reference/rest/v3/files/list',
  // "pageSize: The maximum number of files to return per page … Acceptable values are 1 to 1000, inclusive."
  maxPageSize: 1000,
  first: (ctx) => apiUrl(ctx, 'drive', '/files', { pageSize: String(ctx.pageSize), fields: googleDriveFields }),
  parse: (answer) => pageOf(answer, 'files', (f) => f.id),
};

/** The `reason`s of a Google error body (`error.errors[].reason`) and its canonical `error.status`. */
function errorSignals(body: unknown): { reasons: string[]; status?: string } {
  const error = (body as { error?: { errors?: unknown; status?: unknown } } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return { reasons: [] };
  const reasons = Array.isArray(error.errors)
    ? error.errors.flatMap((e) =>
        typeof (e as { reason?: unknown }).reason === 'string' ? [(e as { reason: string }).reason] : [],
      )
    : [];
  return { reasons, ...(typeof error.status === 'string' ? { status: error.status } : {}) };
}

const rateReasons = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

export const googleReader: ProviderDataReader = {
  provider: 'google',
  kinds: { contacts, calendar_events: calendarEvents, drive_files: driveFiles },
  // No remaining-count headers: only a refusal's optional Retry-After says how long to wait.
  rateLimit: (answer) => {
    const retry = answer.status >= 400 ? retryAfterMs(answer.headers) : undefined;
    return retry !== undefined ? { retryAfterMs: retry } : {};
  },
  classify: (answer): AnswerClass => {
    if (answer.status === 403) {
      // https://developers.google.com/calendar/api/guides/errors#403_rate_limit_exceeded: a 403 that is a quota.
      const { reasons, status } = errorSignals(answer.body);
      if (reasons.some((r) => rateReasons.has(r)) || status === 'RESOURCE_EXHAUSTED') return 'rate_limited';
    }
    return defaultClass(answer.status);
  },
};
