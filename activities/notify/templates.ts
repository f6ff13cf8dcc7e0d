/** The words of each notice. Plain text; the delivery adapter turns it into email, SMS or push. */
import { recoveryNoticeTemplates } from '../recovery/templates.js';

export interface RenderedNotice {
  subject: string;
  body: string;
}

type Data = Record<string, string | number | boolean> | undefined;

const templates: Record<string, (data: Data) => RenderedNotice> = {
  ...recoveryNoticeTemplates,
  welcome: (data) => ({
    subject: 'Welcome to your account center',
    body: [
      `Hello${data?.givenName ? ` ${data.givenName}` : ''},`,
      '',
      'Your account is ready. From your account center you can connect the services you use, see what',
      'each one shared with us, and disconnect any of them, keeping or deleting its data as you choose.',
      '',
      "If you did not create this account, reply to this message and we'll close it.",
    ].join('\n'),
  }),
  'provider-linked': (data) => ({
    subject: `${data?.providerName ?? 'A provider'} is now connected to your account`,
    body: [
      `${data?.providerName ?? 'A provider'} was connected to your account center${data?.providerAccount ? ` as ${data.providerAccount}` : ''}.`,
      '',
      'If this was not you, disconnect it from your account center and tell us.',
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

export function renderNotice(template: string, data: Data): RenderedNotice {
  const render = templates[template];
  if (!render) throw new Error(`unknown notice template "${template}"`);
  return render(data);
}
