/** The notice of a disconnected provider (sent by the disconnect workflow), saying what the retention choice did. */
import type { NoticeTemplates } from '../notify/port.js';

export const disconnectNoticeTemplates: NoticeTemplates = {
  'provider-disconnected': (data) => ({
    subject: `${data?.providerName ?? 'A provider'} is disconnected from your account`,
    body: [
      `${data?.providerName ?? 'A provider'} was disconnected from your account center.`,
      data?.revokedAtProvider === true
        ? `Our access at ${data?.providerName ?? 'the provider'} was revoked and the tokens we held were deleted.`
        : typeof data?.grantNotice === 'string'
          ? `The tokens we held were deleted. ${data.grantNotice}`
          : `The tokens we held were deleted; ${data?.providerName ?? 'the provider'} offers no way for us to revoke our access there, so you can also remove it in its settings.`,
      data?.retention === 'delete'
        ? `You chose to delete its data: ${data?.deleted ?? 0} records were deleted.`
        : `You chose to keep its data: ${data?.detached ?? 0} records stay in your account center, marked as detached. Connecting the same ${data?.providerName ?? 'provider'} account again attaches them again.`,
      ...(typeof data?.invalid === 'number' && data.invalid > 0
        ? [
            `${data.invalid} records could not be verified as coming from this connection; they were left as they are and our support team will review them.`,
          ]
        : []),
      '',
      'If this was not you, tell us at once.',
    ].join('\n'),
  }),
};
