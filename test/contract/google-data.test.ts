/**
 * Google's data reader against the answers Google documents: the shapes of People's ListConnectionsResponse,
 * Calendar's Events list and Drive's FileList, their page tokens, and the error bodies Google's guides print
 * for a bad token and a used-up quota. The sandbox's records are checked to have every top-level field of the
 * documented examples, so the e2e tests read what Google would answer.
 */
import { describe, expect, it } from 'vitest';
import { googleDriveFields, googlePersonFields, googleReader } from '../../activities/providers/data/google.js';
import type { ReaderContext } from '../../activities/providers/data/reader.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { googleApi } from '../../deploy/sandbox/apis/google.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { answer, sandboxItem } from '../support/provider-contract.js';

const apis = providerCatalog.google.endpoints.dataApis!;
const ctx: ReaderContext = { apis, pageSize: 100, providerAccountId: '1234567890', getJson: async () => ({}) };

describe('Google People API: people.connections.list', () => {
  // https://developers.google.com/people/api/rest/v1/people.connections/list (ListConnectionsResponse) with a
  // Person as https://developers.google.com/people/api/rest/v1/people#Person documents it, trimmed to one.
  const documented = {
    connections: [
      {
        resourceName: 'people/c2009488483154424931',
        etag: '%EgUBAi43PRoEAQIFByIMTnQ1dUI4eDFHVGs9',
        metadata: { sources: [{ type: 'CONTACT', id: '1be3d8c28f1b5e63' }], objectType: 'PERSON' },
        names: [{ displayName: 'Ada Lovelace', familyName: 'Lovelace', givenName: 'Ada' }],
        emailAddresses: [{ value: 'ada@example.com', type: 'home' }],
      },
    ],
    nextPageToken: 'GgYKAghkEAI',
    totalPeople: 230,
    totalItems: 230,
  };

  it('asks for the person fields, at most 1000 a page', async () => {
    const first = new URL(await googleReader.kinds.contacts!.first({ ...ctx, pageSize: 1000 }));
    expect(first.origin + first.pathname).toBe('https://people.googleapis.com/v1/people/me/connections');
    expect(first.searchParams.get('personFields')).toBe(googlePersonFields);
    expect(first.searchParams.get('pageSize')).toBe('1000');
    expect(googleReader.kinds.contacts!.maxPageSize).toBe(1000);
  });

  it('reads the connections by resourceName and the next page by pageToken on the same request', () => {
    const url = 'https://people.googleapis.com/v1/people/me/connections?personFields=names&pageSize=100';
    const page = googleReader.kinds.contacts!.parse(answer(url, documented), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['people/c2009488483154424931']);
    expect(page.items[0]!.data).toEqual(documented.connections[0]);
    const next = new URL(page.next!);
    expect(next.searchParams.get('pageToken')).toBe('GgYKAghkEAI');
    expect(next.searchParams.get('personFields')).toBe('names');
    expect(next.searchParams.get('pageSize')).toBe('100');
  });

  it('takes an answer without connections (People leaves the field out) as the empty last page', () => {
    const page = googleReader.kinds.contacts!.parse(
      answer('https://people.googleapis.com/v1/people/me/connections', { totalPeople: 0, totalItems: 0 }),
      ctx,
    );
    expect(page).toEqual({ items: [], next: null });
  });

  it('the sandbox serves a Person with every documented top-level field', () => {
    const item = sandboxItem(googleApi, 'contacts');
    for (const key of Object.keys(documented.connections[0]!)) expect(item).toHaveProperty(key);
    expect(googleApi.externalId('contacts', { id: 'contact-000007', updatedAt: '' })).toBe(item.resourceName);
  });
});

describe('Google Calendar API: events.list', () => {
  // https://developers.google.com/calendar/api/v3/reference/events/list (Events resource) and the token of
  // https://developers.google.com/calendar/api/guides/pagination ("nextPageToken":"CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA").
  const documented = {
    kind: 'calendar#events',
    etag: '"p32ofplf5q6gf20g"',
    summary: 'ada@example.com',
    updated: '2024-05-02T10:00:00.000Z',
    timeZone: 'Europe/London',
    accessRole: 'owner',
    defaultReminders: [{ method: 'popup', minutes: 10 }],
    nextPageToken: 'CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA',
    items: [
      {
        kind: 'calendar#event',
        etag: '"3181161784712000"',
        id: '0i47v6jvfivqtpb0i9p',
        status: 'confirmed',
        htmlLink: 'https://www.google.com/calendar/event?eid=MGk0N3Y2anZmaXZxdHBiMGk5cA',
        created: '2024-05-01T09:00:00.000Z',
        updated: '2024-05-01T09:01:00.000Z',
        summary: 'Team standup',
        creator: { email: 'ada@example.com', self: true },
        organizer: { email: 'ada@example.com', self: true },
        start: { dateTime: '2024-05-03T09:00:00+01:00', timeZone: 'Europe/London' },
        end: { dateTime: '2024-05-03T09:15:00+01:00', timeZone: 'Europe/London' },
        iCalUID: '0i47v6jvfivqtpb0i9p@google.com',
        sequence: 0,
        reminders: { useDefault: true },
        eventType: 'default',
      },
    ],
  };

  it('asks for the primary calendar’s single events, at most 2500 a page', async () => {
    const first = new URL(await googleReader.kinds.calendar_events!.first({ ...ctx, pageSize: 2500 }));
    expect(first.origin + first.pathname).toBe('https://www.googleapis.com/calendar/v3/calendars/primary/events');
    expect(first.searchParams.get('maxResults')).toBe('2500');
    expect(first.searchParams.get('singleEvents')).toBe('true');
  });

  it('reads the events by id and follows nextPageToken as pageToken', () => {
    const url = 'https://www.googleapis.com/calendar/v3/calendars/primary/events?maxResults=10&singleEvents=true';
    const page = googleReader.kinds.calendar_events!.parse(answer(url, documented), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['0i47v6jvfivqtpb0i9p']);
    // The guide's own next request: the same query and pageToken.
    expect(page.next).toBe(`${url}&pageToken=CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA`);
    const { nextPageToken: _, ...last } = documented;
    expect(googleReader.kinds.calendar_events!.parse(answer(url, last), ctx).next).toBeNull();
  });

  it('the sandbox serves an Event with every documented top-level field', () => {
    const item = sandboxItem(googleApi, 'calendar_events');
    for (const key of Object.keys(documented.items[0]!)) expect(item).toHaveProperty(key);
  });
});

describe('Google Drive API: files.list', () => {
  // https://developers.google.com/drive/api/reference/rest/v3/files/list (FileList: nextPageToken, kind,
  // incompleteSearch, files) with files as https://developers.google.com/drive/api/reference/rest/v3/files.
  const documented = {
    nextPageToken: '~!!~AI9FV7Q9cBMJt7gMn0yPFDE',
    files: [
      {
        kind: 'drive#file',
        id: '1kYXsT6hUbg1bCdPc0IbBy6oSgS4ukb3A',
        name: 'Budget 2024.xlsx',
        mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        size: '18230',
        createdTime: '2024-01-10T08:00:00.000Z',
        modifiedTime: '2024-02-01T12:30:00.000Z',
        webViewLink: 'https://docs.google.com/spreadsheets/d/1kYXsT6hUbg1bCdPc0IbBy6oSgS4ukb3A/edit?usp=drivesdk',
        parents: ['0AHf5ldW5xRksUk9PVA'],
        shared: false,
        trashed: false,
      },
    ],
  };

  it('asks for 1000 files a page and names nextPageToken in fields', async () => {
    const first = new URL(await googleReader.kinds.drive_files!.first({ ...ctx, pageSize: 1000 }));
    expect(first.origin + first.pathname).toBe('https://www.googleapis.com/drive/v3/files');
    expect(first.searchParams.get('pageSize')).toBe('1000');
    expect(first.searchParams.get('fields')).toBe(googleDriveFields);
    expect(googleDriveFields).toMatch(/^nextPageToken,files\(/);
    expect(googleReader.kinds.drive_files!.maxPageSize).toBe(1000);
  });

  it('reads the files by id and the next page by pageToken', () => {
    const url = 'https://www.googleapis.com/drive/v3/files?pageSize=1000';
    const page = googleReader.kinds.drive_files!.parse(answer(url, documented), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['1kYXsT6hUbg1bCdPc0IbBy6oSgS4ukb3A']);
    expect(new URL(page.next!).searchParams.get('pageToken')).toBe('~!!~AI9FV7Q9cBMJt7gMn0yPFDE');
  });

  it('refuses an answer that is not a file list', () => {
    const url = 'https://www.googleapis.com/drive/v3/files';
    expect(() => googleReader.kinds.drive_files!.parse(answer(url, { files: 'none' }), ctx)).toThrow(/files/);
  });

  it('the sandbox serves a File with every documented top-level field', () => {
    const item = sandboxItem(googleApi, 'drive_files');
    for (const key of Object.keys(documented.files[0]!)) expect(item).toHaveProperty(key);
  });
});

describe('Google’s rate limits and errors', () => {
  // https://developers.google.com/calendar/api/guides/errors: the bodies of 401, 403 and 429.
  const invalidCredentials = {
    error: {
      errors: [
        {
          domain: 'global',
          reason: 'authError',
          message: 'Invalid Credentials',
          locationType: 'header',
          location: 'Authorization',
        },
      ],
      code: 401,
      message: 'Invalid Credentials',
    },
  };
  const quota = (code: number, reason: string, message: string) => ({
    error: { errors: [{ domain: 'usageLimits', reason, message }], code, message },
  });
  const notOrganizer = {
    error: {
      errors: [
        {
          domain: 'calendar',
          reason: 'forbiddenForNonOrganizer',
          message: 'Shared properties can only be changed by the organizer of the event.',
        },
      ],
      code: 403,
      message: 'Shared properties can only be changed by the organizer of the event.',
    },
  };
  const url = 'https://www.googleapis.com/calendar/v3/calendars/primary/events';

  it('takes 401 as an unaccepted token', () => {
    expect(googleReader.classify!(answer(url, invalidCredentials, 401))).toBe('unauthorized');
  });

  it('takes 403 rateLimitExceeded / userRateLimitExceeded and 429 as rate limits, other 403s as refusals', () => {
    expect(googleReader.classify!(answer(url, quota(403, 'rateLimitExceeded', 'Rate Limit Exceeded'), 403))).toBe(
      'rate_limited',
    );
    expect(
      googleReader.classify!(answer(url, quota(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded'), 403)),
    ).toBe('rate_limited');
    expect(googleReader.classify!(answer(url, quota(429, 'rateLimitExceeded', 'Rate Limit Exceeded'), 429))).toBe(
      'rate_limited',
    );
    expect(googleReader.classify!(answer(url, notOrganizer, 403))).toBe('rejected');
    expect(googleReader.classify!(answer(url, { error: { code: 503, message: 'Backend Error' } }, 503))).toBe(
      'unavailable',
    );
  });

  it('reads Retry-After of a refusal and no quota state from a success (Google sends no remaining counts)', () => {
    expect(
      googleReader.rateLimit(answer(url, quota(429, 'rateLimitExceeded', 'x'), 429, { 'retry-after': '7' })),
    ).toEqual({
      retryAfterMs: 7000,
    });
    expect(googleReader.rateLimit(answer(url, { items: [] }, 200, { 'retry-after': '7' }))).toEqual({});
  });

  it('the sandbox refuses the way the reader understands', () => {
    const unauthorized = googleApi.unauthorized();
    expect(googleReader.classify!(answer(url, unauthorized.body, unauthorized.status))).toBe('unauthorized');
    const window = { limit: 3, remaining: 0, used: 3, resetAtMs: Date.now() + 2000, windowSeconds: 2, exceeded: true };
    for (const cause of ['quota', 'fault'] as const) {
      const refused = googleApi.rateLimited(window, 2, cause);
      const headers = Object.fromEntries(
        Object.entries(refused.headers ?? {}).filter(([, v]) => v !== undefined),
      ) as Record<string, string>;
      expect(googleReader.classify!(answer(url, refused.body, refused.status, headers))).toBe('rate_limited');
    }
    expect(googleApi.rateHeaders(window)).toEqual({});
  });
});

describe('the sandbox’s Google routes, read by the reader', () => {
  const datasets = new SandboxDatasets((p) => (p === 'google' ? providerCatalog.google.dataKinds : undefined));
  const base = 'http://127.0.0.1:1/google/api';

  function serve(api: 'people' | 'calendar' | 'drive', target: string) {
    const url = new URL(target);
    const route = googleApi.routes.find((r) => r.api === api && url.pathname === `/google/api/${api}${r.path}`)!;
    const kind = route.kind;
    return route.serve({
      url,
      params: {},
      username: 'bench',
      kind,
      base: `${base}/${api}`,
      datasets,
      render: (record) => googleApi.render(kind, record, renderContext('google', 'bench', record)),
    });
  }

  it('serves Drive files 1000 a page, follows its own nextPageToken, and refuses 1001 with Google’s 400', async () => {
    datasets.setCount('google', 'bench', 'drive_files', 1500);
    const sandboxCtx = { ...ctx, apis: { drive: `${base}/drive` }, pageSize: 1000 };
    const first = await googleReader.kinds.drive_files!.first(sandboxCtx);
    const one = serve('drive', first);
    const page1 = googleReader.kinds.drive_files!.parse(answer(first, one.body, one.status), sandboxCtx);
    expect(page1.items).toHaveLength(1000);
    expect(page1.next).not.toBeNull();
    const two = serve('drive', page1.next!);
    const page2 = googleReader.kinds.drive_files!.parse(answer(page1.next!, two.body, two.status), sandboxCtx);
    expect(page2).toMatchObject({ next: null });
    expect(page2.items).toHaveLength(500);
    const ids = [...page1.items, ...page2.items].map((i) => i.externalId);
    expect(new Set(ids).size).toBe(1500);
    expect(ids[0]).toBe(
      googleApi.externalId(
        'drive_files',
        datasets.record('google', 'bench', 'drive_files', datasets.ids('google', 'bench', 'drive_files')[0]!)!,
      ),
    );
    const refused = serve('drive', first.replace('pageSize=1000', 'pageSize=1001'));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });

  it('asks People for personFields, serves up to 1000 contacts a page and refuses more', () => {
    datasets.setCount('google', 'bench', 'contacts', 1200);
    const ok = serve('people', `${base}/people/people/me/connections?personFields=names&pageSize=1000`);
    expect((ok.body as { connections: unknown[] }).connections).toHaveLength(1000);
    expect(serve('people', `${base}/people/people/me/connections?pageSize=10`).status).toBe(400);
    expect(serve('people', `${base}/people/people/me/connections?personFields=names&pageSize=1001`).status).toBe(400);
  });

  it('leaves nextPageToken out when `fields` does not name it, as a partial response does', () => {
    datasets.setCount('google', 'bench', 'drive_files', 30);
    const partial = serve('drive', `${base}/drive/files?pageSize=10&fields=files(id)`);
    expect(partial.body).not.toHaveProperty('nextPageToken');
    expect(serve('drive', `${base}/drive/files?pageSize=10`).body).toHaveProperty('nextPageToken');
  });

  it('pages Calendar by maxResults up to 2500', () => {
    datasets.setCount('google', 'bench', 'calendar_events', 3);
    const events = serve('calendar', `${base}/calendar/calendars/primary/events?maxResults=2&singleEvents=true`);
    expect(events.body).toMatchObject({ kind: 'calendar#events', nextPageToken: expect.any(String) });
    expect(serve('calendar', `${base}/calendar/calendars/primary/events?maxResults=2501`).status).toBe(400);
  });
});
