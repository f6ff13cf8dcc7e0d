/**
 * The recovery secrets helpers: RFC 6238 TOTP against the RFC's own test vectors, base32, code entropy and
 * normalisation, backup codes, and the pseudonymous network labels risk checks compare.
 */
import { describe, expect, it } from 'vitest';
import {
  backupCodeHash,
  base32Decode,
  base32Encode,
  challengeSecretHash,
  hotp,
  matchTotp,
  networkOf,
  newBackupCodes,
  newRecoveryCode,
  newTotpSecret,
  normalizeBackupCode,
  recoveryCodeDigits,
  sameDigest,
  sha256Hex,
  totpStep,
} from '../../domain/recovery.js';
import {
  approvalsRequired,
  factorsRemaining,
  publicRecoveryStatus,
  type RecoveryStatus,
} from '../../workflows/recovery/messages.js';

describe('TOTP (RFC 6238 Appendix B, SHA-1, 8 digits)', () => {
  const secret = Buffer.from('12345678901234567890', 'ascii');
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('T=%i gives %s', (seconds, code) => {
    expect(hotp(secret, totpStep(seconds * 1000), 8)).toBe(code);
    expect(matchTotp(secret, code, seconds * 1000, { window: 0 })).toBe(totpStep(seconds * 1000));
  });

  it('accepts one step of drift either side, and nothing further or malformed', () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    expect(matchTotp(secret, hotp(secret, step + 1, 8), now)).toBe(step + 1);
    expect(matchTotp(secret, hotp(secret, step - 1, 8), now)).toBe(step - 1);
    expect(matchTotp(secret, hotp(secret, step + 2, 8), now)).toBeUndefined();
    expect(matchTotp(secret, '1234', now)).toBeUndefined();
    expect(matchTotp(secret, 'ǅǅǅǅǅǅǅǅ', now)).toBeUndefined();
  });

  it('round-trips secrets through base32 and writes an otpauth URI', () => {
    const bytes = Buffer.from('12345678901234567890');
    expect(base32Encode(bytes)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq').equals(bytes)).toBe(true);
    const { secret: s, otpauthUri } = newTotpSecret('ada@example.com');
    expect(base32Decode(s)).toHaveLength(20);
    expect(otpauthUri).toMatch(
      /^otpauth:\/\/totp\/CRA%3Aada%40example\.com\?secret=[A-Z2-7]{32}&issuer=CRA&algorithm=SHA1&digits=8&period=30$/,
    );
  });
});

describe('codes', () => {
  it('draws codes of at least 20 bits, uniformly over their digits', () => {
    expect(recoveryCodeDigits * Math.log2(10)).toBeGreaterThanOrEqual(20);
    const codes = Array.from({ length: 200 }, newRecoveryCode);
    for (const code of codes) expect(code).toMatch(/^\d{8}$/);
    expect(new Set(codes).size).toBeGreaterThan(195);
  });

  it('binds a stored hash to its recovery, factor and challenge', () => {
    const h = challengeSecretHash('r1', 'email_code', 'c1', '12345678');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).not.toContain('12345678');
    expect(sameDigest(h, challengeSecretHash('r1', 'email_code', 'c1', '12345678'))).toBe(true);
    expect(sameDigest(h, challengeSecretHash('r2', 'email_code', 'c1', '12345678'))).toBe(false);
    expect(sameDigest(h, challengeSecretHash('r1', 'sms_code', 'c1', '12345678'))).toBe(false);
    expect(sameDigest(h, 'not-hex')).toBe(false);
  });

  it('makes ten 50-bit backup codes and reads them forgivingly', () => {
    const codes = newBackupCodes();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(normalizeBackupCode(' abcdo-il123 ')).toBe('ABCD011123');
    expect(backupCodeHash('acc', 'abcde-12345')).toBe(backupCodeHash('acc', 'ABCDE12345'));
    expect(backupCodeHash('acc', 'abcde-12345')).not.toBe(backupCodeHash('other', 'abcde-12345'));
  });
});

describe('network labels', () => {
  it('groups IPv4 by /24 and IPv6 by /48, and hides the address', () => {
    expect(networkOf('203.0.113.7')).toBe(networkOf('203.0.113.200'));
    expect(networkOf('203.0.113.7')).toBe(networkOf('::ffff:203.0.113.9'));
    expect(networkOf('203.0.113.7')).not.toBe(networkOf('203.0.114.7'));
    expect(networkOf('2001:db8:1:2::1')).toBe(networkOf('2001:0db8:0001:ffff::9'));
    expect(networkOf('2001:db8:1::1')).not.toBe(networkOf('2001:db8:2::1'));
    expect(networkOf(undefined)).toBe('unknown');
    expect(networkOf('203.0.113.7')).not.toContain('203');
    expect(sha256Hex('x')).toHaveLength(64);
  });
});

describe('policy', () => {
  it('needs three factors over two categories', () => {
    expect(factorsRemaining([])).toBe(3);
    expect(factorsRemaining(['email_code', 'sms_code', 'totp'])).toBe(1);
    expect(factorsRemaining(['email_code', 'backup_code'])).toBe(1);
    expect(factorsRemaining(['email_code', 'totp', 'backup_code'])).toBe(0);
    expect(factorsRemaining(['email_code', 'passkey', 'document_check'])).toBe(0);
  });

  it('asks two approvers for high risk: an agent, two countries, many recoveries, or any two flags', () => {
    expect(approvalsRequired([])).toBe(1);
    expect(approvalsRequired([{ flag: 'velocity' }])).toBe(1);
    expect(approvalsRequired([{ flag: 'ai_agent' }])).toBe(2);
    expect(approvalsRequired([{ flag: 'new_device_or_network' }, { flag: 'recent_factor_change' }])).toBe(2);
  });

  it('shows the requester nothing that depends on the account before the factors suffice', () => {
    const status = (stage: RecoveryStatus['stage'], flags: RecoveryStatus['riskFlags']): RecoveryStatus => ({
      recoveryId: 'r',
      stage,
      satisfied: [],
      locked: [],
      challengesSent: {},
      coolingEndsAt: null,
      approvalsRequired: approvalsRequired(flags),
      approvals: [],
      approvalsNeeded: approvalsRequired(flags),
      riskFlags: flags,
      requestedVia: { kind: 'person' },
      resetting: false,
    });
    const accountFlags: RecoveryStatus['riskFlags'] = [
      { flag: 'new_device_or_network', evidence: {}, at: '' },
      { flag: 'many_recoveries', evidence: {}, at: '' },
    ];
    expect(publicRecoveryStatus(status('verifying', accountFlags))).toEqual(
      publicRecoveryStatus(status('verifying', [])),
    );
    expect(publicRecoveryStatus(status('cooling', accountFlags)).approvalsNeeded).toBe(2);
  });
});
