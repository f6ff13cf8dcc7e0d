/**
 * RFC 9457 problem details: every error CRA answers with has this shape.
 * `type` is a stable URI per kind of problem; clients switch on it, never on `title` or `detail`.
 */
import { z } from 'zod';

export const problemTypeBase = 'https://cra.dev/problems/';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });
export type Problem = z.infer<typeof problemSchema>;

/** The kinds of problem CRA reports, with their status and title. */
export const problemKinds = {
  validation: { status: 400, title: 'The request is not valid' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  'invalid-signature': { status: 401, title: 'The request signature is not valid' },
  forbidden: { status: 403, title: 'Not allowed' },
  'not-found': { status: 404, title: 'Not found' },
  'account-not-found': { status: 404, title: 'No account for this identity' },
  'workflow-not-found': { status: 404, title: 'No such workflow' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  'not-configured': { status: 503, title: 'Not configured' },
  'provider-not-found': { status: 404, title: 'No such provider' },
  'provider-disabled': { status: 403, title: 'This provider cannot be linked' },
  'provider-not-configured': { status: 503, title: 'This provider is not configured' },
  'link-state-invalid': { status: 400, title: 'The authorization response does not match a link attempt' },
  'link-state-used': { status: 409, title: 'This authorization response was already used' },
  'link-expired': { status: 410, title: 'The link attempt has expired' },
  'link-denied': { status: 403, title: 'The provider did not grant access' },
  'link-failed': { status: 400, title: 'The provider link failed' },
  'provider-not-connected': { status: 404, title: 'This provider is not connected' },
  'last-login-method': { status: 409, title: 'This is the last way to sign in' },
  unavailable: { status: 503, title: 'A dependency is unavailable' },
  'headers-too-large': { status: 431, title: 'Request header fields too large' },
  'request-timeout': { status: 408, title: 'The request took too long to arrive' },
  'malformed-request': { status: 400, title: 'The request is not valid HTTP' },
  'link-sign-in-required': { status: 401, title: 'Sign in to finish connecting this provider' },
  'link-actor-mismatch': { status: 403, title: 'This connection was started from another account' },
  'link-redirect-uri-invalid': { status: 400, title: 'The redirect URI is not registered for this client' },
  'link-undo-invalid': { status: 404, title: 'This undo link is not valid' },
  'link-undo-expired': { status: 410, title: 'This undo link has expired' },
  'link-undo-used': { status: 409, title: 'This undo link was already used' },
  'consent-purpose-unknown': { status: 400, title: 'No such consent purpose' },
  'consent-version-outdated': { status: 409, title: 'This is not the current version of the consent' },
  'consent-required': { status: 409, title: 'This needs a consent the person has withdrawn' },
  'export-not-found': { status: 404, title: 'No such export' },
  'export-not-ready': { status: 409, title: 'The export is not ready yet' },
  'export-link-invalid': { status: 403, title: 'This download link is not valid' },
  'export-link-expired': { status: 410, title: 'This download link has expired' },
  'erasure-in-progress': { status: 409, title: 'This account is being erased' },
  'erasure-not-found': { status: 404, title: 'No erasure for this account' },
  'erasure-not-cancellable': { status: 409, title: 'The erasure can no longer be cancelled' },
  'legal-hold-conflict': { status: 409, title: 'The legal hold is already in that state' },
  'account-data-erased': { status: 410, title: 'This account’s data was erased' },
  'payload-undecodable': { status: 422, title: 'A payload could not be decrypted' },
} as const;
export type ProblemKind = keyof typeof problemKinds;

export function problem(kind: ProblemKind, detail?: string, extra?: Partial<Problem>): Problem {
  const { status, title } = problemKinds[kind];
  return { type: `${problemTypeBase}${kind}`, title, status, ...(detail ? { detail } : {}), ...extra };
}
