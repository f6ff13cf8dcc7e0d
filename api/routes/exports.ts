/**
 * Data exports: `POST /v1/me/exports` (202: the export workflow runs, or the person's export already being
 * built is returned), `GET /v1/me/exports/{exportId}` (status, progress and, when ready, a signed download
 * link) and `GET /v1/exports/{exportId}/archive` (the zip). The download needs both the link's valid,
 * unexpired signature and its owner signed in (bearer token or the account center's session), so a
 * leaked link alone opens nothing. A browser that opens a link it cannot use gets a page that says why and
 * what to do (sign in, ask for a new export); a program gets the same answer as problem+json.
 */
import { Readable } from 'node:stream';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  dataExports,
  exportArchiveBucket,
  signedArchivePath,
  verifyArchiveLink,
  type DataExportDocument,
} from '../../activities/exports/store.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { problemKinds, type ProblemKind } from '../../domain/problem.js';
import { renderLinkCallbackPage } from '../../ui/pages/link-callback-page.js';
import { exportStatuses } from '../../workflows/export/messages.js';
import { vaultOf } from '../adapters.js';
import { signedInCaller } from '../auth/optional-bearer.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiEnv } from '../context.js';
import { startExport } from '../processes/export.js';
import { defaultHook, ProblemError } from '../problem.js';
import { readBrowserSession } from '../session/browser-session.js';
import { problemOrPageResponses, problemResponses } from './openapi.js';
import { noticePagesText } from '../../ui/text.js';

const exportIdParam = z.object({
  exportId: z
    .uuid()
    .openapi({ param: { name: 'exportId', in: 'path' }, example: '6f1c9a1e-3f57-4a8e-9a55-0d3f5b8e2c11' }),
});

const startedSchema = z
  .object({
    exportId: z.string(),
    workflowId: z.string(),
    status: z.enum(exportStatuses),
    /** False: an export of this account was already being built, and this is it. */
    started: z.boolean(),
  })
  .openapi('ExportStarted');

const exportSchema = z
  .object({
    exportId: z.string(),
    workflowId: z.string(),
    status: z.enum(exportStatuses),
    progress: z.object({ recordsWritten: z.number().int(), recordsTotal: z.number().int().optional() }),
    requestedAt: z.string(),
    readyAt: z.string().optional(),
    expiresAt: z.string().optional(),
    archive: z
      .object({
        bytes: z.number().int(),
        files: z.array(z.object({ name: z.string(), bytes: z.number(), lines: z.number(), sha256: z.string() })),
      })
      .optional(),
    download: z.object({ url: z.string(), expiresAt: z.string() }).optional(),
    detail: z.string().optional(),
  })
  .openapi('DataExport');

const startRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/exports',
  summary: 'Export everything CRA holds about you, as a zip of JSON Lines files',
  description:
    'One export at a time: while one is being built, this answers 202 with it (`started: false`). Works for suspended and banned accounts; refused (409 `erasure-in-progress`) while the account is being erased.',
  responses: {
    202: {
      description: 'The export workflow runs',
      content: { 'application/json': { schema: startedSchema } },
      // OpenAPI links: where a client (and the fuzzer's stateful phase) goes next with the id it got.
      links: {
        status: {
          operationRef: '#/paths/~1v1~1me~1exports~1{exportId}/get',
          parameters: { exportId: '$response.body#/exportId' },
          description: 'Where the export stands',
        },
      },
    },
    ...problemResponses(401, 404, 409),
  },
});

const statusRoute = secured(auth.bearer, {
  method: 'get',
  path: '/v1/me/exports/{exportId}',
  summary: 'An export of yours: status, progress and, when ready, a signed download link',
  request: { params: exportIdParam },
  responses: {
    200: { description: 'The export', content: { 'application/json': { schema: exportSchema } } },
    ...problemResponses(400, 401, 404),
  },
});

const archiveRoute = secured(auth.public, {
  method: 'get',
  path: '/v1/exports/{exportId}/archive',
  summary: 'Download an export’s zip (the signed link, with its owner signed in)',
  description:
    'Public in the sense that the link’s signature is checked first (403 `export-link-invalid`, 410 `export-link-expired`); then the owner must be signed in, with a bearer token or the account center’s session cookie (401 otherwise, 404 for another person). A refusal is problem+json, or a page for a browser (a request whose `Accept` names `text/html` and no JSON type).',
  request: {
    params: exportIdParam,
    query: z.object({
      expires: z.string().regex(/^\d{1,15}$/, 'milliseconds since the epoch'),
      signature: z.string().min(1).max(256),
    }),
  },
  responses: {
    200: {
      description: 'The archive',
      content: { 'application/zip': { schema: z.string().openapi({ format: 'binary' }) } },
    },
    ...problemOrPageResponses(400, 401, 403, 404, 409),
    410: {
      ...problemOrPageResponses(410)[410],
      description: 'The link or the archive has expired (a page for browsers, else problem+json)',
    },
  },
});

/** Every sentence of the pages a browser gets when it opens a download link it cannot use, in one place. */
export const exportDownloadText = noticePagesText.exportDownload;

/** A browser opening the link (it asks for text/html), not a program (`*\/*`, JSON): it gets a page. */
function wantsPage(c: Context): boolean {
  const accept = c.req.header('accept') ?? '';
  return /\btext\/html\b/.test(accept) && !/application\/(problem\+)?json/.test(accept);
}

/** The page for a refused download, with the problem's status; undefined for a kind no page is written for. */
function refusedDownloadPage(c: Context<ApiEnv>, kind: ProblemKind): Promise<Response> | undefined {
  const t = exportDownloadText;
  const home = { href: '/account', text: t.home };
  const status = problemKinds[kind].status as ContentfulStatusCode;
  // One link to what to do next: the link-callback page is that page, whatever led the browser here.
  const page = (title: string, paragraphs: readonly string[], link: { href: string; text: string } = home) =>
    renderLinkCallbackPage(c, { title, paragraphs, link }, status);
  switch (kind) {
    case 'validation':
    case 'export-link-invalid':
      return page(t.invalidTitle, t.invalidText);
    case 'export-link-expired':
      return page(t.expiredTitle, t.expiredText(c.get('deps').config.dataRights.exportLinkTtl));
    case 'unauthenticated': {
      // Back to this very link once signed in: the browser then downloads the archive.
      const returnTo = `${c.req.path}${new URL(c.req.url).search}`;
      return page(t.signInTitle, t.signInText, {
        href: `/account/sign-in?returnTo=${encodeURIComponent(returnTo)}`,
        text: t.signIn,
      });
    }
    case 'export-not-found':
      return page(t.otherAccountTitle, t.otherAccountText);
    case 'export-not-ready':
      return page(t.notReadyTitle, t.notReadyText);
    default:
      return undefined;
  }
}

async function ownExport(c: Context<ApiEnv>, exportId: string, accountId: string): Promise<DataExportDocument> {
  const doc = await dataExports(c.get('deps').db).findOne({ _id: exportId });
  // Another person's export is answered like one that does not exist.
  if (!doc || doc.accountId !== accountId)
    throw new ProblemError('export-not-found', `You have no export ${exportId}.`);
  return doc;
}

/** The person at the other end: a bearer token when one is sent, else the account center's session. */
async function signedInAccount(c: Context<ApiEnv>): Promise<string | Response> {
  if (c.req.header('authorization')) {
    const caller = await signedInCaller(c);
    return caller instanceof Response ? caller : caller.accountId;
  }
  const { db, config } = c.get('deps');
  const session = await readBrowserSession(c, db, config.publicUrl);
  if (session) return session.accountId;
  throw new ProblemError(
    'unauthenticated',
    'Sign in to download your export: in the account center, or with your bearer token, as well as the link.',
  );
}

export const exportRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(startRoute, async (c) => {
    const principal = c.get('principal');
    const deps = c.get('deps');
    const account = await deps.db
      .collection<AccountDocument>(collections.accounts)
      .findOne({ _id: principal.accountId }, { projection: { _id: 1, status: 1 } });
    if (!account)
      throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
    const started = await startExport(deps, { account, requestedBy: principal.subject });
    return c.json(started, 202);
  })

  .openapi(statusRoute, async (c) => {
    const { exportId } = c.req.valid('param');
    const deps = c.get('deps');
    const doc = await ownExport(c, exportId, c.get('principal').accountId);
    const ready = doc.status === 'ready' && doc.expiresAt !== undefined && Date.parse(doc.expiresAt) > Date.now();
    const download = ready
      ? {
          url: `${deps.config.publicUrl}${await signedArchivePath(await vaultOf(deps), {
            exportId,
            accountId: doc.accountId,
            expiresAt: new Date(doc.expiresAt!),
          })}`,
          expiresAt: doc.expiresAt!,
        }
      : undefined;
    return c.json(
      {
        exportId,
        workflowId: doc.workflowId,
        status: doc.status,
        progress: doc.progress,
        requestedAt: doc.requestedAt,
        ...(doc.readyAt ? { readyAt: doc.readyAt } : {}),
        ...(doc.expiresAt ? { expiresAt: doc.expiresAt } : {}),
        ...(doc.archive ? { archive: doc.archive } : {}),
        ...(download ? { download } : {}),
        ...(doc.detail ? { detail: doc.detail } : {}),
      },
      200,
    );
  })

  .openapi(
    archiveRoute,
    async (c) => {
      try {
        return (await archive(c, c.req.valid('param').exportId, c.req.valid('query'))) as never;
      } catch (err) {
        const page = err instanceof ProblemError && wantsPage(c) ? refusedDownloadPage(c, err.kind) : undefined;
        if (page) return (await page) as never;
        throw err;
      }
    },
    // A cut link (no signature, a broken id) is a page for a browser too.
    (result, c) => (!result.success && wantsPage(c) ? refusedDownloadPage(c, 'validation') : defaultHook(result, c)),
  );

/** The zip of a signed link, for its owner signed in; a ProblemError (or the bearer check's answer) otherwise. */
async function archive(
  c: Context<ApiEnv>,
  exportId: string,
  { expires, signature }: { expires: string; signature: string },
): Promise<Response> {
  const deps = c.get('deps');
  const doc = await dataExports(deps.db).findOne({ _id: exportId });
  const expiresMs = Number(expires);
  // The signature covers the owner's account id: checked before anything says whether the export exists.
  if (
    !doc ||
    !(await verifyArchiveLink(await vaultOf(deps), { exportId, accountId: doc.accountId, expiresMs, signature }))
  )
    throw new ProblemError('export-link-invalid', 'This download link is not one CRA made. Ask for a new one.');
  if (expiresMs <= Date.now() || doc.status === 'expired')
    throw new ProblemError(
      'export-link-expired',
      'This download link has expired, and the archive with it. Request a new export with POST /v1/me/exports.',
    );
  const accountId = await signedInAccount(c);
  if (accountId instanceof Response) return accountId;
  if (accountId !== doc.accountId) throw new ProblemError('export-not-found', `You have no export ${exportId}.`);
  if (doc.status !== 'ready') throw new ProblemError('export-not-ready', 'The archive is not ready yet.');
  const bucket = exportArchiveBucket(deps.db);
  const [file] = await bucket.find({ _id: exportId as never }).toArray();
  if (!file)
    throw new ProblemError(
      'export-link-expired',
      'The archive is gone. Request a new export with POST /v1/me/exports.',
    );
  const stream = Readable.toWeb(bucket.openDownloadStream(exportId as never)) as ReadableStream;
  return c.body(stream, 200, {
    'content-type': 'application/zip',
    'content-length': String(file.length),
    'content-disposition': `attachment; filename="cra-export-${exportId}.zip"`,
    'cache-control': 'no-store',
  });
}
