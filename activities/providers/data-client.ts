/**
 * Reading one page of provider data: `GET <data>/<kind>?cursor=&limit=` with the connection's access
 * token. Errors map here: 429 waits for Retry-After, 5xx and timeouts retry, 401 asks for a fresh
 * token, any other 4xx stops the sync.
 */
import type { FailureType } from '../../domain/failures.js';

export interface DataPage {
  items: Array<Record<string, unknown> & { id: string | number }>;
  nextCursor: string | null;
  /** The page's URL, without the token (it travels in a header): the records' `sourceUrl`. */
  sourceUrl: string;
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

const timeoutMs = 30_000;

export async function fetchDataPage(
  base: string,
  kind: string,
  accessToken: string,
  opts: { cursor: string | null; limit: number },
): Promise<DataPage> {
  const url = new URL(`${base.replace(/\/$/, '')}/${encodeURIComponent(kind)}`);
  url.searchParams.set('limit', String(opts.limit));
  if (opts.cursor) url.searchParams.set('cursor', opts.cursor);
  const where = `GET ${url.origin}${url.pathname}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new DataError('DataUnavailable', `${where} failed: ${(err as Error).name}`);
  }
  if (res.status === 429) {
    const seconds = Number(res.headers.get('retry-after'));
    throw new DataError(
      'DataRateLimited',
      `${where} answered 429`,
      Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000,
    );
  }
  if (res.status >= 500) throw new DataError('DataUnavailable', `${where} answered ${res.status}`);
  if (res.status === 401) throw new DataError('DataUnauthorized', `${where} answered 401`);
  if (!res.ok) throw new DataError('SyncRejected', `${where} answered ${res.status}`);
  const body = (await res.json()) as { items?: unknown; nextCursor?: unknown };
  if (!Array.isArray(body.items)) throw new DataError('SyncRejected', `${where} answered without an items array`);
  const items = body.items.filter(
    (i): i is DataPage['items'][number] =>
      typeof i === 'object' &&
      i !== null &&
      (typeof (i as { id?: unknown }).id === 'string' || typeof (i as { id?: unknown }).id === 'number'),
  );
  return {
    items,
    nextCursor: typeof body.nextCursor === 'string' && body.nextCursor !== '' ? body.nextCursor : null,
    sourceUrl: url.toString(),
  };
}
