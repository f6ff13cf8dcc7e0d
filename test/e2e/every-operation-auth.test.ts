/**
 * Every operation of `GET /openapi.json`, called over real HTTP without credentials and with a valid token
 * that holds no permission (issue 10, item 3). The operations come from the document, not from a list here,
 * so a route added without auth fails this file: every operation must declare its auth on the route
 * (`secured(auth.…, route)`, which writes `x-cra-auth` and `security`), and a route that does not is named
 * by the first test below. Anonymously, every non-public operation answers 401 with a Bearer challenge; with
 * the permission-less token, every support operation answers 403. Public operations are named below with
 * the reason they are public — the list must be exactly the operations declared public, recovery token,
 * agent signature or hook signature — and still never answer 2xx to an anonymous write. The document says
 * bearer is required exactly when the anonymous call met a Bearer challenge.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, useTestStack, tokenFor, type JsonResponse } from '../support/stack.js';

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
  'POST /v1/webhooks/github':
    'GitHub calls it; its X-Hub-Signature-256 HMAC under the webhook secret is the credential (401 without it)',
  'POST /v1/webhooks/slack':
    'Slack calls it; its X-Slack-Signature HMAC under the signing secret is the credential (401 without it)',
  'GET /v1/oauth/{provider}/callback':
    'the provider sends the browser back here; the session cookie decides (401 page without one)',
  'POST /v1/recoveries': 'recovery start: who lost access has no token; rate-limited, one answer for every address',
  'GET /v1/recoveries/{recoveryId}': 'the recovery token (X-Recovery-Token) is the credential (401 without it)',
  'POST /v1/recoveries/{recoveryId}/challenges':
    'the recovery token (X-Recovery-Token) is the credential (401 without it)',
  'POST /v1/recoveries/{recoveryId}/factors':
    'the recovery token (X-Recovery-Token) is the credential (401 without it)',
  'POST /v1/recoveries/{recoveryId}/cancel':
    'the cancel link’s token, the recovery token or the owner’s bearer (401 without any)',
  'GET /v1/recoveries/{recoveryId}/cancel':
    'the page a notice’s cancel link opens: it changes nothing, and checks the link’s token',
  'POST /v1/agents/recoveries': 'an AI agent’s RFC 9421 signature is the credential (401 without it)',
  'GET /v1/exports/{exportId}/archive':
    'an export’s signed download link: the signature is checked first (403), then its owner’s bearer or session (401)',
};

/**
 * The document's operation count when this file was written: fewer means operations went missing from it
 * (and so from this test). Raise it as operations are added.
 */
const documentedOperationsAtLeast = 51;

/** Where a support operation lives, and the permissions that open it (any one of them). */
const supportPermissions: ReadonlyArray<{ prefix: string; permissions: string[] }> = [
  { prefix: '/v1/support/links/', permissions: ['links:approve', 'support:read'] },
  { prefix: '/v1/support/feature-flags/', permissions: ['flags:write'] },
  { prefix: '/v1/support/recoveries/', permissions: ['recovery:approve', 'support:read'] },
  { prefix: '/v1/support/accounts/', permissions: ['legal:hold', 'support:read'] },
  { prefix: '/v1/support/queue', permissions: ['support:read'] },
  { prefix: '/v1/support/erasures/', permissions: ['support:read'] },
  // Operators: Temporal Web's codec endpoint (api/routes/codec.ts).
  { prefix: '/v1/codec/', permissions: ['histories:decode'] },
];
const allSupportPermissions = [...new Set(supportPermissions.flatMap((s) => s.permissions))];

/** The declarations `api/auth/route-auth.ts` knows, as `x-cra-auth` spells them. */
const declarations = ['public', 'bearer', 'permission', 'recovery-token', 'agent-signature', 'hook-signature'] as const;
type Declaration = (typeof declarations)[number];
/** The declarations whose caller brings no bearer token: their operations belong in `publicOperations`. */
const withoutBearer: ReadonlySet<Declaration> = new Set([
  'public',
  'recovery-token',
  'agent-signature',
  'hook-signature',
]);

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
  'x-cra-auth'?: string;
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
  /** The operation's own `security`, as the route declared it (undefined: it declared none). */
  ownSecurity: Array<Record<string, string[]>> | undefined;
  /** `x-cra-auth`: how the route declared its auth (undefined: it did not). */
  declared: string | undefined;
}

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
      const query = params
        .filter((p) => p.in === 'query' && p.required)
        .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(valueFor(p))}`);
      if (query.length) path += `?${query.join('&')}`;
      found.push({
        key: `${method.toUpperCase()} ${documentedPath}`,
        method: method.toUpperCase(),
        documentedPath,
        path,
        hasBody: op.requestBody !== undefined,
        security: op.security ?? document.security ?? [],
        ownSecurity: op.security,
        declared: op['x-cra-auth'],
      });
    }
  }
  return found;
}

const isBearerScheme = (name: string) => {
  const scheme = doc.components?.securitySchemes?.[name];
  return scheme?.type === 'http' && scheme.scheme?.toLowerCase() === 'bearer';
};

/** Whether the operation's security requires a bearer token: every alternative names a bearer scheme. */
function documentsBearer(op: Operation): boolean {
  return op.security.length > 0 && op.security.every((alternative) => Object.keys(alternative).some(isBearerScheme));
}

/** Why an operation's own `security` is not what its declaration gives, or undefined when it is. */
function securityMismatch(op: Operation): string | undefined {
  const security = op.ownSecurity;
  const only = (scheme: string) =>
    security?.length === 1 && JSON.stringify(security[0]) === JSON.stringify({ [scheme]: [] });
  switch (op.declared as Declaration) {
    case 'public':
      return security !== undefined && security.length === 0 ? undefined : 'a public operation has `security: []`';
    case 'bearer':
      return only('bearerAuth') ? undefined : 'a bearer operation has `security: [{ bearerAuth: [] }]`';
    case 'permission':
      return security !== undefined &&
        security.length > 0 &&
        security.every((a) => Object.keys(a).length === 1 && (a.bearerAuth?.length ?? 0) > 0)
        ? undefined
        : 'a permission operation names its permissions: every alternative `{ bearerAuth: [permission, …] }`';
    case 'recovery-token':
      return security?.[0] && JSON.stringify(security[0]) === JSON.stringify({ recoveryToken: [] })
        ? undefined
        : 'a recovery-token operation has `{ recoveryToken: [] }` first';
    case 'agent-signature':
      return only('agentSignature') ? undefined : 'an agent operation has `security: [{ agentSignature: [] }]`';
    case 'hook-signature':
      return only('hookSignature') ? undefined : 'a hook operation has `security: [{ hookSignature: [] }]`';
    default:
      return `unknown declaration ${JSON.stringify(op.declared)}`;
  }
}

/** The permissions a permission operation's security names (one list per alternative). */
const documentedPermissions = (op: Operation) => (op.ownSecurity ?? []).map((a) => a.bearerAuth ?? []);

const isPublic = (op: Operation) => op.key in publicOperations;
const permissionsFor = (op: Operation) =>
  supportPermissions.find((s) => op.documentedPath.startsWith(s.prefix))?.permissions;
/** The staff operations: support's, and the operators' codec endpoint. */
const isSupport = (op: Operation) =>
  op.documentedPath.startsWith('/v1/support/') || op.documentedPath.startsWith('/v1/codec/');

function send(op: Operation, token?: string): Promise<JsonResponse> {
  return call(stack, op.method, op.path, {
    ...(token ? { token } : {}),
    ...(op.hasBody ? { json: {} } : {}),
    headers: { accept: 'application/json' },
  });
}

/** One line per answer, so a failure names the operation and what it said. */
function describeAnswer(op: Operation, res: JsonResponse): string {
  const detail =
    typeof res.body === 'object' && res.body && 'detail' in res.body
      ? ` — ${String((res.body as { detail: unknown }).detail)}`
      : '';
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

const stack = useTestStack({ workers: false });
beforeAll(async () => {
  const res = await call<OpenApiDocument>(stack, 'GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  operations = operationsOf(doc);
  plainToken = await tokenFor(stack, `auth0|every-op-${randomBytes(4).toString('hex')}`, {
    email: 'plain@example.com',
  });
});

describe('the OpenAPI document is the list of operations', () => {
  it('every path × method of the document is an operation here, and none went missing', () => {
    const documented = Object.values(doc.paths).reduce(
      (n, item) => n + Object.keys(item).filter((m) => (methods as readonly string[]).includes(m)).length,
      0,
    );
    expect(operations.length).toBe(documented);
    expect(operations.length).toBeGreaterThanOrEqual(documentedOperationsAtLeast);
  });
});

describe('every operation declares its auth on the route', () => {
  it('every operation carries an x-cra-auth declaration (declare it with secured(auth.…, route))', () => {
    const undeclared = operations.filter(
      (op) => !(declarations as readonly (string | undefined)[]).includes(op.declared),
    );
    expect(
      undeclared.map(
        (op) =>
          `${op.key}: ${op.declared === undefined ? 'no x-cra-auth' : `unknown x-cra-auth ${JSON.stringify(op.declared)}`}`,
      ),
      'operations without an auth declaration',
    ).toEqual([]);
  });

  it('the security of each operation is the one its declaration gives', () => {
    const wrong = operations
      .filter((op) => op.declared !== undefined)
      .flatMap((op) => {
        const why = securityMismatch(op);
        return why ? [`${op.key} (declared ${op.declared}, security ${JSON.stringify(op.ownSecurity)}): ${why}`] : [];
      });
    expect(wrong).toEqual([]);
  });

  it('the public list here is exactly the operations declared public, recovery token, agent signature or hook signature', () => {
    const declaredWithoutBearer = operations
      .filter((op) => withoutBearer.has(op.declared as Declaration))
      .map((op) => `${op.key} (${op.declared})`);
    const listed = operations.filter(isPublic).map((op) => `${op.key} (${op.declared ?? 'undeclared'})`);
    expect(listed.sort()).toEqual(declaredWithoutBearer.sort());
  });

  it('the support operations are the ones declared by permission, with the permissions named here', () => {
    const wrong: string[] = [];
    for (const op of operations) {
      const declaredPermission = op.declared === 'permission';
      if (isSupport(op) !== declaredPermission)
        wrong.push(
          `${op.key}: declared ${op.declared ?? 'nothing'}, ${isSupport(op) ? 'a support' : 'not a support'} operation`,
        );
      const expected = permissionsFor(op);
      if (declaredPermission && expected) {
        // The document names only permissions listed here for the operation's prefix.
        const documented = documentedPermissions(op);
        if (!documented.flat().every((p) => expected.includes(p)))
          wrong.push(`${op.key}: documents ${JSON.stringify(documented)}, this file names ${JSON.stringify(expected)}`);
      }
    }
    expect(wrong).toEqual([]);
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

  it('the document says bearer is required exactly where the anonymous call met a Bearer challenge', async () => {
    const answers = await anonymousAnswers();
    const disagree = operations.filter((op) => {
      const res = answers.get(op.key)!;
      return documentsBearer(op) !== (res.status === 401 && bearerChallenge(res));
    });
    expect(
      disagree.map(
        (op) => `${describeAnswer(op, answers.get(op.key)!)}; documented security ${JSON.stringify(op.security)}`,
      ),
    ).toEqual([]);
  });

  it('the public entries the document does not list exist: each answers an anonymous GET with 200', async () => {
    const documented = new Set(operations.map((o) => o.key));
    const outside = Object.keys(publicOperations).filter((k) => !documented.has(k));
    const wrong: string[] = [];
    for (const key of outside) {
      const [method, path] = key.split(' ') as [string, string];
      const res = method === 'GET' ? await call(stack, 'GET', path) : undefined;
      if (res?.status !== 200)
        wrong.push(`${key} → ${res?.status ?? 'not a GET: document it, or remove it from the public list'}`);
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
    expect(
      operations
        .filter(isSupport)
        .filter((op) => !permissionsFor(op))
        .map((op) => op.key),
    ).toEqual([]);
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
      const token = await tokenFor(stack, `auth0|every-op-support-${randomBytes(4).toString('hex')}`, {
        permissions: permissionsFor(op) ?? allSupportPermissions,
      });
      const res = await send(op, token);
      if (res.status === 401 || res.status === 403 || res.status >= 500) wrong.push(describeAnswer(op, res));
    }
    expect(wrong).toEqual([]);
  });
});
