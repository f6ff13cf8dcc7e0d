/**
 * A bench person with GitHub linked through the real flow: signup over HTTP, `POST …/github/link`, the
 * sandbox's consent page, the callback, and the link's own first sync (of nothing: every dataset is
 * emptied first, so the measured sync starts from an empty account).
 */
import { accountIdForSubject } from '../domain/account-id.js';
import type { AccountDocument } from '../domain/account-center.js';
import { collections } from '../domain/collections.js';
import { workflowIds } from '../domain/ids.js';
import { completeConsent } from '../deploy/sandbox/driver.js';
import type { SandboxProvider } from '../deploy/sandbox/sandbox-provider.js';
import { within } from './measure.js';
import { decodingClient, type BenchStack } from './stack.js';

export interface LinkedAccount {
  subject: string;
  token: string;
  accountId: string;
  /** The sandbox username the connection belongs to: its datasets are what the syncs read. */
  username: string;
  connectionId: string;
}

const provider = 'github';
const stepTimeoutMs = 120_000;

async function api<T>(
  stack: BenchStack,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; accept?: string } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  if (opts.accept) headers.accept = opts.accept;
  const res = await fetch(`${stack.live.baseUrl}${path}`, {
    method,
    headers,
    ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the text is the body, for the error message.
  }
  return { status: res.status, body: body as T };
}

function expectStatus(what: string, res: { status: number; body: unknown }, status: number): void {
  if (res.status !== status)
    throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
}

export function sandboxOf(stack: BenchStack): SandboxProvider {
  if (!stack.sandbox) throw new Error('the sync benchmark needs the stack started with the sandbox provider');
  return stack.sandbox;
}

export async function linkedAccount(stack: BenchStack, subject: string, username: string): Promise<LinkedAccount> {
  const sandbox = sandboxOf(stack);
  const token = await stack.issuer.issue({ subject, email: `${username}@bench.example`, emailVerified: true });
  const signup = await api<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
    token,
    json: {
      givenName: 'Ada',
      familyName: 'Lovelace',
      consents: [{ purpose: 'terms', version: '2024-01', granted: true }],
    },
  });
  expectStatus('POST /v1/signup', signup, 202);
  await within(
    stepTimeoutMs,
    `signup of ${subject}`,
    decodingClient(stack).workflow.getHandle(signup.body.workflowId).result(),
  );
  const accountId = accountIdForSubject(subject);

  // Nothing for the link's own first sync to import: the measured sync is the one that brings the records.
  for (const kind of sandbox.data.kinds(provider)) sandbox.data.setCount(provider, username, kind, 0);
  const started = await api<{ authorizationUrl: string }>(stack, 'POST', `/v1/me/providers/${provider}/link`, {
    token,
    json: {},
  });
  expectStatus(`POST /v1/me/providers/${provider}/link`, started, 202);
  const callback = await completeConsent(started.body.authorizationUrl, { username });
  // Handed over under the person's own token: the public callback needs their signed-in browser.
  const linked = await api<{ status?: string }>(stack, 'POST', `/v1/me/providers/${provider}/link/complete`, {
    token,
    json: { state: callback.searchParams.get('state'), code: callback.searchParams.get('code') },
  });
  if (linked.body.status !== 'linked')
    throw new Error(`the ${provider} callback answered ${linked.status}: ${JSON.stringify(linked.body).slice(0, 300)}`);
  await within(
    stepTimeoutMs,
    'the link’s first sync',
    decodingClient(stack).workflow.getHandle(workflowIds.sync(accountId, provider)).result(),
  );

  const account = await stack.db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId });
  const node = account?.connected_providers.nodes.find((n) => n.provider === provider && n.status === 'active');
  if (!node) throw new Error(`${accountId} has no active ${provider} connection after linking`);
  return { subject, token, accountId, username, connectionId: node.connectionId };
}

/** `POST /v1/me/providers/github/sync`: the id of the sync workflow it started. */
export async function requestSync(stack: BenchStack, account: LinkedAccount): Promise<string> {
  const res = await api<{ workflowId: string }>(stack, 'POST', `/v1/me/providers/${provider}/sync`, {
    token: account.token,
  });
  expectStatus(`POST /v1/me/providers/${provider}/sync`, res, 202);
  return res.body.workflowId;
}
