/**
 * A local HTTP server playing HashiCorp Vault for the contract tests of `HashiCorpVault` (the real adapter
 * and the real `node-vault` client, only the network destination differs). Transit has real AES-256-GCM
 * key versions, so round trips, rotation and rewrap are real, and KV is version 2. Each endpoint answers,
 * errors included, as the page cited beside it says, with Vault's source where the page is silent:
 * - authentication: `X-Vault-Token`, a missing or wrong one is 403 (https://developer.hashicorp.com/vault/api-docs#authentication)
 * - errors: `{ "errors": [...] }` (https://developer.hashicorp.com/vault/api-docs#error-response)
 * - transit: create, rotate, read key, encrypt, decrypt, rewrap, hmac, verify, datakey
 *   (https://developer.hashicorp.com/vault/api-docs/secret/transit; builtin/logical/transit, sdk/helper/keysutil/policy.go)
 * - KV v2: read and write `data/<path>` (with the `cas` option), delete `metadata/<path>`
 *   (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2; vault-plugin-secrets-kv path_data.go, path_metadata.go)
 * - AppRole login `POST auth/<mount>/login {role_id, secret_id}` (https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle),
 *   Kubernetes login `POST auth/<mount>/login {role, jwt}` (https://developer.hashicorp.com/vault/api-docs/auth/kubernetes#login):
 *   `auth: { client_token, accessor, policies, lease_duration, renewable }`; tokens expire after their TTL
 * - `POST auth/token/renew-self`, `GET auth/token/lookup-self` (https://developer.hashicorp.com/vault/api-docs/auth/token);
 *   a non-renewable token's renewal is a 400 "lease is not renewable"
 * - `GET sys/seal-status` (https://developer.hashicorp.com/vault/api-docs/system/seal-status, no token); while sealed
 *   every other path answers 503 "Vault is sealed"
 * - policies: a token may carry path globs (`*` at the end, `+` for one segment, as in
 *   https://developer.hashicorp.com/vault/docs/concepts/policies); a path outside them is a 403 "permission denied"
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON; undefined when the request had no body. */
  body: unknown;
}

export interface CannedResponse {
  method: string;
  path: string;
  status: number;
  body?: unknown;
  /** Never answer (the connection stays open until the client gives up). */
  hang?: boolean;
}

export interface TransitKey {
  /** Index + 1 is the version. Each version has its own HMAC key, as in Vault. */
  versions: { key: Buffer; hmacKey: Buffer; createdAt: number }[];
}

/** Vault's state and everything it was asked. */
export interface VaultState {
  transit: Map<string, TransitKey>;
  kv: Map<string, { data: Record<string, unknown>; version: number }>;
  requests: RecordedRequest[];
  /** Answered once, instead of the normal behaviour, for the next matching request. */
  canned: CannedResponse[];
  /** While true, only sys/seal-status answers (503 elsewhere). */
  sealed: boolean;
  /** Tokens issued by logins; the static token is not among them (it never expires and may do anything). */
  tokens: Map<string, IssuedToken>;
  /** A Vault having a bad moment: each request takes the first fault left (after `canned`), until used up. */
  faults: VaultFault[];
}

/**
 * What a busy or failing Vault answers: 429 (a rate-limit quota), 500 or 503, which Vault's API docs say to
 * try again later (https://developer.hashicorp.com/vault/api-docs#http-status-codes), and slow answers.
 */
export interface VaultFault {
  /** Answered instead of the normal behaviour; without one, `delayMs` only slows the normal answer. */
  status?: 429 | 500 | 503;
  /** Wait this long before answering. */
  delayMs?: number;
  /** How many requests it answers. */
  times: number;
}

export interface IssuedToken {
  /** ms since the epoch; past it the token is refused with a 403, as Vault does. */
  expiresAt: number;
  ttlSeconds: number;
  renewable: boolean;
  /** Renewals cannot go past this (the role's token_max_ttl). */
  maxExpiresAt: number;
  /** Path globs the token may use besides its own auth/token/* paths; undefined: every path. */
  policy?: string[];
  method: 'approle' | 'kubernetes';
}

/** A login method's role: what it checks and the tokens it issues. */
export interface StandInRole {
  mount?: string;
  ttlSeconds: number;
  renewable?: boolean;
  /** Default: ten times the TTL. */
  maxTtlSeconds?: number;
  policy?: string[];
  /** Answer each login this much later (a slow Vault), to catch requests sent while a login is in flight. */
  loginDelayMs?: number;
}

export interface VaultStandIn {
  endpoint: string;
  state: VaultState;
  /** Forget every key, secret, request and canned answer. */
  reset(): void;
  close(): Promise<void>;
}

export interface VaultStandInOptions {
  /** The static token it accepts (besides tokens its logins issue). */
  token: string;
  transitMounts?: string[];
  kvMounts?: string[];
  /** Policy path globs for the static token; undefined: every path. */
  tokenPolicy?: string[];
  /** AppRole: one role id and its secret id. */
  approle?: StandInRole & { roleId: string; secretId: string };
  /** Kubernetes auth: one role and the service-account JWT it accepts (the stand-in does not verify JWTs, it compares). */
  kubernetes?: StandInRole & { role: string; jwt: string };
}

/** Vault's policy globs: a trailing `*` is a prefix, `+` one path segment. */
export function policyAllows(globs: readonly string[], path: string): boolean {
  return globs.some((glob) => {
    const prefix = glob.endsWith('*');
    const pattern = (prefix ? glob.slice(0, -1) : glob)
      .split('+')
      .map((part) => part.replace(/[.*?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    return new RegExp(`^${pattern}${prefix ? '' : '$'}`).test(path);
  });
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Vault's error envelope: https://developer.hashicorp.com/vault/api-docs#error-response */
export const vaultErrors = (...messages: string[]) => ({ errors: messages });

// ---- transit, as builtin/logical/transit and sdk/helper/keysutil/policy.go implement it ----------------

function newVersion(): TransitKey['versions'][number] {
  return { key: randomBytes(32), hmacKey: randomBytes(32), createdAt: Math.floor(Date.now() / 1000) };
}

function sealTransit(key: TransitKey, plaintext: Buffer): string {
  const version = key.versions.length;
  const material = key.versions[version - 1];
  if (!material) throw new Error('no key version');
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', material.key, nonce);
  const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `vault:v${version}:${sealed.toString('base64')}`;
}

/** Policy.Decrypt: the same checks in the same order, with the same user-facing (400) messages. */
function openTransit(key: TransitKey, value: unknown): { plaintext: Buffer } | { error: string } {
  if (typeof value !== 'string' || value === '') return { error: 'missing ciphertext to decrypt' };
  if (!value.startsWith('vault:v')) return { error: 'invalid ciphertext: no prefix' };
  const [versionText, encoded, ...rest] = value.slice('vault:v'.length).split(':');
  if (encoded === undefined || rest.length > 0) return { error: 'invalid ciphertext: wrong number of fields' };
  const version = Math.max(1, Number.parseInt(versionText ?? '', 10));
  if (!/^\d+$/.test(versionText ?? '')) return { error: 'invalid ciphertext: version number could not be decoded' };
  if (version > key.versions.length) return { error: 'invalid ciphertext: version is too new' };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    return { error: 'invalid ciphertext: could not decode base64' };
  }
  const blob = Buffer.from(encoded, 'base64');
  if (blob.length < 12 + 16) return { error: 'invalid ciphertext length' };
  const material = key.versions[version - 1];
  if (!material) return { error: 'invalid ciphertext: version is too new' };
  try {
    const decipher = createDecipheriv('aes-256-gcm', material.key, blob.subarray(0, 12));
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    return { plaintext: Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]) };
  } catch {
    return { error: 'cipher: message authentication failed' };
  }
}

export function hmacOf(key: TransitKey, version: number, input: Buffer): string {
  const material = key.versions[version - 1];
  if (!material) throw new Error('no key version');
  return `vault:v${version}:${createHmac('sha256', material.hmacKey).update(input).digest('base64')}`;
}

function transitRoute(
  state: VaultState,
  method: string,
  route: string,
  body: Record<string, unknown>,
  res: ServerResponse,
): void {
  const [op, name, extra] = route.split('/');
  const key = name ? state.transit.get(name) : undefined;
  const input = typeof body.input === 'string' ? Buffer.from(body.input, 'base64') : undefined;

  if (op === 'keys' && name && method === 'POST' && extra === undefined) {
    // https://developer.hashicorp.com/vault/api-docs/secret/transit#create-key
    if (key) return send(res, 200, { data: null, warnings: [`key ${name} already existed`] });
    state.transit.set(name, { versions: [newVersion()] });
    return send(res, 204);
  }
  if (op === 'keys' && name && method === 'POST' && extra === 'rotate') {
    // https://developer.hashicorp.com/vault/api-docs/secret/transit#rotate-key (path_rotate.go: "key not found")
    if (!key) return send(res, 400, vaultErrors('key not found'));
    key.versions.push(newVersion());
    return send(res, 204);
  }
  if (op === 'keys' && name && method === 'GET' && extra === undefined) {
    // https://developer.hashicorp.com/vault/api-docs/secret/transit#read-key (latest_version: path_keys.go)
    if (!key) return send(res, 404, vaultErrors());
    return send(res, 200, {
      data: {
        name,
        type: 'aes256-gcm96',
        keys: Object.fromEntries(key.versions.map((v, i) => [String(i + 1), v.createdAt])),
        latest_version: key.versions.length,
        min_decryption_version: 1,
        min_encryption_version: 0,
        supports_encryption: true,
        supports_decryption: true,
      },
    });
  }
  if (op === 'datakey' && method === 'POST' && extra !== undefined) {
    // https://developer.hashicorp.com/vault/api-docs/secret/transit#generate-data-key: "POST
    // /transit/datakey/:type/:name", type `plaintext` or `wrapped`, `bits` default 256. path_datakey.go: no
    // upsert (400 "encryption key not found"); the ciphertext seals the key's raw bytes (EncryptWithFactory
    // base64-decodes its input), so decrypt answers their base64.
    if (name !== 'plaintext' && name !== 'wrapped') {
      return send(res, 400, vaultErrors("Invalid path, must be 'plaintext' or 'wrapped'"));
    }
    const wrapper = state.transit.get(extra);
    if (!wrapper) return send(res, 400, vaultErrors('encryption key not found'));
    const bits = body.bits ?? 256;
    if (bits !== 128 && bits !== 256 && bits !== 512) return send(res, 400, vaultErrors('invalid bit length'));
    const dataKey = randomBytes(bits / 8);
    const data: Record<string, unknown> = {
      ciphertext: sealTransit(wrapper, dataKey),
      key_version: wrapper.versions.length,
    };
    if (name === 'plaintext') data.plaintext = dataKey.toString('base64');
    return send(res, 200, { data });
  }
  if (method !== 'POST' || !name || extra !== undefined) return send(res, 405, vaultErrors('unsupported operation'));

  switch (op) {
    case 'encrypt': {
      // https://developer.hashicorp.com/vault/api-docs/secret/transit#encrypt-data: upserts the key.
      if (typeof body.plaintext !== 'string') return send(res, 400, vaultErrors('missing plaintext to encrypt'));
      const target = key ?? { versions: [newVersion()] };
      state.transit.set(name, target);
      const ciphertext = sealTransit(target, Buffer.from(body.plaintext, 'base64'));
      return send(res, 200, { data: { ciphertext, key_version: target.versions.length } });
    }
    case 'decrypt':
    case 'rewrap': {
      // https://developer.hashicorp.com/vault/api-docs/secret/transit#decrypt-data and #rewrap-data
      if (!key) return send(res, 400, vaultErrors('encryption key not found'));
      const opened = openTransit(key, body.ciphertext);
      if ('error' in opened) return send(res, 400, vaultErrors(opened.error));
      if (op === 'decrypt') return send(res, 200, { data: { plaintext: opened.plaintext.toString('base64') } });
      return send(res, 200, {
        data: { ciphertext: sealTransit(key, opened.plaintext), key_version: key.versions.length },
      });
    }
    case 'hmac': {
      // https://developer.hashicorp.com/vault/api-docs/secret/transit#generate-hmac (no upsert: path_hmac.go)
      if (!key) return send(res, 400, vaultErrors('encryption key not found'));
      // `batch_input`: a list of { input }, answered in order in `batch_results`, an item's own failure as its `error`.
      if (Array.isArray(body.batch_input)) {
        const batch_results = (body.batch_input as Array<{ input?: unknown }>).map((item) =>
          typeof item?.input === 'string' && item.input !== ''
            ? { hmac: hmacOf(key, key.versions.length, Buffer.from(item.input, 'base64')) }
            : { error: 'missing input for HMAC' },
        );
        return send(res, 200, { data: { batch_results } });
      }
      if (!input) return send(res, 400, vaultErrors('missing input for HMAC'));
      return send(res, 200, { data: { hmac: hmacOf(key, key.versions.length, input) } });
    }
    case 'verify': {
      // https://developer.hashicorp.com/vault/api-docs/secret/transit#verify-signed-data (pathHMACVerify)
      if (!key) return send(res, 400, vaultErrors('encryption key not found'));
      const mac = typeof body.hmac === 'string' ? body.hmac : '';
      if (!mac.startsWith('vault:v')) return send(res, 400, vaultErrors('invalid HMAC to verify: no prefix'));
      const [versionText, encoded] = mac.slice('vault:v'.length).split(/:(.*)/s);
      if (encoded === undefined) return send(res, 400, vaultErrors('invalid HMAC: wrong number of fields'));
      if (!/^\d+$/.test(versionText ?? ''))
        return send(res, 400, vaultErrors('invalid HMAC: version number could not be decoded'));
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
        return send(
          res,
          400,
          vaultErrors('unable to decode verification HMAC as base64: illegal base64 data at input byte 0'),
        );
      }
      const version = Number(versionText);
      if (version > key.versions.length) return send(res, 400, vaultErrors('invalid HMAC: version is too new'));
      return send(res, 200, { data: { valid: hmacOf(key, Math.max(version, 1), input ?? Buffer.alloc(0)) === mac } });
    }
    default:
      return send(res, 404, vaultErrors(`no handler for route "${route}". route entry not found.`));
  }
}

// ---- KV version 2: https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2 --------------------------

function kvRoute(
  state: VaultState,
  method: string,
  mount: string,
  route: string,
  body: Record<string, unknown>,
  res: ServerResponse,
): void {
  if (route.startsWith('metadata/')) {
    // #delete-metadata-and-all-versions: "DELETE /secret/metadata/:path", 204; path_metadata.go answers the
    // same when nothing is stored there.
    if (method !== 'DELETE') return send(res, 405, vaultErrors('unsupported operation'));
    state.kv.delete(`${mount}/${route.slice('metadata/'.length)}`);
    return send(res, 204);
  }
  if (!route.startsWith('data/')) return send(res, 404, vaultErrors());
  const id = `${mount}/${route.slice('data/'.length)}`;
  const metadata = (version: number) => ({
    created_time: new Date().toISOString(),
    custom_metadata: null,
    deletion_time: '',
    destroyed: false,
    version,
  });
  if (method === 'GET') {
    const stored = state.kv.get(id);
    // A path that was never written: 404 with an empty errors list.
    if (!stored) return send(res, 404, vaultErrors());
    return send(res, 200, { data: { data: stored.data, metadata: metadata(stored.version) } });
  }
  if (method === 'POST') {
    if (typeof body.data !== 'object' || body.data === null) return send(res, 400, vaultErrors('no data provided'));
    const current = state.kv.get(id)?.version ?? 0;
    // #create-update-secret: "options (Map: <optional>)", "cas (int: 0) – … If set to 0 a write will only be
    // allowed if the key doesn't exist." path_data.go (validateCheckAndSetOption) compares it with the current
    // version, which a metadata delete resets to 0.
    const options = body.options as { cas?: unknown } | undefined;
    if (options?.cas !== undefined && Number(options.cas) !== current) {
      return send(res, 400, vaultErrors('check-and-set parameter did not match the current version'));
    }
    const version = current + 1;
    state.kv.set(id, { data: body.data as Record<string, unknown>, version });
    return send(res, 200, { data: metadata(version) });
  }
  return send(res, 405, vaultErrors('unsupported operation'));
}

export async function startVaultStandIn(opts: VaultStandInOptions): Promise<VaultStandIn> {
  const transitMounts = opts.transitMounts ?? ['transit'];
  const kvMounts = opts.kvMounts ?? ['secret'];
  const state: VaultState = {
    transit: new Map(),
    kv: new Map(),
    requests: [],
    canned: [],
    sealed: false,
    tokens: new Map(),
    faults: [],
  };
  let issued = 0;
  const issue = (role: StandInRole, method: IssuedToken['method']) => {
    const token = `hvs.stand-in-${method}-${++issued}-${randomBytes(6).toString('hex')}`;
    const now = Date.now();
    state.tokens.set(token, {
      expiresAt: now + role.ttlSeconds * 1000,
      ttlSeconds: role.ttlSeconds,
      renewable: role.renewable ?? true,
      maxExpiresAt: now + (role.maxTtlSeconds ?? role.ttlSeconds * 10) * 1000,
      ...(role.policy ? { policy: role.policy } : {}),
      method,
    });
    return {
      auth: {
        client_token: token,
        accessor: `accessor-${issued}`,
        policies: ['default', 'cra'],
        lease_duration: role.ttlSeconds,
        renewable: role.renewable ?? true,
        metadata: {},
      },
    };
  };
  const mountOf = (role: StandInRole | undefined, fallback: string) =>
    (role?.mount ?? fallback).replace(/^\/+|\/+$/g, '');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body: unknown = raw === '' ? undefined : JSON.parse(raw);
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
      state.requests.push({ method, path, headers: req.headers, body });

      const cannedAt = state.canned.findIndex((c) => c.method === method && c.path === path);
      if (cannedAt >= 0) {
        const [c] = state.canned.splice(cannedAt, 1);
        if (c?.hang) return;
        if (c) send(res, c.status, c.body);
        return;
      }
      const fault = state.faults[0];
      if (fault) {
        fault.times -= 1;
        if (fault.times <= 0) state.faults.shift();
        const { status, delayMs = 0 } = fault;
        if (status !== undefined) {
          const message = status === 429 ? 'request path rate limit quota exceeded' : 'internal error';
          setTimeout(() => send(res, status, vaultErrors(message)), delayMs);
          return;
        }
        if (delayMs > 0) {
          setTimeout(() => answer(), delayMs);
          return;
        }
      }
      answer();

      function answer(): void {
        if (path === '/v1/sys/seal-status' && method === 'GET') {
          return send(res, 200, { type: 'shamir', initialized: true, sealed: state.sealed, t: 3, n: 5, progress: 0 });
        }
        if (state.sealed) return send(res, 503, vaultErrors('Vault is sealed'));
        const fields = (body ?? {}) as Record<string, unknown>;
        if (opts.approle && method === 'POST' && path === `/v1/auth/${mountOf(opts.approle, 'approle')}/login`) {
          if (fields.role_id !== opts.approle.roleId || fields.secret_id !== opts.approle.secretId) {
            return send(res, 400, vaultErrors('invalid role or secret ID'));
          }
          const role = opts.approle;
          const answer = () => send(res, 200, issue(role, 'approle'));
          if (role.loginDelayMs) return void setTimeout(answer, role.loginDelayMs);
          return answer();
        }
        if (
          opts.kubernetes &&
          method === 'POST' &&
          path === `/v1/auth/${mountOf(opts.kubernetes, 'kubernetes')}/login`
        ) {
          if (fields.role !== opts.kubernetes.role)
            return send(res, 400, vaultErrors(`invalid role name "${String(fields.role)}"`));
          if (fields.jwt !== opts.kubernetes.jwt) return send(res, 403, vaultErrors('permission denied'));
          return send(res, 200, issue(opts.kubernetes, 'kubernetes'));
        }
        // https://developer.hashicorp.com/vault/api-docs#authentication: a missing, wrong or expired token is a 403.
        const presented = req.headers['x-vault-token'];
        const loggedIn = typeof presented === 'string' ? state.tokens.get(presented) : undefined;
        if (loggedIn && loggedIn.expiresAt <= Date.now()) state.tokens.delete(presented as string);
        const isStatic = presented === opts.token;
        if (!isStatic && !(loggedIn && loggedIn.expiresAt > Date.now())) {
          return send(res, 403, vaultErrors('permission denied'));
        }
        if (path === '/v1/auth/token/lookup-self' && method === 'GET') {
          const ttl = loggedIn ? Math.max(0, Math.round((loggedIn.expiresAt - Date.now()) / 1000)) : 0;
          return send(res, 200, {
            data: { ttl, renewable: loggedIn?.renewable ?? false, policies: ['default', 'cra'] },
          });
        }
        if (path === '/v1/auth/token/renew-self' && method === 'POST') {
          if (!loggedIn || !loggedIn.renewable) return send(res, 400, vaultErrors('lease is not renewable'));
          const now = Date.now();
          loggedIn.expiresAt = Math.min(now + loggedIn.ttlSeconds * 1000, loggedIn.maxExpiresAt);
          return send(res, 200, {
            auth: {
              client_token: presented,
              policies: ['default', 'cra'],
              lease_duration: Math.max(0, Math.round((loggedIn.expiresAt - now) / 1000)),
              renewable: true,
            },
          });
        }
        if (!path.startsWith('/v1/')) return send(res, 404, vaultErrors());
        const rest = path.slice('/v1/'.length);
        const policy = isStatic ? opts.tokenPolicy : loggedIn?.policy;
        if (policy && !policyAllows(policy, rest)) return send(res, 403, vaultErrors('permission denied'));
        const transit = transitMounts.find((m) => rest.startsWith(`${m}/`));
        if (transit) return transitRoute(state, method, rest.slice(transit.length + 1), fields, res);
        const kv = kvMounts.find((m) => rest.startsWith(`${m}/`));
        if (kv) return kvRoute(state, method, kv, rest.slice(kv.length + 1), fields, res);
        return send(res, 404, vaultErrors(`no handler for route "${rest}". route entry not found.`));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    reset() {
      state.transit.clear();
      state.kv.clear();
      state.requests = [];
      state.canned = [];
      state.sealed = false;
      state.tokens.clear();
      state.faults = [];
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
