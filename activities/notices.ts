/**
 * Every notice CRA sends, gathered from the features that send them, and the notifier built with them:
 * the one place that knows both, so the notifier (`activities/notify/`) knows no feature. The API, the
 * workers, the operator commands and the tests build their notifier here.
 */
import type { Db } from 'mongodb';
import { accountNoticeTemplates } from './accounts/notice-templates.js';
import { disconnectNoticeTemplates } from './disconnect/notice-templates.js';
import { erasureNoticeTemplates } from './erasure/notice-templates.js';
import { signInNoticeTemplates } from './identity/notice-templates.js';
import { OutboxNotifier, type OutboxKeys } from './notify/outbox-notifier.js';
import { combineNoticeTemplates } from './notify/templates.js';
import { providerNoticeTemplates } from './providers/notice-templates.js';
import { recordNoticeTemplates } from './records/notice-templates.js';
import { recoveryNoticeTemplates } from './recovery/templates.js';

export const noticeTemplates = combineNoticeTemplates(
  accountNoticeTemplates,
  signInNoticeTemplates,
  providerNoticeTemplates,
  disconnectNoticeTemplates,
  recordNoticeTemplates,
  recoveryNoticeTemplates,
  erasureNoticeTemplates,
);

export interface NotifierDeps {
  /** The account data keys (over the SecretVault) that seal what the outbox stores. */
  accountKeys: OutboxKeys;
  now?: () => Date;
}

/** The installation's notifier: the outbox, with every feature's notices. */
export function buildNotifier(db: Db, deps: NotifierDeps): OutboxNotifier {
  return new OutboxNotifier(db, {
    templates: noticeTemplates,
    accountKeys: deps.accountKeys,
    ...(deps.now ? { now: deps.now } : {}),
  });
}
