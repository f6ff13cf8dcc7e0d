/**
 * The smaller findings of the security probe (issue 9, item 6), over real HTTP against the real stack:
 * header limits answer problem+json, a token dated in the future is refused, another person's workflow
 * looks like a missing one, support permissions come before the body, known paths answer 405 with
 * `Allow`, the OpenAPI document lists what routes return, names cannot hide text, and the operator
 * commands read the stack `npm start` describes.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { WorkflowNotFoundError } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { projectRoot } from '../../deploy/local/tools.js';
import { call, useTestStack, tokenFor, type JsonResponse, type ProblemBody } from '../support/stack.js';

const run = promisify(execFile);

const stack = useTestStack();
let issuerJwk: JWK & { kid: string };
let issuerKey: CryptoKey;

beforeAll(async () => {
  issuerJwk = JSON.parse(readFileSync(join(stack.env.CRA_DATA_DIR!, 'keys', 'issuer-rs256.json'), 'utf8')) as JWK & {
    kid: string;
  };
  issuerKey = (await importJWK(issuerJwk, 'RS256')) as CryptoKey;
});

/** Subjects of this file's run: workflow ids are shared by every stack on the run's Temporal namespace. */
const tag = randomBytes(3).toString('hex');
const sub = (name: string) => `auth0|probe-${tag}-${name}`;
const now = () => Math.floor(Date.now() / 1000);
const signupBody = {
  givenName: 'Barbara',
  familyName: 'Liskov',
  consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
};

function expectProblem(res: { status: number; headers: Headers; body: unknown }, status: number, kind: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: `https://cra.dev/problems/${kind}`,
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
}

describe('request headers over the limits → 431 problem+json', () => {
  it('a 100 KB bearer token: refused by the HTTP parser, with a problem body naming the limit', async () => {
    const res = await fetch(`${stack.baseUrl}/v1/me`, {
      headers: { authorization: `Bearer ${'a'.repeat(100 * 1024)}` },
    });
    const body = (await res.json()) as ProblemBody;
    expectProblem({ status: res.status, headers: res.headers, body }, 431, 'headers-too-large');
    expect(body.title).toBe('Request header fields too large');
    expect(body.detail).toContain('16 KiB');
  });

  it('many headers that are over 16 KiB together are refused the same way', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 40; i++) headers[`x-filler-${i}`] = 'f'.repeat(500);
    const res = await fetch(`${stack.baseUrl}/healthz`, { headers });
    expect(res.status).toBe(431);
    expect(((await res.json()) as ProblemBody).type).toBe('https://cra.dev/problems/headers-too-large');
  });

  it('an Authorization header over 8 KiB (within the 16 KiB of all headers) → 431, the token never checked', async () => {
    const res = await call<ProblemBody>(stack, 'GET', '/v1/me', {
      headers: { authorization: `Bearer ${'a'.repeat(9 * 1024)}` },
    });
    expectProblem(res, 431, 'headers-too-large');
    expect(res.body.detail).toContain('Authorization header is larger than 8 KiB');
  });

  it('a token of normal size still gets through', async () => {
    const res = await call<ProblemBody>(stack, 'GET', '/v1/me', { token: await tokenFor(stack, sub('normal-header')) });
    expectProblem(res, 404, 'account-not-found');
  });
});

describe('a token whose iat lies in the future', () => {
  async function craft(iat: number): Promise<string> {
    return new SignJWT({ permissions: [] })
      .setProtectedHeader({ alg: 'RS256', kid: issuerJwk.kid, typ: 'at+jwt' })
      .setIssuer(stack.config.auth.issuer)
      .setAudience(stack.config.auth.audience)
      .setSubject(sub('future'))
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(issuerKey);
  }

  it('beyond the clock tolerance → 401 (the log says why)', async () => {
    const token = await craft(now() + stack.config.auth.clockToleranceSeconds + 3600);
    const res = await call<ProblemBody>(stack, 'GET', '/v1/me', { token });
    expectProblem(res, 401, 'unauthenticated');
    // The answer names no check (an oracle for forgers); the log does.
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="cra", error="invalid_token"');
    expect(stack.apiLog.filter((l) => l.includes('access token refused')).at(-1)).toMatch(/iat.*in the future/);
    expect(JSON.stringify(res.body)).not.toContain(token);
  });

  it('within the clock tolerance (a few seconds of skew) → accepted', async () => {
    const res = await call<ProblemBody>(stack, 'GET', '/v1/me', { token: await craft(now() + 5) });
    expectProblem(res, 404, 'account-not-found');
  });
});

describe("GET /v1/workflows/{id} for another person's workflow", () => {
  it('answers exactly as for a missing one; support:read still sees it', async () => {
    // Two subjects of the same length, so the two answers can be compared byte for byte.
    const owner = sub('owner-1');
    const nobody = sub('owner-2');
    const started = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
      token: await tokenFor(stack, owner),
      json: signupBody,
    });
    expect(started.status).toBe(202);
    const existing = started.body.workflowId;
    const missing = existing.replace(owner, nobody);
    await expect(stack.temporal.workflow.getHandle(missing).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const stranger = await tokenFor(stack, sub('stranger'));
    const ask = (id: string) =>
      call<ProblemBody>(stack, 'GET', `/v1/workflows/${encodeURIComponent(id)}`, { token: stranger });
    const [other, none] = [await ask(existing), await ask(missing)];
    expectProblem(other, 404, 'workflow-not-found');
    // The only difference: the id asked for, echoed in `detail` and `instance`.
    const masked = (res: JsonResponse<ProblemBody>) => JSON.stringify(res.body).replaceAll(/owner-[12]/g, 'owner-N');
    expect(masked(other)).toBe(masked(none));
    // `date` and the request's own correlation id (`x-request-id`, new for every request) tell nothing.
    const headers = (res: JsonResponse<ProblemBody>) =>
      [...res.headers.entries()].filter(([k]) => k !== 'date' && k !== 'x-request-id');
    expect(headers(other)).toEqual(headers(none));

    const support = await call(stack, 'GET', `/v1/workflows/${encodeURIComponent(existing)}`, {
      token: await tokenFor(stack, sub('support'), { permissions: ['support:read'] }),
    });
    expect(support.status).toBe(200);
    expect(support.body).toMatchObject({ workflowId: existing, process: 'signup' });
  });
});

describe('support routes check the permission before the body', () => {
  const flagPath = `/v1/support/feature-flags/ENABLE_GITHUB_LOGIN/accounts/${randomUUID()}`;

  it.each([
    ['POST link decision', 'POST', '/v1/support/links/link%2Fx%2Fgithub/decision', { decision: 'maybe' }],
    ['PUT flag override', 'PUT', flagPath, { enabled: 'yes' }],
    ['PUT flag override, bad path too', 'PUT', '/v1/support/feature-flags/NOT_A_FLAG/accounts/not-a-uuid', {}],
    ['DELETE flag override, bad path', 'DELETE', '/v1/support/feature-flags/NOT_A_FLAG/accounts/not-a-uuid', undefined],
  ])('%s without the permission and with a bad request → 403', async (_name, method, path, json) => {
    const res = await call<ProblemBody>(stack, method, path, {
      token: await tokenFor(stack, sub('not-support')),
      ...(json ? { json } : {}),
    });
    expectProblem(res, 403, 'forbidden');
    expect(res.body.errors).toBeUndefined();
  });

  it('with the permission, the same bad body → 400 naming the field', async () => {
    const token = await tokenFor(stack, sub('flags-writer'), { permissions: ['flags:write'] });
    const res = await call<ProblemBody>(stack, 'PUT', flagPath, {
      token,
      json: { enabled: 'yes', reason: 'ticket 42' },
    });
    expectProblem(res, 400, 'validation');
    expect(res.body.errors?.map((e) => e.pointer)).toEqual(['#/enabled']);
    // …and a good one is carried out.
    const done = await call(stack, 'PUT', flagPath, { token, json: { enabled: true, reason: 'ticket 42' } });
    expect(done.status).toBe(200);
  });
});

describe('a method a path does not have → 405 with Allow', () => {
  it.each([
    ['DELETE', '/v1/me', 'GET, HEAD'],
    ['PUT', '/v1/signup', 'POST'],
    ['POST', `/v1/workflows/${encodeURIComponent('signup/auth0|x')}`, 'GET, HEAD'],
    ['GET', `/v1/support/feature-flags/ENABLE_GITHUB_LOGIN/accounts/${randomUUID()}`, 'DELETE, PUT'],
    ['POST', '/healthz', 'GET, HEAD'],
  ])('%s %s', async (method, path, allow) => {
    const res = await call<ProblemBody>(stack, method, path, { token: await tokenFor(stack, sub('methods')) });
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.body.detail).toContain(method);
  });

  it('an unknown path stays 404', async () => {
    const res = await call<ProblemBody>(stack, 'DELETE', '/v1/no-such-thing', {
      token: await tokenFor(stack, sub('methods')),
    });
    expectProblem(res, 404, 'not-found');
    expect(res.headers.get('allow')).toBeNull();
  });

  it('the methods it lists work', async () => {
    const res = await fetch(`${stack.baseUrl}/healthz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
  });
});

describe('GET /openapi.json documents the statuses routes return', () => {
  interface Operation {
    parameters?: unknown[];
    requestBody?: unknown;
    security?: Array<Record<string, unknown>>;
    responses?: Record<string, unknown>;
  }

  /**
   * Where the rule above does not hold: the cancel page answers a bad id or token with a page (404), never a
   * 400, so that a person who opens a broken link from a mail reads what to do.
   */
  const knownGaps: Record<string, string[]> = {
    'GET /v1/recoveries/{recoveryId}/cancel': ['400'],
  };

  it('documents that the browser-facing OAuth callback answers pages (text/html) as well as JSON', async () => {
    const res = await call<{
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
    }>(stack, 'GET', '/openapi.json');
    const callback = res.body.paths['/v1/oauth/{provider}/callback']!.get!;
    for (const status of ['200', '202', '400', '401', '403', '409', '410']) {
      expect(Object.keys(callback.responses[status]?.content ?? {}), status).toContain('text/html');
    }
  });

  it('400 with params, query or body; 413 and 415 with a body; 401 with a bearer token', async () => {
    const res = await call<{ paths: Record<string, Record<string, Operation>> }>(stack, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const undocumented: string[] = [];
    let operations = 0;
    for (const [path, ops] of Object.entries(res.body.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations++;
        const name = `${method.toUpperCase()} ${path}`;
        const needed = new Set<string>();
        if (op.requestBody || (op.parameters?.length ?? 0) > 0) needed.add('400');
        // jsonOnly and limitedBody stand before every route that takes a body.
        if (op.requestBody) ['413', '415'].forEach((s) => needed.add(s));
        if (op.security?.some((s) => 'bearerAuth' in s)) needed.add('401');
        const missing = [...needed].filter((s) => !(s in (op.responses ?? {})) && !knownGaps[name]?.includes(s));
        if (missing.length > 0) undocumented.push(`${name}: ${missing.sort().join(', ')}`);
      }
    }
    expect(operations).toBeGreaterThan(30);
    expect(undocumented).toEqual([]);
  });
});

describe('names that hide or disguise text are refused', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['a NUL', 'Ada\u0000', /control characters.*U\+0000/],
    ['an ANSI escape', '\u001b[31mAda\u001b[0m', /control characters.*U\+001B/],
    ['a right-to-left override', 'Ada\u202eecalevoL', /bidirectional.*U\+202E/],
    ['a first-strong isolate', '\u2068Ada', /bidirectional.*U\+2068/],
    ['only zero-width characters', '\u200b\u200c\u200d\u2060\ufeff', /only zero-width/],
  ];

  it.each(bad)(
    'signup with %s in givenName/familyName → 400 naming the field, nothing started',
    async (_what, name, why) => {
      for (const field of ['givenName', 'familyName'] as const) {
        const subject = sub(`name-${field}-${randomBytes(2).toString('hex')}`);
        const res = await call<ProblemBody>(stack, 'POST', '/v1/signup', {
          token: await tokenFor(stack, subject),
          json: { ...signupBody, [field]: name },
        });
        expectProblem(res, 400, 'validation');
        expect(res.body.errors).toHaveLength(1);
        expect(res.body.errors![0]!.pointer).toBe(`#/${field}`);
        expect(res.body.errors![0]!.detail).toMatch(why);
        await expect(stack.temporal.workflow.getHandle(`signup/${subject}`).describe()).rejects.toBeInstanceOf(
          WorkflowNotFoundError,
        );
        expect(
          await stack.db.collection(collections.accounts).countDocuments({ 'rootIdentity.subject': subject }),
        ).toBe(0);
      }
    },
  );

  it("an agent's name and a push device's name are checked the same way", async () => {
    const token = await tokenFor(stack, sub('names-elsewhere'));
    const agent = await call<ProblemBody>(stack, 'POST', '/v1/me/agents', {
      token,
      json: { name: 'helper\u202e', publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } },
    });
    expectProblem(agent, 400, 'validation');
    expect(agent.body.errors).toEqual([{ pointer: '#/name', detail: expect.stringMatching(/bidirectional/) }]);
    const device = await call<ProblemBody>(stack, 'POST', '/v1/me/recovery-factors/push-devices', {
      token,
      json: { name: '\u001b]0;owned\u0007', endpoint: 'https://push.example.com/send/abc' },
    });
    expectProblem(device, 400, 'validation');
    expect(device.body.errors).toEqual([{ pointer: '#/name', detail: expect.stringMatching(/control characters/) }]);
  });

  it('names in any script, with joiners inside, are stored', async () => {
    const token = await tokenFor(stack, sub('names-ok'));
    const res = await call<{ workflowId: string }>(stack, 'POST', '/v1/signup', {
      token,
      json: { ...signupBody, givenName: 'Zoë Nguyễn', familyName: 'श्री\u200dमती' },
    });
    expect(res.status).toBe(202);
  });
});

describe('operator commands read the stack npm start describes', () => {
  /** The environment a person next to this stack has: its ports and folder, no MONGODB_URI. */
  function operatorEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...stack.env,
      CRA_MONGO_PORT: new URL(stack.env.MONGODB_URI!).port,
      ...extra,
    };
    delete env.MONGODB_URI;
    return env;
  }
  const tsx = join(projectRoot, 'node_modules', '.bin', 'tsx');

  it('outbox reads the MongoDB on CRA_MONGO_PORT', async () => {
    const to = `probe-${tag}@example.com`;
    await stack.deps.notifier.send({
      idempotencyKey: `probe-${tag}`,
      channel: 'email',
      to,
      template: 'welcome',
      data: { givenName: 'Barbara' },
    });
    const { stdout } = await run(tsx, [join(projectRoot, 'deploy/cli/outbox.ts'), '--to', to, '--json'], {
      env: operatorEnv(),
      cwd: projectRoot,
    });
    expect((JSON.parse(stdout) as Array<{ to: string; template: string }>).map((n) => [n.template, n.to])).toEqual([
      ['welcome', to],
    ]);
  });

  it('token signs with the key of the data folder (relative to the project, from any directory) and takes --client-id', async () => {
    const env = operatorEnv({ CRA_DATA_DIR: relative(projectRoot, stack.env.CRA_DATA_DIR!) });
    const { stdout } = await run(
      tsx,
      [join(projectRoot, 'deploy/cli/token.ts'), '--sub', sub('cli'), '--client-id', 'probe-app'],
      { env, cwd: tmpdir() },
    );
    const token = stdout.trim();
    expect(decodeJwt(token)).toMatchObject({ sub: sub('cli'), client_id: 'probe-app', iss: stack.config.auth.issuer });
    const me = await call<ProblemBody>(stack, 'GET', '/v1/me', { token });
    expectProblem(me, 404, 'account-not-found');
  });

  it('token refuses a client id with spaces', async () => {
    const err = await run(
      tsx,
      [join(projectRoot, 'deploy/cli/token.ts'), '--sub', sub('cli'), '--client-id', 'two words'],
      { env: operatorEnv(), cwd: projectRoot },
    ).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain('--client-id');
  });
});
