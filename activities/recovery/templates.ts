/**
 * The words of recovery notices. Codes, cancel links and password tickets are put into `data` by the
 * recovery activities themselves (never by a workflow), so they reach the person's mailbox and nothing else.
 * Each notice says what happened, what happens next and when, and what to do if it was not the person.
 */
import { describeInstant } from '../../domain/recovery.js';
import type { NoticeTemplates } from '../notify/port.js';

const when = (iso: unknown, otherwise: string) => (typeof iso === 'string' ? describeInstant(iso) : otherwise);

/** What a recovery does, said once the same way everywhere. */
const whatARecoveryDoes =
  'A recovery resets the password and sign-in methods of your account, so the person who asked can sign in without them.';

/** The instruction every notice with a cancel link ends with. */
function ifNotYou(cancelUrl: unknown): string[] {
  return [
    'If this was not you: open this link and press "Cancel this recovery". Opening the link alone changes nothing;',
    'the button stops the recovery at once and nothing about your account changes.',
    `${typeof cancelUrl === 'string' ? cancelUrl : ''}`,
    'Then change your password and check your recovery methods: whoever asked knows your email address and may know more.',
  ];
}

export const recoveryNoticeTemplates: NoticeTemplates = {
  'recovery-code': (data) => ({
    subject: 'Your account recovery code',
    body: [
      'Someone asked to recover your account and asked for a code sent here to prove it.',
      '',
      `Your code: ${data?.code ?? ''}`,
      `It works once, for ${data?.minutes ?? 10} minutes.`,
      '',
      'If this was you: enter the code where you asked for it.',
      'If this was not you: do not give the code to anyone, not even someone who says they are from our support team.',
      'Without it this step fails, and nothing about your account has changed. Should the person give enough other proof,',
      'you will get a message with a link to cancel the recovery before anything changes.',
    ].join('\n'),
  }),
  'recovery-phone-confirm': (data) => ({
    subject: 'Confirm your phone number',
    body: [
      `Your code: ${data?.code ?? ''}`,
      `It confirms this number for account recovery; it works once, for ${data?.minutes ?? 10} minutes.`,
      'If you did not add this number: do nothing. Without the code the number is not confirmed and gets no recovery codes or notices.',
    ].join('\n'),
  }),
  'recovery-started': (data) => ({
    subject: 'Someone is recovering your account: cancel it if it was not you',
    body: [
      `What happened: ${data?.requestedAt ? `a recovery of your account was asked for on ${when(data.requestedAt, '')}, and ` : ''}enough proof of identity has now been given for it.`,
      whatARecoveryDoes,
      '',
      `What happens next: nothing changes before ${when(data?.coolingEndsAt, 'the end of the waiting period')}. After that, once a person on our support`,
      'team approves it, the password and sign-in methods of your account are reset and every device is signed out.',
      '',
      'If this was you: there is nothing to do now; we will write again when it is done.',
      ...ifNotYou(data?.cancelUrl),
    ].join('\n'),
  }),
  'recovery-reminder': (data) => {
    const ends = typeof data?.coolingEndsAt === 'string' ? Date.parse(data.coolingEndsAt) : NaN;
    const waiting = Number.isFinite(ends) && ends <= Date.now();
    return {
      subject: 'Reminder: your account is being recovered',
      body: [
        `What is happening: a recovery of your account is still pending${data?.requestedAt ? ` (asked for on ${when(data.requestedAt, '')})` : ''}.`,
        whatARecoveryDoes,
        '',
        waiting
          ? `What happens next: the waiting period ended on ${when(data?.coolingEndsAt, '')}. As soon as a person on our support team approves it, the password and sign-in methods of your account are reset.`
          : `What happens next: nothing changes before ${when(data?.coolingEndsAt, 'the end of the waiting period')}; after that, once a person on our support team approves it, the password and sign-in methods of your account are reset.`,
        '',
        'If this was you: there is nothing to do now.',
        ...ifNotYou(data?.cancelUrl),
      ].join('\n'),
    };
  },
  'recovery-completed': () => ({
    subject: 'Your account was recovered',
    body: [
      'What happened: the recovery of your account is complete. Its password was reset, every device was signed out and',
      'its multi-factor sign-in methods were removed.',
      'What happens next: the person who recovered it chooses a new password with a link sent to the account’s email address,',
      'then sets up sign-in methods again from the account center.',
      '',
      'If this was not you: it is too late to cancel. Contact our support team at once (reply to this message), and do not',
      'open a password link you did not ask for.',
    ].join('\n'),
  }),
  'recovery-password-ticket': (data) => ({
    subject: 'Choose a new password',
    body: [
      'Your account was recovered. Choose a new password with this link; it works once, for',
      `${data?.minutes ?? 15} minutes: ${data?.ticketUrl ?? ''}`,
      'Until a new password is chosen, nobody can sign in to the account with a password.',
      '',
      'If you did not recover your account: do not open the link. Contact our support team at once (reply to this message).',
    ].join('\n'),
  }),
  'recovery-cancelled': () => ({
    subject: 'The recovery of your account was cancelled',
    body: [
      'What happened: the pending recovery of your account was cancelled. Nothing about your account was changed,',
      'and the person who asked cannot continue it.',
      '',
      'If you cancelled it because it was not you: whoever asked knows your email address and may know more. Change your',
      'password, check your connected providers and recovery methods (remove any you do not recognise) and make new backup codes.',
      'If you did not cancel it and still need to recover your account: start a new recovery.',
    ].join('\n'),
  }),
  'recovery-denied': () => ({
    subject: 'The recovery of your account was refused',
    body: [
      'What happened: our support team refused the pending recovery of your account. Nothing about your account was changed.',
      'If it was you who asked and you still cannot sign in: reply to this message and our support team will help.',
      'If it was not you: change your password and check your recovery methods.',
    ].join('\n'),
  }),
  'recovery-expired': () => ({
    subject: 'The recovery of your account expired',
    body: [
      'What happened: the pending recovery of your account was not completed in time and has ended. Nothing about your account was changed.',
      'If it was you who asked and you still cannot sign in: start a new recovery. If it was not you: change your password and check your recovery methods.',
    ].join('\n'),
  }),
};
