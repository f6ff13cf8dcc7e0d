/**
 * HTTP Message Signatures (RFC 9421) from AI agents, the subset CRA needs: Ed25519 keys registered by a
 * person (`POST /v1/me/agents`), `keyid` = the agent id, covered components `"@method" "@path" "date"
 * "content-digest"` (RFC 9530 `sha-256` or `sha-512`), a `created` no older than the window, and each
 * signature accepted once (replays are refused until the window has passed).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { MongoServerError } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { AgentDocument, SignatureReplayDocument } from '../../domain/recovery.js';
import type { AgentPrincipal, ApiEnv } from '../context.js';
import { respondProblem } from '../problem.js';

export const requiredComponents = ['@method', '@path', 'date', 'content-digest'] as const;
/** A `created` this far in the future is still accepted: clocks differ a little. */
const futureSkewSeconds = 30;

// ---- RFC 8941 structured fields: the subset Signature-Input, Signature and Content-Digest use ---------

export type BareItem = string | number | boolean | Buffer | { token: string };
export interface Member {
  /** An inner list (Signature-Input) or a single item (Signature, Content-Digest). */
  value: BareItem | Array<{ item: BareItem; params: Array<[string, BareItem]> }>;
  params: Array<[string, BareItem]>;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  dictionary(): Map<string, Member> {
    const out = new Map<string, Member>();
    this.ows();
    while (this.i < this.s.length) {
      const key = this.key();
      let value: Member['value'] = true;
      let params: Member['params'] = [];
      if (this.s[this.i] === '=') {
        this.i++;
        value = this.s[this.i] === '(' ? this.innerList() : this.bareItem();
      }
      params = this.parameters();
      out.set(key, { value, params });
      this.ows();
      if (this.i >= this.s.length) break;
      if (this.s[this.i] !== ',') throw new Error('expected "," between members');
      this.i++;
      this.ows();
      if (this.i >= this.s.length) throw new Error('trailing ","');
    }
    return out;
  }

  private innerList(): Array<{ item: BareItem; params: Array<[string, BareItem]> }> {
    this.i++; // (
    const items: Array<{ item: BareItem; params: Array<[string, BareItem]> }> = [];
    for (;;) {
      while (this.s[this.i] === ' ') this.i++;
      if (this.s[this.i] === ')') {
        this.i++;
        return items;
      }
      const item = this.bareItem();
      items.push({ item, params: this.parameters() });
      if (this.s[this.i] !== ' ' && this.s[this.i] !== ')') throw new Error('malformed inner list');
    }
  }

  private parameters(): Array<[string, BareItem]> {
    const params: Array<[string, BareItem]> = [];
    while (this.s[this.i] === ';') {
      this.i++;
      while (this.s[this.i] === ' ') this.i++;
      const key = this.key();
      let value: BareItem = true;
      if (this.s[this.i] === '=') {
        this.i++;
        value = this.bareItem();
      }
      params.push([key, value]);
    }
    return params;
  }

  private key(): string {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(this.s.slice(this.i));
    if (!m) throw new Error('expected a key');
    this.i += m[0].length;
    return m[0];
  }

  private bareItem(): BareItem {
    const c = this.s[this.i];
    if (c === '"') {
      let out = '';
      for (this.i++; this.i < this.s.length; this.i++) {
        const ch = this.s[this.i]!;
        if (ch === '\\') {
          const next = this.s[++this.i];
          if (next !== '"' && next !== '\\') throw new Error('bad escape in string');
          out += next;
        } else if (ch === '"') {
          this.i++;
          return out;
        } else if (ch < ' ' || ch > '~') {
          throw new Error('bad character in string');
        } else out += ch;
      }
      throw new Error('unterminated string');
    }
    if (c === ':') {
      const end = this.s.indexOf(':', this.i + 1);
      if (end < 0) throw new Error('unterminated byte sequence');
      const b64 = this.s.slice(this.i + 1, end);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error('bad base64');
      this.i = end + 1;
      return Buffer.from(b64, 'base64');
    }
    if (c === '?') {
      const v = this.s[this.i + 1];
      if (v !== '0' && v !== '1') throw new Error('bad boolean');
      this.i += 2;
      return v === '1';
    }
    const num = /^-?\d{1,15}/.exec(this.s.slice(this.i));
    if (num) {
      if (this.s[this.i + num[0].length] === '.') throw new Error('decimals are not expected here');
      this.i += num[0].length;
      return Number(num[0]);
    }
    const token = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(this.s.slice(this.i));
    if (token) {
      this.i += token[0].length;
      return { token: token[0] };
    }
    throw new Error('unexpected character');
  }

  private ows(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }
}

export function parseDictionary(header: string): Map<string, Member> {
  return new Parser(header).dictionary();
}

function serializeItem(item: BareItem): string {
  if (typeof item === 'string') return `"${item.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  if (typeof item === 'number') return String(item);
  if (typeof item === 'boolean') return item ? '?1' : '?0';
  if (Buffer.isBuffer(item)) return `:${item.toString('base64')}:`;
  return item.token;
}

function serializeParams(params: Array<[string, BareItem]>): string {
  return params.map(([k, v]) => (v === true ? `;${k}` : `;${k}=${serializeItem(v)}`)).join('');
}

// ---- Signing and verifying ---------------------------------------------------------------------------

/** RFC 9530 Content-Digest of a body: `sha-256=:<base64>:`. */
export function contentDigest(body: string | Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

export interface SignatureParams {
  created: number;
  keyid: string;
  expires?: number;
  nonce?: string;
}

/** The signature base of RFC 9421 §2.5 for simple (parameterless) component identifiers. */
export function signatureBase(
  components: readonly string[],
  values: ReadonlyMap<string, string>,
  serializedParams: string,
): string {
  const lines = components.map((name) => `"${name}": ${values.get(name) ?? ''}`);
  return [...lines, `"@signature-params": ${serializedParams}`].join('\n');
}

/** `("@method" …);created=…;keyid="…"`: the value of `@signature-params` and of a Signature-Input member. */
export function serializeSignatureParams(components: readonly string[], params: Array<[string, BareItem]>): string {
  return `(${components.map((c) => serializeItem(c)).join(' ')})${serializeParams(params)}`;
}

/**
 * The headers an agent adds to sign a request with its Ed25519 private key (PKCS#8 PEM or JWK). Exported
 * for agents written against CRA and for the tests; CRA itself only verifies.
 */
export function signRequest(input: {
  method: string;
  path: string;
  body?: string;
  keyId: string;
  privateKey: KeyObject | string;
  created?: number;
  date?: Date;
  label?: string;
  nonce?: string;
}): Record<'date' | 'content-digest' | 'signature-input' | 'signature', string> {
  const key = typeof input.privateKey === 'string' ? createPrivateKey(input.privateKey) : input.privateKey;
  const created = input.created ?? Math.floor(Date.now() / 1000);
  const date = (input.date ?? new Date(created * 1000)).toUTCString();
  const digest = contentDigest(input.body ?? '');
  const params: Array<[string, BareItem]> = [
    ['created', created],
    ['keyid', input.keyId],
    ['alg', 'ed25519'],
  ];
  if (input.nonce) params.push(['nonce', input.nonce]);
  const serialized = serializeSignatureParams(requiredComponents, params);
  const values = new Map([
    ['@method', input.method.toUpperCase()],
    ['@path', input.path],
    ['date', date],
    ['content-digest', digest],
  ]);
  const signature = sign(null, Buffer.from(signatureBase(requiredComponents, values, serialized), 'utf8'), key);
  const label = input.label ?? 'sig1';
  return {
    date,
    'content-digest': digest,
    'signature-input': `${label}=${serialized}`,
    signature: `${label}=:${signature.toString('base64')}:`,
  };
}

export interface SignedRequest {
  method: string;
  /** The request target's path as sent (percent-encoding intact), without the query. */
  path: string;
  header(name: string): string | undefined;
  body: string;
}

export type SignatureCheck =
  { ok: true; keyId: string; created: number; signature: Buffer } | { ok: false; reason: string };

/**
 * Check a request's signature against the key `keyFor(keyid)` returns. Pure apart from the key lookup:
 * replay protection is the caller's (it needs storage).
 */
export async function verifyRequestSignature(
  request: SignedRequest,
  keyFor: (keyId: string) => Promise<KeyObject | undefined>,
  opts: { windowSeconds: number; nowSeconds?: number },
): Promise<SignatureCheck> {
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const inputHeader = request.header('signature-input');
  const signatureHeader = request.header('signature');
  if (!inputHeader || !signatureHeader)
    return { ok: false, reason: 'the request is not signed (Signature-Input and Signature are required)' };
  let inputs: Map<string, Member>;
  let signatures: Map<string, Member>;
  try {
    inputs = parseDictionary(inputHeader);
    signatures = parseDictionary(signatureHeader);
  } catch (err) {
    return { ok: false, reason: `the signature headers are malformed: ${(err as Error).message}` };
  }
  let lastReason = 'no signature covers "@method" "@path" "date" "content-digest"';
  for (const [label, input] of inputs) {
    if (!Array.isArray(input.value)) continue;
    const components = input.value.map((c) =>
      typeof c.item === 'string' && c.params.length === 0 ? c.item : undefined,
    );
    if (components.some((c) => c === undefined) || !requiredComponents.every((r) => components.includes(r))) continue;
    const signature = signatures.get(label)?.value;
    if (!Buffer.isBuffer(signature)) {
      lastReason = `no Signature for label "${label}"`;
      continue;
    }
    const params = new Map(input.params);
    const created = params.get('created');
    const keyId = params.get('keyid');
    const alg = params.get('alg');
    const expires = params.get('expires');
    if (typeof created !== 'number' || typeof keyId !== 'string') {
      lastReason = 'the signature needs the "created" and "keyid" parameters';
      continue;
    }
    if (alg !== undefined && alg !== 'ed25519') {
      lastReason = 'the signature algorithm must be ed25519';
      continue;
    }
    if (now - created > opts.windowSeconds)
      return { ok: false, reason: `the signature was created more than ${opts.windowSeconds} s ago` };
    if (created - now > futureSkewSeconds) return { ok: false, reason: 'the signature is dated in the future' };
    if (typeof expires === 'number' && now > expires) return { ok: false, reason: 'the signature has expired' };

    const values = new Map<string, string>();
    values.set('@method', request.method.toUpperCase());
    values.set('@path', request.path || '/');
    for (const name of components as string[]) {
      if (name.startsWith('@')) {
        if (!values.has(name)) return { ok: false, reason: `the component "${name}" is not supported` };
        continue;
      }
      const value = request.header(name);
      if (value === undefined) return { ok: false, reason: `the covered header "${name}" is missing` };
      values.set(name, value.trim());
    }
    const date = Date.parse(values.get('date') ?? '');
    if (!Number.isFinite(date) || Math.abs(now - date / 1000) > opts.windowSeconds)
      return { ok: false, reason: `the Date header is not within ${opts.windowSeconds} s of now` };
    const digestCheck = checkContentDigest(values.get('content-digest') ?? '', request.body);
    if (digestCheck !== true) return { ok: false, reason: digestCheck };

    const key = await keyFor(keyId);
    if (!key) return { ok: false, reason: 'the keyid names no registered agent key' };
    const base = signatureBase(
      components as string[],
      values,
      serializeSignatureParams(components as string[], input.params),
    );
    let valid = false;
    try {
      valid = signature.length === 64 && verify(null, Buffer.from(base, 'utf8'), key, signature);
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: 'the signature does not verify with the agent key' };
    return { ok: true, keyId, created, signature };
  }
  return { ok: false, reason: lastReason };
}

/** True, or why the Content-Digest header does not match the body. */
function checkContentDigest(header: string, body: string): true | string {
  let digests: Map<string, Member>;
  try {
    digests = parseDictionary(header);
  } catch {
    return 'the Content-Digest header is malformed';
  }
  for (const [alg, hash] of [
    ['sha-512', 'sha512'],
    ['sha-256', 'sha256'],
  ] as const) {
    const given = digests.get(alg)?.value;
    if (Buffer.isBuffer(given)) {
      return given.equals(createHash(hash).update(body, 'utf8').digest())
        ? true
        : 'the Content-Digest does not match the body';
    }
  }
  return 'the Content-Digest needs a sha-256 or sha-512 digest';
}

/** An Ed25519 public key from its JWK, or undefined when it is not one. */
export function ed25519PublicKey(jwk: { kty: string; crv: string; x: string }): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Middleware: a signed request from a registered agent, accepted once within the window. `required`:
 * unsigned requests are refused (agent routes); otherwise only requests that carry a signature are checked.
 */
export function agentSignature(opts: {
  required: boolean;
  windowSeconds: (c: Parameters<MiddlewareHandler<ApiEnv>>[0]) => number;
}): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const signed = c.req.header('signature') !== undefined || c.req.header('signature-input') !== undefined;
    if (!signed && !opts.required) return next();
    const { db } = c.get('deps');
    const windowSeconds = opts.windowSeconds(c);
    let agent: AgentDocument | null = null;
    const check = await verifyRequestSignature(
      {
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        header: (n) => c.req.header(n),
        body: await c.req.text(),
      },
      async (keyId) => {
        agent = await db
          .collection<AgentDocument>(collections.agents)
          .findOne({ _id: keyId, revokedAt: { $exists: false } });
        return agent ? ed25519PublicKey(agent.publicKeyJwk) : undefined;
      },
      { windowSeconds },
    );
    const refuse = (reason: string) =>
      respondProblem(c, 'invalid-signature', `The agent request was refused: ${reason}.`, {
        'www-authenticate': 'Signature realm="cra-agents"',
      });
    if (!check.ok) return refuse(check.reason);
    const registered = agent as AgentDocument | null;
    if (!registered) return refuse('the keyid names no registered agent key');
    // Remembered until it could no longer pass the window check; a second use within it is a replay.
    const replays = db.collection<SignatureReplayDocument>(collections.agentSignatureReplays);
    const now = Date.now();
    try {
      await replays.insertOne({
        _id: createHash('sha256').update(check.signature).digest('hex'),
        agentId: registered._id,
        expiresAt: new Date((check.created + windowSeconds + futureSkewSeconds) * 1000).toISOString(),
      });
    } catch (err) {
      if (err instanceof MongoServerError && err.code === 11000)
        return refuse('this signature was used before (replay)');
      throw err;
    }
    // About one request in sixteen sweeps out remembered signatures whose window has passed (no TTL indexes on FerretDB).
    if (now % 16 === 0)
      void replays.deleteMany({ expiresAt: { $lt: new Date(now).toISOString() } }).catch(() => undefined);
    const principal: AgentPrincipal = {
      agentId: registered._id,
      accountId: registered.accountId,
      name: registered.name,
    };
    c.set('agent', principal);
    return next();
  };
}
