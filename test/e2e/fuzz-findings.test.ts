/**
 * What Schemathesis found (test/fuzz/schemathesis.test.ts, docs/fuzzing.md), one test per finding, over real
 * HTTP: where the API refused a request its own OpenAPI document allows (or took one it forbids), the document
 * now says what the API checks, and the answers to methods a path lacks are 405s that name the ones it has.
 */
import { request } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { staffPermissions } from '../../domain/roles.js';
import { signedUp, type SignedUp } from '../support/accounts.js';
import { call, useTestStack, type ProblemBody } from '../support/stack.js';

const stack = useTestStack();

interface JsonSchema {
  $ref?: string;
  type?: string;
  pattern?: string;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  oneOf?: JsonSchema[];
  content?: Record<string, { schema: JsonSchema }>;
}
interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ name: string; in: string; schema: JsonSchema }>;
        requestBody?: { content: Record<string, { schema: JsonSchema }> };
        responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
      }
    >
  >;
  components: { schemas: Record<string, JsonSchema> };
}

let doc: OpenApiDocument;
let person: SignedUp;

beforeAll(async () => {
  doc = (await call<OpenApiDocument>(stack, 'GET', '/openapi.json')).body;
  person = await signedUp(stack, `auth0|fuzz-findings-${Date.now()}`, { permissions: Object.values(staffPermissions) });
});

const resolve = (schema: JsonSchema): JsonSchema =>
  schema.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]! : schema;
const bodySchema = (path: string, method: string) =>
  resolve(doc.paths[path]![method]!.requestBody!.content['application/json']!.schema);

/** A value the document's `pattern` allows, as a JSON Schema validator reads it (unanchored, ECMA-262). */
const allowedBy = (schema: JsonSchema, value: string) => new RegExp(schema.pattern ?? '', 'u').test(value);

/** A request with a method `fetch` will not send, over node:http. */
function rawRequest(method: string, path: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, stack.baseUrl), { method }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function expectValidationProblem(res: { status: number; headers: Headers; body: ProblemBody }) {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

describe('what the fuzzer found', () => {
  it('names: the document’s pattern refuses the names the API refuses (empty, blank, control and bidi characters)', async () => {
    const name = bodySchema('/v1/me/agents', 'post').properties!.name!;
    expect(name.pattern).toBeDefined();
    for (const refused of ['', '   ', '\u200b', 'Agent\u0015', 'Agent\u202e', '\u0000']) {
      expect(allowedBy(name, refused), JSON.stringify(refused)).toBe(false);
      const res = await call<ProblemBody>(stack, 'POST', '/v1/me/agents', {
        token: person.token,
        json: { name: refused, publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } },
      });
      expectValidationProblem(res);
      expect(res.body.errors?.map((e) => e.pointer)).toContain('#/name');
    }
    for (const accepted of ['Ada', ' Ada ', 'Zoë\u200b', '名前']) expect(allowedBy(name, accepted)).toBe(true);
    // Signup's names are the same schema.
    expect(bodySchema('/v1/signup', 'post').properties!.givenName!.pattern).toBe(name.pattern);
  });

  it('GET /v1/me/activity: `before` above the largest safe integer is refused, and the document says where the bound is', async () => {
    const before = doc.paths['/v1/me/activity']!.get!.parameters!.find((p) => p.name === 'before')!;
    expect(before.schema.maximum).toBe(Number.MAX_SAFE_INTEGER);
    const res = await call<ProblemBody>(stack, 'GET', '/v1/me/activity?before=2085193686994418432', {
      token: person.token,
    });
    expectValidationProblem(res);
  });

  it('support reasons: fewer than 3 characters once trimmed is refused, and the document’s pattern says so', async () => {
    const reason = bodySchema('/v1/support/recoveries/{recoveryId}/document-check', 'post').properties!.reason!;
    expect(allowedBy(reason, ' \u00c0\u00c2')).toBe(false);
    expect(allowedBy(reason, '\u00a0ab\u3000')).toBe(false);
    expect(allowedBy(reason, 'ID checked')).toBe(true);
    const res = await call<ProblemBody>(stack, 'POST', `/v1/support/recoveries/${crypto.randomUUID()}/document-check`, {
      token: person.token,
      json: { verified: false, reason: ' \u00c0\u00c2' },
    });
    expectValidationProblem(res);
  });

  it('legal holds: a reason of nothing but whitespace (a vertical tab) is refused, and the document’s pattern says so', async () => {
    const reason = bodySchema('/v1/support/accounts/{accountId}/legal-hold', 'post').properties!.reason!;
    expect(allowedBy(reason, '\u000b')).toBe(false);
    expect(allowedBy(reason, 'litigation')).toBe(true);
    const res = await call<ProblemBody>(stack, 'POST', `/v1/support/accounts/${person.accountId}/legal-hold`, {
      token: person.token,
      json: { reason: '\u000b', hold: true },
    });
    expectValidationProblem(res);
  });

  it('POST …/link/complete: the document says the body carries exactly one of code and error, as the API checks', async () => {
    const schema = bodySchema('/v1/me/providers/{provider}/link/complete', 'post');
    expect(schema.oneOf).toEqual([{ required: ['code'] }, { required: ['error'] }]);
    for (const json of [{ state: '0'.repeat(16) }, { state: '0'.repeat(16), code: 'c', error: 'access_denied' }]) {
      const res = await call<ProblemBody>(stack, 'POST', '/v1/me/providers/github/link/complete', {
        token: person.token,
        json,
      });
      expectValidationProblem(res);
    }
  });

  it('POST /v1/recoveries: an address with a label ending in a hyphen or longer than 63 characters is refused', async () => {
    const email = bodySchema('/v1/recoveries', 'post').properties!.email!;
    for (const refused of ['ada@example-.com', `ada@${'b'.repeat(64)}.com`, `${'a'.repeat(65)}@example.com`]) {
      expect(allowedBy(email, refused), refused).toBe(false);
      expectValidationProblem(await call<ProblemBody>(stack, 'POST', '/v1/recoveries', { json: { email: refused } }));
    }
    expect(allowedBy(email, 'ada@example.com')).toBe(true);
  });

  it('POST /v1/recoveries/{id}/challenges: the document says a provider goes with provider_reauth and only with it', async () => {
    const schema = bodySchema('/v1/recoveries/{recoveryId}/challenges', 'post');
    expect(schema.oneOf).toHaveLength(2);
    const started = await call<{ recoveryId: string; recoveryToken: string }>(stack, 'POST', '/v1/recoveries', {
      json: { email: 'nobody-fuzz@example.com' },
    });
    expect(started.status).toBe(202);
    for (const json of [{ factor: 'totp', provider: 'github' }, { factor: 'provider_reauth' }]) {
      const res = await call<ProblemBody>(stack, 'POST', `/v1/recoveries/${started.body.recoveryId}/challenges`, {
        json,
        headers: { 'x-recovery-token': started.body.recoveryToken },
      });
      expectValidationProblem(res);
    }
  });

  it('POST /v1/me/recovery-factors/push-devices: the document says the endpoint is https, as the API checks', async () => {
    const endpoint = bodySchema('/v1/me/recovery-factors/push-devices', 'post').properties!.endpoint!;
    expect(allowedBy(endpoint, 'http://push.example.com/send/abc')).toBe(false);
    expect(allowedBy(endpoint, 'https://push.example.com/send/abc')).toBe(true);
    const res = await call<ProblemBody>(stack, 'POST', '/v1/me/recovery-factors/push-devices', {
      token: person.token,
      json: { name: 'Ada’s phone', endpoint: 'http://push.example.com/send/abc' },
    });
    expectValidationProblem(res);
  });

  it('GET /v1/oauth/{provider}/callback: a query over the 16 KiB header limit is a documented 431 problem', async () => {
    const res = await rawRequest('GET', `/v1/oauth/github/callback?state=${'s'.repeat(17_000)}`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(doc.paths['/v1/oauth/{provider}/callback']!.get!.responses['431']).toBeDefined();
  });

  it('GET /.well-known/jwks.json: its content type is documented, and another method is a 405 naming GET', async () => {
    const res = await fetch(`${stack.baseUrl}/.well-known/jwks.json`);
    const type = res.headers.get('content-type')!.split(';')[0]!;
    expect(Object.keys(doc.paths['/.well-known/jwks.json']!.get!.responses['200']!.content!)).toContain(type);
    // fetch refuses to send TRACE; Schemathesis sent it with Python's requests.
    const trace = await rawRequest('TRACE', '/.well-known/jwks.json');
    expect(trace.status).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD');
    expect(trace.headers['content-type']).toMatch(/^application\/problem\+json/);
    for (const method of ['POST', 'DELETE']) {
      const res = await call<ProblemBody>(stack, method, '/.well-known/jwks.json');
      expect(res.status, method).toBe(405);
    }
  });

  it('a path of its own is not a sibling’s parameter: OPTIONS …/passkeys/options is a 405 that allows POST only', async () => {
    const res = await call<ProblemBody>(stack, 'OPTIONS', '/v1/me/recovery-factors/passkeys/options', {
      token: person.token,
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    // DELETE used to reach `DELETE …/passkeys/{factorId}` and answer 400 about a factorId "options".
    const deleted = await call<ProblemBody>(stack, 'DELETE', '/v1/me/recovery-factors/passkeys/options', {
      token: person.token,
    });
    expect(deleted.status).toBe(405);
    expect(deleted.headers.get('allow')).toBe('POST');
    expect(deleted.body.type).toMatch(/method-not-allowed$/);
    // The sibling route still takes its ids.
    const missing = await call<ProblemBody>(
      stack,
      'DELETE',
      `/v1/me/recovery-factors/passkeys/${crypto.randomUUID()}`,
      {
        token: person.token,
      },
    );
    expect(missing.status).toBe(404);
  });
});
