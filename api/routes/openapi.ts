/** Shared OpenAPI fragments: the problem+json responses every route may give. */
import { z } from '@hono/zod-openapi';
import { problemSchema } from '../../domain/problem.js';

const descriptions: Record<number, string> = {
  400: 'The request is not valid (problem+json with `errors[]`)',
  401: 'No valid access token',
  403: 'The caller may not do this',
  404: 'Not found',
  409: 'Conflict',
  413: 'The body is over 64 KiB',
  415: 'The body is not JSON',
  503: 'A dependency is unavailable or the feature is not configured',
};

export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: descriptions[s] ?? 'Problem', content: { 'application/problem+json': { schema: problemSchema } } }]),
  ) as Record<S, { description: string; content: { 'application/problem+json': { schema: typeof problemSchema } } }>;
}

/** A page for a browser: what routes that a person's browser reaches answer unless asked for JSON. */
export const htmlPage = { 'text/html': { schema: z.string().openapi({ description: 'A page for the person, in the account center’s look' }) } } as const;

/** The problems of a route that browsers reach: problem+json when asked for JSON, else the same as a page. */
export function problemOrPageResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: `${descriptions[s] ?? 'Problem'} (a page for browsers; problem+json with Accept: application/json)`, content: { 'application/problem+json': { schema: problemSchema }, ...htmlPage } }]),
  ) as Record<S, { description: string; content: { 'application/problem+json': { schema: typeof problemSchema } } & typeof htmlPage }>;
}
