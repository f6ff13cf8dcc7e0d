/**
 * Every operation of `GET /openapi.json`, called over real HTTP without credentials and with a valid token
 * that holds no permission (issue 10, item 3). The operations come from the document, not from a list here,
 * so a route added without auth fails this file: anonymously, every non-public operation answers 401 with a
 * Bearer challenge; with the permission-less token, every support operation answers 403. Public operations
 * are named below with the reason they are public, and still never answer 2xx to an anonymous write. The
 * document's `security` says bearer exactly when the anonymous call met a Bearer challenge.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestStack, tokenFor, type JsonResponse, type TestStack } from '../support/stack.js';

/**
 * Everything anyone may call without a bearer token, each with why: `METHOD path` as the document spells it.
 * Entries the document does not (yet) list are called anonymously too and must answer 200.
 */
const publicOperations: Readonly<Record<string, string>> = {
  'GET /healthz': 'liveness probe for the orchestrator',
  'GET /readyz': 'readiness probe (Temporal and MongoDB answer), for the orchestrator',
  'GET /openapi.json': 'the API description itself',
  'GET /v1/schema/account-center.json': 'the JSON Schema of the account-center document, for any client',
  'GET /.well-known/jwks.json': 'the issuer’s public keys, so anyone can verify its tokens',
  'GET /.well-known/openid-configuration': 'OIDC discovery of the embedded issuer',
  'POST /v1/hooks/auth0/post-registration': 'Auth0 calls it; its CRA-Signature HMAC is the credential (401 without it)',
  'GET /v1/oauth/{provider}/callback': 'the provider sends the browser back here; the session cookie decides (401 page without one)',
  'POST /v1/recoveries': 'recovery start: who lost access has no token; rate-limited, one answer for every address',
  'GET /v1/recoveries/{recoveryId}': 'the recovery token (X-Recovery-Token) is the credential (401 without it)',
  'POST /v1/recoveries/{recoveryId}/challenges': 'the recovery token (X-Recovery-Token) is the credential (401 without it)',
  'POST /v1/recoveries/{recoveryId}/factors': 'the recovery token (X-Recovery-Token) is the credential (401 without it)',
  'POST /v1/recoveries/{recoveryId}/cancel': 'the cancel link’s token, the recovery token or the owner’s bearer (401 without any)',
  'GET /v1/recoveries/{recoveryId}/cancel': 'the page a notice’s cancel link opens: it changes nothing, and checks the link’s token',
  'POST /v1/agents/recoveries': 'an AI agent’s RFC 9421 signature is the credential (401 without it)',
};

/**
 * The document's operation count when this file was written: fewer means operations went missing from it
 * (and so from this test). Raise it as operations are added.
 */
const documentedOperationsAtLeast = 46;

/** Where a support operation lives, and the permissions that open it (any one of them). */
const supportPermissions: ReadonlyArray<{ prefix: string; permissions: string[] }> = [
  { prefix: '/v1/support/links/', permissions: ['links:approve'] },
  { prefix: '/v1/support/feature-flags/', permissions: ['flags:write'] },
  { prefix: '/v1/support/recoveries/', permissions: ['recovery:approve', 'support:read'] },
];
const allSupportPermissions = [...new Set(supportPermissions.flatMap((s) => s.permissions))];

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  $ref?: string;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
  example?: unknown;
}
interface OperationObject {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, unknown> };
  security?: Array<Record<string, string[]>>;
}
interface OpenApiDocument {
  paths: Record<string, Partial<Record<(typeof methods)[number], OperationObject>>>;
  security?: Array<Record<string, string[]>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

interface Operation {
  /** `METHOD /documented/{path}` */
  key: string;
  method: string;
  documentedPath: string;
  /** With its path parameters filled. */
  path: string;
  hasBody: boolean;
  /** The document's effective security (the operation's, else the document's). */
  security: Array<Record<string, string[]>>;
}

let stack: TestStack;
let doc: OpenApiDocument;
let operations: Operation[];
/** A valid token of the embedded issuer, with no permission at all. */
let plainToken: string;

/** A plausible value for a path (or required query) parameter: its enum, its example, else by format and name. */
function valueFor(p: Parameter): string {
  const s = p.schema ?? {};
  if (s.enum?.length) return String(s.enum[0]);
  if (p.example !== undefined) return String(p.example);
  if (s.example !== undefined) return String(s.example);
  if (p.name === 'provider') return 'github';
  if (p.name === 'workflowId') return encodeURIComponent(`link/${randomUUID()}`);
  return randomUUID();
}

function operationsOf(document: OpenApiDocument): Operation[] {
  const found: Operation[] = [];
  for (const [documentedPath, item] of Object.entries(document.paths)) {
    for (const method of methods) {
      const op = item[method];
      if (!op) continue;
      const params = op.parameters ?? [];
      let path = documentedPath.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const param = params.find((p) => p.in === 'path' && p.name === name);
        return param ? valueFor(param) : randomUUID();
      });
      const query = params.filter((p) => p.in === 'query' && p.required).map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(valueFor(p))}`);
      if (query.length) path += `?${query.join('&')}`;
      found.push({
        key: `${method.toUpperCase()} ${documentedPath}`,
        method: method.toUpperCase(),
        documentedPath,
        path,
        hasBody: op.requestBody !== undefined,
        security: op.security ?? document.security ?? [],
      });
    }
  }
  return found;
}

/** Whether the operation's security names a bearer scheme in any of its alternatives. */
function documentsBearer(op: Operation): boolean {
  const schemes = doc.components?.securitySchemes ?? {};
  return op.security.some((alternative) => Object.keys(alternative).some((name) => schemes[name]?.type === 'http' && schemes[name]?.scheme?.toLowerCase() === 'bearer'));
}

const isPublic = (op: Operation) => op.key in publicOperations;
const permissionsFor = (op: Operation) => supportPermissions.find((s) => op.documentedPath.startsWith(s.prefix))?.permissions;
const isSupport = (op: Operation) => op.documentedPath.startsWith('/v1/support/');

function send(op: Operation, token?: string): Promise<JsonResponse> {
  return call(stack, op.method, op.path, {
    ...(token ? { token } : {}),
    ...(op.hasBody ? { json: {} } : {}),
    headers: { accept: 'application/json' },
  });
}

/** One line per answer, so a failure names the operation and what it said. */
function describeAnswer(op: Operation, res: JsonResponse): string {
  const detail = typeof res.body === 'object' && res.body && 'detail' in res.body ? ` — ${String((res.body as { detail: unknown }).detail)}` : '';
  return `${op.key} (${op.method} ${op.path}) → ${res.status}${res.headers.get('www-authenticate') ? ` [WWW-Authenticate: ${res.headers.get('www-authenticate')}]` : ''}${detail}`;
}

let anonymous: Promise<Map<string, JsonResponse>> | undefined;
/** Every operation called once without credentials (shared by the tests that read the answers). */
function anonymousAnswers(): Promise<Map<string, JsonResponse>> {
  anonymous ??= (async () => {
    const answers = new Map<string, JsonResponse>();
    for (const op of operations) answers.set(op.key, await send(op));
    return answers;
  })();
  return anonymous;
}

const bearerChallenge = (res: JsonResponse) => /^Bearer\b/i.test(res.headers.get('www-authenticate') ?? '');

beforeAll(async () => {
  stack = await startTestStack({ workers: false });
  const res = await call<OpenApiDocument>(stack, 'GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  operations = operationsOf(doc);
  plainToken = await tokenFor(stack, `auth0|every-op-${randomBytes(4).toString('hex')}`, { email: 'plain@example.com' });
});
afterAll(async () => {
  await stack?.stop();
});

describe('the OpenAPI document is the list of operations', () => {
  it('every path × method of the document is an operation here, and none went missing', () => {
    const documented = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).filter((m) => (methods as readonly string[]).includes(m)).length, 0);
    expect(operations.length).toBe(documented);
    expect(operations.length).toBeGreaterThanOrEqual(documentedOperationsAtLeast);
  });
});

describe('without credentials', () => {
  it('every non-public operation answers 401 with a Bearer challenge', async () => {
    const answers = await anonymousAnswers();
    expect(answers.size).toBe(operations.length);
    const refused = operations.filter((op) => !isPublic(op));
    const wrong = refused.filter((op) => {
      const res = answers.get(op.key)!;
      return res.status !== 401 || !bearerChallenge(res);
    });
    expect(wrong.map((op) => describeAnswer(op, answers.get(op.key)!))).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
  });

  it('a public operation never answers 2xx to an anonymous write, nor 5xx', async () => {
    const answers = await anonymousAnswers();
    const wrong = operations.filter(isPublic).filter((op) => {
      const { status } = answers.get(op.key)!;
      return status >= 500 || (writeMethods.has(op.method) && status >= 200 && status < 300);
    });
    expect(wrong.map((op) => describeAnswer(op, answers.get(op.key)!))).toEqual([]);
  });

  it('the document says bearer exactly where the anonymous call met a Bearer challenge', async () => {
    const answers = await anonymousAnswers();
    const disagree = operations.filter((op) => {
      const res = answers.get(op.key)!;
      return documentsBearer(op) !== (res.status === 401 && bearerChallenge(res));
    });
    expect(disagree.map((op) => `${describeAnswer(op, answers.get(op.key)!)}; documented security ${JSON.stringify(op.security)}`)).toEqual([]);
  });

  it('the public entries the document does not list exist: each answers an anonymous GET with 200', async () => {
    const documented = new Set(operations.map((o) => o.key));
    const outside = Object.keys(publicOperations).filter((k) => !documented.has(k));
    const wrong: string[] = [];
    for (const key of outside) {
      const [method, path] = key.split(' ') as [string, string];
      const res = method === 'GET' ? await call(stack, 'GET', path) : undefined;
      if (res?.status !== 200) wrong.push(`${key} → ${res?.status ?? 'not a GET: document it, or remove it from the public list'}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('with a valid token that holds no permission', () => {
  it('every support operation answers 403, before it reads the body', async () => {
    const support = operations.filter(isSupport);
    expect(support.length).toBeGreaterThanOrEqual(6);
    const wrong: string[] = [];
    for (const op of support) {
      const res = await send(op, plainToken);
      if (res.status !== 403) wrong.push(describeAnswer(op, res));
    }
    expect(wrong).toEqual([]);
  });

  it('every support operation is named with its permissions here (a new support prefix must say which)', () => {
    expect(operations.filter(isSupport).filter((op) => !permissionsFor(op)).map((op) => op.key)).toEqual([]);
  });

  it('every other non-public operation accepts the token (no 401) and answers without a server error', async () => {
    const wrong: string[] = [];
    for (const op of operations.filter((o) => !isPublic(o) && !isSupport(o))) {
      const res = await send(op, plainToken);
      if (res.status === 401 || res.status >= 500) wrong.push(describeAnswer(op, res));
    }
    expect(wrong).toEqual([]);
  });
});

describe('with the permission', () => {
  it('each support operation gets past the permission check (the 403 above was the permission’s)', async () => {
    const wrong: string[] = [];
    for (const op of operations.filter(isSupport)) {
      const token = await tokenFor(stack, `auth0|every-op-support-${randomBytes(4).toString('hex')}`, { permissions: permissionsFor(op) ?? allSupportPermissions });
      const res = await send(op, token);
      if (res.status === 401 || res.status === 403 || res.status >= 500) wrong.push(describeAnswer(op, res));
    }
    expect(wrong).toEqual([]);
  });
});
