/** Helpers for tests that need a signed-up person. */
import { createBrowserSession, sessionCookieSpec } from '../../api/session/browser-session.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { insertExistingPerson } from './account-documents.js';
import { call, eventually, tokenFor, type JsonResponse, type TestStack } from './stack.js';

export interface SignedUp {
  subject: string;
  token: string;
  accountId: string;
}

/** Sign a person up over HTTP and wait until the signup workflow has finished. */
export async function signedUp(
  stack: TestStack,
  subject: string,
  opts: { email?: string; permissions?: string[] } = {},
): Promise<SignedUp> {
  const token = await tokenFor(stack, subject, {
    email: opts.email ?? `${subject.replace(/\W/g, '-')}@example.com`,
    ...(opts.permissions ? { permissions: opts.permissions } : {}),
  });
  const res = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
    token,
    json: { givenName: 'Test', familyName: 'Person', consents: [{ purpose: 'terms', version: '1', granted: true }] },
  });
  if (res.status !== 202) throw new Error(`signup answered ${res.status}: ${JSON.stringify(res.body)}`);
  await eventually(async () => {
    const status = await call<{ status: string }>(
      stack,
      'GET',
      `/v1/workflows/${encodeURIComponent(res.body.workflowId)}`,
      { token },
    );
    return status.body.status === 'completed' ? true : undefined;
  }, `signup of ${subject}`);
  return { subject, token, accountId: res.body.accountId };
}

export interface LinkAnswer {
  workflowId: string;
  /** What the callback answered (JSON): `{status: 'linked' | 'pending_review' | …, detail?}`. */
  answer: { status: number; body: { status: string; detail?: string } };
}

/** A signed-in browser of `who` at the account center: the `cookie` header value of a fresh session. */
export async function browserSessionOf(stack: TestStack, who: SignedUp): Promise<string> {
  const { cookie } = await createBrowserSession(stack.db, {
    subject: who.subject,
    accountId: who.accountId,
    permissions: [],
    method: 'password',
  });
  return `${sessionCookieSpec(stack.config.publicUrl).name}=${cookie}`;
}

/**
 * Bring the provider's answer back to CRA as `as` would: the browser's redirect to the callback with that
 * account's session cookie (`via: 'session'`), or an app handing it over under its bearer token
 * (`via: 'complete'`, `POST …/link/complete`). Without `as`, the callback with no session at all.
 */
export async function deliverCallback(
  stack: TestStack,
  callback: URL,
  opts: { as?: SignedUp; cookie?: string; via?: 'session' | 'complete'; accept?: string } = {},
): Promise<JsonResponse<{ status: string; detail?: string; type?: string }>> {
  const provider = /\/v1\/oauth\/([^/]+)\/callback$/.exec(callback.pathname)?.[1] ?? 'github';
  if (opts.via === 'complete') {
    if (!opts.as) throw new Error('link/complete needs the account whose token brings the answer');
    const code = callback.searchParams.get('code');
    const error = callback.searchParams.get('error');
    return call(stack, 'POST', `/v1/me/providers/${provider}/link/complete`, {
      token: opts.as.token,
      json: { state: callback.searchParams.get('state'), ...(code ? { code } : {}), ...(error ? { error } : {}) },
    });
  }
  const cookie = opts.cookie ?? (opts.as ? await browserSessionOf(stack, opts.as) : undefined);
  return call(stack, 'GET', `${callback.pathname}${callback.search}`, {
    headers: { accept: opts.accept ?? 'application/json', ...(cookie ? { cookie } : {}) },
  });
}

/**
 * Start linking, approve at the sandbox's consent page as `username`, and deliver the callback as the
 * person's own browser would (signed in to the account center), or through `link/complete`.
 */
export async function linkThroughSandbox(
  stack: TestStack,
  who: SignedUp,
  provider: string,
  username: string,
  opts: { via?: 'session' | 'complete' } = {},
): Promise<LinkAnswer> {
  const started = await call<{ workflowId: string; authorizationUrl: string }>(
    stack,
    'POST',
    `/v1/me/providers/${provider}/link`,
    { token: who.token, json: {} },
  );
  if (started.status !== 202) throw new Error(`link answered ${started.status}: ${JSON.stringify(started.body)}`);
  const callback = await completeConsent(started.body.authorizationUrl, { username });
  const answer = await deliverCallback(stack, callback, { as: who, ...(opts.via ? { via: opts.via } : {}) });
  return { workflowId: started.body.workflowId, answer };
}

/** An account made 90 days ago (as a recovery sees a long-standing one): its document and its identity, verified email. */
export async function longStandingAccount(
  stack: TestStack,
  name: string,
): Promise<{ subject: string; accountId: string; email: string; token: string; longAgo: string }> {
  const subject = `auth0|${name}`;
  const accountId = accountIdForSubject(subject);
  const email = `${name}@example.com`;
  const longAgo = new Date(Date.now() - 90 * 24 * 3600_000).toISOString();
  await insertExistingPerson(stack.db, { subject, accountId, email, at: longAgo, profile: { givenName: name } });
  return { subject, accountId, email, token: await tokenFor(stack, subject, { email }), longAgo };
}
