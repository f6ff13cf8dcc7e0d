/**
 * Google's data APIs as the sandbox plays them, under `/google/api/<people|calendar|drive>`:
 * `GET /people/me/connections` (`personFields` required, `pageSize` 1 to 1000, default 100), `GET
 * /calendars/primary/events` (`maxResults` 1 to 2500, default 250) and `GET /files` (`pageSize` 1 to 1000,
 * default 100; `nextPageToken` only when `fields` names it, or when no `fields` is given). Every list pages with
 * an opaque `nextPageToken` sent back as `pageToken`. Google sends no rate-limit headers: a burst is a 429 with
 * `Retry-After`, a used-up per-user quota a 403 `userRateLimitExceeded`, a bad token a 401 `authError`
 * (https://developers.google.com/calendar/api/guides/errors, https://developers.google.com/drive/api/guides/handle-errors).
 */
import { SandboxDataError, type SandboxRecord } from '../datasets.js';
import { indexOfId, token, type ApiAnswer, type ApiRequest, type ApiRoute, type SandboxProviderApi } from './kit.js';

/** Google's error body: the canonical `code`/`message`/`status` and the legacy `errors` list of each API. */
function googleError(code: number, status: string, message: string, reason: string, domain = 'global'): ApiAnswer {
  return { status: code, body: { error: { code, message, errors: [{ message, domain, reason }], status } } };
}

/** A whole-number parameter from `min` to `max` (`zero` taken for absent or 0), or Google's 400 for it. */
function sizeParam(url: URL, name: string, fallback: number, max: number): number | ApiAnswer {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '' || raw === '0') return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (value >= 1 && value <= max) return value;
  return googleError(
    400,
    'INVALID_ARGUMENT',
    `Invalid value '${raw}' for ${name}. Values must be within the range: [1, ${max}]`,
    'invalid',
  );
}

/** The page after `pageToken` (the last record id served, opaque to the client) and the token of the next. */
function pageOf(request: ApiRequest, size: number): { records: SandboxRecord[]; nextPageToken?: string } | ApiAnswer {
  let page: { items: SandboxRecord[]; more: boolean };
  try {
    const after = token.read(request.url.searchParams.get('pageToken'));
    page = request.datasets.pageAfter('google', request.username, request.kind, after, size);
  } catch (err) {
    if (!(err instanceof SandboxDataError) || err.code !== 'invalid_cursor') throw err;
    return googleError(400, 'INVALID_ARGUMENT', 'The provided page token is invalid.', 'invalid');
  }
  const { items, more } = page;
  const last = items.at(-1);
  return { records: items, ...(more && last ? { nextPageToken: token.of(last.id) } : {}) };
}

const peopleDocs = 'https://developers.google.com/people/api/rest/v1/people.connections/list';
const calendarDocs = 'https://developers.google.com/calendar/api/v3/reference/events/list';
const driveDocs = 'https://developers.google.com/drive/api/reference/rest/v3/files/list';

const connections: ApiRoute = {
  api: 'people',
  path: '/people/me/connections',
  kind: 'contacts',
  docs: peopleDocs,
  serve(request) {
    // "The request throws a 400 error if 'personFields' is not specified."
    if (!request.url.searchParams.get('personFields'))
      return googleError(
        400,
        'INVALID_ARGUMENT',
        'personFields mask is required. Please specify one or more valid paths.',
        'badRequest',
      );
    const size = sizeParam(request.url, 'pageSize', 100, 1000);
    if (typeof size !== 'number') return size;
    const page = pageOf(request, size);
    if ('status' in page) return page;
    const { records, nextPageToken } = page;
    const total = request.datasets.count('google', request.username, 'contacts');
    // People leaves `connections` out of an empty answer.
    return {
      status: 200,
      body: {
        ...(records.length > 0 ? { connections: records.map(request.render) } : {}),
        ...(nextPageToken ? { nextPageToken } : {}),
        totalPeople: total,
        totalItems: total,
      },
      records: records.length,
    };
  },
};

const events: ApiRoute = {
  api: 'calendar',
  path: '/calendars/primary/events',
  kind: 'calendar_events',
  docs: calendarDocs,
  serve(request) {
    const size = sizeParam(request.url, 'maxResults', 250, 2500);
    if (typeof size !== 'number') return size;
    const page = pageOf(request, size);
    if ('status' in page) return page;
    const { records, nextPageToken } = page;
    return {
      status: 200,
      body: {
        kind: 'calendar#events',
        etag: '"p33c9lqoqk7ug0g"',
        summary: `${request.username}@google.sandbox.test`,
        description: '',
        updated: records.reduce((max, r) => (r.updatedAt > max ? r.updatedAt : max), '2023-01-01T00:00:00.000Z'),
        timeZone: 'UTC',
        accessRole: 'owner',
        defaultReminders: [{ method: 'popup', minutes: 10 }],
        ...(nextPageToken ? { nextPageToken } : {}),
        items: records.map(request.render),
      },
      records: records.length,
    };
  },
};

const files: ApiRoute = {
  api: 'drive',
  path: '/files',
  kind: 'drive_files',
  docs: driveDocs,
  serve(request) {
    const size = sizeParam(request.url, 'pageSize', 100, 1000);
    if (typeof size !== 'number') return size;
    const page = pageOf(request, size);
    if ('status' in page) return page;
    const { records, nextPageToken } = page;
    // A partial response has only the fields asked for: a `fields` without nextPageToken ends paging there.
    const fields = request.url.searchParams.get('fields');
    const withToken = nextPageToken !== undefined && (fields === null || /\bnextPageToken\b/.test(fields));
    return {
      status: 200,
      body: {
        ...(fields === null ? { kind: 'drive#fileList', incompleteSearch: false } : {}),
        ...(withToken ? { nextPageToken } : {}),
        files: records.map(request.render),
      },
      records: records.length,
    };
  },
};

const pad = (index: number, width: number) => String(index).padStart(width, '0');
const iso = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);

/** The id Google gives each record: People's `resourceName`, a Calendar event id (base32hex), a Drive file id. */
function googleId(kind: string, record: SandboxRecord): string {
  const index = indexOfId(record.id);
  switch (kind) {
    case 'contacts':
      return `people/c${pad(index, 19)}`;
    case 'calendar_events':
      return `ev${pad(index, 12)}`;
    default:
      return `1Sbx${pad(index, 29)}`;
  }
}

/** The `etag` shape each API uses, from the record's last change. */
const etagOf = (record: SandboxRecord) => Buffer.from(`${record.id}@${record.updatedAt}`).toString('base64url');

function render(kind: string, r: SandboxRecord, ctx: { username: string; host: string }): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  const id = googleId(kind, r);
  switch (kind) {
    case 'contacts': {
      // https://developers.google.com/people/api/rest/v1/people#Person, with the fields of `googlePersonFields`.
      const sourceId = pad(indexOfId(r.id), 16);
      const source = { type: 'CONTACT', id: sourceId };
      const emails = (f.emails as { type: string; value: string }[] | undefined) ?? [];
      const phones = (f.phoneNumbers as { type: string; value: string }[] | undefined) ?? [];
      const org = f.organization as { name: string; title: string } | null | undefined;
      const formatted = (type: string) => type.charAt(0).toUpperCase() + type.slice(1);
      return {
        resourceName: id,
        etag: `%${etagOf(r)}`,
        metadata: {
          sources: [{ ...source, etag: `#${etagOf(r)}`, updateTime: r.updatedAt }],
          objectType: 'PERSON',
        },
        names: [
          {
            metadata: { primary: true, source },
            displayName: f.displayName,
            familyName: f.familyName,
            givenName: f.givenName,
            displayNameLastFirst: `${String(f.familyName)}, ${String(f.givenName)}`,
            unstructuredName: f.displayName,
          },
        ],
        ...(emails.length > 0
          ? {
              emailAddresses: emails.map((e, i) => ({
                metadata: { primary: i === 0, source },
                value: e.value,
                type: e.type,
                formattedType: formatted(e.type),
              })),
            }
          : {}),
        ...(phones.length > 0
          ? {
              phoneNumbers: phones.map((p, i) => ({
                metadata: { primary: i === 0, source },
                value: p.value,
                canonicalForm: `+1555${p.value.replace(/\D/g, '').slice(4)}`,
                type: p.type,
                formattedType: formatted(p.type),
              })),
            }
          : {}),
        ...(org ? { organizations: [{ metadata: { primary: true, source }, name: org.name, title: org.title }] } : {}),
      };
    }
    case 'calendar_events': {
      // https://developers.google.com/calendar/api/v3/reference/events#resource
      const organizer = String(f.organizer ?? `${ctx.username}@${ctx.host}`);
      return {
        kind: 'calendar#event',
        etag: `"${3_000_000_000_000_000 + indexOfId(r.id)}"`,
        id,
        status: f.status ?? 'confirmed',
        htmlLink: `https://${ctx.host}/calendar/event?eid=${id}`,
        created: iso(f.createdAt, r.updatedAt),
        updated: r.updatedAt,
        summary: f.summary,
        ...(f.description ? { description: f.description } : {}),
        ...(f.location ? { location: f.location } : {}),
        creator: { email: organizer, self: true },
        organizer: { email: organizer, self: true },
        start: { ...(f.start as object), timeZone: 'UTC' },
        end: { ...(f.end as object), timeZone: 'UTC' },
        iCalUID: `${id}@google.com`,
        sequence: 0,
        reminders: { useDefault: true },
        eventType: 'default',
      };
    }
    default:
      // https://developers.google.com/drive/api/reference/rest/v3/files, the fields of `googleDriveFields`.
      return {
        kind: 'drive#file',
        id,
        name: f.name,
        mimeType: f.mimeType,
        // int64 fields are JSON strings in Google's APIs.
        size: String(f.sizeBytes ?? 0),
        createdTime: iso(f.createdAt, r.updatedAt),
        modifiedTime: r.updatedAt,
        webViewLink: `https://${ctx.host}/file/d/${id}/view?usp=drivesdk`,
        parents: [`0Sbx${String(f.folder ?? 'root').replace(/[^A-Za-z0-9]/g, '')}`],
        shared: f.shared ?? false,
        trashed: f.trashed ?? false,
      };
  }
}

export const googleApi: SandboxProviderApi = {
  provider: 'google',
  routes: [connections, events, files],
  externalId: googleId,
  render,
  unauthorized: () => ({
    ...googleError(
      401,
      'UNAUTHENTICATED',
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      'authError',
    ),
    headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
  }),
  // The per-user quota used up: Drive's and Calendar's 403 (no Retry-After: Google asks for backoff). A burst: 429.
  rateLimited: (_window, retryAfterSeconds, cause) =>
    cause === 'quota'
      ? googleError(403, 'PERMISSION_DENIED', 'User Rate Limit Exceeded', 'userRateLimitExceeded', 'usageLimits')
      : {
          ...googleError(429, 'RESOURCE_EXHAUSTED', 'Rate Limit Exceeded', 'rateLimitExceeded', 'usageLimits'),
          headers: { 'retry-after': String(retryAfterSeconds) },
        },
  rateHeaders: () => ({}),
  serverError: (status, retryAfterSeconds) => ({
    ...(status === 503
      ? googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'backendError')
      : googleError(500, 'INTERNAL', 'Internal error encountered.', 'backendError')),
    ...(retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}),
  }),
};
