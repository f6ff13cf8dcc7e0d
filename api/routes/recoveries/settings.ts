/**
 * Recovery settings and the per-process context the recovery routes share: durations, WebAuthn, rate
 * limits (token buckets made on first use), the optional agent signature.
 */
import { msToNumber } from '@temporalio/common';
import type { Context } from 'hono';
import type { CraConfig } from '../../../domain/config.js';
import { defaultRecoveryLimits } from '../../../domain/recovery.js';
import { defaultDurations } from '../../../temporal.config.js';
import type { RecoveryInput } from '../../../workflows/recovery/messages.js';
import { agentSignature } from '../../auth/http-signatures.js';
import type { WebAuthnSettings } from '../../auth/recovery-proofs.js';
import type { ApiDeps, ApiEnv } from '../../context.js';
import { clientIp, proxyTrustOf, TokenBuckets } from '../../middleware/rate-limit.js';

export const recoveryApprovePermission = 'recovery:approve';

/** Recovery settings: `temporal.config.ts` and `domain/recovery.ts` defaults, overridden by the environment. */
export function recoverySettings(config: CraConfig) {
  const o = config.recovery ?? {};
  const durations: RecoveryInput['durations'] = {
    noticeInterval: o.noticeInterval ?? defaultDurations.recoveryNoticeInterval,
    coolingPeriod: o.coolingPeriod ?? defaultDurations.recoveryCoolingPeriod,
    expiry: o.expiry ?? defaultDurations.recoveryExpiry,
    codeTtl: o.codeTtl ?? defaultDurations.recoveryCodeTtl,
    ticketTtl: o.ticketTtl ?? defaultDurations.recoveryTicketTtl,
    minConnectionAge: o.minConnectionAge ?? defaultRecoveryLimits.minConnectionAge,
  };
  const publicUrl = new URL(config.publicUrl);
  const webauthn: WebAuthnSettings = {
    rpId: o.webauthnRpId ?? publicUrl.hostname,
    origins: o.webauthnOrigins ?? [publicUrl.origin],
    ttlMs: msToNumber(durations.codeTtl),
  };
  return {
    durations,
    webauthn,
    agentSignatureWindowSeconds: Math.round(
      msToNumber(o.agentSignatureWindow ?? defaultDurations.agentSignatureWindow) / 1000,
    ),
    rateLimit: {
      perIp: o.rateLimitPerIp ?? defaultRecoveryLimits.rateLimitPerIp,
      perEmail: o.rateLimitPerEmail ?? defaultRecoveryLimits.rateLimitPerEmail,
      windowMs: msToNumber(o.rateLimitWindow ?? defaultRecoveryLimits.rateLimitWindow),
    },
    trustedProxyHops: o.trustedProxyHops ?? 0,
    countryHeader: o.countryHeader,
    minConnectionAgeMs: msToNumber(o.minConnectionAge ?? defaultRecoveryLimits.minConnectionAge),
  };
}
export type RecoverySettings = ReturnType<typeof recoverySettings>;

/** Per API process: settings and token buckets, made on first use. */
const perProcess = new WeakMap<
  ApiDeps,
  { settings: RecoverySettings; perIp: TokenBuckets; perEmail: TokenBuckets; steps: TokenBuckets }
>();
export function recoveryContext(c: Context<ApiEnv>) {
  const deps = c.get('deps');
  let ctx = perProcess.get(deps);
  if (!ctx) {
    const settings = recoverySettings(deps.config);
    const { perIp, perEmail, windowMs } = settings.rateLimit;
    // Challenges and factors: generous, but a bound on codes sent and proofs tried from one network.
    ctx = {
      settings,
      perIp: new TokenBuckets(perIp, windowMs),
      perEmail: new TokenBuckets(perEmail, windowMs),
      steps: new TokenBuckets(perIp * 10, windowMs),
    };
    perProcess.set(deps, ctx);
  }
  return { ...ctx, deps, ip: clientIp(c, proxyTrustOf(deps.config)) };
}

/** Agents may sign any recovery request; a signature that is present must hold. */
export const optionalAgentSignature = agentSignature({
  required: false,
  windowSeconds: (c) => recoveryContext(c).settings.agentSignatureWindowSeconds,
});
