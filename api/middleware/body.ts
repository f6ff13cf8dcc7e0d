/** Request bodies: JSON only (415 otherwise) and at most 64 KiB (413), checked before anything reads them. */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiEnv } from '../context.js';
import { respondProblem } from '../problem.js';

export const maxBodyBytes = 64 * 1024;
const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;
const formMediaType = /^application\/x-www-form-urlencoded$/i;

/**
 * Where the one-button forms of notice pages post (plain HTML forms cannot send JSON): an urlencoded body
 * is accepted on these paths only. The recovery cancel page: `routes/recoveries.ts`.
 */
export const formPostPaths: RegExp[] = [/^\/v1\/recoveries\/[^/]+\/cancel$/];

function hasBody(headers: { get(name: string): string | null }): boolean {
  const length = headers.get('content-length');
  return (length !== null && length !== '0') || headers.get('transfer-encoding') !== null;
}

export const jsonOnly: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(c.req.method) && hasBody(c.req.raw.headers)) {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
    const formPost = formMediaType.test(mediaType) && formPostPaths.some((p) => p.test(c.req.path));
    if (!jsonMediaType.test(mediaType) && !formPost) {
      return respondProblem(
        c,
        'unsupported-media-type',
        `Send the body as application/json${mediaType ? `, not ${mediaType}` : ''}.`,
        { accept: 'application/json' },
      );
    }
  }
  return next();
};

/** The codec endpoint takes pages of history payloads (Temporal's own limit is 2 MiB a payload). */
export const codecBodyBytes = 4 * 1024 * 1024;
const codecPath = /^\/v1\/codec\//;

const limit = (maxSize: number): MiddlewareHandler<ApiEnv> =>
  bodyLimit({
    maxSize,
    // `connection: close`: the rest of the refused body is never read, so the connection must not carry another request.
    onError: (c) =>
      respondProblem(c, 'payload-too-large', `The body is larger than ${maxSize / 1024} KiB.`, {
        connection: 'close',
      }),
  });
const small = limit(maxBodyBytes);
const large = limit(codecBodyBytes);

export const limitedBody: MiddlewareHandler<ApiEnv> = (c, next) =>
  (codecPath.test(c.req.path) ? large : small)(c, next);
