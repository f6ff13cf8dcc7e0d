/** The notice to support of provider records whose origin does not verify (sent by the retention activities). */
import type { NoticeTemplates } from '../notify/port.js';

export const recordNoticeTemplates: NoticeTemplates = {
  'record-origin-invalid': (data) => ({
    subject: `Review needed: ${data?.count ?? 'some'} provider records with an unverifiable origin`,
    body: [
      `During a ${data?.during ?? 'retention'} of ${data?.provider ?? 'a provider'} on account ${data?.accountId ?? '(unknown)'}, ${data?.count ?? 'some'} records`,
      'failed the origin check (content hash or origin MAC) or named another connection. They were neither deleted nor',
      'kept silently: they are untouched in provider_records. The audit log has one `record.origin_invalid` event per record',
      `with its id and the reason${data?.workflowId ? `; workflow ${data.workflowId}` : ''}.`,
    ].join('\n'),
  }),
};
