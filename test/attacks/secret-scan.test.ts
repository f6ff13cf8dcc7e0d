/**
 * Secret scan of a whole run (issue 15, attack suite): every process of CRA runs once through the real API over
 * HTTP, against the Vault stand-in as the SecretVault and the sandbox as every provider, with the workers as a
 * separate process (`npm run worker`: its log is what an operator ships) at debug level, the most an operator
 * turns on to look into a problem (at info a healthy run logs one line; at debug every task, with its ids). The test
 * keeps every secret the run hands out or uses — provider tokens and codes, OAuth state, nonces and PKCE
 * verifiers, JWTs and session cookies, recovery codes, tokens, cancel links and password tickets, export and
 * erasure link tokens, hook and agent signatures, Vault's token and every key it holds — and the personal
 * values it puts in. Then it lists every workflow run on the stack's task queues (children and
 * continued-as-new runs included), reads each history as Temporal exports it and decoded with the codec, and
 * scans them, the API's log and the worker's log for every one of those values, in clear, base64 and base64url.
 */
import { createHash, generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signatureHeaderValue } from '../../api/auth/hook-signature.js';
import { signRequest } from '../../api/auth/http-signatures.js';
import {
  linkAttempts,
  openProviderToken,
  providerTokens,
  vaultKeys,
  type ProviderTokenDocument,
} from '../../activities/providers/stores.js';
import { providerRecords } from '../../activities/records/store.js';
import type { ProviderRecordDocument } from '../../domain/records.js';
import { payloadKeySecretPath } from '../../activities/secrets/payload-codec.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { base32Decode, hotp, totpStep } from '../../domain/recovery.js';
import { taskQueueNames } from '../../temporal.config.js';
import { custodyStateQuery } from '../../workflows/tokens/messages.js';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import { fieldValue, HttpBrowser } from '../support/http-browser.js';
import { browserSessionOf, deliverCallback, longStandingAccount, type SignedUp } from '../support/accounts.js';
import { recordContentValues } from '../support/account-documents.js';
import { noticesTo, type OutboxNotice } from '../support/outbox.js';
import {
  historyHaystacks,
  scanForSecrets,
  SecretCatalog,
  workflowRuns,
  workflowRunsOn,
  type Haystack,
} from '../support/secret-scan.js';
import { call, eventually, hookSecrets, tokenFor, useTestStack } from '../support/stack.js';
import { startVaultStandIn, type VaultStandIn } from '../support/vault-stand-in.js';
import { startWorkerProcess, workerLog, workerProcesses, workerReady } from '../support/worker-process.js';

const run = randomBytes(3).toString('hex');
/** Letters only (names are checked), and rare enough that a match can only be a leak. */
const rareName = (first: string) =>
  first + Array.from({ length: 6 }, () => 'bcdfghjklmnpqrstvwxz'[randomInt(20)]).join('');

const vaultToken = `scan-vault-${randomBytes(16).toString('hex')}`;
const codecLocalToken = randomBytes(24).toString('base64url');
let vault: VaultStandIn | undefined;

// Registered before the stack's hooks, so they run after its stop: the workers go, then Vault.
afterAll(async () => {
  for (const child of workerProcesses) child.kill('SIGKILL');
  await vault?.close();
});

const stack = useTestStack(async () => {
  vault = await startVaultStandIn({ token: vaultToken });
  return {
    workers: false,
    // Access tokens live 20 s and are refreshed 15 s early: custody refreshes every 5 s while the run goes on.
    sandbox: { accessTokenTtlSeconds: 20 },
    env: {
      VAULT_ADDR: vault.endpoint,
      VAULT_TOKEN: vaultToken,
      CRA_CODEC_LOCAL_TOKEN: codecLocalToken,
      TOKEN_REFRESH_MARGIN: '15 seconds',
      // One page per sync run: every sync continues as new between its pages.
      SYNC_PAGE_SIZE: '5',
      SYNC_BATCH_PAGES: '1',
      SYNC_MAX_PAGES_PER_RUN: '1',
      RECOVERY_COOLING_PERIOD: '3s',
      RECOVERY_NOTICE_INTERVAL: '1s',
      RECOVERY_RATE_LIMIT_PER_IP: '1000',
      RECOVERY_RATE_LIMIT_PER_EMAIL: '1000',
      // The export's link (and its archive) expire soon after the download, so the export ends inside the run.
      EXPORT_LINK_TTL: '6 seconds',
      ERASURE_GRACE_PERIOD: '3s',
      DELETED_ACCOUNT_RETENTION: '2s',
    },
  };
});

const secrets = new SecretCatalog();
/** Personal values: sealed wherever they are kept, so never in clear in a history or a log. */
const personal = new SecretCatalog();
/** Ids that are no secret: the scan must find them, or it read nothing. */
const accountIds = new Set<string>();
const recoveryIds = new Set<string>();
/** Every workflow the run started, from the API's answers: the listing must hold each. */
const startedWorkflows = new Set<string>();
/**
 * The runs of the account being erased, read just before the erasure that removes them from Temporal (their
 * histories name the person): scanned with the rest.
 */
const erasedRuns = new Map<string, { run: WorkflowExecutionInfo; raw: Haystack; decoded: Haystack; events: number }>();

beforeAll(async () => {
  await workerReady(
    await startWorkerProcess(stack.env, { LOG_LEVEL: 'debug', WORKFLOW_BUNDLE: inject('workflowBundlePath') }),
  );
}, 120_000);

// ---- what a person does, and the secrets each step hands out ----------------------------------------------

async function bearer(subject: string, extra: { email?: string; permissions?: string[] } = {}): Promise<string> {
  const token = await tokenFor(stack, subject, extra);
  secrets.add('access token (JWT)', token);
  secrets.add('JWT signature', token.split('.')[2]);
  return token;
}

async function sessionCookie(who: SignedUp): Promise<string> {
  const cookie = await browserSessionOf(stack, who);
  secrets.add('session cookie', cookie.slice(cookie.indexOf('=') + 1));
  return cookie;
}

/** A workflow's result, once it ends; the workflow goes on the list of those the listing must hold. */
function finished(workflowId: string): Promise<unknown> {
  startedWorkflows.add(workflowId);
  return stack.temporal.workflow.getHandle(workflowId).result();
}

async function workflowDone(workflowId: string, token: string): Promise<void> {
  startedWorkflows.add(workflowId);
  await eventually(async () => {
    const res = await call<{ status: string }>(stack, 'GET', `/v1/workflows/${encodeURIComponent(workflowId)}`, {
      token,
    });
    return res.body.status === 'completed' ? true : undefined;
  }, `${workflowId} to complete`);
}

interface Person extends SignedUp {
  email: string;
}

/** Sign up over HTTP with an issuer token, names and consents, and wait for the signup to finish. */
async function signUp(name: string): Promise<Person> {
  const subject = `auth0|scan-${name}-${run}`;
  const email = `scan-${name}-${run}@example.com`;
  const [givenName, familyName] = [rareName('Ada'), rareName('Lov')];
  personal.add('email', email);
  personal.add('given name', givenName);
  personal.add('family name', familyName);
  const token = await bearer(subject, { email });
  const res = await call<{ workflowId: string; accountId: string }>(stack, 'POST', '/v1/signup', {
    token,
    json: { givenName, familyName, consents: [{ purpose: 'terms', version: '2026-11', granted: true }] },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  accountIds.add(res.body.accountId);
  await workflowDone(res.body.workflowId, token);
  return { subject, token, accountId: res.body.accountId, email };
}

/** The Auth0 post-registration hook, signed with the current secret. */
async function signUpByHook(name: string): Promise<void> {
  const subject = `auth0|scan-hook-${name}-${run}`;
  const email = `scan-hook-${name}-${run}@example.com`;
  const [givenName, familyName] = [rareName('Gra'), rareName('Hop')];
  for (const [kind, value] of [
    ['email', email],
    ['given name', givenName],
    ['family name', familyName],
  ] as const)
    personal.add(kind, value);
  const body = JSON.stringify({
    user: { user_id: subject, email, email_verified: true, given_name: givenName, family_name: familyName },
    consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
  });
  const signature = signatureHeaderValue(hookSecrets[0], body);
  for (const secret of hookSecrets) secrets.add('signup hook secret', secret);
  secrets.add('signup hook signature', signature.split('v1=')[1]);
  const res = await call<{ workflowId: string; accountId: string }>(
    stack,
    'POST',
    '/v1/hooks/auth0/post-registration',
    {
      body,
      headers: { 'content-type': 'application/json', 'CRA-Signature': signature },
    },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  accountIds.add(res.body.accountId);
  await finished(res.body.workflowId);
}

/**
 * The account center's own sign-in over plain HTTP, as a browser goes through it: OpenID Connect (code, PKCE,
 * state, nonce) at the embedded issuer, whose page signs the person up, the address confirmed from the email,
 * then the password. The first sign-in starts the account's signup.
 */
async function signUpAtTheIssuer(): Promise<void> {
  const browser = new HttpBrowser();
  const email = `scan-oidc-${run}@example.com`;
  const password = `a passphrase of ${randomBytes(12).toString('hex')}`;
  const [givenName, familyName] = [rareName('Ali'), rareName('Tur')];
  personal.add('email', email);
  personal.add('given name', givenName);
  personal.add('family name', familyName);
  secrets.add('password', password);
  const signInPage = await browser.open(`${stack.baseUrl}/account/sign-in`);
  expect(signInPage.status).toBe(200);
  const authorize = browser.visited.find((u) => u.searchParams.has('code_challenge'))!;
  secrets.add('OAuth state', authorize.searchParams.get('state'));
  secrets.add('OIDC nonce', authorize.searchParams.get('nonce'));
  secrets.add('PKCE challenge', authorize.searchParams.get('code_challenge'));
  const interaction = signInPage.url.toString();
  const signUpPage = await browser.open(`${interaction}/sign-up`);
  const terms = fieldValue(signUpPage.html, 'terms')!;
  const created = await browser.open(`${interaction}/sign-up`, {
    form: { email, password, givenName, familyName, terms },
  });
  expect(created.status, created.html).toBe(200);
  const verification = await noticeOf(email, 'email-verification');
  const verifyLink = new URL(/https?:\/\/\S+/.exec(verification.body)![0]);
  const confirmed = await browser.open(new URL(verifyLink.pathname, stack.baseUrl), {
    form: { token: verifyLink.searchParams.get('token')! },
  });
  expect(confirmed.status, confirmed.html).toBe(200);
  const home = await browser.open(`${interaction}/password`, { form: { email, password } });
  expect(home.url.pathname, home.html).toBe('/account');
  expect(home.status).toBe(200);
  const callback = browser.visited.find((u) => u.pathname === '/account/callback')!;
  secrets.add('authorization code', callback.searchParams.get('code'));
  // The issuer's interaction cookie holds the interaction's id, which its URLs carry too (a handle, not a
  // secret: the cookie's `.sig` twin, a MAC under the issuer's key, is what binds it to this browser).
  const inUrls = (value: string) => browser.visited.some((u) => u.pathname.split('/').includes(value));
  for (const [name, value] of browser.cookies)
    if (value.length >= 16 && !inUrls(value))
      secrets.add(name === 'cra_session' ? 'session cookie' : `sign-in cookie (${name})`, value);
  expect(browser.cookies.has('cra_session')).toBe(true);
  secrets.add('CSRF token', fieldValue(home.html, 'csrf'));
  const user = await stack.db.collection<{ _id: string }>(collections.identityUsers).findOne({ email });
  accountIds.add(accountIdForSubject(user!._id));
  await eventually(async () => {
    const runs = await workflowRuns(stack.temporal, `WorkflowId = "signup/${user!._id}"`);
    return runs.length > 0 ? true : undefined;
  }, 'the signup of the first sign-in');
  await finished(`signup/${user!._id}`);
}

/** Link a provider through the sandbox: state, nonce, PKCE challenge and verifier, the code, the session. */
async function link(who: Person, provider: string, username: string): Promise<string> {
  const started = await call<{ workflowId: string; authorizationUrl: string }>(
    stack,
    'POST',
    `/v1/me/providers/${provider}/link`,
    { token: who.token, json: {} },
  );
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const url = new URL(started.body.authorizationUrl);
  const state = url.searchParams.get('state')!;
  secrets.add('OAuth state', state);
  secrets.add('PKCE challenge', url.searchParams.get('code_challenge'));
  secrets.add('OIDC nonce', url.searchParams.get('nonce'));
  // The verifier never leaves CRA: read it, sealed, from the attempt while it waits for the callback.
  const attempt = await linkAttempts(stack.db).findOne({
    _id: createHash('sha256').update(state).digest('hex') as never,
  });
  secrets.add('PKCE verifier', await stack.deps.vault.decrypt(vaultKeys.linkSecrets, attempt!.codeVerifierCiphertext!));
  const email = `${username}@${provider}.sandbox.test`;
  personal.add('provider account email', email);
  const callback = await completeConsent(started.body.authorizationUrl, { username, email });
  secrets.add('authorization code', callback.searchParams.get('code'));
  const answer = await deliverCallback(stack, callback, { cookie: await sessionCookie(who) });
  expect(answer.body, JSON.stringify(answer.body)).toMatchObject({ status: 'linked' });
  await collectProviderTokens();
  startedWorkflows.add(started.body.workflowId);
  startedWorkflows.add(`tokens/${who.accountId}/${provider}`);
  return started.body.workflowId;
}

/** Every token version the custody store has held: read (and opened) often enough to see each refresh. */
const tokenVersionsSeen = new Set<string>();
async function collectProviderTokens(): Promise<void> {
  for (const doc of await providerTokens(stack.db).find({}).toArray()) {
    const key = `${doc._id}/${doc.version}`;
    if (tokenVersionsSeen.has(key) || doc.status !== 'active') continue;
    const open = (which: 'access' | 'refresh', sealed: string) =>
      openProviderToken(stack.deps.accountKeys, stack.deps.vault, doc as ProviderTokenDocument, which, sealed);
    secrets.add('provider access token', await open('access', doc.accessTokenCiphertext));
    if (doc.refreshTokenCiphertext)
      secrets.add('provider refresh token', await open('refresh', doc.refreshTokenCiphertext));
    tokenVersionsSeen.add(key);
  }
}

/** Every notice in the outbox, opened: its codes and the tokens of its links are secrets, its addressee personal. */
const noticesSeen = new Set<string>();
const templatesSeen = new Set<string>();
async function collectNotices(): Promise<OutboxNotice[]> {
  const notices = await noticesTo(stack, {});
  for (const n of notices) {
    if (noticesSeen.has(n.id)) continue;
    noticesSeen.add(n.id);
    templatesSeen.add(n.template);
    personal.add(n.channel === 'email' ? 'email' : `${n.channel} address`, n.to);
    if (n.data?.code !== undefined) secrets.add(`code (${n.template})`, String(n.data.code));
    const text = [n.body, ...Object.values(n.data ?? {}).map(String)].join('\n');
    for (const found of text.match(/https?:\/\/\S+/g) ?? []) {
      for (const [param, value] of new URL(found).searchParams)
        if (value.length >= 16) secrets.add(`${param} of a ${n.template} link`, value);
    }
  }
  return notices;
}

/** The newest notice of a template to an address, once it is there. */
async function noticeOf(to: string, template: string): Promise<OutboxNotice> {
  return eventually(async () => {
    const found = (await collectNotices()).find((n) => n.to === to && n.template === template);
    return found;
  }, `a ${template} notice to ${to}`);
}

/**
 * What the records hold, sealed with the account's key. The provider's login is not among them: the connection's
 * provider account id (`github:<login>`) is an id, kept in clear as every id is.
 */
async function recordContents(records: ProviderRecordDocument[], logins: string[]): Promise<void> {
  for (const value of await recordContentValues(stack.deps.accountKeys, records))
    if (!logins.includes(value)) personal.add('record content', value);
}

// ---- the processes --------------------------------------------------------------------------------------

/** Signup, two links (custody refreshing, syncs continuing as new), sync now, export and its download, disconnects. */
async function connections(): Promise<void> {
  const who = await signUp('links');
  const sandbox = stack.sandbox!.data;
  const github = `scan-gh-${run}`;
  const google = `scan-go-${run}`;
  for (const kind of sandbox.kinds('github')) sandbox.setCount('github', github, kind, 7);
  for (const kind of sandbox.kinds('google')) sandbox.setCount('google', google, kind, 3);
  await link(who, 'github', github);
  await link(who, 'google', google);
  for (const provider of ['github', 'google']) await finished(`sync/${who.accountId}/${provider}`);
  const records = await providerRecords(stack.db).find({ accountId: who.accountId }).toArray();
  expect(records.length).toBeGreaterThan(10);
  await recordContents(records, [github, google]);

  // The custodian refreshes on its own: wait for two refreshes of GitHub's tokens.
  const custody = stack.temporal.workflow.getHandle(`tokens/${who.accountId}/github`);
  await eventually(
    async () => {
      await collectProviderTokens();
      const state = await custody.query(custodyStateQuery);
      return state.refreshCount >= 2 ? true : undefined;
    },
    'two refreshes',
    40_000,
  );
  const again = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/providers/github/sync', {
    token: who.token,
    json: {},
  });
  expect(again.status, JSON.stringify(again.body)).toBe(202);
  await finished(again.body.workflowId);

  // Export: the archive, its signed download link, downloaded with the session.
  const exported = await call<{ exportId: string; workflowId: string }>(stack, 'POST', '/v1/me/exports', {
    token: who.token,
  });
  expect(exported.status, JSON.stringify(exported.body)).toBe(202);
  const ready = await eventually(async () => {
    const res = await call<{ status: string; download?: { url: string } }>(
      stack,
      'GET',
      `/v1/me/exports/${exported.body.exportId}`,
      { token: who.token },
    );
    return res.body.status === 'ready' ? res.body : undefined;
  }, 'the export');
  const download = new URL(ready.download!.url);
  secrets.add('export link signature', download.searchParams.get('signature'));
  const archive = await fetch(download, { headers: { cookie: await sessionCookie(who) } });
  expect(archive.status).toBe(200);
  await archive.arrayBuffer();
  const exportRun = finished(exported.body.workflowId);

  // Disconnect: Google's records deleted, GitHub's kept.
  await collectProviderTokens();
  for (const [provider, retention] of [
    ['google', 'delete'],
    ['github', 'keep'],
  ] as const) {
    const res = await call<{ workflowId: string }>(stack, 'DELETE', `/v1/me/providers/${provider}`, {
      token: who.token,
      json: { retention },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await finished(res.body.workflowId);
  }
  await exportRun;
}

/** A recovery to its end (codes, TOTP, backup code, cooling, reminders, approval, password ticket), one cancelled by its link. */
async function recoveries(): Promise<void> {
  const p = await longStandingAccount(stack, `scan-recovery-${run}`);
  accountIds.add(p.accountId);
  personal.add('email', p.email);
  const token = await bearer(p.subject, { email: p.email });
  const totp = await call<{ secret: string }>(stack, 'POST', '/v1/me/recovery-factors/totp', { token });
  expect(totp.status).toBe(201);
  secrets.add('TOTP seed', totp.body.secret);
  // Each code is taken once and only after the last one's step: the confirmation, then one step per recovery
  // (the check allows a step of drift either way, so the three fit whenever the 30-second window turns).
  const baseStep = totpStep(Date.now());
  const totpCode = (offset: number) => {
    const code = hotp(base32Decode(totp.body.secret), baseStep + offset, 8);
    secrets.add('TOTP code', code);
    return code;
  };
  expect(
    (await call(stack, 'POST', '/v1/me/recovery-factors/totp/confirm', { token, json: { code: totpCode(-1) } })).status,
  ).toBe(200);
  const backup = await call<{ codes: string[] }>(stack, 'POST', '/v1/me/recovery-factors/backup-codes', { token });
  expect(backup.status).toBe(201);
  for (const code of backup.body.codes) secrets.add('backup code', code);

  // An AI agent of theirs (its Ed25519 key registered while signed in) starts one at the end.
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  secrets.add('agent private key', privateKey.export({ format: 'jwk' }).d);
  const agent = await call<{ agentId: string }>(stack, 'POST', '/v1/me/agents', {
    token,
    json: { name: 'Scan assistant', publicKeyJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x } },
  });
  expect(agent.status).toBe(201);

  const start = async () => {
    const res = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
      json: { email: p.email },
    });
    expect(res.status).toBe(202);
    secrets.add('recovery token', res.body.recoveryToken);
    recoveryIds.add(res.body.recoveryId);
    startedWorkflows.add(`recovery/${res.body.recoveryId}`);
    const headers = { 'x-recovery-token': res.body.recoveryToken };
    const path = (rest = '') => `/v1/recoveries/${res.body.recoveryId}${rest}`;
    const submit = (json: unknown) => call<{ accepted: boolean }>(stack, 'POST', path('/factors'), { json, headers });
    const stage = (want: string) =>
      eventually(async () => {
        const s = await call<{ stage: string }>(stack, 'GET', path(), { headers });
        return s.body.stage === want ? s.body : undefined;
      }, `recovery ${res.body.recoveryId} ${want}`);
    const proveEnough = async (backupCode: string, totpOffset: number) => {
      const challenge = await call<{ challengeId: string }>(stack, 'POST', path('/challenges'), {
        json: { factor: 'email_code' },
        headers,
      });
      const notice = await eventually(async () => {
        await collectNotices();
        const found = await noticesTo(stack, { to: p.email, template: 'recovery-code' });
        return found.find((n) => n.idempotencyKey.includes(challenge.body.challengeId));
      }, 'the recovery code');
      const code = String(notice.data?.code);
      expect(
        (await submit({ factor: 'email_code', code, challengeId: challenge.body.challengeId })).body.accepted,
      ).toBe(true);
      expect((await submit({ factor: 'totp', code: totpCode(totpOffset) })).body.accepted).toBe(true);
      expect((await submit({ factor: 'backup_code', code: backupCode })).body.accepted).toBe(true);
      await stage('cooling');
    };
    return { ...res.body, proveEnough, stage, path };
  };

  const completed = await start();
  await completed.proveEnough(backup.body.codes[0]!, 0);
  await new Promise((r) => setTimeout(r, 1_500)); // a reminder or two during the cooling period
  const support = await bearer(`auth0|scan-support-${run}`, { permissions: ['recovery:approve', 'support:read'] });
  const decided = await call(stack, 'POST', `/v1/support/recoveries/${completed.recoveryId}/decision`, {
    token: support,
    json: { decision: 'approve', reason: 'factors check out' },
  });
  expect(decided.status, JSON.stringify(decided.body)).toBe(200);
  await completed.stage('completed');
  await noticeOf(p.email, 'recovery-password-ticket');

  const cancelled = await start();
  await cancelled.proveEnough(backup.body.codes[1]!, 1);
  const started = await eventually(async () => {
    const all = await collectNotices();
    return all.find(
      (n) => n.to === p.email && n.template === 'recovery-started' && n.body.includes(cancelled.recoveryId),
    );
  }, 'the cancel link');
  const cancelLink = new URL(/https?:\/\/\S+\/cancel\?token=\S+/.exec(started.body)![0]);
  expect((await call(stack, 'POST', `${cancelLink.pathname}${cancelLink.search}`)).status).toBe(200);
  await cancelled.stage('cancelled');

  // The agent starts one, signing its request (RFC 9421); the requester cancels it with its recovery token.
  const body = JSON.stringify({ email: p.email });
  const signature = signRequest({
    method: 'POST',
    path: '/v1/agents/recoveries',
    body,
    keyId: agent.body.agentId,
    privateKey,
  });
  secrets.add('agent request signature', /:([A-Za-z0-9+/=]{40,}):/.exec(signature.signature)?.[1]);
  const byAgent = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/agents/recoveries', {
    body,
    headers: { ...signature, 'content-type': 'application/json' },
  });
  expect(byAgent.status, JSON.stringify(byAgent.body)).toBe(202);
  secrets.add('recovery token', byAgent.body.recoveryToken);
  startedWorkflows.add(`recovery/${byAgent.body.recoveryId}`);
  const cancel = await call(stack, 'POST', `/v1/recoveries/${byAgent.body.recoveryId}/cancel`, {
    headers: { 'x-recovery-token': byAgent.body.recoveryToken },
  });
  expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
}

/** An erasure cancelled by the notice's link (the owner signed in, its form's CSRF token), then one to its end. */
async function erasure(): Promise<void> {
  const who = await signUp('erasure');
  const username = `scan-er-${run}`;
  for (const kind of stack.sandbox!.data.kinds('github')) stack.sandbox!.data.setCount('github', username, kind, 2);
  await link(who, 'github', username);
  await finished(`sync/${who.accountId}/github`);
  const records = await providerRecords(stack.db).find({ accountId: who.accountId }).toArray();
  await recordContents(records, [username]);
  await collectProviderTokens();

  const request = async () => {
    const asked = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/erasure', { token: who.token });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    return asked.body.workflowId;
  };
  await request();
  const notice = await noticeOf(who.email, 'erasure-requested');
  const cancelLink = new URL(/https?:\/\/\S+\/account\/erasure\/cancel\?token=\S+/.exec(notice.body)![0]);
  const cookie = await sessionCookie(who);
  const page = await fetch(cancelLink, { headers: { cookie } });
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  secrets.add('CSRF token', csrf);
  const cancelled = await fetch(new URL(cancelLink.pathname, stack.baseUrl), {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: cancelLink.searchParams.get('token')!, csrf: csrf! }).toString(),
  });
  expect(cancelled.status, await cancelled.text()).toBe(200);

  for (const r of await workflowRuns(
    stack.temporal,
    `CraAccountId = "${who.accountId}" OR WorkflowId = "signup/${who.subject}"`,
  ))
    erasedRuns.set(r.runId, { run: r, ...(await historyHaystacks(stack.temporal, stack.codec, r)) });
  const workflowId = await eventually(async () => {
    const again = await call<{ workflowId: string }>(stack, 'POST', '/v1/me/erasure', { token: who.token });
    return again.status === 202 ? again.body.workflowId : undefined;
  }, 'a second erasure request');
  // Its notice opens only until the erasure destroys the account's key: read it at once.
  await eventually(async () => {
    const all = await collectNotices();
    return all.filter((n) => n.to === who.email && n.template === 'erasure-requested').length === 2 ? true : undefined;
  }, 'the second erasure notice');
  await finished(workflowId);
  await finished(`erasure-purge/${who.accountId}`);
}

/** Counts by kind, a kind's variants (`Vault transit key (outbox)`) counted together. */
function summaryOf(catalog: SecretCatalog): string {
  const counts = new Map<string, number>();
  for (const [kind, n] of Object.entries(catalog.kinds())) {
    const family = kind.replace(/ \(.*\)$/, '').replace(/ of an? \S+ link$/, ' of a link');
    counts.set(family, (counts.get(family) ?? 0) + n);
  }
  return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ');
}

// ---- the scan -----------------------------------------------------------------------------------------

const workflowTypes = [
  'signup',
  'linkProvider',
  'tokenCustody',
  'syncProvider',
  'disconnectProvider',
  'recovery',
  'exportData',
  'erasure',
  'erasurePurge',
];

describe('a secret scan of every history and log of a run', () => {
  let runs: WorkflowExecutionInfo[] = [];

  it('runs every process through the API', async () => {
    await Promise.all([connections(), recoveries(), erasure(), signUpByHook('ada'), signUpAtTheIssuer()]);
    await collectNotices();
    await collectProviderTokens();
  }, 120_000);

  it('finds none of the secrets or personal values in any history, decoded or not, or in the logs', async () => {
    // Keys and tokens held by the SecretVault and the installation.
    secrets.add('Vault token', vaultToken);
    secrets.add('codec local endpoint token', codecLocalToken);
    for (const [name, key] of vault!.state.transit)
      for (const version of key.versions) {
        secrets.addKey(`Vault transit key (${name})`, version.key);
        secrets.addKey(`Vault transit HMAC key (${name})`, version.hmacKey);
      }
    for (const [path, { data }] of vault!.state.kv)
      for (const [field, value] of Object.entries(data))
        if (typeof value === 'string' && value.length >= 16 && field !== 'clientId')
          secrets.add(
            path.endsWith(payloadKeySecretPath)
              ? 'payload codec key'
              : `Vault KV secret (${path.replace(/[0-9a-f-]{36}/g, '…')})`,
            value,
          );
    const signing = stack.issuer.signingJwk();
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) secrets.add('issuer signing key', signing[part]);

    // Every run on the stack's queues, once visibility has them all.
    const queues = Object.values(taskQueueNames(stack.config.temporal.taskQueuePrefix));
    runs = await eventually(async () => {
      const stillListed = await workflowRunsOn(stack.temporal, queues);
      const listed = [
        ...stillListed,
        ...[...erasedRuns.values()].map((e) => e.run).filter((r) => !stillListed.some((l) => l.runId === r.runId)),
      ];
      const missing = [
        ...workflowTypes.filter((t) => !listed.some((r) => r.type === t)),
        ...[...startedWorkflows].filter((id) => !listed.some((r) => r.workflowId === id)),
      ];
      const running = listed.filter((r) => r.status.name === 'RUNNING').map((r) => r.workflowId);
      if (missing.length > 0 || running.length > 0)
        throw new Error(`${listed.length} runs; none of ${missing.join(', ')}; running: ${running.join(', ')}`);
      return listed;
    }, 'every run in visibility');
    const byType = Object.fromEntries(workflowTypes.map((t) => [t, runs.filter((r) => r.type === t).length]));
    for (const type of workflowTypes) expect(byType[type], type).toBeGreaterThanOrEqual(1);
    // Children (custody, first sync) and continued-as-new runs are among them.
    expect(runs.some((r) => r.type === 'syncProvider' && r.parentExecution)).toBe(true);
    expect(runs.filter((r) => r.status.name === 'CONTINUED_AS_NEW').length).toBeGreaterThan(3);

    const histories: Haystack[] = [];
    let events = 0;
    for (const r of runs) {
      const {
        raw,
        decoded,
        events: n,
      } = erasedRuns.get(r.runId) ?? (await historyHaystacks(stack.temporal, stack.codec, r));
      histories.push(raw, decoded);
      events += n;
    }
    const logs: Haystack[] = [
      { source: 'API log', text: stack.apiLog.join('\n') },
      { source: 'worker log', text: workerLog.join('\n') },
    ];

    // The scan reads content: every decoded history names a person's account (ids are kept, and needed).
    const ids = new SecretCatalog();
    for (const id of accountIds) ids.add('account id', id);
    for (const id of recoveryIds) ids.add('recovery id', id);
    const idsFound = scanForSecrets(ids, [...histories, ...logs]);
    for (const type of workflowTypes) {
      const decodedOfType = runs
        .filter((r) => r.type === type)
        .map((r) => `decoded history ${r.workflowId} (${r.runId})`);
      expect(
        idsFound.some((f) => decodedOfType.includes(f.source)),
        `no account id in the decoded ${type} histories`,
      ).toBe(true);
    }
    // Temporal's JSON export holds payloads in base64 (the search attributes' in clear): the scan decodes those too.
    expect(idsFound.some((f) => f.form === 'base64' && f.source.startsWith('history '))).toBe(true);
    // The API logs each request's path (recovery ids in them), the worker each task at debug level (workflow ids).
    expect(idsFound.some((f) => f.source === 'API log' && f.kind === 'recovery id')).toBe(true);
    expect(idsFound.some((f) => f.source === 'worker log' && f.kind === 'account id')).toBe(true);
    expect(workerLog.some((l) => l.includes('"worker ready"'))).toBe(true);

    // What the run handed out: every kind the brief names is there.
    const kinds = Object.keys(secrets.kinds()).join('\n');
    for (const kind of [
      'provider access token',
      'provider refresh token',
      'authorization code',
      'OAuth state',
      'PKCE verifier',
      'access token (JWT)',
      'session cookie',
      'recovery token',
      'backup code',
      'code (recovery-code)',
      'token of a recovery-started link',
      'ticket of a recovery-password-ticket link',
      'token of a erasure-requested link',
      'export link signature',
      'signup hook secret',
      'Vault token',
      'Vault transit key',
      'payload codec key',
    ])
      expect(kinds, kind).toContain(kind);
    expect(tokenVersionsSeen.size).toBeGreaterThan(4);

    const leaks = scanForSecrets(secrets, [...histories, ...logs]);
    const exposed = scanForSecrets(personal, [...histories, ...logs]);
    const lines = stack.apiLog.length + workerLog.length;
    console.log(
      `secret scan: ${runs.length} runs of ${new Set(runs.map((r) => r.workflowId)).size} workflows ` +
        `(every one of the ${startedWorkflows.size} the run waited on; ${erasedRuns.size} runs read before the erasure removed them) ` +
        `(${Object.entries(byType)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}), ${events} events, ` +
        `${(histories.reduce((n, h) => n + h.text.length, 0) / 1e6).toFixed(1)} MB of history; ` +
        `${stack.apiLog.length} API and ${workerLog.length} worker log lines; ` +
        `${secrets.size} secrets (${summaryOf(secrets)}) and ${personal.size} personal values (${summaryOf(personal)}) ` +
        `checked; from ${noticesSeen.size} notices (${[...templatesSeen].sort().join(', ')})`,
    );
    expect(lines).toBeGreaterThan(100);
    expect(leaks, 'secrets found').toEqual([]);
    expect(exposed, 'personal values found in clear').toEqual([]);
  }, 60_000);
});
