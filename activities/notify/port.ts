/** Notifier: how CRA tells a person something (welcome, security notices). */
export interface Notice {
  /** One notice per key: sending again with the same key is a no-op. */
  idempotencyKey: string;
  channel: 'email' | 'sms' | 'push';
  to: string;
  template: string;
  accountId?: string;
  /** Values for the template; never secrets (codes travel as references, resolved by the sender). */
  data?: Record<string, string | number | boolean>;
}

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
