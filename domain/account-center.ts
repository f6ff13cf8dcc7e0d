/**
 * The account-center document: what CRA holds about one person, keyed by account id.
 * Stored in the `accounts` collection and returned by `GET /v1/me`; its JSON Schema is served at
 * `/v1/schema/account-center.json`.
 */
import { z } from 'zod';
import { providerIds } from './providers.js';

export const accountStatuses = ['active', 'suspended', 'banned', 'pending_deletion', 'deleted'] as const;

export const consentSchema = z.object({
  purpose: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9_:-]*$/, 'lower-case letters, digits, _ : -'),
  version: z.string().min(1).max(32),
  granted: z.boolean(),
});
export type Consent = z.infer<typeof consentSchema>;

export const recordedConsentSchema = consentSchema.extend({
  recordedAt: z.iso.datetime(),
  source: z.enum(['api', 'auth0-hook']),
});
export type RecordedConsent = z.infer<typeof recordedConsentSchema>;

export const connectedProviderNodeSchema = z.object({
  provider: z.enum(providerIds),
  providerAccountId: z.string(),
  connectionId: z.string(),
  scopes: z.array(z.string()),
  status: z.enum(['active', 'reauth_required', 'disconnected']),
  email: z.string().optional(),
  displayName: z.string().optional(),
  connectedAt: z.iso.datetime(),
  /**
   * False when the identity directory could not link the provider identity (CRA still holds the connection),
   * and for the root identity's own login (`signIn`): that is the directory user itself, not a linked identity.
   */
  directoryLinked: z.boolean().optional(),
  /**
   * How the node came to be: `sign_in` was recorded at signup from a social root identity (CRA holds no tokens
   * for it, scopes are empty and nothing is synced), `link` the person linked it. Absent on nodes from before.
   */
  source: z.enum(['sign_in', 'link']).optional(),
  /**
   * True when this provider account is the root identity's own login (the person signed up with it). It cannot
   * be disconnected while it is the only way to sign in (409 `last-login-method`); disconnecting a link of it
   * drops CRA's tokens and data and leaves the `sign_in` node, since the person still signs in with it.
   */
  signIn: z.boolean().optional(),
  linkOrigin: z.object({ workflowId: z.string(), requestedBy: z.string() }),
});
export type ConnectedProviderNode = z.infer<typeof connectedProviderNodeSchema>;

export const accountCenterSchema = z
  .object({
    schemaVersion: z.literal(1),
    accountId: z.uuid(),
    rootIdentity: z.object({
      directory: z.enum(['embedded', 'auth0']),
      subject: z.string().min(1),
      email: z.email().optional(),
      emailVerified: z.boolean(),
    }),
    profile: z.object({
      givenName: z.string().optional(),
      familyName: z.string().optional(),
    }),
    roles: z.array(z.string()),
    connected_providers: z.object({ nodes: z.array(connectedProviderNodeSchema) }),
    consents: z.array(recordedConsentSchema),
    status: z.enum(accountStatuses),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({
    id: 'AccountCenter',
    title: 'Account center',
    description:
      'Everything CRA holds about one person: root identity, profile, roles, connected providers and consents.',
  });
export type AccountCenter = z.infer<typeof accountCenterSchema>;

/**
 * How the document is stored: `_id` is the account id; `revision` guards concurrent writes. Stored, the
 * personal fields are sealed into `personal` with `rootIdentity.emailLookup` beside them
 * (`activities/accounts/personal-fields.ts`); opened, they are back in place and those two are absent.
 */
export type AccountDocument = Omit<AccountCenter, 'accountId' | 'rootIdentity'> & {
  _id: string;
  revision: number;
  rootIdentity: AccountCenter['rootIdentity'] & {
    /** Stored form only: keyed hash of the normalised address, for the recovery's search by address. */
    emailLookup?: string;
  };
  /** Stored form only: the personal fields sealed with the account's data key. */
  personal?: string;
  /** The workflow run that created the account: its retried activity still reports `created`. Not shown. */
  createdByRun?: string;
};

export function toAccountCenter(doc: AccountDocument): AccountCenter {
  const { _id, revision: _revision, createdByRun: _createdByRun, personal: _personal, rootIdentity, ...rest } = doc;
  const { emailLookup: _emailLookup, ...identity } = rootIdentity;
  return { ...rest, rootIdentity: identity, accountId: _id };
}
