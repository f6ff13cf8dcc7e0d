/**
 * Signatures of provider webhooks, checked over the raw bytes of the body and in constant time. GitHub signs
 * the body alone (no timestamp, so replays are stopped by the delivery id, `api/webhook-deliveries.ts`);
 * Slack signs `v0:<timestamp>:<body>` and the timestamp must be recent. Several secrets are accepted (the
 * current one and the one before it), so a secret rotates without refusing deliveries in flight.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a delivery was refused, as the audit event names it (never the body, the signature or the secret). */
export type WebhookRejection =
  'signature_missing' | 'signature_malformed' | 'signature_mismatch' | 'timestamp_stale' | 'replay';

export type WebhookCheck = { ok: true } | { ok: false; code: WebhookRejection; reason: string };

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body under the webhook secret>`.
 * https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
export const githubSignatureHeader = 'X-Hub-Signature-256';
/** The delivery's GUID and the event's name. https://docs.github.com/en/webhooks/webhook-events-and-payloads */
export const githubDeliveryHeader = 'X-GitHub-Delivery';
export const githubEventHeader = 'X-GitHub-Event';

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<raw body>" under the
 * signing secret>`; a timestamp more than five minutes from now is refused, as Slack advises against replays.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
export const slackSignatureHeader = 'X-Slack-Signature';
export const slackTimestampHeader = 'X-Slack-Request-Timestamp';
export const slackToleranceSeconds = 300;

const hmacHex = (secret: string, ...parts: Array<string | Buffer>): string => {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest('hex');
};

/** The header value GitHub sends for this body (tests and the README's curl use it too). */
export function githubSignature(secret: string, rawBody: string | Buffer): string {
  return `sha256=${hmacHex(secret, rawBody)}`;
}

/** The header value Slack sends for this body at this timestamp. */
export function slackSignature(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return `v0=${hmacHex(secret, `v0:${timestamp}:`, rawBody)}`;
}

/** Compare against every secret without stopping early, so timing says nothing about which one matched. */
function matchesAny(candidate: Buffer, expected: (secret: string) => string, secrets: readonly string[]): boolean {
  let matched = false;
  for (const secret of secrets) {
    const want = Buffer.from(expected(secret), 'hex');
    if (candidate.length === want.length && timingSafeEqual(candidate, want)) matched = true;
  }
  return matched;
}

export function verifyGithubSignature(
  header: string | undefined,
  rawBody: Buffer,
  secrets: readonly string[],
): WebhookCheck {
  if (!header)
    return { ok: false, code: 'signature_missing', reason: `the ${githubSignatureHeader} header is missing` };
  const hex = /^sha256=([0-9a-f]{64})$/i.exec(header.trim())?.[1];
  if (!hex)
    return {
      ok: false,
      code: 'signature_malformed',
      reason: `the ${githubSignatureHeader} header is not of the form sha256=<hex>`,
    };
  return matchesAny(Buffer.from(hex, 'hex'), (s) => hmacHex(s, rawBody), secrets) ? { ok: true } : mismatch;
}

const mismatch: WebhookCheck = {
  ok: false,
  code: 'signature_mismatch',
  reason: 'the signature does not match the body',
};

export function verifySlackSignature(
  header: string | undefined,
  timestampHeader: string | undefined,
  rawBody: Buffer,
  secrets: readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): WebhookCheck {
  if (!header) return { ok: false, code: 'signature_missing', reason: `the ${slackSignatureHeader} header is missing` };
  if (!timestampHeader || !/^\d{1,12}$/.test(timestampHeader.trim()))
    return {
      ok: false,
      code: 'signature_malformed',
      reason: `the ${slackTimestampHeader} header is missing or not a Unix time`,
    };
  // Signed as sent: the header's digits, not a number printed back.
  const sent = timestampHeader.trim();
  const timestamp = Number(sent);
  const hex = /^v0=([0-9a-f]{64})$/i.exec(header.trim())?.[1];
  if (!hex)
    return {
      ok: false,
      code: 'signature_malformed',
      reason: `the ${slackSignatureHeader} header is not of the form v0=<hex>`,
    };
  if (Math.abs(nowSeconds - timestamp) > slackToleranceSeconds)
    return {
      ok: false,
      code: 'timestamp_stale',
      reason: `the request timestamp is outside the ${slackToleranceSeconds} s tolerance`,
    };
  return matchesAny(Buffer.from(hex, 'hex'), (s) => hmacHex(s, `v0:${sent}:`, rawBody), secrets)
    ? { ok: true }
    : mismatch;
}
