/**
 * The signup's account step in one activity (patch `signup-one-account-step`): create the account-center
 * document, its sign-in connection, the default role, every request's consents and names, the welcome
 * notice (once per account, to its address when it has one), and the audit events of all of it. It used to be up to ten activities, each a Temporal round trip
 * and a database write of its own; here the document is written once (inserted whole for a new account),
 * and the audit events go on the account's chain in one batch.
 *
 * Idempotent as a whole, so a retry after a worker crash at any point ends the same: the document changes
 * are the same pure changes the single-step activities make (`activities.ts`), the notice has its outbox key,
 * and the audit writes what is in place once per event id (not only what this attempt changed), so events a
 * crashed attempt did not get to are written by the next one.
 */
import { Context } from '@temporalio/activity';
import { MongoServerError } from 'mongodb';
import type { AccountDocument, Consent, RecordedConsent } from '../../domain/account-center.js';
import { failure } from '../../domain/failures.js';
import type { AuditEventInput, AuditLog } from '../audit/audit-log.js';
import type { Notifier } from '../notify/port.js';
import {
  openFromHistory,
  signupPersonalContext,
  signupProfileContext,
  type SignupPersonal,
} from '../secrets/history-values.js';
import {
  accountRoleChange,
  allChanges,
  modifyAccount,
  newAccountDocument,
  signInConnectionChange,
  signupDetailsChange,
  type AccountActivityDeps,
  type SignupDetailsToRecord,
} from './activities.js';
import { sealAccountDocument } from './personal-fields.js';
import { accountsCollection } from './store.js';

export interface SignupAccountDeps extends AccountActivityDeps {
  auditLog: AuditLog;
  notifier: Notifier;
}

/** One signup request as the account step needs it (`SignupDetails` without what the identity step used). */
export interface SignupAccountRequest {
  source: RecordedConsent['source'];
  requestedBy: string;
  consents: Consent[];
  /** The request's sealed `SignupDetails.personal`. */
  personal?: string;
  /** Legacy requests sent the names in clear. */
  givenName?: string;
  familyName?: string;
}

export interface SetUpSignupAccountInput {
  accountId: string;
  subject: string;
  workflowId: string;
  directory: 'embedded' | 'auth0';
  emailVerified: boolean;
  /** The merged profile `ensureSignupIdentity` sealed: the new document's address and names. */
  profile?: string;
  /** The default role. */
  role: string;
  /** The requests to fold in, in arrival order; the first one began the signup. */
  requests: SignupAccountRequest[];
}

export interface SetUpSignupAccountResult {
  /** This run made the account (also on a retry of the attempt that inserted it). */
  created: boolean;
}

const signupActor = { type: 'system', id: 'signup' } as const;
const actorOf = (r: Pick<SignupAccountRequest, 'source' | 'requestedBy'>) => ({
  type: r.source === 'api' ? ('user' as const) : ('system' as const),
  id: r.requestedBy,
});

export function createSignupAccountActivities(deps: SignupAccountDeps) {
  const { db, accountKeys, vault, auditLog, notifier, now = () => new Date() } = deps;
  const accounts = accountsCollection(db);

  return {
    async setUpSignupAccount(input: SetUpSignupAccountInput): Promise<SetUpSignupAccountResult> {
      const { accountId, workflowId } = input;
      const first = input.requests[0];
      if (!first) throw failure('SignupDetailsMissing', 'the account step got no signup request');
      const runId = Context.current().info.workflowExecution?.runId;
      const at = now().toISOString();
      const requests: SignupDetailsToRecord[] = await Promise.all(
        input.requests.map(async (r) => {
          const opened = await openFromHistory<SignupPersonal>(
            accountKeys,
            accountId,
            signupPersonalContext,
            r.personal,
          );
          const givenName = r.givenName || opened.givenName;
          const familyName = r.familyName || opened.familyName;
          return {
            source: r.source,
            consents: r.consents,
            ...(givenName ? { givenName } : {}),
            ...(familyName ? { familyName } : {}),
            ...(opened.email ? { email: opened.email } : {}),
          };
        }),
      );
      const changes = allChanges([
        signInConnectionChange({ workflowId, requestedBy: first.requestedBy }),
        accountRoleChange(input.role),
        allChanges(requests.map((r) => signupDetailsChange(r, at))),
      ]);

      // A new account is inserted with everything in place; an existing one is changed in one write.
      let created: boolean;
      let outcome: ReturnType<typeof changes>['result'];
      let account: AccountDocument;
      const fresh = newAccountDocument(
        {
          accountId,
          subject: input.subject,
          directory: input.directory,
          emailVerified: input.emailVerified,
          ...(await openFromHistory<SignupPersonal>(accountKeys, accountId, signupProfileContext, input.profile)),
        },
        at,
        runId,
      );
      const planned = changes(fresh);
      try {
        account = { ...fresh, ...planned.set };
        // insertOne rather than an upsert with $setOnInsert: FerretDB 1.x drops empty top-level arrays from the latter.
        await accounts.insertOne(await sealAccountDocument(accountKeys, vault, account));
        created = true;
        outcome = planned.result;
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
        const existing = await accounts.findOne({ _id: accountId });
        if (existing && existing.rootIdentity.subject !== input.subject)
          throw failure('AccountConflict', `account ${accountId} belongs to another identity`);
        // A retry of the attempt that inserted it (the worker died before reporting) still created it.
        created = runId !== undefined && existing?.createdByRun === runId;
        let after: AccountDocument | undefined;
        outcome = await modifyAccount(
          deps,
          accountId,
          (doc) => {
            const step = changes(doc);
            after = { ...doc, ...step.set };
            return step;
          },
          existing ?? undefined,
        );
        account = after!;
      }
      const [signIn, , details] = outcome;

      let welcomed = false;
      const to = account.rootIdentity.email;
      if (to) {
        const givenName = account.profile.givenName;
        const { queued } = await notifier.send({
          idempotencyKey: `${accountId}/welcome`,
          channel: 'email',
          to,
          template: 'welcome',
          accountId,
          ...(givenName ? { data: { givenName } } : {}),
        });
        // Queued before by this run's crashed attempt: still this run's notice.
        welcomed = queued || created;
      }

      const events: AuditEventInput[] = [];
      const event = (e: Omit<AuditEventInput, 'accountId' | 'workflowId'>) =>
        events.push({ ...e, accountId, workflowId });
      if (created)
        event({
          eventId: `${accountId}/account.created`,
          action: 'account.created',
          actor: actorOf(first),
          details: { directory: input.directory, source: first.source },
        });
      const signInNode = account.connected_providers.nodes.find((n) => n.connectionId === signIn.connectionId);
      if (signIn.added || (signInNode?.source === 'sign_in' && created))
        event({
          eventId: `${accountId}/provider.sign_in_connected/${signIn.connectionId}`,
          action: 'provider.sign_in_connected',
          actor: signupActor,
          details: { provider: signIn.provider!, connectionId: signIn.connectionId! },
        });
      // The role and the consents in force are audited as they are in place (see the top of this file).
      event({
        eventId: `${accountId}/role.assigned/${input.role}`,
        action: 'role.assigned',
        actor: signupActor,
        details: { role: input.role },
      });
      details.forEach(({ current }, i) => {
        const request = input.requests[i]!;
        for (const c of current)
          event({
            eventId: `${accountId}/consent/${c.purpose}/${c.version}/${c.granted ? 'granted' : 'refused'}`,
            action: c.granted ? 'consent.granted' : 'consent.refused',
            actor: actorOf(request),
            details: { purpose: c.purpose, version: c.version, source: request.source },
          });
      });
      if (welcomed)
        event({
          eventId: `${accountId}/notice.queued/welcome`,
          action: 'notice.queued',
          actor: signupActor,
          details: { template: 'welcome', channel: 'email' },
        });
      await auditLog.appendMany(events);
      return { created };
    },
  };
}
