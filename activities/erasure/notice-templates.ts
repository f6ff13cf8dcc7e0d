/**
 * The erasure's notices: the confirmation sent when a person asks for their account to be erased (with the
 * one-click cancel link, valid as long as the grace period), and the confirmation of a cancel.
 */
import { describeInstant } from '../../domain/recovery.js';
import type { NoticeTemplates } from '../notify/port.js';

const when = (iso: unknown) => (typeof iso === 'string' ? describeInstant(iso) : 'the end of the grace period');

export const erasureNoticeTemplates: NoticeTemplates = {
  'erasure-requested': (data) => ({
    subject: 'Your account will be erased',
    body: [
      `You asked us to erase your account and everything we hold about you. Nothing is deleted before ${when(data?.graceEndsAt)}: until then you can change your mind.`,
      'After that we stop every sync, revoke our access at your connected providers, and delete your connections, imported records, recovery methods, agents, exports and sign-in. You will receive no further notice; a certificate of what was deleted is kept, naming nobody.',
      '',
      `To keep your account: open this link and press "Keep my account" (you will be asked to sign in), or cancel in your account center before ${when(data?.graceEndsAt)}:`,
      `${typeof data?.cancelUrl === 'string' ? data.cancelUrl : ''}`,
      '',
      'If this was not you, open the link and cancel, then change your password.',
    ].join('\n'),
  }),
  'erasure-cancelled': () => ({
    subject: 'Your account will not be erased',
    body: [
      'The erasure of your account was cancelled. Nothing was deleted: your account, connections and records are as they were.',
      '',
      'If this was not you, sign in to your account center and change your password.',
    ].join('\n'),
  }),
};
