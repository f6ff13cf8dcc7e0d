import { describe, expect, it } from 'vitest';
import { approvedByVerifiedEmail } from '../../domain/link-evidence.js';

const evidence = (requester: boolean, other: boolean) => ({
  verifiedEmailMatchesRequester: requester,
  verifiedEmailMatchesOther: other,
});

describe('verified-address evidence at a link conflict', () => {
  it('decides nothing unless LINK_AUTO_APPROVE_VERIFIED_EMAIL is on', () => {
    for (const requester of [true, false])
      for (const other of [true, false]) {
        expect(approvedByVerifiedEmail(evidence(requester, other), undefined)).toBe(false);
        expect(approvedByVerifiedEmail(evidence(requester, other), false)).toBe(false);
      }
  });

  it('approves, when on, only a provider account that verified the linking account’s address and not the other’s', () => {
    expect(approvedByVerifiedEmail(evidence(true, false), true)).toBe(true);
    expect(approvedByVerifiedEmail(evidence(true, true), true)).toBe(false);
    expect(approvedByVerifiedEmail(evidence(false, true), true)).toBe(false);
    expect(approvedByVerifiedEmail(evidence(false, false), true)).toBe(false);
  });
});
