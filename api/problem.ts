/**
 * RFC 9457 problem+json for every error the API returns: validation failures from zod-openapi,
 * HTTPExceptions from middleware, unknown routes and unexpected errors.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { problem, problemKinds, type Problem, type ProblemKind } from '../domain/problem.js';

export const problemContentType = 'application/problem+json';

export function problemResponse(c: Context, body: Problem, headers: Record<string, string> = {}): Response {
  return c.body(
    JSON.stringify({ ...body, instance: body.instance ?? c.req.path }),
    body.status as ContentfulStatusCode,
    {
      'content-type': problemContentType,
      ...headers,
    },
  );
}

export function respondProblem(
  c: Context,
  kind: ProblemKind,
  detail?: string,
  headers?: Record<string, string>,
): Response {
  return problemResponse(c, problem(kind, detail), headers);
}

/** An RFC 6901 JSON pointer as a URI fragment: `#` is the whole document, `#/a~1b/0` is `a/b`, item 0. */
function pointer(path: readonly PropertyKey[]): string {
  return `#${path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')}`;
}

/** zod issues → `errors[]` with JSON pointers into the request part that failed (one per unknown key). */
export function validationProblem(error: ZodError, target: string): Problem {
  const errors = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          pointer: pointer([...issue.path, key]),
          detail: 'Unknown field: it is not part of this request.',
        }))
      : [{ pointer: pointer(issue.path), detail: issue.message }],
  );
  return problem(
    'validation',
    `The ${target === 'json' ? 'request body' : `request ${target}`} has ${errors.length} invalid field${errors.length === 1 ? '' : 's'}.`,
    { errors },
  );
}

/** The `defaultHook` of every OpenAPIHono app: validation failures become 400 problem+json. */
export function defaultHook(
  result: { success: boolean; error?: ZodError; target: string },
  c: Context,
): Response | undefined {
  if (!result.success && result.error) return problemResponse(c, validationProblem(result.error, result.target));
  return undefined;
}

/** The generic kind for an HTTP status, for errors that come without a kind of their own (HTTPException). */
const kindByStatus = new Map<number, ProblemKind>([
  [400, 'validation'],
  [401, 'unauthenticated'],
  [403, 'forbidden'],
  [404, 'not-found'],
  [405, 'method-not-allowed'],
  [409, 'conflict'],
  [413, 'payload-too-large'],
  [415, 'unsupported-media-type'],
  [429, 'rate-limited'],
  [500, 'internal'],
  [503, 'not-configured'],
]);

/** Thrown by our own code to answer with a problem from deep inside a handler. */
export class ProblemError extends Error {
  constructor(
    readonly kind: ProblemKind,
    detail?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? problemKinds[kind].title);
  }
}

export function onError(log: { error: (obj: object, msg: string) => void }) {
  return (err: Error, c: Context): Response => {
    if (err instanceof ProblemError) return respondProblem(c, err.kind, err.message, err.headers);
    if (err instanceof HTTPException) {
      if (err.status === 400 && /malformed json/i.test(err.message))
        return respondProblem(c, 'malformed-json', 'The body could not be parsed as JSON.');
      const kind = kindByStatus.get(err.status) ?? (err.status >= 500 ? 'internal' : 'validation');
      const headers: Record<string, string> = {};
      err.getResponse().headers.forEach((v, k) => {
        if (k.toLowerCase() !== 'content-type') headers[k] = v;
      });
      return problemResponse(c, { ...problem(kind, err.message || undefined), status: err.status }, headers);
    }
    log.error(
      { err: { name: err.name, message: err.message, stack: err.stack }, path: c.req.path, method: c.req.method },
      'unhandled error',
    );
    return respondProblem(c, 'internal', 'Something went wrong on our side; it has been logged.');
  };
}
