/**
 * Account-center activities: create the document, add roles, record consents and profile details.
 * Each one is idempotent — a retry or a second signup run changes nothing that is already there.
 */
import { Context } from '@temporalio/activity';
import { MongoServerError, type Db } from 'mongodb';
import type { ConnectedProviderNode, Consent, RecordedConsent } from '../../domain/account-center.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { accountsCollection } from './store.js';
import { failure } from '../../domain/failures.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import { openAccountDocument, sealAccountDocument, sealedFieldsOf } from './personal-fields.js';
import {
  linkedProfileContext,
  openFromHistory,
  signupPersonalContext,
  signupProfileContext,
  type LinkedPersonal,
  type SignupPersonal,
} from '../secrets/history-values.js';

export interface AccountActivityDeps {
  db: Db;
  /** The account's data key seals the document's personal fields. */
  accountKeys: AccountKeys;
  vault: SecretVault;
  now?: () => Date;
}

export interface CreateAccountCenterInput {
  accountId: string;
  subject: string;
  directory: 'embedded' | 'auth0';
  email?: string;
  emailVerified: boolean;
  givenName?: string;
  familyName?: string;
  /** The signup's merged profile, sealed (`ensureSignupIdentity`): it stands in for the three fields above. */
  profile?: string;
}

export interface RecordSignupDetailsInput {
  accountId: string;
  source: RecordedConsent['source'];
  consents: Consent[];
  givenName?: string;
  familyName?: string;
  /** The request's sealed `SignupDetails.personal`: its names count as the two fields above. */
  personal?: string;
}

const maxWriteAttempts = 5;

export function createAccountActivities({ db, accountKeys, vault, now = () => new Date() }: AccountActivityDeps) {
  const accounts = accountsCollection(db);

  /**
   * Read, open, change, seal and write back if nobody wrote in between; a change without `set` means
   * "nothing to do". The change sees the clear document; the write stores its personal fields sealed
   * (a document written before sealing is sealed by its first change).
   */
  async function modify<T>(
    accountId: string,
    change: (doc: AccountDocument) => { set?: Partial<AccountDocument>; result: T },
  ): Promise<T> {
    for (let attempt = 0; attempt < maxWriteAttempts; attempt++) {
      const stored = await accounts.findOne({ _id: accountId });
      if (!stored) throw failure('AccountNotFound', `no account ${accountId}`);
      const doc = await openAccountDocument(accountKeys, stored);
      const { set, result } = change(doc);
      if (!set) return result;
      const sealed = await sealAccountDocument(accountKeys, vault, { ...doc, ...set });
      const written = await accounts.updateOne(
        { _id: accountId, revision: doc.revision },
        { $set: { ...set, ...sealedFieldsOf(sealed), updatedAt: now().toISOString(), revision: doc.revision + 1 } },
      );
      if (written.modifiedCount === 1) return result;
    }
    throw failure('AccountWriteContention', `account ${accountId} kept changing; will retry`);
  }

  return {
    /** Add (or reactivate) a connected provider on the account; `added` is false when it was linked already. */
    async addConnectedProvider(sent: {
      accountId: string;
      /** `personal`: the provider account's sealed address and name (`LinkedProfile.personal`), opened here. */
      node: ConnectedProviderNode & { personal?: string };
    }): Promise<{ added: boolean }> {
      const { personal, ...node } = sent.node;
      const { email, displayName } = await openFromHistory<LinkedPersonal>(
        accountKeys,
        sent.accountId,
        linkedProfileContext,
        personal,
      );
      const input = {
        accountId: sent.accountId,
        node: { ...node, ...(email ? { email } : {}), ...(displayName ? { displayName } : {}) },
      };
      return modify<{ added: boolean }>(input.accountId, (doc) => {
        const nodes = doc.connected_providers.nodes;
        const existing = nodes.find((n) => n.connectionId === input.node.connectionId);
        if (existing?.status === 'active') return { result: { added: false } };
        const others = nodes.filter((n) => n.connectionId !== input.node.connectionId);
        return { set: { connected_providers: { nodes: [...others, input.node] } }, result: { added: true } };
      });
    },

    /** Remove a connected provider from an account (support-approved move to another account). */
    async removeConnectedProvider(input: { accountId: string; connectionId: string }): Promise<{ removed: boolean }> {
      return modify<{ removed: boolean }>(input.accountId, (doc) => {
        const nodes = doc.connected_providers.nodes;
        if (!nodes.some((n) => n.connectionId === input.connectionId)) return { result: { removed: false } };
        return {
          set: { connected_providers: { nodes: nodes.filter((n) => n.connectionId !== input.connectionId) } },
          result: { removed: true },
        };
      });
    },

    /** Set a connection's status (`reauth_required` when the provider revoked access). */
    async setConnectionStatus(input: {
      accountId: string;
      connectionId: string;
      status: ConnectedProviderNode['status'];
    }): Promise<{ changed: boolean }> {
      return modify<{ changed: boolean }>(input.accountId, (doc) => {
        const nodes = doc.connected_providers.nodes;
        const node = nodes.find((n) => n.connectionId === input.connectionId);
        if (!node || node.status === input.status) return { result: { changed: false } };
        return {
          set: {
            connected_providers: {
              nodes: nodes.map((n) => (n.connectionId === input.connectionId ? { ...n, status: input.status } : n)),
            },
          },
          result: { changed: true },
        };
      });
    },

    /** The account (other than `exceptAccountId`, if given) that has this provider account connected. */
    async findConnectionOwner(input: {
      provider: string;
      providerAccountId: string;
    }): Promise<{ accountId?: string; connectionId?: string }> {
      // Dot paths into the array can match two different nodes; the exact node is checked below.
      const candidates = await accounts
        .find({
          'connected_providers.nodes.provider': input.provider,
          'connected_providers.nodes.providerAccountId': input.providerAccountId,
        } as never)
        .toArray();
      for (const doc of candidates) {
        const node = doc.connected_providers.nodes.find(
          (n) =>
            n.provider === input.provider &&
            n.providerAccountId === input.providerAccountId &&
            n.status !== 'disconnected',
        );
        if (node) return { accountId: doc._id, connectionId: node.connectionId };
      }
      return {};
    },

    /** Create the account-center document unless it exists; `created` says which. */
    async createAccountCenter(sent: CreateAccountCenterInput): Promise<{ created: boolean }> {
      const { profile, ...clear } = sent;
      const input = {
        ...clear,
        ...(await openFromHistory<SignupPersonal>(accountKeys, sent.accountId, signupProfileContext, profile)),
      };
      const at = now().toISOString();
      const runId = Context.current().info.workflowExecution?.runId;
      const doc: AccountDocument = {
        _id: input.accountId,
        revision: 1,
        ...(runId ? { createdByRun: runId } : {}),
        schemaVersion: 1,
        rootIdentity: {
          directory: input.directory,
          subject: input.subject,
          ...(input.email ? { email: input.email } : {}),
          emailVerified: input.emailVerified,
        },
        profile: {
          ...(input.givenName ? { givenName: input.givenName } : {}),
          ...(input.familyName ? { familyName: input.familyName } : {}),
        },
        roles: [],
        connected_providers: { nodes: [] },
        consents: [],
        status: 'active',
        createdAt: at,
        updatedAt: at,
      };
      // insertOne rather than an upsert with $setOnInsert: FerretDB 1.x drops empty top-level arrays from the latter.
      try {
        await accounts.insertOne(await sealAccountDocument(accountKeys, vault, doc));
        return { created: true };
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      }
      const existing = await accounts.findOne({ _id: input.accountId });
      if (existing && existing.rootIdentity.subject !== input.subject) {
        throw failure('AccountConflict', `account ${input.accountId} belongs to another identity`);
      }
      // A retry of the attempt that inserted it (the worker died before reporting) still created it.
      return { created: runId !== undefined && existing?.createdByRun === runId };
    },

    /** Add a role to the account; `added` is false when it was there already. */
    async addAccountRole(input: { accountId: string; role: string }): Promise<{ added: boolean }> {
      return modify<{ added: boolean }>(input.accountId, (doc) =>
        doc.roles.includes(input.role)
          ? { result: { added: false } }
          : { set: { roles: [...doc.roles, input.role] }, result: { added: true } },
      );
    },

    /**
     * Record consents with their versions (a consent already recorded with the same purpose, version and
     * answer is not recorded again) and fill in profile names the account does not have yet.
     * Returns the consents that were newly recorded, and those of the request that are now in force
     * (`current`): a retry after a crash finds them recorded already, and the audit still needs them.
     */
    async recordSignupDetails(sent: RecordSignupDetailsInput): Promise<{ recorded: Consent[]; current: Consent[] }> {
      const { personal, ...clear } = sent;
      const { givenName, familyName } = await openFromHistory<SignupPersonal>(
        accountKeys,
        sent.accountId,
        signupPersonalContext,
        personal,
      );
      const input = {
        ...clear,
        ...(givenName && !clear.givenName ? { givenName } : {}),
        ...(familyName && !clear.familyName ? { familyName } : {}),
      };
      const at = now().toISOString();
      return modify<{ recorded: Consent[]; current: Consent[] }>(input.accountId, (doc) => {
        const fresh = dedupe(input.consents).filter(
          (c) =>
            !latestConsents(doc.consents).some(
              (r) => r.purpose === c.purpose && r.version === c.version && r.granted === c.granted,
            ),
        );
        const profile = {
          ...doc.profile,
          ...(input.givenName && !doc.profile.givenName ? { givenName: input.givenName } : {}),
          ...(input.familyName && !doc.profile.familyName ? { familyName: input.familyName } : {}),
        };
        const profileChanged =
          profile.givenName !== doc.profile.givenName || profile.familyName !== doc.profile.familyName;
        const inForce = latestConsents([
          ...doc.consents,
          ...fresh.map((c) => ({ ...c, recordedAt: at, source: input.source })),
        ]);
        const current = dedupe(input.consents).filter((c) =>
          inForce.some((r) => r.purpose === c.purpose && r.version === c.version && r.granted === c.granted),
        );
        if (fresh.length === 0 && !profileChanged) return { result: { recorded: [], current } };
        return {
          set: {
            profile,
            consents: [...doc.consents, ...fresh.map((c) => ({ ...c, recordedAt: at, source: input.source }))],
          },
          result: { recorded: fresh, current },
        };
      });
    },
  };
}

/** Last answer per purpose: what the person currently agrees to. */
function latestConsents(history: RecordedConsent[]): RecordedConsent[] {
  const byPurpose = new Map<string, RecordedConsent>();
  for (const c of history) byPurpose.set(c.purpose, c);
  return [...byPurpose.values()];
}

function dedupe(consents: Consent[]): Consent[] {
  const byPurpose = new Map<string, Consent>();
  for (const c of consents) byPurpose.set(c.purpose, c);
  return [...byPurpose.values()];
}
