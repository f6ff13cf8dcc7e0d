/**
 * Signup: `signup/<subject>`. Ensures the root identity, creates the account-center document, assigns
 * the default role, records consents, queues a welcome notice and writes the audit trail. Every step is
 * idempotent, so any number of requests — API, Auth0 hook, retries, a rerun after completion — end in one
 * account with the same id.
 */
import { condition, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createAccountActivities } from '../../activities/accounts/activities.js';
import type { createSignupAccountActivities } from '../../activities/accounts/signup-account.js';
import type { createAuditActivities } from '../../activities/audit/activities.js';
import type { createIdentityActivities } from '../../activities/identity/activities.js';
import type { createNotifyActivities } from '../../activities/notify/activities.js';
import { defaultRole } from '../../domain/roles.js';
import { activityOptions, defaultDurations, identityQueueOf } from '../../temporal.config.js';
import { recordStage } from '../shared/stage.js';
import {
  signupDetailsSignal,
  signupStatusQuery,
  type SignupDetails,
  type SignupInput,
  type SignupResult,
  type SignupStage,
} from './messages.js';
import { failure } from '../../domain/failures.js';
import { mergeSignupFields } from '../../domain/signup-details.js';
import { rootLoginIdentity } from '../../domain/root-identity.js';

const accounts = proxyActivities<ReturnType<typeof createAccountActivities>>(activityOptions.accounts);
const signupAccount = proxyActivities<ReturnType<typeof createSignupAccountActivities>>(activityOptions.accounts);
const records = proxyActivities<ReturnType<typeof createNotifyActivities> & ReturnType<typeof createAuditActivities>>(
  activityOptions.records,
);
type IdentityActivities = ReturnType<typeof createIdentityActivities>;

/** What the run has learnt from its details signals so far. */
class SignupState {
  stage: SignupStage = 'waiting_for_details';
  readonly pending: SignupDetails[] = [];
  email?: string;
  emailVerified = false;
  givenName?: string;
  familyName?: string;

  /** Fold the waiting details in; returns them for the steps that act on each request. */
  take(): SignupDetails[] {
    const batch = this.pending.splice(0);
    mergeSignupFields(this, batch);
    return batch;
  }
}

export async function signup(input: SignupInput): Promise<SignupResult> {
  const { subject, accountId } = input;
  const { workflowId, taskQueue } = workflowInfo();
  const identity = proxyActivities<IdentityActivities>({
    ...activityOptions.identity,
    taskQueue: identityQueueOf(taskQueue),
  });
  const state = new SignupState();
  setHandler(signupDetailsSignal, (details) => void state.pending.push(details));
  setHandler(signupStatusQuery, () => ({ stage: state.stage, accountId }));
  const enter = (stage: SignupStage) => {
    state.stage = stage;
    recordStage(stage);
  };

  // An activity retried after a worker crash finds its write done ("not added", nothing new recorded):
  // the audit then writes the role and consents in place, once per event id, not only what the last
  // attempt changed. (`createAccountCenter` already tells a retry of its own insert by the run id.)
  const auditsWhatIsInPlace = patched('signup-audit-after-retry');

  if (!(await condition(() => state.pending.length > 0, input.detailsWait ?? defaultDurations.signupDetailsWait))) {
    throw failure('SignupDetailsMissing', 'no signup details arrived');
  }
  let batch = state.take();
  const first = batch[0]!;
  const actor = (d: SignupDetails) => ({
    type: d.source === 'api' ? ('user' as const) : ('system' as const),
    id: d.requestedBy,
  });

  /** Record one request's consents and names, and audit each consent that is new. */
  const recordDetails = async (details: SignupDetails) => {
    const { recorded, current } = await accounts.recordSignupDetails({
      accountId,
      source: details.source,
      consents: details.consents,
      ...(details.personal ? { personal: details.personal } : {}),
      ...(details.givenName ? { givenName: details.givenName } : {}),
      ...(details.familyName ? { familyName: details.familyName } : {}),
    });
    for (const c of auditsWhatIsInPlace ? (current ?? recorded) : recorded) {
      await records.appendAuditEvent({
        eventId: `${accountId}/consent/${c.purpose}/${c.version}/${c.granted ? 'granted' : 'refused'}`,
        action: c.granted ? 'consent.granted' : 'consent.refused',
        actor: actor(details),
        accountId,
        workflowId,
        details: { purpose: c.purpose, version: c.version, source: details.source },
      });
    }
  };

  // Personal values travel sealed (`SignupDetails.personal`) and are opened only in activities: the identity
  // step merges the requests' details and hands the account step a sealed profile. Runs begun before keep
  // the values they were sent in clear.
  const sealedDetails = patched('signup-personal-sealed');
  const identityDetails = (requests: SignupDetails[]) =>
    requests.map(({ personal, emailVerified, email, givenName, familyName }) => ({
      ...(personal ? { personal } : {}),
      ...(emailVerified !== undefined ? { emailVerified } : {}),
      ...(email ? { email } : {}),
      ...(givenName ? { givenName } : {}),
      ...(familyName ? { familyName } : {}),
    }));

  // Three activities instead of up to eleven: one account step writes the document, the notice and the
  // audit events (each activity is a round trip through Temporal, and the writes go in batches), while the
  // directory gets its role beside it. Runs begun before keep their steps.
  if (sealedDetails && patched('signup-one-account-step')) {
    enter('identity');
    const root = await identity.ensureSignupIdentity({ subject, accountId, details: identityDetails(batch) });
    enter('account');
    const accountStep = async (requests: SignupDetails[]) =>
      signupAccount.setUpSignupAccount({
        accountId,
        subject,
        workflowId,
        directory: root.directory,
        emailVerified: root.emailVerified,
        ...(root.profile ? { profile: root.profile } : {}),
        role: defaultRole,
        requests: requests.map((d) => ({
          source: d.source,
          requestedBy: d.requestedBy,
          consents: d.consents,
          ...(d.personal ? { personal: d.personal } : {}),
          ...(d.givenName ? { givenName: d.givenName } : {}),
          ...(d.familyName ? { familyName: d.familyName } : {}),
        })),
      });
    // The directory's role is its own identity activity: the queue's rate cap counts directory calls.
    // Requests that came during the identity step are folded in now, so the welcome greets by their names.
    const [{ created }] = await Promise.all([
      accountStep([...batch, ...state.take()]),
      identity.assignDirectoryRole({ subject, role: defaultRole }),
    ]);
    // Later requests (the hook and the API both signing the person up) go through the account step again.
    // Nothing is awaited between the last `take` and completion (see the end of this function).
    for (batch = state.take(); batch.length > 0; batch = state.take()) await accountStep(batch);
    enter('completed');
    return { accountId, created };
  }

  enter('identity');
  let directory: 'embedded' | 'auth0';
  let email: string | undefined;
  let emailVerified: boolean;
  let hasEmail: boolean;
  let profile: string | undefined;
  if (sealedDetails) {
    const root = await identity.ensureSignupIdentity({ subject, accountId, details: identityDetails(batch) });
    ({ directory, emailVerified, hasEmail, profile } = root);
  } else {
    const root = await identity.ensureRootIdentity({
      subject,
      accountId,
      ...(state.email ? { email: state.email } : {}),
      emailVerified: state.emailVerified,
      ...(state.givenName ? { givenName: state.givenName } : {}),
      ...(state.familyName ? { familyName: state.familyName } : {}),
    });
    // The directory is the authority on the email address and whether it is verified.
    directory = root.directory;
    email = root.email ?? state.email;
    emailVerified = root.email ? root.emailVerified : state.emailVerified;
    hasEmail = email !== undefined;
  }

  enter('account');
  const { created } = await accounts.createAccountCenter({
    accountId,
    subject,
    directory,
    emailVerified,
    ...(profile ? { profile } : {}),
    ...(email ? { email } : {}),
    ...(!sealedDetails && state.givenName ? { givenName: state.givenName } : {}),
    ...(!sealedDetails && state.familyName ? { familyName: state.familyName } : {}),
  });
  if (created) {
    await records.appendAuditEvent({
      eventId: `${accountId}/account.created`,
      action: 'account.created',
      actor: actor(first),
      accountId,
      workflowId,
      details: { directory, source: first.source },
    });
  }

  // A person who signed up with Google (GitHub, …) has that connection from the start: the sign-in itself,
  // with no tokens and no sync. Runs begun before showed only connections the person linked.
  if (patched('signup-sign-in-connection') && rootLoginIdentity(subject)) {
    const signIn = await accounts.addSignInConnection({ accountId, workflowId, requestedBy: first.requestedBy });
    if (signIn.added) {
      await records.appendAuditEvent({
        eventId: `${accountId}/provider.sign_in_connected/${signIn.connectionId}`,
        action: 'provider.sign_in_connected',
        actor: { type: 'system', id: 'signup' },
        accountId,
        workflowId,
        details: { provider: signIn.provider!, connectionId: signIn.connectionId! },
      });
    }
  }

  enter('role');
  await identity.assignDirectoryRole({ subject, role: defaultRole });
  const { added } = await accounts.addAccountRole({ accountId, role: defaultRole });
  if (added || auditsWhatIsInPlace) {
    await records.appendAuditEvent({
      eventId: `${accountId}/role.assigned/${defaultRole}`,
      action: 'role.assigned',
      actor: { type: 'system', id: 'signup' },
      accountId,
      workflowId,
      details: { role: defaultRole },
    });
  }

  enter('consents');
  // Later requests (the hook and the API both signing the person up) are folded in here too.
  while (batch.length > 0) {
    for (const details of batch) await recordDetails(details);
    batch = state.take();
  }

  enter('notice');
  if (hasEmail) {
    // The sealed path lets the activity read the address and the name from the account document.
    const { queued } = sealedDetails
      ? await records.queueAccountNotice({
          idempotencyKey: `${accountId}/welcome`,
          template: 'welcome',
          accountId,
          greet: true,
        })
      : await records.queueNotice({
          idempotencyKey: `${accountId}/welcome`,
          channel: 'email',
          to: email!,
          template: 'welcome',
          accountId,
          ...(state.givenName ? { data: { givenName: state.givenName } } : {}),
        });
    if (queued) {
      await records.appendAuditEvent({
        eventId: `${accountId}/notice.queued/welcome`,
        action: 'notice.queued',
        actor: { type: 'system', id: 'signup' },
        accountId,
        workflowId,
        details: { template: 'welcome', channel: 'email' },
      });
    }
  }

  // Details that arrived while the notice was queued still count. Nothing is awaited between this check
  // and completion, so a signal that arrives later makes Temporal run this task again with it.
  while (state.pending.length > 0) {
    for (const details of state.take()) await recordDetails(details);
  }
  enter('completed');
  return { accountId, created };
}
