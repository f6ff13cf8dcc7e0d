/**
 * The `provider_reauth` recovery factor: the requester signs in again at a provider the account has
 * linked. The API makes the authorization request (PKCE S256, a single-use `state`, a nonce for OpenID
 * providers, the code TTL), and when the provider sends the browser back to the OAuth callback it redeems
 * the code, reads the provider account id exactly as linking does, revokes the tokens at once (RFC 7009,
 * where the provider has an endpoint) and compares. Tokens live only in this function's variables: never
 * stored, never in a Temporal message, never in a log line or an error message. The workflow hears the
 * facts (`verified`, challenge id, provider, a reason), like every other factor.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { exchangeCode, fetchProfileJson, ProviderError, revokeToken, verifyIdToken, type TokenSet } from '../../activities/providers/oauth-client.js';
import { resolveProvider, type ResolvedProvider } from '../../activities/providers/resolve.js';
import type { SecretVault } from '../../activities/secrets/port.js';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import { redirectUriFor } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import { challengeSecretHash, sameDigest, sha256Hex, type RecoveryChallengeDocument } from '../../domain/recovery.js';
import type { ProofCheck } from './recovery-proofs.js';

/** SecretVault key for the PKCE verifiers of recovery sign-ins (separate from linking's). */
export const providerReauthKey = 'recovery-provider-reauth';

/** How the callback finds a recovery's authorization request without the state being stored. */
export function providerStateHash(state: string): string {
  return sha256Hex(`cra-recovery-state|${state}`);
}

const challenges = (db: Db) => db.collection<RecoveryChallengeDocument>(collections.recoveryChallenges);

export interface ProviderReauthSettings {
  providers: ProviderConfig;
  publicUrl: string;
}

/** What makes a linked connection old enough to prove who someone is. */
export interface ConnectionAgeRule {
  /** `RECOVERY_MIN_CONNECTION_AGE`: a younger connection is no factor. */
  minAgeMs: number;
  /** When the recovery started: a connection made since then is no factor at any age setting. */
  recoveryStartedAt: string;
  now: Date;
}

/**
 * A new authorization request for the recovery. Nothing here depends on the account (or on whether the
 * address has one), so every requester gets a URL of the same shape.
 */
export async function issueProviderChallenge(
  db: Db, vault: SecretVault, settings: ProviderReauthSettings,
  input: { recoveryId: string; challengeId: string; provider: ProviderId; ttlMs: number; now: Date },
): Promise<{ authorizationUrl: string; expiresAt: string }> {
  const resolved = await resolveProvider(input.provider, settings.providers, vault);
  const state = randomBytes(32).toString('base64url');
  const verifier = randomBytes(48).toString('base64url');
  const nonce = resolved.definition.openid ? randomBytes(24).toString('base64url') : null;
  const redirectUri = redirectUriFor(settings.publicUrl, input.provider);
  const expiresAt = new Date(input.now.getTime() + input.ttlMs).toISOString();
  await challenges(db).insertOne({
    _id: input.challengeId, recoveryId: input.recoveryId, factor: 'provider_reauth',
    secretHash: challengeSecretHash(input.recoveryId, 'provider_reauth', input.challengeId, state),
    createdAt: input.now.toISOString(), expiresAt, deliveredVia: 'none',
    provider: input.provider, stateHash: providerStateHash(state), codeVerifierCiphertext: await vault.encrypt(providerReauthKey, verifier), nonce, redirectUri,
  });
  const url = new URL(resolved.endpoints.authorize);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', resolved.credentials.clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  // The profile scopes only: recovery reads who signed in, nothing else.
  url.searchParams.set('scope', [...resolved.extraScopes, ...resolved.definition.defaultScopes].join(resolved.definition.scopeSeparator));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
  url.searchParams.set('code_challenge_method', 'S256');
  if (nonce) {
    url.searchParams.set('nonce', nonce);
    // A fresh sign-in, not a remembered session (OpenID Connect Core §3.1.2.1).
    url.searchParams.set('prompt', 'login');
  }
  return { authorizationUrl: url.toString(), expiresAt };
}

/** The recovery challenge a callback's `state` belongs to, if any. */
export function findProviderChallenge(db: Db, state: string): Promise<RecoveryChallengeDocument | null> {
  return challenges(db).findOne({ stateHash: providerStateHash(state), factor: 'provider_reauth' });
}

/**
 * Spend the challenge (single use), wiping its verifier and nonce; returns what they were, or null when a
 * concurrent callback claimed it first.
 */
export async function claimProviderChallenge(db: Db, challengeId: string, now: Date): Promise<RecoveryChallengeDocument | null> {
  return challenges(db).findOneAndUpdate(
    { _id: challengeId, consumedAt: { $exists: false } },
    { $set: { consumedAt: now.toISOString(), codeVerifierCiphertext: null, nonce: null } },
  );
}

/** Revoke what the exchange obtained; a failure is swallowed (the tokens are short-lived and never kept). */
async function revokeAll(resolved: ResolvedProvider, set: TokenSet): Promise<void> {
  for (const [token, hint] of [[set.refreshToken, 'refresh_token'], [set.accessToken, 'access_token']] as const) {
    if (!token) continue;
    try {
      await revokeToken(resolved.endpoints, resolved.credentials, token, hint);
    } catch {
      // Nothing to do: the error says nothing about the token, and the proof does not depend on it.
    }
  }
}

/**
 * Redeem the code and compare the provider account with the one the account has linked for that provider.
 * An unknown account, an unlinked provider and another provider account get the same reason, and the
 * comparison runs against a stand-in when there is nothing to compare with. A connection younger than
 * `age.minAgeMs`, or made since the recovery started, does not count (`connection_too_new`).
 */
export async function checkProviderReauth(
  db: Db, vault: SecretVault, settings: ProviderReauthSettings,
  input: { challenge: RecoveryChallengeDocument; accountId: string | undefined; code: string | undefined; error: string | undefined; age: ConnectionAgeRule },
): Promise<ProofCheck> {
  const { challenge } = input;
  const provider = challenge.provider as ProviderId;
  const evidence = { challengeId: challenge._id, provider };
  if (input.error || !input.code || !challenge.codeVerifierCiphertext || !challenge.redirectUri) {
    return { verified: false, evidence: { ...evidence, reason: 'provider_refused' } };
  }
  let providerAccountId: string | undefined;
  try {
    const resolved = await resolveProvider(provider, settings.providers, vault);
    const set = await exchangeCode(resolved.endpoints, resolved.credentials, {
      code: input.code, codeVerifier: await vault.decrypt(providerReauthKey, challenge.codeVerifierCiphertext), redirectUri: challenge.redirectUri, requestedScopes: [],
    });
    try {
      if (resolved.definition.openid && challenge.nonce) {
        if (!set.idToken) throw new ProviderError('IdTokenInvalid', 'the OpenID provider returned no id_token');
        await verifyIdToken(resolved.endpoints, resolved.credentials.clientId, set.idToken, challenge.nonce);
      }
      providerAccountId = resolved.definition.mapProfile(await fetchProfileJson(resolved.endpoints, set)).providerAccountId;
    } finally {
      await revokeAll(resolved, set);
    }
  } catch (err) {
    // Provider errors name the endpoint and the OAuth error code only; anything else is not repeated.
    const reason = err instanceof ProviderError && err.type === 'IdTokenInvalid' ? 'id_token_invalid' : 'exchange_failed';
    return { verified: false, evidence: { ...evidence, reason } };
  }
  const account = input.accountId
    ? await db.collection<AccountDocument>(collections.accounts).findOne({ _id: input.accountId }, { projection: { connected_providers: 1 } })
    : null;
  const linked = account?.connected_providers.nodes.find((n) => n.provider === provider && n.status !== 'disconnected');
  const digest = (id: string) => sha256Hex(`cra-provider-account|${provider}|${id}`);
  const matches = sameDigest(digest(providerAccountId), digest(linked?.providerAccountId ?? randomBytes(16).toString('hex')));
  if (!linked || !matches) return { verified: false, evidence: { ...evidence, reason: 'provider_account_mismatch' } };
  // The requester sees the same `{accepted: false}` as for a mismatch; the reason is for support and the audit log.
  const connectedAt = Date.parse(linked.connectedAt);
  const tooNew = !Number.isFinite(connectedAt) || input.age.now.getTime() - connectedAt < input.age.minAgeMs || linked.connectedAt >= input.age.recoveryStartedAt;
  if (tooNew) return { verified: false, evidence: { ...evidence, reason: 'connection_too_new', connectionId: linked.connectionId, connectedAt: linked.connectedAt } };
  return { verified: true, evidence: { ...evidence, connectionId: linked.connectionId } };
}
