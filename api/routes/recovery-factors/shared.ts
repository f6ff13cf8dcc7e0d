/**
 * What every kind of recovery factor shares: the collections, the caller's account, removal, and the shape
 * of a kind's strategy (`EnrolmentStrategy`).
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { openAccountDocument } from '../../../activities/accounts/personal-fields.js';
import type { AccountDocument } from '../../../domain/account-center.js';
import { collections } from '../../../domain/collections.js';
import type {
  RecoveryEnrolmentDocument,
  RecoveryFactorDocument,
  RecoveryFactorKind,
} from '../../../domain/recovery.js';
import { accountKeysOf } from '../../adapters.js';
import type { ApiEnv } from '../../context.js';
import { ProblemError } from '../../problem.js';
import { trimmedText } from '../openapi.js';

/** Enough for anyone; a bound on what one account can make the API store or text. */
export const maxPerKind = 10;

export const factorsOf = (c: Context<ApiEnv>) =>
  c.get('deps').db.collection<RecoveryFactorDocument>(collections.recoveryFactors);
export const enrolmentsOf = (c: Context<ApiEnv>) =>
  c.get('deps').db.collection<RecoveryEnrolmentDocument>(collections.recoveryEnrolments);

export async function ownAccount(c: Context<ApiEnv>): Promise<AccountDocument> {
  const account = await c
    .get('deps')
    .db.collection<AccountDocument>(collections.accounts)
    .findOne({ _id: c.get('principal').accountId });
  if (!account)
    throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
  // Opened: the factors' labels use the address.
  return openAccountDocument(await accountKeysOf(c.get('deps')), account);
}

export const idParam = (name: string, description: string) =>
  z.object({ [name]: z.uuid().openapi({ param: { name, in: 'path' }, description }) }) as z.ZodObject<
    Record<string, z.ZodUUID>
  >;

export const codeSchema = z.object({ code: trimmedText(6, 12) }).strict();

/** Remove one factor of the caller's: 404 when there is none with this id (or it is someone else's). */
export async function removeFactor(
  c: Context<ApiEnv>,
  filter: Record<string, string>,
  what: string,
): Promise<Response> {
  const account = await ownAccount(c);
  const removed = await factorsOf(c).deleteOne({ ...filter, accountId: account._id });
  if (removed.deletedCount !== 1) throw new ProblemError('not-found', `You have no ${what} with this id.`);
  return c.body(null, 204);
}

/** The facts `GET /v1/me/recovery-factors` shows about one factor of a kind, besides its kind and date. */
export type FactorSummary = { confirmed?: boolean; used?: boolean; verified?: boolean };

/**
 * One kind of factor: its routes under `/v1/me/recovery-factors/…` and what the list shows of it. The
 * folder's `index.ts` holds them in a map by kind; nothing switches over kinds.
 */
export interface EnrolmentStrategy<K extends RecoveryFactorKind = RecoveryFactorKind> {
  kind: K;
  summary: (factor: RecoveryFactorDocument & { kind: K }) => FactorSummary;
  routes: OpenAPIHono<ApiEnv>;
}
