/** The notices of signing up and signing in at the embedded directory (sent by `api/auth/embedded-oidc/accounts.ts`). */
import type { NoticeTemplates } from '../notify/port.js';

export const signInNoticeTemplates: NoticeTemplates = {
  'email-verification': (data) => ({
    subject: 'Confirm your email address',
    body: [
      'Someone (we hope you) created a CRA account with this email address.',
      '',
      'To confirm it is yours, open this link and press "Confirm my address". The link works once, for 24 hours:',
      String(data?.verifyUrl ?? ''),
      '',
      'If you did not create an account, ignore this message: without your confirmation nobody can sign in with it.',
    ].join('\n'),
  }),
  'signup-existing-account': (data) => ({
    subject: 'You already have an account',
    body: [
      'Someone tried to create a new CRA account with this email address, but you already have one.',
      '',
      `To use it, sign in: ${String(data?.signInUrl ?? '')}`,
      '',
      'If this was not you, you need do nothing: no second account was created, and your account did not change.',
    ].join('\n'),
  }),
};
