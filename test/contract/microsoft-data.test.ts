/**
 * Microsoft Graph's data reader against the answers Microsoft documents: the drive delta pages, the events list,
 * a contact, `@odata.nextLink` paging and the error bodies of a throttled request and a bad token. The sandbox's
 * records are checked to have every top-level field of the documented examples.
 */
import { describe, expect, it } from 'vitest';
import { microsoftReader } from '../../activities/providers/data/microsoft.js';
import type { ReaderContext } from '../../activities/providers/data/reader.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { microsoftApi } from '../../deploy/sandbox/apis/microsoft.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { answer, sandboxItem } from '../support/provider-contract.js';

const apis = providerCatalog.microsoft.endpoints.dataApis!;
const ctx: ReaderContext = { apis, pageSize: 100, providerAccountId: 'alice', getJson: async () => ({}) };

describe('Graph driveItem: delta (the whole drive)', () => {
  // https://learn.microsoft.com/en-us/graph/api/driveitem-delta, "Example 1: Initial request", as documented.
  const initial = {
    value: [
      { id: '0123456789abc', name: 'folder2', folder: {} },
      { id: '123010204abac', name: 'file.txt', file: {} },
      { id: '2353010204ddgg', name: 'file5.txt', deleted: {} },
    ],
    '@odata.nextLink': 'https://graph.microsoft.com/v1.0/me/drive/delta(token=1230919asd190410jlka)',
  };
  // "Example 3": the last page carries a deltaLink and no nextLink.
  const last = {
    value: [],
    '@odata.deltaLink': 'https://graph.microsoft.com/v1.0/me/drive/root/delta?token=1230919asd190410jlka',
  };

  it('enumerates the drive with delta and $top', async () => {
    expect(await microsoftReader.kinds.drive_files!.first(ctx)).toBe(
      'https://graph.microsoft.com/v1.0/me/drive/root/delta?$top=100',
    );
    expect(microsoftReader.kinds.drive_files!.maxPageSize).toBe(200);
  });

  it('reads the items by id, leaves out deleted ones, and follows @odata.nextLink as it is', () => {
    const page = microsoftReader.kinds.drive_files!.parse(
      answer('https://graph.microsoft.com/v1.0/me/drive/root/delta', initial),
      ctx,
    );
    expect(page.items.map((i) => i.externalId)).toEqual(['0123456789abc', '123010204abac']);
    expect(page.next).toBe(initial['@odata.nextLink']);
    expect(
      microsoftReader.kinds.drive_files!.parse(
        answer('https://graph.microsoft.com/v1.0/me/drive/root/delta', last),
        ctx,
      ),
    ).toEqual({ items: [], next: null });
  });

  it('the sandbox serves a file item with every documented top-level field', () => {
    const item = sandboxItem(microsoftApi, 'drive_files');
    for (const key of Object.keys(initial.value[1]!)) expect(item).toHaveProperty(key);
    expect(item.deleted).toBeUndefined();
  });
});

describe('Graph user: list events', () => {
  // https://learn.microsoft.com/en-us/graph/api/user-list-events, the documented response trimmed to one event.
  const documented = {
    '@odata.context':
      "https://graph.microsoft.com/v1.0/$metadata#users('cd209b0b-3f83-4c35-82d2-d88a61820480')/events(subject,body,bodyPreview,organizer,attendees,start,end,location)",
    value: [
      {
        '@odata.etag': 'W/"ZlnW4RIAV06KYYwlrfNZvQAAKGWwbw=="',
        id: 'AAMkAGIAAAoZDOFAAA=',
        subject: 'Orientation ',
        bodyPreview: 'Dana, this is the time you selected for our orientation. Please bring the notes I sent you.',
        body: {
          contentType: 'html',
          content:
            '<html><head></head><body><p>Dana, this is the time you selected for our orientation. Please bring the notes I sent you.</p></body></html>',
        },
        start: { dateTime: '2017-04-21T10:00:00.0000000', timeZone: 'Pacific Standard Time' },
        end: { dateTime: '2017-04-21T12:00:00.0000000', timeZone: 'Pacific Standard Time' },
        location: {
          displayName: 'Assembly Hall',
          locationType: 'default',
          uniqueId: 'Assembly Hall',
          uniqueIdType: 'private',
        },
        locations: [{ displayName: 'Assembly Hall', locationType: 'default', uniqueIdType: 'unknown' }],
        attendees: [
          {
            type: 'required',
            status: { response: 'none', time: '0001-01-01T00:00:00Z' },
            emailAddress: { name: 'Samantha Booth', address: 'samanthab@a830edad905084922E17020313.onmicrosoft.com' },
          },
        ],
        organizer: {
          emailAddress: { name: 'Samantha Booth', address: 'samanthab@a830edad905084922E17020313.onmicrosoft.com' },
        },
      },
    ],
  };
  // https://learn.microsoft.com/en-us/graph/paging: the next page's URL, to be requested as it is.
  const nextLink = 'https://graph.microsoft.com/v1.0/me/events?$top=5&$skiptoken=RFNwdAIAAQAAAD8...AAAAAAAA';

  it('lists /me/events with $top', async () => {
    expect(await microsoftReader.kinds.calendar_events!.first(ctx)).toBe(
      'https://graph.microsoft.com/v1.0/me/events?$top=100',
    );
  });

  it('reads the events by id; no nextLink is the end, a nextLink the next page unchanged', () => {
    const url = 'https://graph.microsoft.com/v1.0/me/events?$top=5';
    const page = microsoftReader.kinds.calendar_events!.parse(answer(url, documented), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['AAMkAGIAAAoZDOFAAA=']);
    expect(page.items[0]!.data).toEqual(documented.value[0]);
    expect(page.next).toBeNull();
    const more = microsoftReader.kinds.calendar_events!.parse(
      answer(url, { ...documented, '@odata.nextLink': nextLink }),
      ctx,
    );
    expect(more.next).toBe(nextLink);
  });

  it('the sandbox serves an event with every documented top-level field', () => {
    const item = sandboxItem(microsoftApi, 'calendar_events');
    for (const key of Object.keys(documented.value[0]!)) expect(item).toHaveProperty(key);
  });
});

describe('Graph user: list contacts', () => {
  // The list answers `{ value: [contact…] }` (https://learn.microsoft.com/en-us/graph/api/user-list-contacts); the
  // contact is the one https://learn.microsoft.com/en-us/graph/api/contact-get documents.
  const contact = {
    '@odata.etag': 'W/"EQAAABYAAAAiIsqMbYjsT5e/T7KzowPTAAAYc8Bf"',
    id: 'AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-T7KzowPTAAAAAAEOAAAiIsqMbYjsT5e-T7KzowPTAAAYbuK-AAA=',
    createdDateTime: '2017-09-04T15:54:01Z',
    lastModifiedDateTime: '2017-09-04T15:54:02Z',
    changeKey: 'EQAAABYAAAAiIsqMbYjsT5e/T7KzowPTAAAYc8Bf',
    categories: [],
    parentFolderId:
      'AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAAAAEOAAA=',
    birthday: null,
    fileAs: '',
    displayName: 'Alex Wilber',
    givenName: 'Alex',
    initials: null,
    middleName: null,
    nickName: null,
    surname: 'Wilber',
    title: null,
    yomiGivenName: null,
    yomiSurname: null,
    yomiCompanyName: null,
    generation: null,
    imAddresses: [],
    jobTitle: null,
    companyName: null,
    department: null,
    officeLocation: null,
    profession: null,
    businessHomePage: null,
    assistantName: null,
    manager: null,
    homePhones: [],
    mobilePhone: null,
    businessPhones: [],
    spouseName: null,
    personalNotes: '',
    children: [],
    emailAddresses: [{ name: 'Alex@FineArtSchool.net', address: 'Alex@FineArtSchool.net' }],
    homeAddress: {},
    businessAddress: {},
    otherAddress: {},
  };

  it('lists /me/contacts with $top and reads the contacts by id', async () => {
    expect(await microsoftReader.kinds.contacts!.first(ctx)).toBe(
      'https://graph.microsoft.com/v1.0/me/contacts?$top=100',
    );
    const page = microsoftReader.kinds.contacts!.parse(
      answer('https://graph.microsoft.com/v1.0/me/contacts?$top=100', { value: [contact] }),
      ctx,
    );
    expect(page).toEqual({ items: [{ externalId: contact.id, data: contact }], next: null });
  });

  it('refuses an answer without a value list', () => {
    expect(() =>
      microsoftReader.kinds.contacts!.parse(answer('https://graph.microsoft.com/v1.0/me/contacts', contact), ctx),
    ).toThrow(/value/);
  });

  it('the sandbox serves a contact with every documented top-level field', () => {
    const item = sandboxItem(microsoftApi, 'contacts');
    for (const key of Object.keys(contact)) expect(item).toHaveProperty(key);
    expect(microsoftApi.externalId('contacts', { id: 'contact-000007', updatedAt: '' })).toBe(item.id);
  });
});

describe('Graph throttling and errors', () => {
  // https://learn.microsoft.com/en-us/graph/throttling: the sample 429 (Retry-After: 10).
  const throttled = {
    error: {
      code: 'TooManyRequests',
      innerError: {
        code: '429',
        date: '2020-08-18T12:51:51',
        message: 'Please retry after',
        'request-id': '94fb3b52-452a-4535-a601-69e0a90e3aa2',
        status: '429',
      },
      message: 'Please retry again later.',
    },
  };
  const badToken = {
    error: {
      code: 'InvalidAuthenticationToken',
      message: 'Access token has expired or is not yet valid.',
      innerError: { date: '2024-05-02T10:00:00', 'request-id': 'r', 'client-request-id': 'r' },
    },
  };
  const url = 'https://graph.microsoft.com/v1.0/me/events';

  it('takes a 429 as a rate limit and waits what Retry-After says', () => {
    const limited = answer(url, throttled, 429, { 'retry-after': '10' });
    expect(microsoftReader.classify!(limited)).toBe('rate_limited');
    expect(microsoftReader.rateLimit(limited)).toEqual({ retryAfterMs: 10_000 });
    expect(microsoftReader.rateLimit(answer(url, { value: [] }))).toEqual({});
  });

  it('takes 401 InvalidAuthenticationToken as an unaccepted token, activityLimitReached as throttling', () => {
    expect(microsoftReader.classify!(answer(url, badToken, 401))).toBe('unauthorized');
    expect(
      microsoftReader.classify!(
        answer(url, { error: { code: 'activityLimitReached', message: 'The app or user has been throttled.' } }, 403),
      ),
    ).toBe('rate_limited');
    expect(microsoftReader.classify!(answer(url, { error: { code: 'accessDenied', message: 'x' } }, 403))).toBe(
      'rejected',
    );
    expect(microsoftReader.classify!(answer(url, { error: { code: 'serviceNotAvailable', message: 'x' } }, 503))).toBe(
      'unavailable',
    );
  });

  it('the sandbox refuses the way the reader understands, with the documented error codes', () => {
    const unauthorized = microsoftApi.unauthorized();
    expect(unauthorized.body).toMatchObject({ error: { code: badToken.error.code } });
    expect(microsoftReader.classify!(answer(url, unauthorized.body, unauthorized.status))).toBe('unauthorized');
    const window = { limit: 3, remaining: 0, used: 3, resetAtMs: Date.now() + 2000, windowSeconds: 2, exceeded: true };
    const refused = microsoftApi.rateLimited(window, 2, 'quota');
    expect(refused.body).toMatchObject({ error: { code: throttled.error.code } });
    const limited = answer(url, refused.body, refused.status, {
      'retry-after': String(refused.headers?.['retry-after']),
    });
    expect(microsoftReader.classify!(limited)).toBe('rate_limited');
    expect(microsoftReader.rateLimit(limited)).toEqual({ retryAfterMs: 2000 });
    expect(microsoftApi.rateHeaders(window)).toEqual({});
  });
});

describe('the sandbox’s Graph routes, read by the reader', () => {
  const datasets = new SandboxDatasets((p) => (p === 'microsoft' ? providerCatalog.microsoft.dataKinds : undefined));
  const base = 'http://127.0.0.1:1/microsoft/api/graph';
  const sandboxCtx = { ...ctx, apis: { graph: base } };

  function serve(target: string) {
    const url = new URL(target);
    const route = microsoftApi.routes.find((r) => url.pathname === `/microsoft/api/graph${r.path}`)!;
    const kind = route.kind;
    return route.serve({
      url,
      params: {},
      username: 'bench',
      kind,
      base,
      datasets,
      render: (record) => microsoftApi.render(kind, record, renderContext('microsoft', 'bench', record)),
    });
  }

  /** Every external id of `kind`, page by page the reader's way, and how many pages it took. */
  async function readAll(kind: string, pageSize: number) {
    const reader = microsoftReader.kinds[kind]!;
    const ids: string[] = [];
    let pages = 0;
    let next: string | null = await reader.first({ ...sandboxCtx, pageSize });
    while (next) {
      const served = serve(next);
      expect(served.status).toBe(200);
      const page = reader.parse(answer(next, served.body), sandboxCtx);
      ids.push(...page.items.map((i) => i.externalId));
      pages++;
      next = page.next;
    }
    return { ids, pages };
  }

  it('pages each kind by its own @odata.nextLink to the end, ids as the sandbox gives them', async () => {
    const sizes = { drive_files: 450, calendar_events: 120, contacts: 230 };
    for (const [kind, count] of Object.entries(sizes)) {
      datasets.setCount('microsoft', 'bench', kind, count);
      const { ids, pages } = await readAll(kind, microsoftReader.kinds[kind]!.maxPageSize);
      const expected = datasets
        .ids('microsoft', 'bench', kind)
        .map((id) => microsoftApi.externalId(kind, datasets.record('microsoft', 'bench', kind, id)!));
      expect(ids).toEqual(expected);
      expect(pages).toBe(Math.ceil(count / microsoftReader.kinds[kind]!.maxPageSize));
    }
  });

  it('ends the drive delta with a deltaLink, and refuses $top beyond 1000 with Graph’s 400', () => {
    datasets.setCount('microsoft', 'bench', 'drive_files', 3);
    const last = serve(`${base}/me/drive/root/delta?$top=10`);
    expect(last.body).toHaveProperty('@odata.deltaLink');
    expect(last.body).not.toHaveProperty('@odata.nextLink');
    const refused = serve(`${base}/me/events?$top=1001`);
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'invalidRequest' } } });
    expect(serve(`${base}/me/drive/root/delta?token=not*a*token`)).toMatchObject({
      status: 410,
      body: { error: { code: 'resyncRequired' } },
    });
  });
});
