/**
 * One page of a kind, read with the provider's reader: the first page's URL from the reader, later ones from
 * the previous page (`next`). The token goes in the Authorization header, only to a URL under the provider's
 * data APIs, after the shared quota let the request go; the answer's rate-limit headers go back to the quota.
 */
import type { ProviderQuota } from './quota.js';
import {
  DataError,
  defaultClass,
  isUnderApis,
  type DataItem,
  type ProviderAnswer,
  type ProviderDataReader,
  type ReaderContext,
} from './reader.js';

export interface ReadPageInput {
  reader: ProviderDataReader;
  kind: string;
  apis: Record<string, string>;
  accessToken: string;
  providerAccountId: string;
  /** The next page's URL from the previous page, or null for the first. */
  next: string | null;
  pageSize: number;
  quota: ProviderQuota;
  /** Aborts the request in flight (the activity's cancellation). */
  signal?: AbortSignal;
  /**
   * The same page as the last complete run read it: its URL and the provider's `ETag`. For a provider that
   * honours conditional requests (`reader.conditional`) and the same URL, the request carries `If-None-Match`.
   */
  known?: { sourceUrl: string; etag: string };
  now?: () => number;
}

export interface ReadPage {
  items: DataItem[];
  next: string | null;
  /** The page's URL (the token travels in a header): the records' `sourceUrl`. */
  sourceUrl: string;
  /** The provider's `ETag` for the page, when it sends one. */
  etag?: string;
  /** `304 Not Modified` to the `If-None-Match` of `known`: the page is as the last run read it (no items here). */
  notModified?: boolean;
}

const timeoutMs = 30_000;

export async function readPage(input: ReadPageInput): Promise<ReadPage> {
  const { reader, kind, apis, quota } = input;
  const kindReader = reader.kinds[kind];
  if (!kindReader) throw new DataError('SyncRejected', `${reader.provider} has no data kind "${kind}"`);
  const now = input.now ?? (() => Date.now());

  const request = async (target: string, ifNoneMatch?: string): Promise<ProviderAnswer> => {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new DataError('SyncRejected', `${reader.provider} gave a next page that is not a URL`);
    }
    // Messages name the provider, the kind and the host, never the path or query: some name the person
    // (Reddit's /user/<name>/submitted), and a failure's message goes into the workflow's history and the logs.
    const where = `${reader.provider} ${kind} (GET ${url.origin})`;
    if (!isUnderApis(url, apis)) throw new DataError('SyncRejected', `${where}: not one of the provider's data APIs`);
    await quota.take();
    let res: Response;
    try {
      res = await fetch(url, {
        headers: {
          accept: 'application/json',
          ...reader.headers,
          ...(ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {}),
          authorization: `Bearer ${input.accessToken}`,
        },
        redirect: 'error',
        signal: input.signal
          ? AbortSignal.any([input.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new DataError('DataUnavailable', `${where} failed: ${(err as Error).name}`);
    }
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const answer: ProviderAnswer = { url, status: res.status, headers: res.headers, body };
    const rate = reader.rateLimit(answer);
    if (ifNoneMatch && res.status === 304) {
      await quota.observe({ ...rate, retryAfterMs: undefined });
      return answer;
    }
    const verdict = reader.classify?.(answer) ?? defaultClass(res.status);
    switch (verdict) {
      case 'ok':
        await quota.observe({ ...rate, retryAfterMs: undefined });
        if (body === undefined) throw new DataError('SyncRejected', `${where} answered ${res.status} without JSON`);
        return answer;
      case 'rate_limited': {
        const waitMs =
          rate.retryAfterMs ??
          (rate.resetAtMs !== undefined && rate.resetAtMs > now() ? rate.resetAtMs - now() : undefined) ??
          1000;
        await quota.observe({ ...rate, retryAfterMs: waitMs });
        throw new DataError('DataRateLimited', `${where} answered ${res.status}: rate limited`, waitMs);
      }
      case 'unauthorized':
        throw new DataError('DataUnauthorized', `${where} answered ${res.status}: the token is not accepted`);
      case 'unavailable':
        throw new DataError('DataUnavailable', `${where} answered ${res.status}`);
      case 'rejected':
        throw new DataError('SyncRejected', `${where} answered ${res.status}`);
    }
  };

  const ctx: ReaderContext = {
    apis,
    pageSize: Math.max(1, Math.min(input.pageSize, kindReader.maxPageSize)),
    providerAccountId: input.providerAccountId,
    getJson: async (url) => (await request(url)).body,
  };
  const target = input.next ?? (await kindReader.first(ctx));
  const conditional =
    reader.conditional && input.known && input.known.sourceUrl === new URL(target).toString() ? input.known : undefined;
  const answer = await request(target, conditional?.etag);
  if (conditional && answer.status === 304)
    return { items: [], next: null, sourceUrl: conditional.sourceUrl, etag: conditional.etag, notModified: true };
  const etag = answer.headers.get('etag') ?? undefined;
  const page = kindReader.parse(answer, ctx);
  if (page.next !== null) {
    // Checked here too, so a page pointing elsewhere fails the page that said it, not the next one.
    let nextUrl: URL | undefined;
    try {
      nextUrl = new URL(page.next, answer.url);
    } catch {
      nextUrl = undefined;
    }
    if (!nextUrl || !isUnderApis(nextUrl, apis))
      throw new DataError('SyncRejected', `${reader.provider}'s next page is not under its data APIs`);
    page.next = nextUrl.toString();
  }
  return { items: page.items, next: page.next, sourceUrl: answer.url.toString(), ...(etag ? { etag } : {}) };
}
