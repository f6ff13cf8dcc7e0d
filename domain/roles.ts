/** Roles an account can hold. Kept apart from the schemas so workflow code can import it cheaply. */
export const defaultRole = 'member';

/** Support places and releases legal holds (`POST /v1/support/accounts/{id}/legal-hold`): a hold pauses an erasure. */
export const legalHoldPermission = 'legal:hold';

/** Permissions of the support console (`/console`) and the support API. */
export const staffPermissions = {
  /** See the console's queue, its items and an account's support view. */
  supportRead: 'support:read',
  /** Decide an account recovery waiting for support. */
  recoveryApprove: 'recovery:approve',
  /** Decide a provider link waiting for review. */
  linksApprove: 'links:approve',
  /** Set per-account feature-flag overrides. */
  flagsWrite: 'flags:write',
  /** Place and release legal holds. */
  legalHold: legalHoldPermission,
  /** Read (and write) workflow payloads through the codec endpoint: Temporal Web's decoded histories. */
  historiesDecode: 'histories:decode',
} as const;

/**
 * Staff roles and the permissions each grants. Permissions travel in the access token (Auth0 RBAC's
 * `permissions` claim, or the embedded directory's `permissions` field), so a role is granted by giving
 * its permissions there: in Auth0, a role of this name with these permissions; locally,
 * `npm run role -- grant support --email <address>` (then sign in again).
 */
export const staffRoles = {
  /** Support agents: read the queue, decide provider links. */
  support: [staffPermissions.supportRead, staffPermissions.linksApprove],
  /** Support leads: also account recoveries and feature flags. */
  'support-lead': [
    staffPermissions.supportRead,
    staffPermissions.linksApprove,
    staffPermissions.recoveryApprove,
    staffPermissions.flagsWrite,
  ],
  /** The data-protection officer: legal holds, and reading erasures' certificates and support views. */
  dpo: [staffPermissions.legalHold, staffPermissions.supportRead],
  /** Operators: read workflow histories decoded in Temporal Web (the codec endpoint). */
  operator: [staffPermissions.historiesDecode],
} as const satisfies Record<string, readonly string[]>;
export type StaffRole = keyof typeof staffRoles;

export const isStaffRole = (value: string): value is StaffRole => Object.hasOwn(staffRoles, value);
