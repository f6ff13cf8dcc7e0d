/**
 * Account recovery: the secrets a recovery handles — challenge codes, recovery and cancel tokens, backup
 * codes, TOTP — and the shapes of its MongoDB documents. The activities issue secrets and the API checks
 * proofs, so both use these helpers. Only hashes are stored, and every comparison is constant-time.
 * Workflow code never imports this file (it uses `node:crypto`); the recovery vocabulary that workflows
 * need lives in `workflows/recovery/messages.ts`.
 */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** Limits that are not durations (those are in `temporal.config.ts`); each overridable by the environment. */
export const defaultRecoveryLimits = {
  /** Recovery starts per client IP per window. */
  rateLimitPerIp: 10,
  /** Recovery starts per email address per window. */
  rateLimitPerEmail: 5,
  rateLimitWindow: '1 hour',
  /**
   * A connection younger than this is no `provider_reauth` factor: whoever holds a session for a moment
   * (a stolen cookie, an unlocked laptop) could link their own provider account and then recover with it.
   */
  minConnectionAge: '7 days',
} as const;

/** Digits of an emailed or texted code: 10^8 ≈ 2^26.6, above the 20 bits the policy asks for. */
export const recoveryCodeDigits = 8;

export function sha256Hex(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('hex');
}

/** Equal-length hex digests compared without an early exit; anything malformed is simply unequal. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** A bearer secret (recovery token, cancel token): 256 random bits, base64url. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return sha256Hex(`cra-token|${token}`);
}

/** A numeric code for email or SMS, uniformly drawn. */
export function newRecoveryCode(): string {
  return String(randomInt(0, 10 ** recoveryCodeDigits)).padStart(recoveryCodeDigits, '0');
}

/** What people type: spaces and dashes are ignored. */
export function normalizeCode(code: string): string {
  return code.replace(/[\s-]/g, '');
}

/**
 * The stored form of a challenge secret (a code, or a WebAuthn challenge), bound to its recovery, factor and
 * challenge so a hash cannot be replayed elsewhere. Callers normalize what people typed (`normalizeCode`).
 */
export function challengeSecretHash(recoveryId: string, factor: string, challengeId: string, secret: string): string {
  return sha256Hex(`cra-recovery-challenge|${recoveryId}|${factor}|${challengeId}|${secret}`);
}

/**
 * An address as a notice page shows it to whoever holds the link: enough for the owner to recognise
 * (`a•••@e•••.com`), too little to learn an address from a forwarded or leaked link.
 */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '•••';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const host = dot > 0 ? domain.slice(0, dot) : domain;
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${local[0]}•••@${host[0] ?? ''}•••${tld}`;
}

const instantFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' });

/** An instant as notices and notice pages say it: `Tuesday 20 April 2027 at 02:07 UTC`; the input when it is no date. */
export function describeInstant(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? `${instantFormat.format(new Date(ms)).replace(',', '')} UTC` : iso;
}

/** Email addresses compare case-insensitively and without surrounding blanks. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function emailHash(email: string): string {
  return sha256Hex(`cra-email|${normalizeEmail(email)}`);
}

/**
 * A pseudonymous label for the client's network (IPv4 /24, IPv6 /48), so risk checks can say "seen before"
 * without storing addresses. Not anonymous: a /24 can be found again by brute force; it is only compared.
 */
export function networkOf(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i.exec(ip);
  let prefix: string;
  if (v4) prefix = `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  else if (ip.includes(':')) prefix = `${expandIpv6(ip).slice(0, 3).join(':')}::/48`;
  else return 'unknown';
  return sha256Hex(`cra-network|${prefix}`).slice(0, 16);
}

function expandIpv6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('::', 2);
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = ip.includes('::') ? Array(Math.max(0, 8 - h.length - t.length)).fill('0') : [];
  return [...h, ...zeros, ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** A pseudonymous label for the client software (its User-Agent). */
export function deviceOf(userAgent: string | undefined): string {
  return userAgent ? sha256Hex(`cra-device|${userAgent}`).slice(0, 16) : 'unknown';
}

// ---- TOTP (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1) ---------------------------------------------------

export const totpDefaults = { digits: 8, periodSeconds: 30, window: 1 } as const;

export function hotp(secret: Buffer, counter: number, digits: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

export function totpStep(nowMs: number, periodSeconds: number = totpDefaults.periodSeconds): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

/**
 * The time step whose code equals `code`, looking `window` steps either side for clock drift, or undefined.
 * Every candidate is compared, so the time taken does not say which step matched.
 */
export function matchTotp(
  secret: Buffer,
  code: string,
  nowMs: number,
  opts: { digits?: number; periodSeconds?: number; window?: number } = {},
): number | undefined {
  const digits = opts.digits ?? totpDefaults.digits;
  const window = opts.window ?? totpDefaults.window;
  const normalized = normalizeCode(code);
  if (normalized.length !== digits || !/^\d+$/.test(normalized)) return undefined;
  const given = Buffer.from(normalized);
  const current = totpStep(nowMs, opts.periodSeconds);
  let matched: number | undefined;
  for (let step = current - window; step <= current + window; step++) {
    if (timingSafeEqual(given, Buffer.from(hotp(secret, step, digits)))) matched = step;
  }
  return matched;
}

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: how authenticator apps take TOTP secrets. */
export function base32Encode(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = base32Alphabet.indexOf(char);
    if (index < 0) throw new Error('not base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new TOTP secret (160 bits, RFC 4226's recommended length) and the URI authenticator apps scan. */
export function newTotpSecret(label: string, issuer = 'CRA'): { secret: string; otpauthUri: string } {
  const secret = base32Encode(randomBytes(20));
  const params = new URLSearchParams({
    secret,
    issuer,
    algorithm: 'SHA1',
    digits: String(totpDefaults.digits),
    period: String(totpDefaults.periodSeconds),
  });
  return { secret, otpauthUri: `otpauth://totp/${encodeURIComponent(`${issuer}:${label}`)}?${params}` };
}

// ---- Backup codes ---------------------------------------------------------------------------------

/** Crockford base32: no I, L, O or U, so codes read aloud or copied by hand survive. */
const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Ten codes of ten characters (50 bits each), shown once, stored as hashes. */
export function newBackupCodes(count = 10): string[] {
  return Array.from({ length: count }, () => {
    const chars = Array.from({ length: 10 }, () => crockford[randomInt(0, 32)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

export function normalizeBackupCode(code: string): string {
  return normalizeCode(code).toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
}

export function backupCodeHash(accountId: string, code: string): string {
  return sha256Hex(`cra-backup-code|${accountId}|${normalizeBackupCode(code)}`);
}

// ---- Documents ------------------------------------------------------------------------------------

/** `recoveries`: one per recovery request, written by the API, completed by the workflow's activities. */
export interface RecoveryDocument {
  _id: string;
  /** Hash of the recoveryToken; the token itself is shown once, to the requester. */
  tokenHash: string;
  /** The address as given, until the workflow has looked the account up; then removed. */
  email?: string;
  emailHash: string;
  /** Set by the workflow once it found an active account for the address; never for an unknown one. */
  accountId?: string;
  createdAt: string;
  resolvedAt?: string;
  closedAt?: string;
  outcome?: string;
  network: string;
  device: string;
  country?: string;
  agent?: { agentId: string; accountId: string; name: string };
  /** Failed proofs per factor: the API reserves an attempt here before it checks a proof (5 lock the factor). */
  failures: Record<string, number>;
  /** Hashes of the cancel tokens sent in notices; any of them cancels. */
  cancelTokenHashes: string[];
}

/** `recovery_challenges`: one per code sent or passkey challenge issued; `_id` is the challenge id. */
export interface RecoveryChallengeDocument {
  _id: string;
  recoveryId: string;
  factor: string;
  secretHash: string;
  createdAt: string;
  expiresAt: string;
  consumedAt?: string;
  /** Where the code went: `none` for an unknown account or a missing channel (nothing was sent). */
  deliveredVia?: 'email' | 'sms' | 'none';
  /**
   * `provider_reauth` only: the provider asked, the SHA-256 of the authorization request's `state` (the
   * callback finds the challenge by it), the PKCE verifier encrypted with the SecretVault, the OpenID nonce
   * and the redirect URI. Verifier and nonce are wiped when the answer is redeemed (by the recovery
   * workflow's activity since `recovery-provider-answer-activity`; by the API's callback before).
   */
  provider?: string;
  stateHash?: string;
  codeVerifierCiphertext?: string | null;
  nonce?: string | null;
  redirectUri?: string;
  /** The authorization URL, encrypted, for the one API request that asked for it to read and wipe. */
  authorizationUrlCiphertext?: string | null;
  /** The provider's answer, parked by the callback for the activity: the code, encrypted; wiped when redeemed. */
  codeCiphertext?: string | null;
  /** The provider answered with an error (or without a code). */
  providerRefused?: boolean;
}

/** SecretVault key for the secrets of recovery sign-ins (PKCE verifiers, parked codes and URLs; separate from linking's). */
export const providerReauthKey = 'recovery-provider-reauth';

/** How the callback finds a recovery's authorization request without the state being stored. */
export function providerStateHash(state: string): string {
  return sha256Hex(`cra-recovery-state|${state}`);
}

/**
 * `recovery_enrolments`: a factor being set up — a WebAuthn registration challenge or a phone's
 * confirmation code — stored as a hash, single-use, short-lived. `_id` is the enrolment id.
 */
export interface RecoveryEnrolmentDocument {
  _id: string;
  accountId: string;
  kind: 'passkey' | 'phone';
  secretHash: string;
  createdAt: string;
  expiresAt: string;
  consumedAt?: string;
  /** Wrong codes so far (phone); the enrolment is spent after `recoveryPolicy.maxFailures`. */
  failures: number;
  /** `phone`: the `recovery_factors` document the code confirms. */
  factorId?: string;
}

/** The stored form of an enrolment secret (a WebAuthn registration challenge, a phone code). */
export function enrolmentSecretHash(enrolmentId: string, secret: string): string {
  return sha256Hex(`cra-recovery-enrolment|${enrolmentId}|${secret}`);
}

/** E.164: `+`, country code, subscriber number; 8 to 15 digits in all. */
export const phoneNumberPattern = /^\+[1-9][0-9]{7,14}$/;

/** SecretVault key for enrolled recovery factor secrets (TOTP seeds). */
export const recoveryFactorKey = 'recovery-factors';

/**
 * What is encrypted for a TOTP seed: bound to its account, so a ciphertext copied onto another account's
 * document does not decrypt to a usable seed there.
 */
export function totpSeedPlaintext(accountId: string, secret: string): string {
  return `cra-totp|${accountId}|${secret}`;
}

/** The seed from `totpSeedPlaintext`'s output, or undefined when it belongs to another account. */
export function totpSeedFrom(accountId: string, plaintext: string): string | undefined {
  const prefix = `cra-totp|${accountId}|`;
  return plaintext.startsWith(prefix) ? plaintext.slice(prefix.length) : undefined;
}

interface EnrolledFactorBase {
  _id: string;
  accountId: string;
  enrolledAt: string;
  /** Network the owner enrolled from (a known network for risk checks). */
  network?: string;
}

/** `recovery_factors`: what a person set up in advance to get their account back. */
export type RecoveryFactorDocument = EnrolledFactorBase &
  /** The seed only as SecretVault ciphertext of `totpSeedPlaintext` (key `recovery-factors`). */
  (
    | {
        kind: 'totp';
        secretCiphertext: string;
        digits: number;
        periodSeconds: number;
        confirmed: boolean;
        lastUsedStep?: number;
      }
    | { kind: 'backup_code'; hash: string; usedAt?: string }
    /** The COSE public key (base64url) and signature counter from the registration; never a private key. */
    | {
        kind: 'passkey';
        credentialId: string;
        publicKey: string;
        counter: number;
        transports?: string[];
        name?: string;
      }
    /** Counts as a channel (and for `sms_code`) only once `verified`, i.e. confirmed with a texted code. */
    | { kind: 'phone'; number: string; verified: boolean; verifiedAt?: string }
    /** Notices go to `device:<deviceId>` over the push channel; `endpoint` is where the push service delivers. */
    | { kind: 'push_device'; deviceId: string; name: string; endpoint?: string }
  );

export type RecoveryFactorKind = RecoveryFactorDocument['kind'];

/** `agents`: Ed25519 keys a person registered for AI agents acting for them. */
export interface AgentDocument {
  _id: string;
  accountId: string;
  subject: string;
  name: string;
  publicKeyJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string };
  createdAt: string;
  network: string;
  revokedAt?: string;
}

/** `agent_signature_replays`: signatures seen within their window; `_id` is a hash of the signature. */
export interface SignatureReplayDocument {
  _id: string;
  agentId: string;
  expiresAt: string;
}
