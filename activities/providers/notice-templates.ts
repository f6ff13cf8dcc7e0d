/** The notices of a connected provider: linked (link workflow) and no longer accepting our access (token custody). */
import type { NoticeTemplates } from '../notify/port.js';

export const providerNoticeTemplates: NoticeTemplates = {
  'provider-linked': (data) => ({
    subject: `${data?.providerName ?? 'A provider'} is now connected to your account`,
    body: [
      `${data?.providerName ?? 'A provider'} was connected to your account center${data?.providerAccount ? ` as ${data.providerAccount}` : ''}.`,
      '',
      'If this was not you, disconnect it from your account center and tell us.',
      ...(data?.undoUrl
        ? [
            '',
            `Undo this connection (disconnects it and deletes what it imported; until ${String(data.undoUntil ?? 'a week from now')}):`,
            String(data.undoUrl),
          ]
        : []),
    ].join('\n'),
  }),
  'provider-reauth-required': (data) => ({
    subject: `Reconnect ${data?.provider ?? 'a provider'} to keep it working`,
    body: [
      `${data?.provider ?? 'A provider'} no longer accepts CRA's access (it was revoked or expired there).`,
      'Data it shared before is kept. Reconnect it from your account center to resume syncing.',
    ].join('\n'),
  }),
};
