/** MongoDB collection names, in one place for the workers, the API and the command-line tools. */
export const collections = {
  accounts: 'accounts',
  identityUsers: 'identity_users',
  outbox: 'notification_outbox',
  /** The SMTP notifier's delivery log: idempotency key, template, address's blind index, times, message id. */
  noticeDeliveries: 'notification_deliveries',
  auditEvents: 'audit_events',
  linkAttempts: 'provider_link_attempts',
  providerTokens: 'provider_tokens',
  providerRecords: 'provider_records',
  flagOverrides: 'feature_flag_overrides',
  recoveries: 'recoveries',
  recoveryChallenges: 'recovery_challenges',
  recoveryFactors: 'recovery_factors',
  recoveryEnrolments: 'recovery_enrolments',
  agents: 'agents',
  agentSignatureReplays: 'agent_signature_replays',
  /** Post-registration hook signatures already accepted (a digest of `<t>.<body>`, kept past the 300 s window). */
  hookSignatureReplays: 'hook_signature_replays',
  browserSessions: 'browser_sessions',
  oidcRecords: 'oidc_records',
  signinTransactions: 'signin_transactions',
  signinThrottle: 'signin_throttle',
  identityEmails: 'identity_emails',
  emailVerifications: 'email_verifications',
  signinChallenges: 'signin_challenges',
  passwordTickets: 'password_tickets',
  /** Data rights: one document per export request (status, progress, the archive's file id). */
  dataExports: 'data_exports',
  /** GridFS bucket name of the export archives (`<name>.files`, `<name>.chunks`). */
  exportArchives: 'export_archives',
  /** One per erasure: state while it runs, then the tombstone (keyed hash of the subject, dates, certificate). */
  erasures: 'erasures',
  /** Legal holds on an account: an erasure waits while one is in force. */
  legalHolds: 'legal_holds',
  /** Subjects whose account was erased: keyed hash of the subject → the next account's id (names no data). */
  subjectAccounts: 'subject_accounts',
  /** Provider webhook deliveries already handled (`<provider>:<deliveryId>`, kept 7 days): a replay starts nothing. */
  webhookDeliveries: 'webhook_deliveries',
  /** A provider's quota per account (`<accountId>|<provider>`): shared by every sync of it, so none exceeds it. */
  providerQuotas: 'provider_quotas',
  /** Per connection and kind: what each page of a sync run held (ids and content hashes), and the last complete run. */
  syncLedger: 'sync_ledger',
} as const;
