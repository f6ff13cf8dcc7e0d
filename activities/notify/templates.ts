/** The words of each notice. Plain text; the delivery adapter turns it into email, SMS or push. */
import { recoveryNoticeTemplates } from '../recovery/templates.js';
import { signInNoticeTemplates } from './sign-in-templates.js';

export interface RenderedNotice {
  subject: string;
  body: string;
}

type Data = Record<string, string | number | boolean> | undefined;

const templates: Record<string, (data: Data) => RenderedNotice> = {
  ...recoveryNoticeTemplates,
  ...signInNoticeTemplates,
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
      ...(data?.undoUrl ? ['', `Undo this connection (disconnects it and deletes what it imported; until ${String(data.undoUntil ?? 'a week from now')}):`, String(data.undoUrl)] : []),
    ].join('\n'),
  }),
  'provider-disconnected': (data) => ({
    subject: `${data?.providerName ?? 'A provider'} is disconnected from your account`,
    body: [
      `${data?.providerName ?? 'A provider'} was disconnected from your account center.`,
      data?.revokedAtProvider === true
        ? `Our access at ${data?.providerName ?? 'the provider'} was revoked and the tokens we held were deleted.`
        : `The tokens we held were deleted; ${data?.providerName ?? 'the provider'} offers no way for us to revoke our access there, so you can also remove it in its settings.`,
      data?.retention === 'delete'
        ? `You chose to delete its data: ${data?.deleted ?? 0} records were deleted.`
        : `You chose to keep its data: ${data?.detached ?? 0} records stay in your account center, marked as detached. Connecting the same ${data?.providerName ?? 'provider'} account again attaches them again.`,
      ...(typeof data?.invalid === 'number' && data.invalid > 0
        ? [`${data.invalid} records could not be verified as coming from this connection; they were left as they are and our support team will review them.`]
        : []),
      '',
      'If this was not you, tell us at once.',
    ].join('\n'),
  }),
  'record-origin-invalid': (data) => ({
    subject: `Review needed: ${data?.count ?? 'some'} provider records with an unverifiable origin`,
    body: [
      `During a ${data?.during ?? 'retention'} of ${data?.provider ?? 'a provider'} on account ${data?.accountId ?? '(unknown)'}, ${data?.count ?? 'some'} records`,
      'failed the origin check (content hash or origin MAC) or named another connection. They were neither deleted nor',
      'kept silently: they are untouched in provider_records. The audit log has one `record.origin_invalid` event per record',
      `with its id and the reason${data?.workflowId ? `; workflow ${data.workflowId}` : ''}.`,
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
