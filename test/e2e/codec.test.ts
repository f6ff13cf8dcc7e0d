/**
 * Encrypted histories (issue 15, deliverable 1). Temporal stores only ciphertext: a client without the codec,
 * such as anyone reading Temporal's database or its API directly, sees `binary/encrypted` payloads and no
 * personal data. Operators read the same history decoded, in Temporal Web (a real browser, the dev server's
 * UI started with `--ui-codec-endpoint` the way `npm start` starts it) or through the codec endpoint with
 * the `histories:decode` permission. Nobody else can use that endpoint.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptedEncoding, keyIdMetadataKey } from '../../activities/secrets/payload-codec.js';
import { freePort, startTemporal, type RunningService } from '../../deploy/local/services.js';
import { ensureTools } from '../../deploy/local/tools.js';
import { staffPermissions } from '../../domain/roles.js';
import { launchBrowser } from '../support/browser.js';
import { decodedPayloads } from '../support/history.js';
import { call, eventually, tokenFor, useTestStack, type ProblemBody } from '../support/stack.js';

const codecToken = randomBytes(24).toString('base64url');
let temporal: (RunningService & { address: string; uiUrl?: string }) | undefined;
let uiUrl = '';

const stack = useTestStack(async () => {
  // A dev server of this file's own, with Temporal Web pointed at this stack's API, as `npm start` does it.
  const apiPort = await freePort();
  const tools = ensureTools(['temporal'], () => undefined);
  temporal = await startTemporal({
    binary: tools.temporal!,
    port: await freePort(),
    uiPort: await freePort(),
    codecEndpoint: `http://127.0.0.1:${apiPort}/v1/codec/local/${codecToken}`,
    log: () => undefined,
  });
  uiUrl = temporal.uiUrl!.replace('localhost', '127.0.0.1');
  return {
    env: {
      PORT: String(apiPort),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_UI_URL: uiUrl,
      CRA_CODEC_LOCAL_TOKEN: codecToken,
    },
  };
});
afterAll(async () => {
  await temporal?.stop();
});

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const subject = 'auth0|codec-ada';
const consentVersion = '2026-11';
let workflowId = '';

/** The history as Temporal holds it: read with a client that has no codec. */
async function rawHistory() {
  const connection = await Connection.connect({ address: stack.config.temporal.address });
  try {
    return await new Client({ connection, namespace: stack.config.temporal.namespace }).workflow
      .getHandle(workflowId)
      .fetchHistory();
  } finally {
    await connection.close();
  }
}

/**
 * Every payload but the search attributes' (Temporal indexes those in clear: they hold ids and stages only) and
 * the SDK's own patch markers (`patch-data`: a patch id, written by the SDK's core beneath the codec).
 */
function payloadsOf(value: unknown): Payload[] {
  const found: Payload[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || v instanceof Uint8Array) return;
    if ('metadata' in v && 'data' in v && (v as Payload).data instanceof Uint8Array) found.push(v as Payload);
    else
      for (const [key, inner] of Object.entries(v)) {
        if (key !== 'searchAttributes' && key !== 'patch-data') walk(inner);
      }
  };
  walk(value);
  return found;
}

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const asJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

beforeAll(async () => {
  const token = await tokenFor(stack, subject, { email: 'ada.codec@example.com' });
  const res = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
    token,
    json: {
      givenName: 'Augusta',
      familyName: 'Byron',
      consents: [{ purpose: 'terms', version: consentVersion, granted: true }],
    },
  });
  expect(res.status).toBe(202);
  workflowId = res.body.workflowId;
  await eventually(async () => {
    const status = await call<{ status: string }>(stack, 'GET', `/v1/workflows/${encodeURIComponent(workflowId)}`, {
      token,
    });
    return status.body.status === 'completed' ? true : undefined;
  }, 'the signup to complete');
}, 120_000);

describe('workflow histories', () => {
  it('hold only ciphertext for anyone without the codec: every payload encrypted, no personal value', async () => {
    const history = await rawHistory();
    const payloads = payloadsOf(history);
    expect(payloads.length).toBeGreaterThan(5);
    for (const p of payloads) {
      expect(text(p.metadata?.encoding)).toBe(encryptedEncoding);
      expect(text(p.metadata?.[keyIdMetadataKey])).toMatch(/^k\d+$/);
    }
    const raw = [JSON.stringify(history), ...payloads.map((p) => text(p.data))].join('\n');
    for (const value of ['ada.codec@example.com', 'Augusta', 'Byron', consentVersion, '"consents"'])
      expect(raw).not.toContain(value);
    // The failures' messages too: nothing of an error's text is in clear.
    for (const e of history.events ?? []) {
      const failure = e.activityTaskFailedEventAttributes?.failure;
      if (failure) expect(failure.message).toBe('Encoded failure');
    }
  });

  it('read decoded by the codec: the workflow input is there for an operator', async () => {
    const decoded = decodedPayloads(await rawHistory(), stack.codec).join('\n');
    expect(decoded).toContain(consentVersion);
    // Personal values are sealed under the account's key even inside the decoded payloads.
    expect(decoded).not.toContain('Augusta');
  });
});

describe('POST /v1/codec/decode', () => {
  async function encryptedPayloads() {
    return payloadsOf(await rawHistory())
      .slice(0, 3)
      .map(asJson);
  }

  it('decodes for a token with histories:decode, and refuses everyone else', async () => {
    const payloads = await encryptedPayloads();
    const anonymous = await call<ProblemBody>(stack, 'POST', '/v1/codec/decode', { json: { payloads } });
    expect(anonymous.status).toBe(401);
    const member = await call<ProblemBody>(stack, 'POST', '/v1/codec/decode', {
      token: await tokenFor(stack, subject),
      json: { payloads },
    });
    expect(member.status).toBe(403);
    expect(member.headers.get('content-type')).toContain('application/problem+json');

    const operator = await tokenFor(stack, 'auth0|operator', { permissions: [staffPermissions.historiesDecode] });
    const ok = await call<{ payloads: { metadata: Record<string, string>; data: string }[] }>(
      stack,
      'POST',
      '/v1/codec/decode',
      { token: operator, json: { payloads } },
    );
    expect(ok.status).toBe(200);
    expect(ok.body.payloads).toHaveLength(payloads.length);
    for (const p of ok.body.payloads)
      expect(Buffer.from(p.metadata.encoding!, 'base64').toString()).not.toBe(encryptedEncoding);
    expect(ok.body.payloads.map((p) => Buffer.from(p.data, 'base64').toString()).join('\n')).toContain(subject);
  });

  it('says a payload was altered, as problem+json, and decodes nothing', async () => {
    const [first] = await encryptedPayloads();
    const data = Buffer.from(first!.data, 'base64');
    data.writeUInt8(data.readUInt8(data.length - 1) ^ 0x01, data.length - 1);
    const res = await call<ProblemBody>(stack, 'POST', '/v1/codec/decode', {
      token: await tokenFor(stack, 'auth0|operator', { permissions: [staffPermissions.historiesDecode] }),
      json: { payloads: [{ ...first, data: data.toString('base64') }] },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ type: expect.stringContaining('payload-undecodable') });
  });

  it('answers Temporal Web’s origin only, and the local endpoint only with this run’s secret', async () => {
    const preflight = await fetch(`${stack.baseUrl}/v1/codec/local/${codecToken}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: uiUrl,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(uiUrl);
    const payloads = await encryptedPayloads();
    const foreign = await fetch(`${stack.baseUrl}/v1/codec/local/${codecToken}/decode`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ payloads }),
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const guessed = await fetch(`${stack.baseUrl}/v1/codec/local/${'x'.repeat(32)}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payloads }),
    });
    expect(guessed.status).toBe(404);
    // The run's secret never reaches the API's log.
    expect(stack.apiLog.join('\n')).not.toContain(codecToken);
  });
});

describe('Temporal Web', () => {
  it('shows an operator the signup decoded through the codec endpoint', { timeout: 90_000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const codecCalls: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/v1/codec/local/')) codecCalls.push(r.status());
    });
    const { runId } = (await stack.temporal.workflow.getHandle(workflowId).describe()) as { runId: string };
    await page.goto(
      `${uiUrl}/namespaces/${stack.config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`,
    );
    // The workflow's result, shown in its card: encrypted in the history, so only readable once decoded.
    // (A signup's consents sit in its signal and in its account step's input, which the event list cuts
    // short since the signup runs that step as one activity.)
    await page.getByText('"created": true').first().waitFor({ timeout: 60_000 });
    expect(codecCalls.length).toBeGreaterThan(0);
    expect(codecCalls.every((s) => s === 200)).toBe(true);
    expect(await page.getByText(encryptedEncoding).count()).toBe(0);
    await context.close();
  });
});
