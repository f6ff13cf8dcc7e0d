/**
 * Every notice CRA sends, gathered from the features that send them, and the notifier built with them:
 * the one place that knows both, so the notifier (`activities/notify/`) knows no feature. The API, the
 * workers, the operator commands and the tests build their notifier here.
 *
 * Which notifier is the configuration's (`CRA_NOTIFIER`): the sealed outbox for development and tests, or
 * email through an SMTP relay, which keeps only a delivery log. SMS and push notices have no sending adapter
 * yet: with SMTP they still go to the sealed outbox (see docs/architecture.md).
 */
import type { Db } from 'mongodb';
import type { NotifierConfig } from '../domain/config.js';
import { accountNoticeTemplates } from './accounts/notice-templates.js';
import { disconnectNoticeTemplates } from './disconnect/notice-templates.js';
import { erasureNoticeTemplates } from './erasure/notice-templates.js';
import { signInNoticeTemplates } from './identity/notice-templates.js';
import { OutboxNotifier, type OutboxKeys } from './notify/outbox-notifier.js';
import type { Notice, Notifier } from './notify/port.js';
import { SmtpNotifier } from './notify/smtp-notifier.js';
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
  /** `config.notifier`; absent: the outbox. */
  config?: NotifierConfig;
  now?: () => Date;
}

/** The installation's notifier, with every feature's notices: the sealed outbox, or SMTP for email. */
export function buildNotifier(db: Db, deps: NotifierDeps): Notifier {
  const outbox = new OutboxNotifier(db, {
    templates: noticeTemplates,
    accountKeys: deps.accountKeys,
    ...(deps.now ? { now: deps.now } : {}),
  });
  if (deps.config?.kind !== 'smtp') return outbox;
  const keys = deps.accountKeys;
  const email = new SmtpNotifier(db, {
    templates: noticeTemplates,
    smtp: deps.config.url,
    from: deps.config.from,
    vault: typeof keys === 'function' ? async () => (await keys()).vault : keys.vault,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return new ChannelNotifier({ email }, outbox);
}

/** Each channel's notifier, or the fallback for a channel without one. */
export class ChannelNotifier implements Notifier {
  constructor(
    private readonly byChannel: Partial<Record<Notice['channel'], Notifier>>,
    private readonly fallback: Notifier,
  ) {}

  send(notice: Notice): Promise<{ id: string; queued: boolean }> {
    return (this.byChannel[notice.channel] ?? this.fallback).send(notice);
  }
}
