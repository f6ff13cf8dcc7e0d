/**
 * Feature flags for provider linking (`ENABLE_<PROVIDER>_LOGIN`): on/off, a percentage rollout that is
 * stable per account, targeting by role or account list, and per-account overrides set by support.
 */
import { createHash } from 'node:crypto';

export interface FlagRule {
  /** On for everyone. */
  enabled: boolean;
  /** On for this share of accounts (0–100), stable per account and flag. */
  rolloutPercent?: number;
  /** On for accounts holding any of these roles. */
  roles?: string[];
  /** On for these account ids. */
  accounts?: string[];
}

export interface FlagSubject {
  accountId: string;
  roles: string[];
}

export type FlagReason = 'override' | 'account_list' | 'role' | 'enabled' | 'rollout' | 'disabled';

export interface FlagDecision {
  enabled: boolean;
  reason: FlagReason;
}

/** 0–99: where this account falls in the flag's rollout; the same account always lands in the same place. */
export function rolloutBucket(flag: string, accountId: string): number {
  const digest = createHash('sha256').update(`${flag}:${accountId}`).digest();
  return digest.readUInt32BE(0) % 100;
}

/** An override (support, tests) wins; then account list, role, on-for-everyone, rollout. */
export function evaluateFlag(
  flag: string,
  rule: FlagRule,
  subject: FlagSubject | undefined,
  override?: boolean,
): FlagDecision {
  if (override !== undefined) return { enabled: override, reason: 'override' };
  if (subject && rule.accounts?.includes(subject.accountId)) return { enabled: true, reason: 'account_list' };
  if (subject && rule.roles?.some((r) => subject.roles.includes(r))) return { enabled: true, reason: 'role' };
  if (rule.enabled) return { enabled: true, reason: 'enabled' };
  if (subject && rule.rolloutPercent !== undefined && rolloutBucket(flag, subject.accountId) < rule.rolloutPercent)
    return { enabled: true, reason: 'rollout' };
  return { enabled: false, reason: 'disabled' };
}
