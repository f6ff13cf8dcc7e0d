/** MongoDB collection names, in one place for the workers, the API and the command-line tools. */
export const collections = {
  accounts: 'accounts',
  identityUsers: 'identity_users',
  outbox: 'notification_outbox',
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
  browserSessions: 'browser_sessions',
} as const;
