import { describe, expect, it } from 'vitest';
import { evaluateFlag, rolloutBucket } from '../../domain/feature-flags.js';

const subject = (accountId: string, roles: string[] = []) => ({ accountId, roles });

describe('provider feature flags', () => {
  it('turns a flag on or off for everyone', () => {
    expect(evaluateFlag('ENABLE_GITHUB_LOGIN', { enabled: true }, subject('a'))).toEqual({
      enabled: true,
      reason: 'enabled',
    });
    expect(evaluateFlag('ENABLE_X_LOGIN', { enabled: false }, subject('a'))).toEqual({
      enabled: false,
      reason: 'disabled',
    });
  });

  it('rolls out to about the given share of accounts, the same accounts every time', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const on = ids.filter(
      (id) => evaluateFlag('ENABLE_REDDIT_LOGIN', { enabled: false, rolloutPercent: 25 }, subject(id)).enabled,
    );
    expect(on.length / ids.length).toBeGreaterThan(0.2);
    expect(on.length / ids.length).toBeLessThan(0.3);
    const again = ids.filter(
      (id) => evaluateFlag('ENABLE_REDDIT_LOGIN', { enabled: false, rolloutPercent: 25 }, subject(id)).enabled,
    );
    expect(again).toEqual(on);
    // Growing the rollout keeps everyone who already had it.
    const wider = new Set(
      ids.filter(
        (id) => evaluateFlag('ENABLE_REDDIT_LOGIN', { enabled: false, rolloutPercent: 50 }, subject(id)).enabled,
      ),
    );
    expect(on.every((id) => wider.has(id))).toBe(true);
    // Each flag buckets independently.
    expect(ids.map((id) => rolloutBucket('ENABLE_REDDIT_LOGIN', id))).not.toEqual(
      ids.map((id) => rolloutBucket('ENABLE_SLACK_LOGIN', id)),
    );
  });

  it('targets roles and account lists, and lets an override win over everything', () => {
    const rule = { enabled: false, roles: ['beta'], accounts: ['vip'] };
    expect(evaluateFlag('F', rule, subject('x', ['beta']))).toEqual({ enabled: true, reason: 'role' });
    expect(evaluateFlag('F', rule, subject('vip'))).toEqual({ enabled: true, reason: 'account_list' });
    expect(evaluateFlag('F', rule, subject('x', ['member']))).toEqual({ enabled: false, reason: 'disabled' });
    expect(evaluateFlag('F', rule, subject('vip'), false)).toEqual({ enabled: false, reason: 'override' });
    expect(evaluateFlag('F', { enabled: false }, subject('x'), true)).toEqual({ enabled: true, reason: 'override' });
  });
});
