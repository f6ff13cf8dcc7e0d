/**
 * Bad requests to `POST /v1/signup` with a valid token, to the real app in-process (`app.request`, no
 * socket; one test about the connection is served on a port): each gets the right problem+json (400
 * malformed JSON, 415, 413, 400 with `errors[]` pointing at the field, 404) and writes nothing — no
 * signup workflow in the run's Temporal, no account document in its MongoDB.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../domain/collections.js';
import { listen, useAppWithoutServer } from '../support/app.js';
import { call, tokenFor, type JsonResponse, type ProblemBody } from '../support/stack.js';

const api = useAppWithoutServer();
let accountsBefore: number;

beforeAll(async () => {
  accountsBefore = await api.db.collection(collections.accounts).countDocuments();
});

const validBody = {
  givenName: 'Edsger',
  familyName: 'Dijkstra',
  consents: [{ purpose: 'terms', version: '2026-11', granted: true }],
};

const tag = randomBytes(3).toString('hex');
let caller = 0;
/** A fresh signed-in caller, so each test can check that its own subject got nothing. */
async function newCaller(): Promise<{ subject: string; token: string }> {
  const subject = `auth0|errors-${tag}-${++caller}`;
  return { subject, token: await tokenFor(api, subject, { email: `errors-${caller}@example.com` }) };
}

function signup(
  token: string,
  opts: { body?: string; json?: unknown; headers?: Record<string, string> },
): Promise<JsonResponse<ProblemBody>> {
  return call<ProblemBody>(api, 'POST', '/v1/signup', { token, ...opts });
}

function expectProblem(res: JsonResponse<ProblemBody>, status: number, kind: string, title: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: `https://cra.dev/problems/${kind}`,
    status,
    title,
    detail: expect.any(String),
  });
  expect(res.body.type.endsWith(kind)).toBe(true);
}

/** The refused request started nothing: no signup workflow for the subject and no new account. */
async function expectNothingWritten(subject: string) {
  const described = api.temporal.workflow.getHandle(`signup/${subject}`).describe();
  await expect(described).rejects.toBeInstanceOf(WorkflowNotFoundError);
  expect(await api.db.collection(collections.accounts).countDocuments()).toBe(accountsBefore);
  expect(await api.db.collection(collections.accounts).countDocuments({ 'rootIdentity.subject': subject })).toBe(0);
}

describe('malformed JSON', () => {
  it.each([
    ['a truncated object', '{"givenName": "Edsger", "familyName": '],
    ['single quotes', "{'givenName': 'Edsger'}"],
    ['a trailing comma', '{"givenName": "Edsger",}'],
    ['not JSON at all', 'givenName=Edsger'],
  ])('%s → 400 malformed-json', async (_name, body) => {
    const { subject, token } = await newCaller();
    const res = await signup(token, { body, headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'malformed-json', 'The request body is not valid JSON');
    expect(res.body.instance).toBe('/v1/signup');
    expect(JSON.stringify(res.body)).not.toContain(token);
    await expectNothingWritten(subject);
  });

  it('an empty body with a JSON content type → 400', async () => {
    const { subject, token } = await newCaller();
    const res = await signup(token, { body: '', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await expectNothingWritten(subject);
  });
});

describe('wrong content type → 415', () => {
  it.each([
    ['text/plain', JSON.stringify(validBody)],
    ['text/plain; charset=utf-8', JSON.stringify(validBody)],
    ['application/x-www-form-urlencoded', 'givenName=Edsger&familyName=Dijkstra'],
    [
      'multipart/form-data; boundary=xyz',
      '--xyz\r\nContent-Disposition: form-data; name="givenName"\r\n\r\nEdsger\r\n--xyz--\r\n',
    ],
    ['application/xml', '<signup><givenName>Edsger</givenName></signup>'],
    ['application/jsonp', JSON.stringify(validBody)],
  ])('%s', async (contentType, body) => {
    const { subject, token } = await newCaller();
    const res = await signup(token, { body, headers: { 'content-type': contentType } });
    expectProblem(res, 415, 'unsupported-media-type', 'Unsupported media type');
    expect(res.headers.get('accept')).toBe('application/json');
    expect(res.body.detail).toContain(contentType.split(';')[0]!);
    await expectNothingWritten(subject);
  });

  it('a body without any content type', async () => {
    const { subject, token } = await newCaller();
    const body = new TextEncoder().encode(JSON.stringify(validBody));
    const res = await api.app.request(`${api.baseUrl}/v1/signup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-length': String(body.byteLength) },
      body,
    });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'https://cra.dev/problems/unsupported-media-type', status: 415 });
    await expectNothingWritten(subject);
  });
});

describe('a body over 64 KiB → 413', () => {
  const limit = 64 * 1024;
  /** A signup body (missing familyName, so never valid) padded with spaces to exactly `size` bytes. */
  function paddedBody(size: number): string {
    const core = JSON.stringify({ givenName: 'Edsger', consents: [] });
    return core.slice(0, -1) + ' '.repeat(size - core.length) + '}';
  }

  it('with a Content-Length', async () => {
    const { subject, token } = await newCaller();
    const body = paddedBody(limit + 1);
    expect(Buffer.byteLength(body)).toBe(limit + 1);
    const res = await signup(token, { body, headers: { 'content-type': 'application/json' } });
    expectProblem(res, 413, 'payload-too-large', 'The request body is too large');
    expect(res.body.detail).toContain('64 KiB');
    await expectNothingWritten(subject);
  });

  it('much larger, with a Content-Length', async () => {
    const { subject, token } = await newCaller();
    const res = await signup(token, { json: { ...validBody, givenName: 'x'.repeat(1024 * 1024) } });
    expectProblem(res, 413, 'payload-too-large', 'The request body is too large');
    await expectNothingWritten(subject);
  });

  it('sent chunked, without a Content-Length', async () => {
    const { subject, token } = await newCaller();
    const bytes = new TextEncoder().encode(paddedBody(limit + 8 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bytes.length) return controller.close();
        controller.enqueue(bytes.subarray(sent, sent + 4096));
        sent += 4096;
      },
    });
    const res = await api.app.request(`${api.baseUrl}/v1/signup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'https://cra.dev/problems/payload-too-large', status: 413 });
    await expectNothingWritten(subject);
  });

  it('does not break the next requests on the connection', async () => {
    // The one test here about the socket itself: the same app, served as api/main.ts serves it.
    const server = await listen(api);
    try {
      const { subject, token } = await newCaller();
      for (let round = 0; round < 3; round++) {
        const big = await call<ProblemBody>(server, 'POST', '/v1/signup', {
          token,
          json: { ...validBody, givenName: 'x'.repeat(512 * 1024) },
        });
        expect(big.status).toBe(413);
        const chunks = [new TextEncoder().encode(paddedBody(limit + 1))];
        const chunked = await fetch(`${server.baseUrl}/v1/signup`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: new ReadableStream<Uint8Array>({
            pull: (c) => (chunks.length ? c.enqueue(chunks.shift()!) : c.close()),
          }),
          duplex: 'half',
        } as RequestInit & { duplex: 'half' });
        expect(chunked.status).toBe(413);
        await chunked.arrayBuffer();
        expect((await call(server, 'GET', '/healthz')).status).toBe(200);
      }
      await expectNothingWritten(subject);
    } finally {
      await server.close();
    }
  });

  it('exactly 64 KiB is not too large (it gets to validation)', async () => {
    const { subject, token } = await newCaller();
    const body = paddedBody(limit);
    expect(Buffer.byteLength(body)).toBe(limit);
    const res = await signup(token, { body, headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'validation', 'The request is not valid');
    expect(res.body.errors).toEqual([{ pointer: '#/familyName', detail: expect.any(String) }]);
    await expectNothingWritten(subject);
  });
});

describe('validation errors → 400 with errors[] pointing at the field', () => {
  it.each([
    ['givenName missing', { familyName: 'Dijkstra', consents: [] }, ['#/givenName']],
    ['givenName blank', { givenName: '   ', familyName: 'Dijkstra', consents: [] }, ['#/givenName']],
    ['givenName not a string', { givenName: 42, familyName: 'Dijkstra', consents: [] }, ['#/givenName']],
    ['givenName too long', { givenName: 'x'.repeat(101), familyName: 'Dijkstra', consents: [] }, ['#/givenName']],
    ['consents not a list', { givenName: 'Edsger', familyName: 'Dijkstra', consents: 'all' }, ['#/consents']],
    ['consents an object', { givenName: 'Edsger', familyName: 'Dijkstra', consents: { terms: true } }, ['#/consents']],
    ['consents missing', { givenName: 'Edsger', familyName: 'Dijkstra' }, ['#/consents']],
    [
      'a consent purpose that is not a purpose',
      { ...validBody, consents: [{ purpose: 'Terms & Conditions!', version: '2026-11', granted: true }] },
      ['#/consents/0/purpose'],
    ],
    [
      'a consent granted as a string',
      { ...validBody, consents: [validBody.consents[0], { purpose: 'marketing', version: '2026-11', granted: 'yes' }] },
      ['#/consents/1/granted'],
    ],
    [
      'a consent without a version',
      { ...validBody, consents: [{ purpose: 'terms', granted: true }] },
      ['#/consents/0/version'],
    ],
    ['an unknown extra field', { ...validBody, isAdmin: true }, ['#/isAdmin']],
    [
      'two unknown extra fields',
      { ...validBody, roles: ['admin'], accountId: '00000000-0000-0000-0000-000000000000' },
      ['#/roles', '#/accountId'],
    ],
    ['an unknown field with / and ~ in its name', { ...validBody, 'a/b~c': 1 }, ['#/a~1b~0c']],
    [
      'several problems at once',
      { givenName: '', consents: [{ purpose: 'BAD', version: '1', granted: true }], extra: 1 },
      ['#/givenName', '#/familyName', '#/consents/0/purpose', '#/extra'],
    ],
  ])('%s', async (_name, json, pointers) => {
    const { subject, token } = await newCaller();
    const res = await signup(token, { json });
    expectProblem(res, 400, 'validation', 'The request is not valid');
    expect(res.body.detail).toMatch(/^The request body has \d+ invalid fields?\.$/);
    expect(res.body.errors).toBeDefined();
    for (const error of res.body.errors!) {
      expect(error).toEqual({ pointer: expect.stringMatching(/^#(\/|$)/), detail: expect.any(String) });
      expect(error.detail.length).toBeGreaterThan(0);
    }
    expect(res.body.errors!.map((e) => e.pointer).sort()).toEqual([...pointers].sort());
    expect(res.body.detail).toContain(`${res.body.errors!.length} invalid field`);
    await expectNothingWritten(subject);
  });

  it.each([
    ['null', 'null'],
    ['a list', '[]'],
    ['a string', '"signup"'],
  ])('a body that is %s points at the whole document', async (_name, body) => {
    const { subject, token } = await newCaller();
    const res = await signup(token, { body, headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'validation', 'The request is not valid');
    expect(res.body.errors).toEqual([{ pointer: '#', detail: expect.any(String) }]);
    await expectNothingWritten(subject);
  });

  it('never echoes the submitted values', async () => {
    const { subject, token } = await newCaller();
    const secretish = 'S3NSITIVE-value-do-not-echo';
    const res = await signup(token, {
      json: {
        givenName: 42,
        familyName: secretish,
        consents: [{ purpose: secretish, version: '1', granted: true }],
        [secretish]: secretish,
      },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors?.map((e) => e.detail))).not.toContain(secretish);
    await expectNothingWritten(subject);
  });
});

describe('unknown routes → 404 problem+json', () => {
  it.each([
    ['GET', '/v1/nope'],
    ['POST', '/v1/nope'],
    ['POST', '/v1/signup/extra'],
    ['GET', '/nope'],
  ])('%s %s', async (method, path) => {
    const { subject, token } = await newCaller();
    const res = await call<ProblemBody>(api, method, path, {
      token,
      ...(method === 'POST' ? { json: validBody } : {}),
    });
    expectProblem(res, 404, 'not-found', 'Not found');
    expect(res.body.detail).toContain(path);
    await expectNothingWritten(subject);
  });

  it('outside /v1 without a token', async () => {
    const res = await call<ProblemBody>(api, 'GET', '/no/such/thing');
    expectProblem(res, 404, 'not-found', 'Not found');
  });
});

describe('a method a known path does not have → 405 problem+json with Allow', () => {
  it.each([
    ['GET', '/v1/signup', 'POST'],
    ['DELETE', '/v1/me', 'GET, HEAD'],
  ])('%s %s', async (method, path, allow) => {
    const { subject, token } = await newCaller();
    const res = await call<ProblemBody>(api, method, path, { token });
    expectProblem(res, 405, 'method-not-allowed', 'Method not allowed');
    expect(res.headers.get('allow')).toBe(allow);
    await expectNothingWritten(subject);
  });
});

describe('after all of that', () => {
  it('the same kind of caller with a valid body signs up (the checks above are not vacuous)', async () => {
    const { subject, token } = await newCaller();
    const res = await signup(token, { json: validBody });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ workflowId: `signup/${subject}` });
    await expect(api.temporal.workflow.getHandle(`signup/${subject}`).describe()).resolves.toMatchObject({
      workflowId: `signup/${subject}`,
    });
  });
});
