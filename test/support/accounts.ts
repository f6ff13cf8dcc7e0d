/** Helpers for tests that need a signed-up person. */
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { call, eventually, tokenFor, type TestStack } from './stack.js';

export interface SignedUp {
  subject: string;
  token: string;
  accountId: string;
}

/** Sign a person up over HTTP and wait until the signup workflow has finished. */
export async function signedUp(stack: TestStack, subject: string, opts: { email?: string; permissions?: string[] } = {}): Promise<SignedUp> {
  const token = await tokenFor(stack, subject, { email: opts.email ?? `${subject.replace(/\W/g, '-')}@example.com`, ...(opts.permissions ? { permissions: opts.permissions } : {}) });
  const res = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
    token, json: { givenName: 'Test', familyName: 'Person', consents: [{ purpose: 'terms', version: '1', granted: true }] },
  });
  if (res.status !== 202) throw new Error(`signup answered ${res.status}: ${JSON.stringify(res.body)}`);
  await eventually(async () => {
    const status = await call<{ status: string }>(stack, 'GET', `/v1/workflows/${encodeURIComponent(res.body.workflowId)}`, { token });
    return status.body.status === 'completed' ? true : undefined;
  }, `signup of ${subject}`);
  return { subject, token, accountId: res.body.accountId };
}

export interface LinkAnswer {
  workflowId: string;
  /** What the callback answered (JSON): `{status: 'linked' | 'pending_review' | …, detail?}`. */
  answer: { status: number; body: { status: string; detail?: string } };
}

/** Start linking, approve at the sandbox's consent page as `username`, and deliver the callback as a browser would. */
export async function linkThroughSandbox(stack: TestStack, who: SignedUp, provider: string, username: string): Promise<LinkAnswer> {
  const started = await call<{ workflowId: string; authorizationUrl: string }>(stack, 'POST', `/v1/me/providers/${provider}/link`, { token: who.token, json: {} });
  if (started.status !== 202) throw new Error(`link answered ${started.status}: ${JSON.stringify(started.body)}`);
  const callback = await completeConsent(started.body.authorizationUrl, { username });
  const answer = await call<{ status: string; detail?: string }>(stack, 'GET', `${callback.pathname}${callback.search}`, { headers: { accept: 'application/json' } });
  return { workflowId: started.body.workflowId, answer };
}
