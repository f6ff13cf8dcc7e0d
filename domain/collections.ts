/** MongoDB collection names, in one place for the workers, the API and the command-line tools. */
export const collections = {
  accounts: 'accounts',
  identityUsers: 'identity_users',
  outbox: 'notification_outbox',
  auditEvents: 'audit_events',
} as const;
