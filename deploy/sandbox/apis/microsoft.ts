/**
 * Microsoft Graph as the sandbox plays it, under `/microsoft/api/graph`: `GET /me/drive/root/delta` (a full
 * enumeration, paged by `token`, the last page with `@odata.deltaLink`), `GET /me/events` and `GET /me/contacts`
 * (paged by `$skip` as Outlook's nextLinks are). `$top` is 1 to 1000; a larger page is served in parts, as
 * Graph's server-side paging does. Every page but the last has an absolute `@odata.nextLink`
 * (https://learn.microsoft.com/en-us/graph/paging). Graph sends no remaining-count headers: a throttled request
 * is a 429 with `Retry-After` (https://learn.microsoft.com/en-us/graph/throttling), a bad token a 401
 * `InvalidAuthenticationToken`, errors `{ error: { code, message, innerError } }`
 * (https://learn.microsoft.com/en-us/graph/errors).
 */
import type { SandboxRecord } from '../datasets.js';
import { indexOfId, token, type ApiAnswer, type ApiRequest, type ApiRoute, type SandboxProviderApi } from './kit.js';

/** What Graph serves of one page at most, whatever `$top` asks (its server-side paging). */
const servedPerPage = { drive_files: 200, calendar_events: 1000, contacts: 1000 } as Record<string, number>;

function graphError(status: number, code: string, message: string): ApiAnswer {
  const date = new Date().toISOString().slice(0, 19);
  const requestId = crypto.randomUUID();
  return {
    status,
    body: { error: { code, message, innerError: { date, 'request-id': requestId, 'client-request-id': requestId } } },
  };
}

/** `$top` from 1 to 1000 (default `fallback`), or Graph's 400. */
function topParam(url: URL, fallback: number): number | ApiAnswer {
  const raw = url.searchParams.get('$top');
  if (raw === null || raw === '') return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (value >= 1 && value <= 1000) return value;
  return graphError(
    400,
    'invalidRequest',
    `Invalid page size specified: '${raw}'. Must be between 1 and 1000 inclusive.`,
  );
}

/** The query of a Graph link, `$` kept literal as Graph writes it. */
const query = (params: Record<string, string | number>) =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');

/** An Outlook collection (`value`), `$top`/`$skip` paged with a nextLink that keeps `$top`. */
function outlookList(path: string, kind: string, docs: string, defaultTop: number): ApiRoute {
  return {
    api: 'graph',
    path,
    kind,
    docs,
    serve(request: ApiRequest) {
      const top = topParam(request.url, defaultTop);
      if (typeof top !== 'number') return top;
      const rawSkip = request.url.searchParams.get('$skip') ?? '0';
      if (!/^\d{1,9}$/.test(rawSkip)) return graphError(400, 'invalidRequest', `Invalid $skip value '${rawSkip}'.`);
      const skip = Number(rawSkip);
      const size = Math.min(top, servedPerPage[kind] ?? top);
      const { items, total } = request.datasets.pageAt('microsoft', request.username, kind, skip, size);
      const nextSkip = skip + items.length;
      return {
        status: 200,
        body: {
          '@odata.context': `${request.base}/$metadata#users('${request.username}')/${path.split('/').at(-1)}`,
          value: items.map(request.render),
          ...(nextSkip < total && items.length > 0
            ? { '@odata.nextLink': `${request.base}${path}?${query({ $top: top, $skip: nextSkip })}` }
            : {}),
        },
        records: items.length,
      };
    },
  };
}

const driveDelta: ApiRoute = {
  api: 'graph',
  path: '/me/drive/root/delta',
  kind: 'drive_files',
  docs: 'https://learn.microsoft.com/en-us/graph/api/driveitem-delta',
  serve(request) {
    const top = topParam(request.url, 200);
    if (typeof top !== 'number') return top;
    // `token` is opaque: the last item enumerated. A token of another kind of cursor is Graph's 410 resync.
    let after: string | undefined;
    try {
      after = token.read(request.url.searchParams.get('token'));
    } catch {
      return graphError(
        410,
        'resyncRequired',
        'The delta token is no longer valid, and the app must reset the sync state.',
      );
    }
    const size = Math.min(top, servedPerPage.drive_files!);
    const { items, more } = request.datasets.pageAfter('microsoft', request.username, 'drive_files', after, size);
    const last = items.at(-1);
    const link =
      more && last
        ? { '@odata.nextLink': `${request.base}/me/drive/root/delta?${query({ token: token.of(last.id), $top: top })}` }
        : {
            '@odata.deltaLink': `${request.base}/me/drive/root/delta?${query({ token: token.of(`latest:${Date.now()}`) })}`,
          };
    return {
      status: 200,
      body: {
        '@odata.context': `${request.base}/$metadata#Collection(driveItem)`,
        value: items.map(request.render),
        ...link,
      },
      records: items.length,
    };
  },
};

const pad = (index: number, width: number) => String(index).padStart(width, '0');
/** Graph's Outlook timestamps: `2017-04-21T10:00:00.0000000`, in UTC without a Prefer header. */
const outlookTime = (isoTime: string) => `${isoTime.slice(0, 19)}.0000000`;
const changeKeyOf = (record: SandboxRecord) =>
  Buffer.from(`${record.id}@${record.updatedAt}`).toString('base64').replace(/=+$/, '');

/** The ids Graph gives: Outlook's long base64 ids for events and contacts, a OneDrive personal item id for files. */
function graphId(kind: string, record: SandboxRecord): string {
  const index = indexOfId(record.id);
  switch (kind) {
    case 'contacts':
      return `AAMkAGI2TGuLAAA${pad(index, 8)}AAAAAEOAAA=`;
    case 'calendar_events':
      return `AAMkAGIAAAoZDOFAAA${pad(index, 8)}AAAAAENAAA=`;
    default:
      return `5B0C0C2D9E5A8${pad(index, 3)}!${100 + index}`;
  }
}

function render(kind: string, r: SandboxRecord, ctx: { username: string; host: string }): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  const id = graphId(kind, r);
  const created = typeof f.createdAt === 'string' ? f.createdAt : r.updatedAt;
  const self = { name: ctx.username, address: `${ctx.username}@${ctx.host}` };
  switch (kind) {
    case 'contacts': {
      // https://learn.microsoft.com/en-us/graph/api/resources/contact
      const given = String(f.givenName ?? '');
      const family = String(f.familyName ?? '');
      const emails = (f.emails as { value: string }[] | undefined) ?? [];
      const phones = (f.phoneNumbers as { type: string; value: string }[] | undefined) ?? [];
      const org = f.organization as { name: string; title: string } | null | undefined;
      return {
        '@odata.etag': `W/"${changeKeyOf(r)}"`,
        id,
        createdDateTime: created.replace(/\.\d{3}Z$/, 'Z'),
        lastModifiedDateTime: r.updatedAt.replace(/\.\d{3}Z$/, 'Z'),
        changeKey: changeKeyOf(r),
        categories: [],
        parentFolderId: 'AAMkAGI2TGuLAAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAAAAEOAAA=',
        birthday: null,
        fileAs: `${family}, ${given}`,
        displayName: f.displayName,
        givenName: given,
        initials: `${given.charAt(0)}.${family.charAt(0)}.`,
        middleName: null,
        nickName: null,
        surname: family,
        title: null,
        yomiGivenName: null,
        yomiSurname: null,
        yomiCompanyName: null,
        generation: null,
        jobTitle: org?.title ?? null,
        companyName: org?.name ?? null,
        department: null,
        officeLocation: null,
        profession: null,
        businessHomePage: null,
        assistantName: null,
        manager: null,
        mobilePhone: phones.find((p) => p.type === 'mobile')?.value ?? null,
        homePhones: phones.filter((p) => p.type === 'home').map((p) => p.value),
        businessPhones: phones.filter((p) => p.type === 'work').map((p) => p.value),
        spouseName: null,
        personalNotes: '',
        children: [],
        emailAddresses: emails.map((e) => ({ name: e.value, address: e.value })),
        imAddresses: [],
        homeAddress: {},
        businessAddress: {},
        otherAddress: {},
      };
    }
    case 'calendar_events': {
      // https://learn.microsoft.com/en-us/graph/api/resources/event
      const start = f.start as { date?: string; dateTime?: string };
      const end = f.end as { date?: string; dateTime?: string };
      const allDay = start.date !== undefined;
      const at = (t: { date?: string; dateTime?: string }) => ({
        dateTime: outlookTime(t.dateTime ?? `${t.date}T00:00:00`),
        timeZone: 'UTC',
      });
      const description = String(f.description ?? '');
      const place = typeof f.location === 'string' ? f.location : null;
      const location = place
        ? { displayName: place, locationType: 'default', uniqueId: place, uniqueIdType: 'private' }
        : { displayName: '', locationType: 'default', uniqueIdType: 'unknown' };
      return {
        '@odata.etag': `W/"${changeKeyOf(r)}"`,
        id,
        createdDateTime: `${created.slice(0, 19)}.0000000Z`,
        lastModifiedDateTime: `${r.updatedAt.slice(0, 19)}.0000000Z`,
        changeKey: changeKeyOf(r),
        categories: [],
        originalStartTimeZone: 'UTC',
        originalEndTimeZone: 'UTC',
        iCalUId: `040000008200E00074C5B7101A82E008000000${pad(indexOfId(r.id), 8)}`,
        reminderMinutesBeforeStart: 15,
        isReminderOn: true,
        hasAttachments: false,
        subject: f.summary,
        bodyPreview: description,
        importance: 'normal',
        sensitivity: 'normal',
        isAllDay: allDay,
        isCancelled: f.status === 'cancelled',
        isOrganizer: true,
        responseRequested: true,
        seriesMasterId: null,
        showAs: 'busy',
        type: 'singleInstance',
        webLink: `https://outlook.${ctx.host}/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
        body: {
          contentType: 'html',
          content: description ? `<html><head></head><body><p>${description}</p></body></html>` : '',
        },
        start: at(start),
        end: at(end),
        location,
        locations: place ? [location] : [],
        attendees: [],
        organizer: { emailAddress: self },
      };
    }
    default: {
      // https://learn.microsoft.com/en-us/graph/api/resources/driveitem
      const folder = String(f.folder ?? 'My Drive');
      return {
        createdDateTime: created.replace(/\.\d{3}Z$/, 'Z'),
        cTag: `"c:{${changeKeyOf(r)}},1"`,
        eTag: `"{${changeKeyOf(r)}},1"`,
        id,
        lastModifiedDateTime: r.updatedAt.replace(/\.\d{3}Z$/, 'Z'),
        name: f.name,
        size: f.sizeBytes ?? 0,
        webUrl: `https://onedrive.${ctx.host}/?id=${encodeURIComponent(id)}`,
        createdBy: { user: { displayName: ctx.username, id: ctx.username } },
        lastModifiedBy: { user: { displayName: ctx.username, id: ctx.username } },
        parentReference: {
          driveId: '5b0c0c2d9e5a8000',
          driveType: 'personal',
          id: `5B0C0C2D9E5A8000!${folder.replace(/[^A-Za-z]/g, '').length}`,
          path: `/drive/root:/${folder}`,
        },
        file: { mimeType: f.mimeType, hashes: { sha1Hash: changeKeyOf(r).slice(0, 40).toUpperCase() } },
        fileSystemInfo: {
          createdDateTime: created.replace(/\.\d{3}Z$/, 'Z'),
          lastModifiedDateTime: r.updatedAt.replace(/\.\d{3}Z$/, 'Z'),
        },
        ...(f.shared ? { shared: { scope: 'users' } } : {}),
      };
    }
  }
}

export const microsoftApi: SandboxProviderApi = {
  provider: 'microsoft',
  routes: [
    driveDelta,
    outlookList('/me/events', 'calendar_events', 'https://learn.microsoft.com/en-us/graph/api/user-list-events', 10),
    outlookList('/me/contacts', 'contacts', 'https://learn.microsoft.com/en-us/graph/api/user-list-contacts', 10),
  ],
  externalId: graphId,
  render,
  unauthorized: () => ({
    ...graphError(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'),
    headers: {
      'www-authenticate':
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
    },
  }),
  // Graph throttles every cause alike: 429 and how long to wait (https://learn.microsoft.com/en-us/graph/throttling).
  rateLimited: (_window, retryAfterSeconds) => ({
    ...graphError(429, 'TooManyRequests', 'Too many requests.'),
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  rateHeaders: () => ({}),
  serverError: (status, retryAfterSeconds) => ({
    ...(status === 503
      ? graphError(503, 'serviceNotAvailable', 'The service is not available. Try the request again after a delay.')
      : graphError(500, 'generalException', 'An unspecified error has occurred.')),
    ...(retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}),
  }),
};
