/**
 * The `provider_reauth` recovery factor, behind the recovery workflow: the requester signs in again at a
 * provider the account has linked. `beginProviderReauth` makes the authorization request (PKCE S256, a
 * single-use `state`, a nonce for OpenID providers) and parks the URL, encrypted, on the challenge for the
 * one API request that asked for it. The OAuth callback parks the provider's answer the same way (the code
 * encrypted with the SecretVault), and `redeemProviderAnswer` redeems it, reads the provider account id
 * exactly as linking does, revokes the tokens at once (RFC 7009, where the provider has an endpoint) and
 * compares. Codes and tokens live only in this module's variables and the challenge's ciphertext fields:
 * the workflow hears the facts (`verified`, challenge id, provider, a reason), like every other factor.
 */
import { createHash, randomBytes } from 'node:crypto';
import { msToNumber, type Duration } from '@temporalio/common';
import type { Db } from 'mongodb';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { failure } from '../../domain/failures.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import { redirectUriFor } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import {
  challengeSecretHash,
  defaultRecoveryLimits,
  providerReauthKey,
  providerStateHash,
  sameDigest,
  sha256Hex,
} from '../../domain/recovery.js';
import {
  exchangeCode,
  fetchProfileJson,
  ProviderError,
  verifyIdToken,
  type TokenSet,
} from '../providers/oauth-client.js';
import { ProviderNotConfigured, resolveProvider, type ResolvedProvider } from '../providers/resolve.js';
import { revokeGrant } from '../providers/revocation.js';
import type { SecretVault } from '../secrets/port.js';
import { challengesCollection, recoveriesCollection } from './store.js';

export interface RecoveryProviderActivityDeps {
  db: Db;
  vault: SecretVault;
  providers: ProviderConfig;
  /** Base of the redirect URI (CRA's OAuth callback, the one linking uses). */
  publicUrl: string;
  now?: () => Date;
}

/** What a redeemed answer proves; never a token or a code. */
export interface ProviderAnswerCheck {
  verified: boolean;
  evidence: Record<string, string | number | boolean>;
}

/** Revoke the grant the exchange obtained, the provider's own way; a failure is swallowed (the tokens are short-lived and never kept). */
async function revokeAll(resolved: ResolvedProvider, set: TokenSet, config: ProviderConfig): Promise<void> {
  const override = config.endpointOverrides[resolved.definition.id]?.revocation;
  try {
    await revokeGrant(
      { provider: resolved.definition.id, ...resolved },
      { accessToken: set.accessToken, ...(set.refreshToken ? { refreshToken: set.refreshToken } : {}) },
      { ...(override ? { override } : {}), ...(config.sandboxUrl ? { sandboxUrl: config.sandboxUrl } : {}) },
    );
  } catch {
    // Nothing to do: the error says nothing about the token, and the proof does not depend on it.
  }
}

export function createRecoveryProviderActivities({
  db,
  vault,
  providers,
  publicUrl,
  now = () => new Date(),
}: RecoveryProviderActivityDeps) {
  const challenges = challengesCollection(db);
  const recoveries = recoveriesCollection(db);

  return {
    /**
     * A new authorization request for the recovery. Nothing here depends on the account (or on whether the
     * address has one), so every requester gets a URL of the same shape. Idempotent: a retry finds the
     * challenge made before (and its URL, if the API has not taken it yet).
     */
    async beginProviderReauth(input: {
      recoveryId: string;
      challengeId: string;
      provider: ProviderId;
      expiresAt: string;
    }): Promise<{ challengeId: string; expiresAt: string }> {
      const existing = await challenges.findOne({ _id: input.challengeId });
      if (existing) return { challengeId: existing._id, expiresAt: existing.expiresAt };
      let resolved: ResolvedProvider;
      try {
        resolved = await resolveProvider(input.provider, providers, vault);
      } catch (err) {
        if (err instanceof ProviderNotConfigured) throw failure('ProviderNotConfigured', err.message);
        throw err;
      }
      const state = randomBytes(32).toString('base64url');
      const verifier = randomBytes(48).toString('base64url');
      const nonce = resolved.definition.openid ? randomBytes(24).toString('base64url') : null;
      const redirectUri = redirectUriFor(publicUrl, input.provider);
      const url = new URL(resolved.endpoints.authorize);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', resolved.credentials.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      // The profile scopes only: recovery reads who signed in, nothing else.
      url.searchParams.set(
        'scope',
        [...resolved.extraScopes, ...resolved.definition.defaultScopes].join(resolved.definition.scopeSeparator),
      );
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
      url.searchParams.set('code_challenge_method', 'S256');
      if (nonce) {
        url.searchParams.set('nonce', nonce);
        // A fresh sign-in, not a remembered session (OpenID Connect Core §3.1.2.1).
        url.searchParams.set('prompt', 'login');
      }
      await challenges.insertOne({
        _id: input.challengeId,
        recoveryId: input.recoveryId,
        factor: 'provider_reauth',
        secretHash: challengeSecretHash(input.recoveryId, 'provider_reauth', input.challengeId, state),
        createdAt: now().toISOString(),
        expiresAt: input.expiresAt,
        deliveredVia: 'none',
        provider: input.provider,
        stateHash: providerStateHash(state),
        codeVerifierCiphertext: await vault.encrypt(providerReauthKey, verifier),
        nonce,
        redirectUri,
        authorizationUrlCiphertext: await vault.encrypt(providerReauthKey, url.toString()),
      });
      return { challengeId: input.challengeId, expiresAt: input.expiresAt };
    },

    /**
     * Redeem the answer the callback parked on the challenge and compare the provider account with the one
     * the account has linked for that provider. An unknown account, an unlinked provider and another
     * provider account get the same reason, and the comparison runs against a stand-in when there is nothing
     * to compare with. A connection younger than `minConnectionAge`, or made since the recovery started,
     * does not count (`connection_too_new`). Single use: the code and verifier are wiped before the exchange,
     * so a retry finds nothing to redeem and answers `exchange_failed`.
     */
    async redeemProviderAnswer(input: {
      recoveryId: string;
      challengeId: string;
      accountId?: string;
      minConnectionAge?: Duration;
    }): Promise<ProviderAnswerCheck> {
      const taken = await challenges.findOneAndUpdate(
        { _id: input.challengeId, recoveryId: input.recoveryId, factor: 'provider_reauth' },
        { $set: { codeCiphertext: null, codeVerifierCiphertext: null, nonce: null, authorizationUrlCiphertext: null } },
      );
      const provider = (taken?.provider ?? 'unknown') as ProviderId;
      const evidence = { challengeId: input.challengeId, provider };
      if (
        !taken ||
        taken.providerRefused ||
        !taken.codeCiphertext ||
        !taken.codeVerifierCiphertext ||
        !taken.redirectUri
      ) {
        return {
          verified: false,
          evidence: {
            ...evidence,
            reason: taken && !taken.providerRefused && !taken.codeCiphertext ? 'exchange_failed' : 'provider_refused',
          },
        };
      }
      let providerAccountId: string | undefined;
      try {
        const resolved = await resolveProvider(provider, providers, vault);
        const set = await exchangeCode(resolved.endpoints, resolved.credentials, {
          code: await vault.decrypt(providerReauthKey, taken.codeCiphertext),
          codeVerifier: await vault.decrypt(providerReauthKey, taken.codeVerifierCiphertext),
          redirectUri: taken.redirectUri,
          requestedScopes: [],
        });
        try {
          if (resolved.definition.openid && taken.nonce) {
            if (!set.idToken) throw new ProviderError('IdTokenInvalid', 'the OpenID provider returned no id_token');
            await verifyIdToken(resolved.endpoints, resolved.credentials.clientId, set.idToken, taken.nonce);
          }
          providerAccountId = resolved.definition.mapProfile(
            await fetchProfileJson(resolved.endpoints, set),
          ).providerAccountId;
        } finally {
          await revokeAll(resolved, set, providers);
        }
      } catch (err) {
        // Provider errors name the endpoint and the OAuth error code only; anything else is not repeated.
        const reason =
          err instanceof ProviderError && err.type === 'IdTokenInvalid' ? 'id_token_invalid' : 'exchange_failed';
        return { verified: false, evidence: { ...evidence, reason } };
      }
      const account = input.accountId
        ? await db
            .collection<AccountDocument>(collections.accounts)
            .findOne({ _id: input.accountId }, { projection: { connected_providers: 1 } })
        : null;
      const linked = account?.connected_providers.nodes.find(
        (n) => n.provider === provider && n.status !== 'disconnected',
      );
      const digest = (id: string) => sha256Hex(`cra-provider-account|${provider}|${id}`);
      const matches = sameDigest(
        digest(providerAccountId),
        digest(linked?.providerAccountId ?? randomBytes(16).toString('hex')),
      );
      if (!linked || !matches)
        return { verified: false, evidence: { ...evidence, reason: 'provider_account_mismatch' } };
      // The requester sees the same `{accepted: false}` as for a mismatch; the reason is for support and the audit log.
      const request = await recoveries.findOne({ _id: input.recoveryId }, { projection: { createdAt: 1 } });
      const minAgeMs = msToNumber(input.minConnectionAge ?? defaultRecoveryLimits.minConnectionAge);
      const connectedAt = Date.parse(linked.connectedAt);
      const tooNew =
        !request ||
        !Number.isFinite(connectedAt) ||
        now().getTime() - connectedAt < minAgeMs ||
        linked.connectedAt >= request.createdAt;
      if (tooNew)
        return {
          verified: false,
          evidence: {
            ...evidence,
            reason: 'connection_too_new',
            connectionId: linked.connectionId,
            connectedAt: linked.connectedAt,
          },
        };
      return { verified: true, evidence: { ...evidence, connectionId: linked.connectionId } };
    },

    /**
     * Forget every secret the recovery's provider sign-ins still hold (verifiers, nonces, parked codes and
     * URLs): run when the recovery ends, however it ends. Idempotent.
     */
    async releaseProviderChallenges(input: { recoveryId: string }): Promise<{ released: number }> {
      const result = await challenges.updateMany(
        { recoveryId: input.recoveryId, factor: 'provider_reauth' },
        { $set: { codeCiphertext: null, codeVerifierCiphertext: null, nonce: null, authorizationUrlCiphertext: null } },
      );
      return { released: result.modifiedCount };
    },
  };
}
