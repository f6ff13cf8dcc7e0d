/** Notifier: how CRA tells a person something (welcome, security notices). */
export interface Notice {
  /** One notice per key: sending again with the same key is a no-op. */
  idempotencyKey: string;
  channel: 'email' | 'sms' | 'push';
  to: string;
  template: string;
  accountId?: string;
  /** Values for the template; never secrets (codes travel as references, resolved by the sender). */
  data?: NoticeData;
}

export type NoticeData = Record<string, string | number | boolean> | undefined;

/** The words of one notice, plain text; the delivery adapter turns it into email, SMS or push. */
export interface RenderedNotice {
  subject: string;
  body: string;
}

/**
 * The notices one feature sends, by template name. Each feature exports its own; whoever builds a notifier
 * hands it all of them (`activities/notices.ts`), so the notifier itself knows no feature.
 */
export type NoticeTemplates = Readonly<Record<string, (data: NoticeData) => RenderedNotice>>;

export interface QueuedNotice extends Notice {
  id: string;
  queuedAt: string;
  subject: string;
  body: string;
}

export interface Notifier {
  /** Queue or send a notice; `queued` is false when a notice with this key exists already. */
  send(notice: Notice): Promise<{ id: string; queued: boolean }>;
}
