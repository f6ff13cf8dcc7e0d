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
import { emailLookupOf, openAccountDocument, sealAccountDocument, sealedFieldsOf } from './personal-fields.js';
import { connectionIdFor } from '../../domain/connections.js';
import type { ProviderId } from '../../domain/providers.js';
import { rootLoginIdentity, rootSubjectOf } from '../../domain/root-identity.js';
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
  /** The request's sealed `SignupDetails.personal`: its names count as the two fields above, its address fills a missing one. */
  personal?: string;
}

const maxWriteAttempts = 5;

/** Who holds a provider account, as the link's conflict check sees it. */
export interface ConnectionOwner {
  accountId?: string;
  connectionId?: string;
  /** The provider account is that account's root login identity (the person signed up with it). */
  rootIdentity?: boolean;
  /** ...and CRA holds nothing more of it there than the sign-in: no link, no tokens (a `sign_in` node or none). */
  signInOnly?: boolean;
}

/** True when `node` is the provider account `subject` signs in with. */
function isRootLogin(subject: string, node: Pick<ConnectedProviderNode, 'provider' | 'providerAccountId'>): boolean {
  const root = rootLoginIdentity(subject);
  return root !== undefined && root.provider === node.provider && root.providerAccountId === node.providerAccountId;
}

/** The node a social root identity shows from signup on: the sign-in itself, no tokens, no scopes, no sync. */
function signInNode(
  accountId: string,
  subject: string,
  at: string,
  origin: ConnectedProviderNode['linkOrigin'],
): ConnectedProviderNode | undefined {
  const root = rootLoginIdentity(subject);
  if (!root) return undefined;
  return {
    provider: root.provider,
    providerAccountId: root.providerAccountId,
    connectionId: connectionIdFor(accountId, root.provider, root.providerAccountId),
    scopes: [],
    status: 'active',
    connectedAt: at,
    // The root identity is the directory user itself, not a secondary identity linked to it.
    directoryLinked: false,
    source: 'sign_in',
    signIn: true,
    linkOrigin: origin,
  };
}

/** A change to the clear account document: what to set (nothing: nothing to do) and what to answer. */
export type AccountChange<T> = (doc: AccountDocument) => { set?: Partial<AccountDocument>; result: T };

/**
 * Read, open, change, seal and write back if nobody wrote in between; a change without `set` means
 * "nothing to do". The change sees the clear document; the write stores its personal fields sealed
 * (a document written before sealing is sealed by its first change). `stored`: the document just read, to
 * start from (a retry after a lost write reads it again).
 */
export async function modifyAccount<T>(
  { db, accountKeys, vault, now = () => new Date() }: AccountActivityDeps,
  accountId: string,
  change: AccountChange<T>,
  stored?: AccountDocument,
): Promise<T> {
  const accounts = accountsCollection(db);
  let read = stored;
  for (let attempt = 0; attempt < maxWriteAttempts; attempt++) {
    const found = read ?? (await accounts.findOne({ _id: accountId }));
    read = undefined;
    if (!found) throw failure('AccountNotFound', `no account ${accountId}`);
    const doc = await openAccountDocument(accountKeys, found);
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

/**
 * Several changes as one: each sees the document as the ones before it left it, and the sets add up, so
 * the account is written once for all of them. Answers every change's result, in order.
 */
export function allChanges<T extends unknown[]>(changes: { [K in keyof T]: AccountChange<T[K]> }): AccountChange<T> {
  return (doc) => {
    let current = doc;
    let set: Partial<AccountDocument> | undefined;
    const results = changes.map((change) => {
      const step = change(current);
      if (step.set) {
        set = { ...set, ...step.set };
        current = { ...current, ...step.set };
      }
      return step.result;
    }) as T;
    return { ...(set ? { set } : {}), result: results };
  };
}

/** The account-center document a signup creates: the root identity and names, nothing else yet. */
export function newAccountDocument(
  input: Omit<CreateAccountCenterInput, 'profile'>,
  at: string,
  runId: string | undefined,
): AccountDocument {
  return {
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
}

export interface SignInConnectionResult {
  added: boolean;
  provider?: ProviderId;
  connectionId?: string;
}

/** `addSignInConnection`'s change: the social root identity's `sign_in` node, once. */
export function signInConnectionChange(
  origin: ConnectedProviderNode['linkOrigin'],
): AccountChange<SignInConnectionResult> {
  return (doc) => {
    const node = signInNode(doc._id, doc.rootIdentity.subject, doc.createdAt, origin);
    if (!node) return { result: { added: false } };
    const named = { provider: node.provider, connectionId: node.connectionId };
    const nodes = doc.connected_providers.nodes;
    const existing = nodes.find((n) => n.connectionId === node.connectionId);
    if (existing?.status === 'active') {
      if (existing.signIn) return { result: { added: false, ...named } };
      const marked = nodes.map((n) => (n === existing ? { ...n, signIn: true } : n));
      return { set: { connected_providers: { nodes: marked } }, result: { added: false, ...named } };
    }
    const others = nodes.filter((n) => n.connectionId !== node.connectionId);
    return { set: { connected_providers: { nodes: [...others, node] } }, result: { added: true, ...named } };
  };
}

/** `addAccountRole`'s change. */
export function accountRoleChange(role: string): AccountChange<{ added: boolean }> {
  return (doc) =>
    doc.roles.includes(role)
      ? { result: { added: false } }
      : { set: { roles: [...doc.roles, role] }, result: { added: true } };
}

/** One request's consents and names, opened (`recordSignupDetails` without the sealed value). */
export interface SignupDetailsToRecord {
  source: RecordedConsent['source'];
  consents: Consent[];
  givenName?: string;
  familyName?: string;
  /** An address that fills an account created without one (never replaces one). */
  email?: string;
}

/** `recordSignupDetails`'s change, recorded at `at`. */
export function signupDetailsChange(
  input: SignupDetailsToRecord,
  at: string,
): AccountChange<{ recorded: Consent[]; current: Consent[] }> {
  return (doc) => {
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
    const profileChanged = profile.givenName !== doc.profile.givenName || profile.familyName !== doc.profile.familyName;
    // A later request's address (Auth0's hook, after the person's own API call began the signup) fills an
    // account created without one; an address already there is never replaced.
    const rootIdentity =
      input.email && doc.rootIdentity.email === undefined
        ? { ...doc.rootIdentity, email: input.email }
        : doc.rootIdentity;
    const identityChanged = rootIdentity !== doc.rootIdentity;
    const inForce = latestConsents([
      ...doc.consents,
      ...fresh.map((c) => ({ ...c, recordedAt: at, source: input.source })),
    ]);
    const current = dedupe(input.consents).filter((c) =>
      inForce.some((r) => r.purpose === c.purpose && r.version === c.version && r.granted === c.granted),
    );
    if (fresh.length === 0 && !profileChanged && !identityChanged) return { result: { recorded: [], current } };
    return {
      set: {
        profile,
        ...(identityChanged ? { rootIdentity } : {}),
        consents: [...doc.consents, ...fresh.map((c) => ({ ...c, recordedAt: at, source: input.source }))],
      },
      result: { recorded: fresh, current },
    };
  };
}

export function createAccountActivities(deps: AccountActivityDeps) {
  const { db, accountKeys, vault, now = () => new Date() } = deps;
  const accounts = accountsCollection(db);
  const modify = <T>(accountId: string, change: AccountChange<T>): Promise<T> => modifyAccount(deps, accountId, change);

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
        // A sign-in node is taken over by a link of the same provider account (it brings tokens and scopes).
        if (existing?.status === 'active' && existing.source !== 'sign_in') return { result: { added: false } };
        const others = nodes.filter((n) => n.connectionId !== input.node.connectionId);
        const node: ConnectedProviderNode = {
          ...input.node,
          source: input.node.source ?? 'link',
          ...(isRootLogin(doc.rootIdentity.subject, input.node) ? { signIn: true } : {}),
        };
        return { set: { connected_providers: { nodes: [...others, node] } }, result: { added: true } };
      });
    },

    /**
     * Remove a connected provider from an account (a disconnect, or a support-approved move to another account).
     * The root identity's own login stays as its `sign_in` node: the person still signs in with it, whatever
     * CRA's link of it held.
     */
    async removeConnectedProvider(input: { accountId: string; connectionId: string }): Promise<{ removed: boolean }> {
      return modify<{ removed: boolean }>(input.accountId, (doc) => {
        const nodes = doc.connected_providers.nodes;
        const node = nodes.find((n) => n.connectionId === input.connectionId);
        if (!node) return { result: { removed: false } };
        const others = nodes.filter((n) => n.connectionId !== input.connectionId);
        const kept = isRootLogin(doc.rootIdentity.subject, node)
          ? signInNode(doc._id, doc.rootIdentity.subject, doc.createdAt, node.linkOrigin)
          : undefined;
        if (kept && node.source === 'sign_in' && node.status === 'active') return { result: { removed: false } };
        return {
          set: { connected_providers: { nodes: kept ? [...others, kept] : others } },
          result: { removed: true },
        };
      });
    },

    /**
     * Show a social root identity's provider account among the connections (`source: 'sign_in'`), once. A
     * password or passwordless root has none; an account that linked the same provider account already marks
     * that node `signIn`. `provider`/`connectionId` name the node when there is one.
     */
    async addSignInConnection(input: {
      accountId: string;
      workflowId: string;
      requestedBy: string;
    }): Promise<SignInConnectionResult> {
      return modify(
        input.accountId,
        signInConnectionChange({ workflowId: input.workflowId, requestedBy: input.requestedBy }),
      );
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

    /**
     * The account that holds this provider account: connected to it, or its root login identity (signed up
     * with it; accounts from before sign-in nodes are found by their subject). A connection elsewhere counts
     * before a root identity, so an approved move takes that connection.
     */
    async findConnectionOwner(input: { provider: string; providerAccountId: string }): Promise<ConnectionOwner> {
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
        if (!node) continue;
        const rootIdentity = node.signIn === true || isRootLogin(doc.rootIdentity.subject, node);
        return {
          accountId: doc._id,
          connectionId: node.connectionId,
          ...(rootIdentity ? { rootIdentity, signInOnly: node.source === 'sign_in' } : {}),
        };
      }
      const root = await accounts.findOne(
        { 'rootIdentity.subject': rootSubjectOf(input.provider as ProviderId, input.providerAccountId) },
        { projection: { _id: 1 } },
      );
      return root ? { accountId: root._id, rootIdentity: true, signInOnly: true } : {};
    },

    /**
     * Evidence for support (never a reason to link by itself): the other accounts whose verified root address
     * is the linked provider account's verified address, and whether the linking account's (`accountId`) is.
     * The address arrives sealed (`LinkedProfile.personal`) and is compared through the keyed lookup hash, so
     * neither the history nor the result holds it.
     */
    async findVerifiedEmailMatches(input: {
      accountId: string;
      personal?: string;
      emailVerified: boolean;
    }): Promise<{ accountIds: string[]; requester: boolean }> {
      const none = { accountIds: [], requester: false };
      if (!input.emailVerified) return none;
      const { email } = await openFromHistory<LinkedPersonal>(
        accountKeys,
        input.accountId,
        linkedProfileContext,
        input.personal,
      );
      if (!email) return none;
      const matches = await accounts
        .find(
          { 'rootIdentity.emailLookup': await emailLookupOf(vault, email), 'rootIdentity.emailVerified': true },
          { projection: { _id: 1 } },
        )
        .toArray();
      const ids = matches.map((m) => m._id);
      return {
        accountIds: ids.filter((id) => id !== input.accountId).sort(),
        requester: ids.includes(input.accountId),
      };
    },

    /** Create the account-center document unless it exists; `created` says which. */
    async createAccountCenter(sent: CreateAccountCenterInput): Promise<{ created: boolean }> {
      const { profile, ...clear } = sent;
      const input = {
        ...clear,
        ...(await openFromHistory<SignupPersonal>(accountKeys, sent.accountId, signupProfileContext, profile)),
      };
      const runId = Context.current().info.workflowExecution?.runId;
      const doc = newAccountDocument(input, now().toISOString(), runId);
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
      return modify(input.accountId, accountRoleChange(input.role));
    },

    /**
     * Record consents with their versions (a consent already recorded with the same purpose, version and
     * answer is not recorded again) and fill in profile names the account does not have yet.
     * Returns the consents that were newly recorded, and those of the request that are now in force
     * (`current`): a retry after a crash finds them recorded already, and the audit still needs them.
     */
    async recordSignupDetails(sent: RecordSignupDetailsInput): Promise<{ recorded: Consent[]; current: Consent[] }> {
      const { personal, ...clear } = sent;
      const { givenName, familyName, email } = await openFromHistory<SignupPersonal>(
        accountKeys,
        sent.accountId,
        signupPersonalContext,
        personal,
      );
      return modify(
        sent.accountId,
        signupDetailsChange(
          {
            source: clear.source,
            consents: clear.consents,
            ...(clear.givenName || givenName ? { givenName: (clear.givenName || givenName)! } : {}),
            ...(clear.familyName || familyName ? { familyName: (clear.familyName || familyName)! } : {}),
            ...(email ? { email } : {}),
          },
          now().toISOString(),
        ),
      );
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
