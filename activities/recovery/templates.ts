/**
 * The words of recovery notices. Codes, cancel links and password tickets are put into `data` by the
 * recovery activities themselves (never by a workflow), so they reach the person's mailbox and nothing else.
 */
import type { RenderedNotice } from '../notify/templates.js';

type Data = Record<string, string | number | boolean> | undefined;

const ifNotYou = 'If this was not you, nothing changes: cancel it with the link below, then review your account.';

export const recoveryNoticeTemplates: Record<string, (data: Data) => RenderedNotice> = {
  'recovery-code': (data) => ({
    subject: 'Your account recovery code',
    body: [
      `Your code: ${data?.code ?? ''}`,
      `It works once, for ${data?.minutes ?? 10} minutes.`,
      '',
      'Someone asked to recover your account. If it was not you, ignore this message: without the code nothing happens.',
    ].join('\n'),
  }),
  'recovery-phone-confirm': (data) => ({
    subject: 'Confirm your phone number',
    body: [
      `Your code: ${data?.code ?? ''}`,
      `It confirms this number for account recovery; it works once, for ${data?.minutes ?? 10} minutes.`,
      'If you did not add this number, ignore this message.',
    ].join('\n'),
  }),
  'recovery-started': (data) => ({
    subject: 'Someone is recovering your account',
    body: [
      'Enough proof was given to recover your account. Nothing changes before',
      `${data?.coolingEndsAt ?? 'the end of the waiting period'}, and a person on our support team has to approve it too.`,
      '',
      ifNotYou,
      `Cancel the recovery: ${data?.cancelUrl ?? ''}`,
    ].join('\n'),
  }),
  'recovery-reminder': (data) => ({
    subject: 'Reminder: your account is being recovered',
    body: [
      `A recovery of your account is still pending (waiting period ends ${data?.coolingEndsAt ?? 'soon'}).`,
      '',
      ifNotYou,
      `Cancel the recovery: ${data?.cancelUrl ?? ''}`,
    ].join('\n'),
  }),
  'recovery-completed': () => ({
    subject: 'Your account was recovered',
    body: [
      'The recovery of your account is complete: sign-in credentials were reset, other sign-ins were ended',
      'and multi-factor enrolments were removed. Set them up again from your account center.',
      '',
      'If this was not you, contact support at once.',
    ].join('\n'),
  }),
  'recovery-password-ticket': (data) => ({
    subject: 'Choose a new password',
    body: [
      'Your account was recovered. Choose a new password with this link (it works once,',
      `for ${data?.minutes ?? 15} minutes): ${data?.ticketUrl ?? ''}`,
    ].join('\n'),
  }),
  'recovery-cancelled': () => ({
    subject: 'The recovery of your account was cancelled',
    body: 'The pending recovery of your account was cancelled. Nothing was changed.',
  }),
  'recovery-denied': () => ({
    subject: 'The recovery of your account was refused',
    body: 'Our support team refused the pending recovery of your account. Nothing was changed.',
  }),
  'recovery-expired': () => ({
    subject: 'The recovery of your account expired',
    body: 'The pending recovery of your account was not completed in time and has expired. Nothing was changed.',
  }),
};
