/** Shared OpenAPI fragments: the problem+json responses every route may give. */
import { z } from '@hono/zod-openapi';
import { problemSchema } from '../../domain/problem.js';
import { auth, secured } from '../auth/route-auth.js';

const descriptions: Record<number, string> = {
  400: 'The request is not valid (problem+json with `errors[]`)',
  401: 'No valid access token',
  403: 'The caller may not do this',
  404: 'Not found',
  409: 'Conflict',
  413: 'The body is over 64 KiB',
  415: 'The body is not JSON',
  431: 'The request line and headers are over 16 KiB (the Authorization header over 8 KiB)',
  503: 'A dependency is unavailable or the feature is not configured',
};

export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: descriptions[s] ?? 'Problem', content: { 'application/problem+json': { schema: problemSchema } } },
    ]),
  ) as Record<S, { description: string; content: { 'application/problem+json': { schema: typeof problemSchema } } }>;
}

/** A page for a browser: what routes that a person's browser reaches answer unless asked for JSON. */
export const htmlPage = {
  'text/html': { schema: z.string().openapi({ description: 'A page for the person, in the account center’s look' }) },
} as const;

/** The problems of a route that browsers reach: problem+json when asked for JSON, else the same as a page. */
export function problemOrPageResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: `${descriptions[s] ?? 'Problem'} (a page for browsers; problem+json with Accept: application/json)`,
        content: { 'application/problem+json': { schema: problemSchema }, ...htmlPage },
      },
    ]),
  ) as Record<
    S,
    { description: string; content: { 'application/problem+json': { schema: typeof problemSchema } } & typeof htmlPage }
  >;
}

/** `GET /openapi.json` (public): this document, described in itself so its auth is declared like any route's. */
export const openApiDocumentRoute = secured(auth.public, {
  method: 'get',
  path: '/openapi.json',
  summary: 'This API’s description (OpenAPI 3.1)',
  responses: {
    200: {
      description: 'The OpenAPI document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

/** What `String.prototype.trim` removes (ECMAScript WhiteSpace and LineTerminator), spelt out for any regex engine. */
const removedByTrim = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * Text of `min` to `max` characters once trimmed. zod counts after `trim()`, JSON Schema's `minLength` before
 * it, so a pattern of `min` characters that trimming keeps tells the OpenAPI document what is checked.
 */
export function trimmedText(min: number, max: number) {
  const kept = `[^${removedByTrim}]`;
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .meta({ pattern: Array.from({ length: min }, () => kept).join('[\\s\\S]*') });
}

const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

/** `GET /.well-known/jwks.json` (public, when CRA issues its own tokens): the keys anyone can verify them with. */
export const jwksRoute = secured(auth.public, {
  method: 'get',
  path: '/.well-known/jwks.json',
  summary: 'The token issuer’s public keys (JWKS)',
  responses: {
    200: {
      description: 'A JSON Web Key Set (the embedded issuer answers it as `application/jwk-set+json`, RFC 7517)',
      content: { 'application/json': { schema: jwksSchema }, 'application/jwk-set+json': { schema: jwksSchema } },
    },
  },
});
