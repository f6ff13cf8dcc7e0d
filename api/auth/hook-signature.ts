/**
 * `CRA-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` on webhooks from the
 * identity provider. Several v1 values and two secrets are accepted, so secrets rotate without downtime.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'CRA-Signature';
export const signatureToleranceSeconds = 300;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function signPayload(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest('hex');
}

/** The header value a sender puts on a request. */
export function signatureHeaderValue(
  secret: string,
  rawBody: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${signPayload(secret, timestamp, rawBody)}`;
}

/** The header's `t=<unix seconds>` (the last one, as `verifySignature` reads it), if it has one. */
export function signedTimestamp(header: string): number | undefined {
  let timestamp: number | undefined;
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
  }
  return timestamp;
}

export function verifySignature(
  header: string | undefined,
  rawBody: string,
  secrets: readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!header) return { ok: false, reason: `the ${signatureHeader} header is missing` };
  const timestamp = signedTimestamp(header);
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value)) candidates.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || candidates.length === 0)
    return { ok: false, reason: `the ${signatureHeader} header is not of the form t=<unix>,v1=<hex>` };
  if (Math.abs(nowSeconds - timestamp) > signatureToleranceSeconds) {
    return { ok: false, reason: `the signature timestamp is outside the ${signatureToleranceSeconds} s tolerance` };
  }
  // Compare against every secret and candidate without stopping early, so timing says nothing about which matched.
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signPayload(secret, timestamp, rawBody), 'hex');
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: 'the signature does not match the body' };
}
