/** Roles an account can hold. Kept apart from the schemas so workflow code can import it cheaply. */
export const defaultRole = 'member';

/** Support places and releases legal holds (`POST /v1/support/accounts/{id}/legal-hold`): a hold pauses an erasure. */
export const legalHoldPermission = 'legal:hold';

/**
 * Staff roles and the permissions each grants. Permissions travel in the access token (Auth0 RBAC's
 * `permissions` claim, or the embedded directory's `permissions` field), so a role is granted by giving
 * its permissions there: in Auth0, a role of this name with these permissions; locally,
 * `npm run token -- --sub <s> --permissions legal:hold,support:read`.
 */
export const staffRoles = {
  /** The data-protection officer: legal holds, and reading erasures' certificates and support views. */
  dpo: [legalHoldPermission, 'support:read'],
} as const satisfies Record<string, readonly string[]>;
export type StaffRole = keyof typeof staffRoles;
