/** The notice of a new account (sent by the signup workflow). */
import type { NoticeTemplates } from '../notify/port.js';

export const accountNoticeTemplates: NoticeTemplates = {
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
};
