/**
 * Disconnect-provider wire protocol. Never rename a message; add optional fields only.
 * The retention choice is explicit: nothing decides for the person what happens to their data.
 */
import { defineQuery } from '@temporalio/workflow';
import type { ProviderId } from '../../domain/providers.js';

export const retentionChoices = ['keep', 'delete'] as const;
/** `keep`: the connection's records stay, marked `detached`; `delete`: they are deleted. */
export type Retention = (typeof retentionChoices)[number];

export interface DisconnectInput {
  accountId: string;
  /** The root identity's subject, for the identity directory. */
  subject: string;
  provider: ProviderId;
  retention: Retention;
  /** Who asked (the subject of the verified token), for the audit trail. */
  requestedBy: string;
}

export type DisconnectStatus = 'disconnected' | 'refused' | 'not_connected';

export interface DisconnectResult {
  status: DisconnectStatus;
  retention: Retention;
  /** The connections this run disconnected (normally one). */
  connectionIds: string[];
  /** The provider confirmed the revocation (its own revocation call); false where it has none. */
  revokedAtProvider: boolean;
  /** Not revoked there: "the grant stays at <provider> until you remove it there", with its settings page. */
  grantNotice?: string;
  /** Where the person removes the grant at the provider, when it stays there. */
  grantSettingsUrl?: string;
  /** The provider identity was removed from the root identity in the directory. */
  unlinked: boolean;
  deleted: number;
  detached: number;
  /** Records whose origin did not verify: left untouched and reported to support. */
  invalid: number;
  /** Why, in words for the person. */
  detail?: string;
}

export const disconnectStages = [
  'checking',
  'stopping_sync',
  'revoking',
  'unlinking',
  'waiting_for_sync',
  'deleting_records',
  'detaching_records',
  'reporting',
  'removing',
  'disconnected',
  'refused',
  'not_connected',
  'cancelled',
] as const;
export type DisconnectStage = (typeof disconnectStages)[number];

export interface DisconnectState {
  stage: DisconnectStage;
  provider: ProviderId;
  retention: Retention;
  deleted: number;
  detached: number;
  invalid: number;
  result?: DisconnectResult;
}

export const disconnectWorkflowType = 'disconnectProvider';
export type DisconnectWorkflow = (input: DisconnectInput) => Promise<DisconnectResult>;

export const disconnectStateQuery = defineQuery<DisconnectState>('disconnectState');
