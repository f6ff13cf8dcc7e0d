/**
 * Recovery activities on the accounts queue: look the account up and assess the risk, send codes, send
 * notices with cancel links, close the request. Codes and cancel tokens are made here and go straight to
 * the notifier, so they never appear in an activity's input or result, and so never in workflow history.
 */
import type { Db } from 'mongodb';
import type { AccountDocument } from '../../domain/account-center.js';
import {
  challengeSecretHash,
  newOpaqueToken,
  newRecoveryCode,
  normalizeEmail,
  tokenHash,
} from '../../domain/recovery.js';
import type { DeliveredCodeFactor, RecoveryResult, RiskFlag } from '../../workflows/recovery/messages.js';
import { accountEmailOf, addressProjection, emailLookupOf } from '../accounts/personal-fields.js';
import { accountsCollection } from '../accounts/store.js';
import type { Notice, Notifier } from '../notify/port.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import type { SecretVault } from '../secrets/port.js';
import { agentsCollection, challengesCollection, factorsCollection, recoveriesCollection } from './store.js';
import { failure } from '../../domain/failures.js';

export interface RecoveryActivityDeps {
  db: Db;
  notifier: Notifier;
  /** Open the account's sealed address; the vault makes the address's lookup hash. */
  accountKeys: AccountKeys;
  vault: SecretVault;
  /** Base of the cancel links in notices. */
  publicUrl: string;
  now?: () => Date;
}

/** Thresholds of the risk flags; see docs/recovery.md. */
export const riskThresholds = {
  /** Recoveries from one network within an hour before `velocity` is raised. */
  velocityPerNetworkHour: 3,
  /** Recoveries of one account within `manyRecoveriesDays` before `many_recoveries` is raised. */
  manyRecoveries: 3,
  manyRecoveriesDays: 30,
  /** A factor enrolled, or credentials reset, this recently raises `recent_factor_change`. */
  recentChangeDays: 7,
} as const;

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

export interface OpenedRecovery {
  /** Undefined when no active account has the address: the workflow then rejects every factor. */
  accountId?: string;
  subject?: string;
  riskFlags: RiskFlag[];
  country?: string;
}

/** A connection made while a recovery of its account was pending. */
export interface LinkDuringRecovery {
  provider: string;
  connectionId: string;
  connectedAt: string;
  status: string;
}

export type RecoveryNoticeKind = 'started' | 'reminder' | RecoveryResult['outcome'];

export function createRecoveryActivities({
  db,
  notifier,
  accountKeys,
  vault,
  publicUrl,
  now = () => new Date(),
}: RecoveryActivityDeps) {
  const recoveries = recoveriesCollection(db);
  const accounts = accountsCollection(db);
  const factors = factorsCollection(db);

  /** The account's verified channels: its email, verified phones and push devices. */
  async function channelsOf(accountId: string): Promise<Array<{ channel: Notice['channel']; to: string }>> {
    const account = await accounts.findOne({ _id: accountId }, { projection: addressProjection });
    const enrolled = await factors.find({ accountId, kind: { $in: ['phone', 'push_device'] } }).toArray();
    const channels: Array<{ channel: Notice['channel']; to: string }> = [];
    const email = account?.rootIdentity.emailVerified ? await accountEmailOf(accountKeys, account) : undefined;
    if (email) channels.push({ channel: 'email', to: email });
    for (const f of enrolled) {
      if (f.kind === 'phone' && f.verified) channels.push({ channel: 'sms', to: f.number });
      if (f.kind === 'push_device') channels.push({ channel: 'push', to: `device:${f.deviceId}` });
    }
    return channels;
  }

  return {
    /**
     * Find the account for the request's address (then forget the address), bind the request to it and
     * raise the risk flags. Idempotent: a retry finds the binding made before.
     */
    async openRecovery(input: { recoveryId: string }): Promise<OpenedRecovery> {
      const at = now();
      const request = await recoveries.findOne({ _id: input.recoveryId });
      if (!request) throw failure('RecoveryNotFound', `no recovery request ${input.recoveryId}`);
      let account: AccountDocument | null = null;
      if (request.accountId) {
        account = await accounts.findOne({ _id: request.accountId });
      } else if (request.email) {
        const candidates = [...new Set([request.email, normalizeEmail(request.email)])];
        // Only an active account can be recovered; any other status is treated like an unknown address.
        // Sealed accounts are found by the address's keyed hash; accounts written before sealing by the clear field.
        account = await accounts.findOne({
          $or: [
            { 'rootIdentity.emailLookup': await emailLookupOf(vault, request.email) },
            { 'rootIdentity.email': { $in: candidates } },
          ],
          status: 'active',
        });
      }
      await recoveries.updateOne(
        { _id: input.recoveryId },
        {
          $set: { resolvedAt: at.toISOString(), ...(account ? { accountId: account._id } : {}) },
          $unset: { email: '' },
        },
      );

      const flags: RiskFlag[] = [];
      const flag = (name: RiskFlag['flag'], evidence: RiskFlag['evidence']) =>
        flags.push({ flag: name, evidence, at: at.toISOString() });
      const hourAgo = new Date(at.getTime() - hourMs).toISOString();
      if (request.network !== 'unknown') {
        const fromNetwork = await recoveries.countDocuments({ network: request.network, createdAt: { $gte: hourAgo } });
        if (fromNetwork >= riskThresholds.velocityPerNetworkHour)
          flag('velocity', { recoveriesFromNetworkLastHour: fromNetwork, network: request.network });
      }
      if (request.agent) {
        flag('ai_agent', {
          agentId: request.agent.agentId,
          agentName: request.agent.name,
          agentRegisteredBySameAccount: account !== null && request.agent.accountId === account._id,
        });
      }
      if (account) {
        const accountId = account._id;
        const enrolled = await factors
          .find({ accountId }, { projection: { kind: 1, enrolledAt: 1, network: 1 } })
          .toArray();
        const agents = await agentsCollection(db)
          .find({ accountId }, { projection: { network: 1 } })
          .toArray();
        const knownNetworks = new Set(
          [...enrolled.map((f) => f.network), ...agents.map((a) => a.network)].filter(
            (n): n is string => !!n && n !== 'unknown',
          ),
        );
        if (!knownNetworks.has(request.network)) {
          flag('new_device_or_network', {
            network: request.network,
            device: request.device,
            knownNetworks: knownNetworks.size,
          });
        }
        const since = new Date(at.getTime() - riskThresholds.recentChangeDays * dayMs).toISOString();
        const recentFactor = enrolled
          .filter((f) => f.enrolledAt >= since)
          .sort((a, b) => b.enrolledAt.localeCompare(a.enrolledAt))[0];
        const recentReset = await recoveries.findOne({ accountId, outcome: 'completed', closedAt: { $gte: since } });
        if (recentFactor)
          flag('recent_factor_change', { change: `enrolled:${recentFactor.kind}`, at: recentFactor.enrolledAt });
        else if (recentReset?.closedAt)
          flag('recent_factor_change', { change: 'credentials_reset', at: recentReset.closedAt });
        const windowStart = new Date(at.getTime() - riskThresholds.manyRecoveriesDays * dayMs).toISOString();
        const count = await recoveries.countDocuments({ accountId, createdAt: { $gte: windowStart } });
        if (count >= riskThresholds.manyRecoveries)
          flag('many_recoveries', { count, windowDays: riskThresholds.manyRecoveriesDays });
      }
      return {
        ...(account ? { accountId: account._id, subject: account.rootIdentity.subject } : {}),
        riskFlags: flags,
        ...(request.country ? { country: request.country } : {}),
      };
    },

    /**
     * Make a code, store its hash and send it to the account's verified address for the factor. For an unknown
     * account or a missing channel the challenge is stored all the same but nothing is sent, so the code is unknowable.
     * A retry replaces the code (and sends the new one): only the latest code of a challenge is ever valid.
     */
    async issueRecoveryChallenge(input: {
      recoveryId: string;
      challengeId: string;
      factor: DeliveredCodeFactor;
      expiresAt: string;
      ttlMs: number;
      accountId?: string;
    }): Promise<{ deliveredVia: 'email' | 'sms' | 'none' }> {
      const challenges = challengesCollection(db);
      const existing = await challenges.findOne({ _id: input.challengeId });
      if (existing?.deliveredVia) return { deliveredVia: existing.deliveredVia };
      const at = now();
      const expiresAt = new Date(Math.min(Date.parse(input.expiresAt), at.getTime() + input.ttlMs)).toISOString();
      const code = newRecoveryCode();
      const secretHash = challengeSecretHash(input.recoveryId, input.factor, input.challengeId, code);
      await challenges.replaceOne(
        { _id: input.challengeId },
        { recoveryId: input.recoveryId, factor: input.factor, secretHash, createdAt: at.toISOString(), expiresAt },
        { upsert: true },
      );
      const destination = input.accountId
        ? (await channelsOf(input.accountId)).find(
            (c) => c.channel === (input.factor === 'email_code' ? 'email' : 'sms'),
          )
        : undefined;
      if (destination) {
        await notifier.send({
          // Keyed by the code's hash: a retry with a new code sends a new message, never the old code again.
          idempotencyKey: `recovery/${input.recoveryId}/challenge/${input.challengeId}/${secretHash.slice(0, 16)}`,
          channel: destination.channel,
          to: destination.to,
          template: 'recovery-code',
          accountId: input.accountId!,
          data: { code, minutes: Math.round(input.ttlMs / 60_000) },
        });
      }
      const deliveredVia = destination ? (destination.channel as 'email' | 'sms') : 'none';
      await challenges.updateOne({ _id: input.challengeId }, { $set: { deliveredVia } });
      return { deliveredVia };
    },

    /**
     * Tell every verified channel of the account about the recovery. Notices of a pending recovery carry a
     * one-click cancel link whose token is made here; only its hash is kept. Returns the channels, never a token.
     */
    async sendRecoveryNotices(input: {
      recoveryId: string;
      accountId: string;
      kind: RecoveryNoticeKind;
      round: number;
      coolingEndsAt?: string;
    }): Promise<{ channels: Array<Notice['channel']> }> {
      const channels = await channelsOf(input.accountId);
      const data: Record<string, string> = {};
      if (input.coolingEndsAt) data.coolingEndsAt = input.coolingEndsAt;
      const request = await recoveries.findOne({ _id: input.recoveryId }, { projection: { createdAt: 1 } });
      if (request?.createdAt) data.requestedAt = request.createdAt;
      if (input.kind === 'started' || input.kind === 'reminder') {
        const cancelToken = newOpaqueToken();
        await recoveries.updateOne({ _id: input.recoveryId }, { $push: { cancelTokenHashes: tokenHash(cancelToken) } });
        data.cancelUrl = `${publicUrl}/v1/recoveries/${input.recoveryId}/cancel?token=${cancelToken}`;
      }
      for (const { channel, to } of channels) {
        await notifier.send({
          idempotencyKey: `recovery/${input.recoveryId}/notice/${input.kind}/${input.round}/${channel}/${to}`,
          channel,
          to,
          template: `recovery-${input.kind}`,
          accountId: input.accountId,
          data,
        });
      }
      return { channels: channels.map((c) => c.channel) };
    },

    /**
     * Providers linked to the account since the recovery started (by the connection's `connectedAt`): someone
     * who holds a session while a recovery is pending is someone support should hear about.
     */
    async findLinksDuringRecovery(input: {
      recoveryId: string;
      accountId: string;
    }): Promise<{ recoveryStartedAt?: string; links: LinkDuringRecovery[] }> {
      const request = await recoveries.findOne({ _id: input.recoveryId }, { projection: { createdAt: 1 } });
      if (!request) return { links: [] };
      const account = await accounts.findOne({ _id: input.accountId }, { projection: { connected_providers: 1 } });
      const links = (account?.connected_providers.nodes ?? [])
        .filter((n) => n.connectedAt >= request.createdAt)
        .map((n) => ({
          provider: n.provider,
          connectionId: n.connectionId,
          connectedAt: n.connectedAt,
          status: n.status,
        }))
        .sort((a, b) => a.connectedAt.localeCompare(b.connectedAt));
      return { recoveryStartedAt: request.createdAt, links };
    },

    /** Record how the recovery ended, for the API and for later risk checks. */
    async closeRecovery(input: { recoveryId: string; outcome: RecoveryResult['outcome'] }): Promise<void> {
      await recoveries.updateOne(
        { _id: input.recoveryId, closedAt: { $exists: false } },
        { $set: { closedAt: now().toISOString(), outcome: input.outcome } },
      );
    },
  };
}
