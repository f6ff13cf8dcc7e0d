/**
 * `kong/kong.yaml` against the real app: its routes (`app.routes`) and `GET /openapi.json`. Kong itself
 * cannot run here; the checks follow Kong's declarative format (https://developer.konghq.com/gateway/declarative-configuration/)
 * and its plugins' documented fields (jwt, rate-limiting, proxy-cache, cors, correlation-id,
 * request-size-limiting, prometheus on https://developer.konghq.com/plugins/).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { maxBodyBytes } from '../../api/middleware/body.js';
import { requestIdHeader } from '../../api/middleware/request-log.js';
import { useAppWithoutServer } from '../support/app.js';

interface KongPlugin {
  name: string;
  config?: Record<string, unknown>;
}
interface KongRoute {
  name: string;
  paths: string[];
  methods: string[];
  plugins?: KongPlugin[];
}
interface KongConfig {
  _format_version: string;
  services: { name: string; routes: KongRoute[] }[];
  consumers?: { username: string }[];
  plugins?: KongPlugin[];
}
interface OpenApiDoc {
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
}

const kong = parse(readFileSync(new URL('../../kong/kong.yaml', import.meta.url), 'utf8')) as KongConfig;
const routes = kong.services.flatMap((s) => s.routes);
const globalPlugin = (name: string) => kong.plugins?.find((p) => p.name === name);
const routePlugin = (r: KongRoute, name: string) => r.plugins?.find((p) => p.name === name);

/** An API path template (`/v1/me/{x}` or Hono's `/v1/me/:x`) as the exact Kong 3 regex path it needs. */
const exactRegex = (template: string) =>
  '~' +
  template
    .split(/(\{[^}]+\}|:[A-Za-z]+)/)
    .map((part, i) => (i % 2 ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('') +
  '$';
/** A concrete path for a template, to try Kong regexes on. */
const sample = (template: string) => template.replace(/\{[^}]+\}|:[A-Za-z]+/g, 'x1');
const matches = (kongPath: string, path: string) => new RegExp(`^${kongPath.slice(1)}`).test(path);
const routesFor = (path: string, method: string) =>
  routes.filter((r) => r.methods.includes(method) && r.paths.some((p) => matches(p, path)));

/** Paths oidc-provider serves in the embedded (test) issuer only; in production Auth0 signs in. */
const embeddedOnly = (path: string) => path.startsWith('/oidc/');
/** Reads that Kong may cache: public documents, and the catalog keyed per caller. */
const cacheable = ['/v1/providers', '/v1/schema/account-center.json', '/openapi.json', '/.well-known/jwks.json'];

const api = useAppWithoutServer();
async function openApi(): Promise<OpenApiDoc> {
  const res = await api.app.request(`${api.baseUrl}/openapi.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as OpenApiDoc;
}
const bearerOnly = (security: Record<string, string[]>[] | undefined) =>
  (security ?? []).length > 0 && (security ?? []).every((s) => 'bearerAuth' in s);
/** Every operation of the app: OpenAPI's, then the pages Hono serves (methods GET/POST…, not ALL). */
async function operations() {
  const doc = await openApi();
  const ops: { path: string; method: string; bearer: boolean; documented: boolean }[] = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item))
      ops.push({ path, method: method.toUpperCase(), bearer: bearerOnly(op.security), documented: true });
  const documented = new Set(ops.map((o) => `${o.method} ${exactRegex(o.path)}`));
  for (const r of api.app.routes) {
    if (r.method === 'ALL' || embeddedOnly(r.path) || documented.has(`${r.method} ${exactRegex(r.path)}`)) continue;
    documented.add(`${r.method} ${exactRegex(r.path)}`);
    ops.push({ path: r.path, method: r.method, bearer: false, documented: false });
  }
  return { doc, ops };
}

describe('kong/kong.yaml', () => {
  it('is DB-less format 3.0 with one service, cra-api', () => {
    expect(kong._format_version).toBe('3.0');
    expect(kong.services.map((s) => s.name)).toEqual(['cra-api']);
    expect(new Set(routes.map((r) => r.name)).size, 'route names are unique').toBe(routes.length);
  });

  it('routes every API operation and page, with JWT validation exactly where bearer auth is required', async () => {
    const { ops } = await operations();
    expect(ops.length).toBeGreaterThan(100);
    const problems: string[] = [];
    for (const op of ops) {
      const found = routesFor(sample(op.path), op.method);
      if (found.length === 0) problems.push(`${op.method} ${op.path} is not routed`);
      for (const r of found) {
        const jwt = routePlugin(r, 'jwt');
        if (op.bearer && !jwt) problems.push(`${op.method} ${op.path}: route ${r.name} lacks the jwt plugin`);
        if (!op.bearer && jwt) problems.push(`${op.method} ${op.path}: route ${r.name} demands a JWT it does not need`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('exposes no path or method the API does not have (exact regex paths only)', async () => {
    const { ops } = await operations();
    const methodsByRegex = new Map<string, Set<string>>();
    for (const op of ops) {
      const set = methodsByRegex.get(exactRegex(op.path)) ?? new Set<string>();
      set.add(op.method);
      if (op.documented) set.add('OPTIONS'); // answered by Kong's cors plugin (preflight)
      methodsByRegex.set(exactRegex(op.path), set);
    }
    const problems: string[] = [];
    for (const r of routes)
      for (const p of r.paths) {
        const methods = methodsByRegex.get(p);
        if (!methods) problems.push(`route ${r.name}: ${p} is no exact path of the API`);
        else
          for (const m of r.methods)
            if (!methods.has(m)) problems.push(`route ${r.name}: ${m} ${p} is not an API method`);
      }
    expect(problems).toEqual([]);
  });

  it('validates RS256 tokens by kid, exp checked, never from the query string or cookies', () => {
    expect(kong.consumers?.map((c) => c.username)).toContain('auth0');
    for (const r of routes) {
      const jwt = routePlugin(r, 'jwt');
      if (!jwt) continue;
      expect(jwt.config, `jwt on ${r.name}`).toMatchObject({
        key_claim_name: 'kid',
        claims_to_verify: ['exp'],
        header_names: ['authorization'],
        uri_param_names: [],
        cookie_names: [],
        run_on_preflight: false,
      });
    }
  });

  it('caches only the catalog, the schema, the OpenAPI document and the JWKS; never personal data', async () => {
    const { ops } = await operations();
    const problems: string[] = [];
    for (const r of routes) {
      const cache = routePlugin(r, 'proxy-cache');
      if (!cache) continue;
      const config = cache.config ?? {};
      if (JSON.stringify(config.request_method) !== '["GET"]') problems.push(`proxy-cache on ${r.name}: not GET only`);
      if (config.strategy !== 'memory') problems.push(`proxy-cache on ${r.name}: strategy is not memory`);
      if (!(Number(config.cache_ttl) > 0 && Number(config.cache_ttl) <= 300))
        problems.push(`proxy-cache on ${r.name}: TTL ${String(config.cache_ttl)} is not short`);
      if (config.cache_control !== true) problems.push(`proxy-cache on ${r.name}: ignores the API's Cache-Control`);
      for (const op of ops.filter((o) => o.method === 'GET' && r.paths.some((p) => matches(p, sample(o.path))))) {
        if (!cacheable.includes(op.path))
          problems.push(`proxy-cache on ${r.name} can answer ${op.path} (personal data)`);
        const vary = (config.vary_headers as string[] | undefined)?.map((h) => h.toLowerCase()) ?? [];
        if (op.bearer && !vary.includes('authorization'))
          problems.push(`proxy-cache on ${r.name}: ${op.path} answers per caller but the cache is shared`);
      }
    }
    for (const path of cacheable)
      if (!routesFor(sample(path), 'GET').some((r) => routePlugin(r, 'proxy-cache')))
        problems.push(`${path} is not cached`);
    expect(globalPlugin('proxy-cache'), 'no global proxy-cache').toBeUndefined();
    expect(problems).toEqual([]);
  });

  it('allows in CORS every method and request header the API uses', async () => {
    const { doc, ops } = await operations();
    const cors = globalPlugin('cors')?.config as { methods: string[]; headers: string[] } | undefined;
    expect(cors, 'the cors plugin').toBeDefined();
    const methods = new Set(ops.filter((o) => o.documented).map((o) => o.method));
    for (const m of [...methods, 'OPTIONS']) expect(cors?.methods, `cors methods lack ${m}`).toContain(m);
    const headers = (cors?.headers ?? []).map((h) => h.toLowerCase());
    const needed = ['authorization', 'content-type', 'content-digest', 'signature-input'];
    for (const s of Object.values(doc.components.securitySchemes))
      if (s.type === 'apiKey' && s.in === 'header' && s.name && s.name !== 'CRA-Signature') needed.push(s.name);
    for (const h of needed) expect(headers, `cors headers lack ${h}`).toContain(h.toLowerCase());
  });

  it('sets the correlation header the API logs, the API size limit and prometheus', () => {
    expect(globalPlugin('correlation-id')?.config).toMatchObject({
      header_name: requestIdHeader,
      echo_downstream: true,
    });
    const size = globalPlugin('request-size-limiting')?.config as { allowed_payload_size: number; size_unit: string };
    const unit = { bytes: 1, kilobytes: 1024, megabytes: 1024 * 1024 }[size.size_unit];
    expect(size.allowed_payload_size * (unit ?? NaN), 'request-size-limiting = maxBodyBytes').toBe(maxBodyBytes);
    expect(globalPlugin('prometheus'), 'the prometheus plugin').toBeDefined();
  });

  it('limits recoveries, OAuth callbacks and hooks more strictly than the global limit', async () => {
    const { ops } = await operations();
    const global = globalPlugin('rate-limiting')?.config as { minute: number };
    expect(global.minute).toBeGreaterThan(0);
    const strict = ops.filter((o) => /^\/v1\/(recoveries|oauth\/|hooks\/|webhooks\/)/.test(o.path));
    expect(strict.map((o) => o.path)).toEqual(
      expect.arrayContaining(['/v1/recoveries', '/v1/oauth/{provider}/callback', '/v1/hooks/auth0/post-registration']),
    );
    const problems: string[] = [];
    for (const op of strict)
      for (const r of routesFor(sample(op.path), op.method)) {
        const limit = routePlugin(r, 'rate-limiting')?.config as { minute?: number } | undefined;
        if (!(limit?.minute && limit.minute < global.minute))
          problems.push(`${op.method} ${op.path}: route ${r.name} has no limit stricter than ${global.minute}/minute`);
      }
    expect(problems).toEqual([]);
  });
});

describe('the correlation id Kong sets', () => {
  const logged = (id: string) =>
    api.apiLog
      .map((line) => JSON.parse(line) as { msg?: string; requestId?: string; path?: string })
      .filter((l) => l.msg === 'request' && l.requestId === id);

  it('is logged on the request line and echoed', async () => {
    const id = 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d#12';
    const res = await api.app.request(`${api.baseUrl}/healthz`, { headers: { [requestIdHeader]: id } });
    expect(res.headers.get(requestIdHeader)).toBe(id);
    expect(logged(id).map((l) => l.path)).toEqual(['/healthz']);
  });

  it('is generated when absent or not a plain token, and never copied from a malformed header', async () => {
    const res = await api.app.request(`${api.baseUrl}/healthz`, { headers: { [requestIdHeader]: 'a b {forged}' } });
    const id = res.headers.get(requestIdHeader) ?? '';
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(logged(id)).toHaveLength(1);
    expect(api.apiLog.some((line) => line.includes('forged'))).toBe(false);
  });
});
