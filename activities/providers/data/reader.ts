/**
 * Reading a provider's data the way that provider serves it. Each provider with a data API has a reader
 * (`./<provider>.ts`) that knows its paths, response shapes, paging and rate-limit headers; this module does
 * what is the same for all of them: the token goes only to the provider's own data APIs (a next-page URL is
 * checked against them first), the provider's quota is shared by all of an account's syncs of it
 * (`./quota.ts`), and failures map to the data API's failure types. The sandbox serves the same paths and
 * answers (`deploy/sandbox/apis/`), so the code the tests run is the code that talks to the provider.
 */
import type { FailureType } from '../../../domain/failures.js';
import type { ProviderId } from '../../../domain/providers.js';

/** One record as the provider answered it: the id it is known by there, and its JSON. */
export interface DataItem {
  externalId: string;
  data: Record<string, unknown>;
}

/** An answer of the provider, as a reader sees it. */
export interface ProviderAnswer {
  url: URL;
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: unknown;
}

export interface ParsedPage {
  items: DataItem[];
  /** The absolute URL of the next page, or null at the end of the kind. */
  next: string | null;
}

/**
 * What an answer says about the provider's quota. `remaining` and `resetAtMs` come from headers such as
 * `x-ratelimit-remaining`/`x-ratelimit-reset`; `retryAfterMs` from `Retry-After` or the body of a 429.
 */
export interface RateSignal {
  remaining?: number;
  /** When the quota window ends (epoch ms). */
  resetAtMs?: number;
  retryAfterMs?: number;
}

/** What a reader needs to build a first request. */
export interface ReaderContext {
  /** The provider's data APIs by name (the catalog's `dataApis`, or the sandbox's). */
  apis: Record<string, string>;
  /** Records per page asked for, already within the kind's `maxPageSize`. */
  pageSize: number;
  /** The provider account whose data is read (the id it has at the provider). */
  providerAccountId: string;
  /** An authenticated GET of a JSON document at one of the data APIs (for a first page that needs a name first). */
  getJson(url: string): Promise<unknown>;
}

export interface KindReader {
  /** The provider's documentation of the endpoint read (cited, so a reviewer can check the shape). */
  docs: string;
  /** The most records the endpoint answers per page. */
  maxPageSize: number;
  /** The URL of the kind's first page. */
  first(ctx: ReaderContext): string | Promise<string>;
  /** The page's records and the next page's URL. Throws `DataError('SyncRejected', …)` for a shape it does not know. */
  parse(answer: ProviderAnswer, ctx: ReaderContext): ParsedPage;
}

/** How an answer is to be taken, where the HTTP status alone does not say it (Slack's `ok: false`, GitHub's 403). */
export type AnswerClass = 'ok' | 'rate_limited' | 'unauthorized' | 'rejected' | 'unavailable';

export interface ProviderDataReader {
  provider: ProviderId;
  kinds: Record<string, KindReader>;
  /** Headers every request carries besides the bearer token (GitHub's API version, Reddit's User-Agent). */
  headers?: Record<string, string>;
  /** The quota state an answer reports, in the provider's own headers. */
  rateLimit(answer: ProviderAnswer): RateSignal;
  /** Overrides the status-based reading of an answer (`defaultClass`) where the provider says more in its body or headers. */
  classify?(answer: ProviderAnswer): AnswerClass;
  /** The least time between two requests, for providers that publish a pace instead of headers (Slack's tiers). */
  minIntervalMs?: number;
  /**
   * The provider answers each page with an `ETag` and a request with `If-None-Match: <that ETag>` with
   * `304 Not Modified` when the page is unchanged (GitHub), so a re-sync need not read unchanged pages again.
   */
  conditional?: boolean;
}

/** The data API's failures, declared in `domain/failures.ts`. */
export type DataErrorType = Extract<FailureType, `Data${string}` | 'SyncRejected'>;

export class DataError extends Error {
  constructor(
    readonly type: DataErrorType,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** 429 is a rate limit, 401 an unaccepted token, 5xx unavailable, any other 4xx a refusal. */
export function defaultClass(status: number): AnswerClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'unauthorized';
  if (status >= 500) return 'unavailable';
  return 'rejected';
}

/**
 * Whether `url` lies under one of the data APIs: same origin and a path below the API's base path. A next-page
 * URL that does not is never sent the token (a provider answering with a link elsewhere is refused).
 */
export function isUnderApis(url: URL, apis: Record<string, string>): boolean {
  return Object.values(apis).some((base) => {
    const b = new URL(base);
    const prefix = b.pathname.replace(/\/$/, '');
    return (
      url.origin === b.origin &&
      url.username === '' &&
      url.password === '' &&
      (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`))
    );
  });
}

/** The URL of `path` (with its query) under the data API named `api`. */
export function apiUrl(
  ctx: Pick<ReaderContext, 'apis'>,
  api: string,
  path: string,
  query: Record<string, string> = {},
) {
  const base = ctx.apis[api];
  if (!base) throw new DataError('SyncRejected', `no data API "${api}" is configured`);
  const url = new URL(`${base.replace(/\/$/, '')}${path}`);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.toString();
}

/** The JSON object of an answer, or a `SyncRejected` naming what was expected. */
export function objectBody(answer: ProviderAnswer, what: string): Record<string, unknown> {
  if (typeof answer.body !== 'object' || answer.body === null || Array.isArray(answer.body))
    throw new DataError('SyncRejected', `${answer.url.origin} answered without ${what}`);
  return answer.body as Record<string, unknown>;
}

/** The array at `body[field]` (or the body itself when `field` is undefined), or a `SyncRejected`. */
export function arrayIn(answer: ProviderAnswer, field?: string): unknown[] {
  const value = field === undefined ? answer.body : objectBody(answer, `a "${field}" array`)[field];
  if (!Array.isArray(value))
    throw new DataError(
      'SyncRejected',
      `${answer.url.origin} answered without ${field ? `a "${field}" array` : 'an array'}`,
    );
  return value;
}

/** Records of `list` with their external id read by `idOf`; entries without an id are left out. */
export function itemsOf(list: unknown[], idOf: (item: Record<string, unknown>) => unknown): DataItem[] {
  const items: DataItem[] = [];
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) continue;
    const data = entry as Record<string, unknown>;
    const id = idOf(data);
    if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))
      items.push({ externalId: String(id), data });
  }
  return items;
}

/** A header read as a number, or undefined. */
export function numberHeader(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** An RFC 8288 `Link` header's URL for `rel` (GitHub's paging), or null. */
export function linkRel(headers: Headers, rel: string): string | null {
  const header = headers.get('link');
  if (!header) return null;
  for (const part of header.split(',')) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (!match) continue;
    const rels = /rel="?([^";]+)"?/.exec(match[2]!)?.[1]?.split(/\s+/) ?? [];
    if (rels.includes(rel)) return match[1]!;
  }
  return null;
}
