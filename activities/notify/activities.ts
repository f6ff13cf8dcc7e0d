import type { Notice, Notifier } from './port.js';

export interface NotifyActivityDeps {
  notifier: Notifier;
}

export function createNotifyActivities({ notifier }: NotifyActivityDeps) {
  return {
    /** Queue a notice once per idempotency key. */
    async queueNotice(notice: Notice): Promise<{ id: string; queued: boolean }> {
      return notifier.send(notice);
    },
  };
}
