/**
 * Provider webhooks end to end: the real API over HTTP, the real workers, the sandbox as GitHub and Slack.
 * A signed delivery about a linked provider account starts a sync of that connection, which finishes; the
 * same delivery again starts nothing; a bad signature or a stale Slack timestamp is refused with 401 and
 * audited, and starts nothing; Slack's url_verification is answered; no secret, signature or payload
 * reaches a workflow history, the API log or the audit log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, globalChain } from '../../activities/audit/audit-log.js';
import { credentialPaths } from '../../activities/providers/resolve.js';
import { githubSignature, slackSignature } from '../../api/auth/webhook-signatures.js';
import type { ProviderId } from '../../domain/providers.js';
import { linkThroughSandbox, signedUp, type SignedUp } from '../support/accounts.js';
import { decodedPayloads } from '../support/history.js';
import { call, eventually, useTestStack, type JsonResponse, type ProblemBody } from '../support/stack.js';

const tag = randomBytes(3).toString('hex');
const secrets = {
  github: { current: `gh-webhook-current-${tag}-0123456789abcdef`, previous: `gh-webhook-previous-${tag}-0123456789` },
  slack: { current: `slack-signing-current-${tag}-0123456789abcdef`, previous: `slack-signing-prev-${tag}-012345` },
};
/** A string only the deliveries' bodies carry: it must show up nowhere else. */
const payloadMarker = `payload-marker-${tag}`;

const stack = useTestStack({ sandbox: true, env: { ENABLE_SLACK_LOGIN: 'true' } });
let githubPerson: SignedUp;
let slackPerson: SignedUp;
const githubUser = `webhook-gh-${tag}`;
const slackUser = `webhook-slack-${tag}`;

/** The webhook secrets beside the sandbox's client credentials, as an operator stores them for a real provider. */
async function storeWebhookSecrets(provider: ProviderId, pair: { current: string; previous: string }) {
  const path = credentialPaths.sandbox(provider);
  const existing = (await stack.deps.vault.readSecret(path)) ?? {};
  await stack.deps.vault.writeSecret(path, {
    ...existing,
    webhookSecret: pair.current,
    previousWebhookSecret: pair.previous,
  });
}

const syncId = (who: SignedUp, provider: ProviderId) => `sync/${who.accountId}/${provider}`;
const runIdOf = async (who: SignedUp, provider: ProviderId) =>
  (await stack.temporal.workflow.getHandle(syncId(who, provider)).describe()).runId;

/** A sync run other than `previousRunId` has completed for the connection. */
async function newSyncCompleted(who: SignedUp, provider: ProviderId, previousRunId: string): Promise<string> {
  return eventually(async () => {
    const { runId, status } = await stack.temporal.workflow.getHandle(syncId(who, provider)).describe();
    return runId !== previousRunId && status.name === 'COMPLETED' ? runId : undefined;
  }, `a new ${provider} sync of ${who.accountId} to complete`);
}

async function rejectionsSince(seq: number) {
  return (await new AuditLog(stack.db, { vault: stack.deps.vault }).list({ chain: globalChain })).filter(
    (e) => e.seq > seq && e.action === 'webhook.rejected',
  );
}
const lastSeq = async () =>
  (await new AuditLog(stack.db, { vault: stack.deps.vault }).list({ chain: globalChain })).at(-1)?.seq ?? 0;

type Answer = JsonResponse<
  ProblemBody & { deliveryId?: string; syncs?: number; duplicate?: boolean; ignored?: string; challenge?: string }
>;

function pushDelivery(senderId: string | number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    ref: 'refs/heads/main',
    head_commit: { id: randomBytes(20).toString('hex'), message: `a commit ${payloadMarker}` },
    repository: { id: 1296269, full_name: `${githubUser}/hello`, owner: { id: senderId, login: githubUser } },
    sender: { id: senderId, login: githubUser },
    ...extra,
  });
}

function postGithub(
  body: string,
  opts: { deliveryId?: string; event?: string; signature?: string | null } = {},
): Promise<Answer> {
  const signature = opts.signature === undefined ? githubSignature(secrets.github.current, body) : opts.signature;
  return call(stack, 'POST', '/v1/webhooks/github', {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': opts.event ?? 'push',
      'x-github-delivery': opts.deliveryId ?? randomUUID(),
      ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
    },
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function slackEvent(event: Record<string, unknown>, eventId = `Ev${randomBytes(5).toString('hex').toUpperCase()}`) {
  return JSON.stringify({
    token: 'deprecated-verification-token',
    team_id: 'T0SANDBOX',
    api_app_id: 'A0SANDBOX',
    event: { ...event, event_ts: `${nowSeconds()}.000100` },
    type: 'event_callback',
    event_id: eventId,
    event_time: nowSeconds(),
  });
}

function postSlack(body: string, opts: { timestamp?: number; secret?: string } = {}): Promise<Answer> {
  const timestamp = opts.timestamp ?? nowSeconds();
  return call(stack, 'POST', '/v1/webhooks/slack', {
    body,
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(opts.secret ?? secrets.slack.current, timestamp, body),
    },
  });
}

function expectRefused(res: Answer, reason: RegExp) {
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'https://cra.dev/problems/invalid-signature', status: 401 });
  expect(res.body.detail).toMatch(reason);
}

beforeAll(async () => {
  await storeWebhookSecrets('github', secrets.github);
  await storeWebhookSecrets('slack', secrets.slack);
  githubPerson = await signedUp(stack, `auth0|${githubUser}`);
  expect((await linkThroughSandbox(stack, githubPerson, 'github', githubUser)).answer.body).toMatchObject({
    status: 'linked',
  });
  slackPerson = await signedUp(stack, `auth0|${slackUser}`);
  expect((await linkThroughSandbox(stack, slackPerson, 'slack', slackUser)).answer.body).toMatchObject({
    status: 'linked',
  });
  // The link's first syncs end before any delivery arrives.
  await stack.temporal.workflow.getHandle(syncId(githubPerson, 'github')).result();
  await stack.temporal.workflow.getHandle(syncId(slackPerson, 'slack')).result();
}, 120_000);

describe('GitHub', () => {
  // The sandbox's GitHub account id of a linked person: `github:<username>` (real GitHub sends a number).
  const senderId = () => `github:${githubUser}`;
  const deliveryId = randomUUID();

  it('a signed push for a linked account starts a sync of that connection, which finishes', async () => {
    const before = await runIdOf(githubPerson, 'github');
    const res = await postGithub(pushDelivery(senderId()), { deliveryId });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ deliveryId, syncs: 1 });
    await newSyncCompleted(githubPerson, 'github', before);
    const data = await call<{ items: unknown[] }>(stack, 'GET', '/v1/me/data?provider=github&limit=5', {
      token: githubPerson.token,
    });
    expect(data.body.items.length).toBeGreaterThan(0);
  });

  it('the same delivery again answers duplicate, starts nothing, and is audited as a replay', async () => {
    const before = await runIdOf(githubPerson, 'github');
    const seq = await lastSeq();
    const res = await postGithub(pushDelivery(senderId()), { deliveryId });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deliveryId, duplicate: true });
    expect(await runIdOf(githubPerson, 'github')).toBe(before);
    expect(await rejectionsSince(seq)).toEqual([
      expect.objectContaining({
        action: 'webhook.rejected',
        details: { provider: 'github', reason: 'replay', deliveryId },
      }),
    ]);
  });

  it('two copies of one delivery at once: one starts the sync, the other is a duplicate', async () => {
    const before = await runIdOf(githubPerson, 'github');
    const id = randomUUID();
    const body = pushDelivery(senderId());
    const answers = await Promise.all([postGithub(body, { deliveryId: id }), postGithub(body, { deliveryId: id })]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 202]);
    expect(answers.find((a) => a.status === 200)!.body).toEqual({ deliveryId: id, duplicate: true });
    await newSyncCompleted(githubPerson, 'github', before);
  });

  it('signed with the previous secret (during a rotation) → accepted', async () => {
    const before = await runIdOf(githubPerson, 'github');
    const body = pushDelivery(senderId());
    const res = await postGithub(body, { signature: githubSignature(secrets.github.previous, body), event: 'star' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ syncs: 1 });
    await newSyncCompleted(githubPerson, 'github', before);
  });

  it.each([
    ['a wrong secret', (body: string) => githubSignature('an-attacker-guess-0123456789abcdef', body), /does not match/],
    ['a tampered body', (body: string) => githubSignature(secrets.github.current, `${body} `), /does not match/],
    ['no signature', () => null, /missing/],
    ['a bare hex HMAC', (body: string) => githubSignature(secrets.github.current, body).slice(7), /form/],
    ['the SHA-1 header form', () => `sha1=${'0'.repeat(40)}`, /form/],
  ])('%s → 401, audited, nothing started', async (_, sign, reason) => {
    const before = await runIdOf(githubPerson, 'github');
    const seq = await lastSeq();
    const body = pushDelivery(senderId());
    const res = await postGithub(body, { signature: sign(body) });
    expectRefused(res, reason);
    expect(res.headers.get('www-authenticate')).toBe('X-Hub-Signature-256 realm="cra-webhooks"');
    const rejected = await rejectionsSince(seq);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.details).toEqual({
      provider: 'github',
      reason: expect.stringMatching(/^signature_(mismatch|missing|malformed)$/),
    });
    expect(await runIdOf(githubPerson, 'github')).toBe(before);
  });

  it('an account nobody linked, or an event that changes no synced data → 202 ignored, nothing started', async () => {
    const before = await runIdOf(githubPerson, 'github');
    // Real GitHub sends numeric ids.
    const stranger = await postGithub(pushDelivery(583231));
    expect(stranger.status).toBe(202);
    expect(stranger.body.ignored).toMatch(/no active github connection/);
    const issue = await postGithub(pushDelivery(senderId()), { event: 'issues' });
    expect(issue.status).toBe(202);
    expect(issue.body.ignored).toMatch(/"issues" changes nothing/);
    expect(await runIdOf(githubPerson, 'github')).toBe(before);
  });

  it('a signed body that is not JSON → 400; a missing delivery id → 400', async () => {
    const garbled = await postGithub('{"ref": ');
    expect(garbled.status).toBe(400);
    expect(garbled.body.type).toBe('https://cra.dev/problems/malformed-json');
    const body = pushDelivery(senderId());
    const res = await call<Answer['body']>(stack, 'POST', '/v1/webhooks/github', {
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': githubSignature(secrets.github.current, body),
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain('X-GitHub-Delivery');
  });
});

describe('Slack', () => {
  const slackUserId = () => `slack:${slackUser}`;

  it('answers the url_verification challenge', async () => {
    const challenge = `challenge-${randomBytes(12).toString('hex')}`;
    const res = await postSlack(JSON.stringify({ token: 'x', challenge, type: 'url_verification' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ challenge });
  });

  it('a signed member_joined_channel for a linked account starts its sync, which finishes; its retry is a duplicate', async () => {
    const before = await runIdOf(slackPerson, 'slack');
    const eventId = `Ev${randomBytes(5).toString('hex').toUpperCase()}`;
    const body = slackEvent(
      {
        type: 'member_joined_channel',
        user: slackUserId(),
        channel: 'C0SANDBOX',
        channel_type: 'C',
        team: 'T0SANDBOX',
      },
      eventId,
    );
    const res = await postSlack(body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ deliveryId: eventId, syncs: 1 });
    const after = await newSyncCompleted(slackPerson, 'slack', before);
    // Slack retries with the same event_id (X-Slack-Retry-Num): nothing new starts.
    const retry = await postSlack(body);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ deliveryId: eventId, duplicate: true });
    expect(await runIdOf(slackPerson, 'slack')).toBe(after);
  });

  it('a stale timestamp (now − 301 s) → 401, audited, nothing started', async () => {
    const before = await runIdOf(slackPerson, 'slack');
    const seq = await lastSeq();
    const res = await postSlack(slackEvent({ type: 'member_joined_channel', user: slackUserId() }), {
      timestamp: nowSeconds() - 301,
    });
    expectRefused(res, /tolerance/);
    expect((await rejectionsSince(seq)).map((e) => e.details)).toEqual([
      { provider: 'slack', reason: 'timestamp_stale' },
    ]);
    expect(await runIdOf(slackPerson, 'slack')).toBe(before);
  });

  it('a wrong signing secret → 401, audited', async () => {
    const seq = await lastSeq();
    const res = await postSlack(slackEvent({ type: 'member_joined_channel', user: slackUserId() }), {
      secret: 'not-the-signing-secret-0123456789',
    });
    expectRefused(res, /does not match/);
    expect((await rejectionsSince(seq)).map((e) => e.details)).toEqual([
      { provider: 'slack', reason: 'signature_mismatch' },
    ]);
  });

  it('signed with the previous signing secret → accepted', async () => {
    const res = await postSlack(
      slackEvent({ type: 'channel_created', channel: { id: 'C1', creator: slackUserId() } }),
      {
        secret: secrets.slack.previous,
      },
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ syncs: 1 });
  });
});

describe('GET /v1/providers', () => {
  it('says which webhook each provider has: GitHub and Slack, none for CodeRabbit (no published format)', async () => {
    const res = await call<{ providers: Array<{ id: string; webhook: string | null }> }>(
      stack,
      'GET',
      '/v1/providers',
      { token: githubPerson.token },
    );
    expect(res.status).toBe(200);
    const webhooks = Object.fromEntries(res.body.providers.map((p) => [p.id, p.webhook]));
    expect(webhooks).toMatchObject({ github: 'github', slack: 'slack', coderabbit: null, google: null });
    expect(Object.values(webhooks).filter((w) => w !== null)).toHaveLength(2);
  });
});

describe('no secret, signature or payload outside the request', () => {
  const allSecrets = () => [
    secrets.github.current,
    secrets.github.previous,
    secrets.slack.current,
    secrets.slack.previous,
  ];

  it('not in the syncs’ workflow histories', async () => {
    for (const [who, provider] of [
      [githubPerson, 'github'],
      [slackPerson, 'slack'],
    ] as const) {
      // The link's first sync and at least one the webhooks started (visibility may lag a moment).
      const runs = await eventually(async () => {
        const found = [];
        for await (const run of stack.temporal.workflow.list({ query: `WorkflowId = "${syncId(who, provider)}"` }))
          found.push(run);
        return found.length >= 2 ? found : undefined;
      }, `the ${provider} sync runs in visibility`);
      for (const run of runs) {
        const history = await stack.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
        const text = [JSON.stringify(history), ...decodedPayloads(history, stack.codec)].join('\n');
        for (const secret of allSecrets()) expect(text).not.toContain(secret);
        expect(text).not.toContain(payloadMarker);
        expect(text).not.toMatch(/sha256=[0-9a-f]{64}|v0=[0-9a-f]{64}/);
      }
    }
  });

  it('not in the API log, nor in the audit log', async () => {
    const log = stack.apiLog.join('\n');
    const audit = JSON.stringify(await new AuditLog(stack.db, { vault: stack.deps.vault }).list());
    for (const text of [log, audit]) {
      for (const secret of allSecrets()) expect(text).not.toContain(secret);
      expect(text).not.toContain(payloadMarker);
      expect(text).not.toMatch(/sha256=[0-9a-f]{64}|v0=[0-9a-f]{64}/);
    }
    expect(log).toContain('/v1/webhooks/github');
  });
});

describe('with no webhook secret stored', () => {
  it('a signed delivery → 503 naming what to configure, an unsigned one → 401; nothing started', async () => {
    const path = credentialPaths.sandbox('github');
    const stored = (await stack.deps.vault.readSecret(path))!;
    const { webhookSecret: _current, previousWebhookSecret: _previous, ...clientOnly } = stored;
    await stack.deps.vault.writeSecret(path, clientOnly);
    try {
      const before = await runIdOf(githubPerson, 'github');
      const signed = await postGithub(pushDelivery(`github:${githubUser}`));
      expect(signed.status).toBe(503);
      expect(signed.body).toMatchObject({ type: 'https://cra.dev/problems/not-configured' });
      expect(signed.body.detail).toContain('providers/github');
      expectRefused(await postGithub(pushDelivery(`github:${githubUser}`), { signature: null }), /missing/);
      expect(await runIdOf(githubPerson, 'github')).toBe(before);
    } finally {
      await stack.deps.vault.writeSecret(path, stored);
    }
  });
});
