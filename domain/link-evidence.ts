/**
 * What a link conflict's verified-address evidence may decide on its own: nothing, unless the operator turned
 * on `LINK_AUTO_APPROVE_VERIFIED_EMAIL`. Pure: the link workflow calls it.
 */

/** The address evidence of one conflict (`LinkConflict` in `workflows/link/messages.ts`). */
export interface VerifiedEmailEvidence {
  /** The provider account's verified address is the other account's verified root address. */
  verifiedEmailMatchesOther: boolean;
  /** ... is the linking account's own verified root address. */
  verifiedEmailMatchesRequester: boolean;
}

/**
 * True when the conflict is approved without support: only when configured, and only when the provider account
 * verified the linking account's address and not the other account's (an address both share proves nothing).
 */
export function approvedByVerifiedEmail(evidence: VerifiedEmailEvidence, configured: boolean | undefined): boolean {
  return configured === true && evidence.verifiedEmailMatchesRequester && !evidence.verifiedEmailMatchesOther;
}
