import type { AuditEventInput, AuditLog } from './audit-log.js';

export interface AuditActivityDeps {
  auditLog: AuditLog;
}

export function createAuditActivities({ auditLog }: AuditActivityDeps) {
  return {
    /** Append an audit event (once per eventId); returns its sequence number. */
    async appendAuditEvent(input: AuditEventInput): Promise<{ seq: number }> {
      const event = await auditLog.append(input);
      return { seq: event.seq };
    },
  };
}
