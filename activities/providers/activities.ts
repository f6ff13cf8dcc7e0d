/**
 * Provider activities: the authorization request, the code exchange, token storage and refresh.
 * Tokens, codes and PKCE verifiers stay inside these activities (encrypted at rest); workflows only see
 * connection ids, attempt ids, expiry times and scopes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import type { AccountDocument } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import { connectionIdFor } from '../../domain/connections.js';
import { failure, failureTypeOf, type FailureType } from '../../domain/failures.js';
import type { ProviderConfig } from '../../domain/provider-config.js';
import { redirectUriFor } from '../../domain/provider-catalog.js';
import type { ProviderId } from '../../domain/providers.js';
import { accountEmailOf, addressProjection } from '../accounts/personal-fields.js';
import type { Notifier } from '../notify/port.js';
import type { AccountKeys } from '../secrets/account-keys.js';
import {
  linkedProfileContext,
  openFromHistory,
  sealForHistory,
  type LinkedPersonal,
} from '../secrets/history-values.js';
import type { SecretVault } from '../secrets/port.js';
import {
  exchangeCode,
  fetchProfileJson,
  ProviderError,
  refreshTokens,
  verifyIdToken,
  type TokenSet,
} from './oauth-client.js';
import { ProviderNotConfigured, resolveProvider } from './resolve.js';
import { revokeGrant } from './revocation.js';
import {
  linkAttempts,
  linkUndoTokens,
  linkUndoTtlMs,
  openProviderToken,
  providerTokens,
  recordIdOf,
  sealProviderToken,
  vaultKeys,
  type ProviderTokenDocument,
} from './stores.js';

export interface ProviderActivityDeps {
  db: Db;
  vault: SecretVault;
  /** Seals tokens with the account's data key (erasure's crypto-shred makes every copy unreadable). */
  accountKeys: AccountKeys;
  providers: ProviderConfig;
  publicUrl: string;
  /** For the provider-linked notice, which carries an undo link made here (never in workflow history). */
  notifier?: Notifier;
  now?: () => Date;
}

/** Where a provider-linked notice's undo link points (a page with one button: GET changes nothing). */
export const linkUndoPath = '/account/links/undo';

export interface LinkedProfile {
  connectionId: string;
  providerAccountId: string;
  /** The provider account's address and display name (`LinkedPersonal`), sealed with the account's key. */
  personal?: string;
  /** In clear in results recorded before `personal` existed; never returned now. */
  email?: string;
  emailVerified: boolean;
  /** Legacy, as `email`. */
  displayName?: string;
  scopes: string[];
  accessTokenExpiresAt?: string;
  hasRefreshToken: boolean;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** Provider errors → Temporal failures: permanent ones stop retries; rate limits wait as told. */
function toFailure(err: unknown, permanentType: FailureType): unknown {
  if (err instanceof ProviderNotConfigured) return failure('ProviderNotConfigured', err.message);
  if (!(err instanceof ProviderError)) return err;
  switch (err.type) {
    case 'ProviderRateLimited':
      return failure(err.type, err.message, { nextRetryDelay: err.retryAfterMs ?? 1000 });
    case 'ProviderUnavailable':
      return failure(err.type, err.message);
    case 'InvalidGrant':
      return failure(permanentType === 'LinkExchangeFailed' ? permanentType : 'InvalidGrant', err.message, {
        nonRetryable: true,
        details: [err.type],
      });
    default:
      return failure(permanentType, err.message, { nonRetryable: true, details: [err.type] });
  }
}

/**
 * How long a retry of the code exchange waits for an earlier attempt that sent the code: longer than the
 * provider calls' own timeouts, so an attempt still alive has answered by then.
 */
const exchangeGiveUpMs = 60_000;

export function createProviderActivities({
  db,
  vault,
  accountKeys,
  providers,
  publicUrl,
  notifier,
  now = () => new Date(),
}: ProviderActivityDeps) {
  const attempts = linkAttempts(db);
  const undoTokens = linkUndoTokens(db);
  const tokens = providerTokens(db);

  async function storeTokens(
    id: string,
    base: Omit<
      ProviderTokenDocument,
      | '_id'
      | 'connectionId'
      | 'accessTokenCiphertext'
      | 'refreshTokenCiphertext'
      | 'accessTokenExpiresAt'
      | 'scopes'
      | 'version'
      | 'updatedAt'
    >,
    set: TokenSet,
    version: number,
    connectionId: string,
  ): Promise<void> {
    const seal = (which: 'access' | 'refresh', token: string) =>
      sealProviderToken(accountKeys, base.accountId, connectionId, which, token);
    const doc: Omit<ProviderTokenDocument, '_id'> = {
      ...base,
      connectionId,
      accessTokenCiphertext: await seal('access', set.accessToken),
      refreshTokenCiphertext: set.refreshToken ? await seal('refresh', set.refreshToken) : null,
      accessTokenExpiresAt: set.expiresAt ?? null,
      scopes: set.scopes,
      version,
      updatedAt: now().toISOString(),
    };
    await tokens.replaceOne({ _id: id }, doc, { upsert: true });
  }

  return {
    /**
     * Start an authorization request: a single-use `state`, a PKCE S256 challenge and, for OpenID
     * providers, a `nonce`. Earlier attempts of the same workflow stop being valid.
     */
    async beginLinkAttempt(input: {
      workflowId: string;
      accountId: string;
      provider: ProviderId;
      scopes: string[];
      ttlMs: number;
      redirect?: { uri: string; clientId: string };
    }): Promise<{ attemptId: string; expiresAt: string }> {
      let resolved;
      try {
        resolved = await resolveProvider(input.provider, providers, vault);
      } catch (err) {
        throw toFailure(err, 'LinkBeginFailed');
      }
      const state = b64url(randomBytes(32));
      const verifier = b64url(randomBytes(48));
      const challenge = b64url(createHash('sha256').update(verifier).digest());
      const nonce = resolved.definition.openid ? b64url(randomBytes(24)) : null;
      // An app's own redirect URI (checked by the API against LINK_CLIENT_REDIRECT_URIS), or CRA's callback.
      const redirectUri = input.redirect?.uri ?? redirectUriFor(publicUrl, input.provider);
      const at = now();
      const attemptId = recordIdOf(state);
      await attempts.updateMany(
        { workflowId: input.workflowId, status: 'pending' },
        {
          $set: {
            status: 'discarded',
            codeVerifierCiphertext: null,
            nonce: null,
            code: null,
            authorizationUrlCiphertext: null,
          },
        },
      );
      const url = new URL(resolved.endpoints.authorize);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', resolved.credentials.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set(
        'scope',
        [...resolved.extraScopes, ...input.scopes].join(resolved.definition.scopeSeparator),
      );
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', challenge);
      url.searchParams.set('code_challenge_method', 'S256');
      if (nonce) url.searchParams.set('nonce', nonce);
      // Ask for consent every time so the provider issues a refresh token (Google: access_type=offline).
      url.searchParams.set('prompt', 'consent');
      if (input.provider === 'google' && !resolved.sandbox) url.searchParams.set('access_type', 'offline');
      const expiresAt = new Date(at.getTime() + input.ttlMs).toISOString();
      // The URL (state, challenge, nonce) goes to the API through this record, encrypted, never through history.
      await attempts.insertOne({
        _id: attemptId,
        workflowId: input.workflowId,
        accountId: input.accountId,
        provider: input.provider,
        redirectUri,
        scopes: input.scopes,
        ...(input.redirect ? { clientId: input.redirect.clientId } : {}),
        codeVerifierCiphertext: await vault.encrypt(vaultKeys.linkSecrets, verifier),
        nonce,
        authorizationUrlCiphertext: await vault.encrypt(vaultKeys.linkSecrets, url.toString()),
        createdAt: at.toISOString(),
        expiresAt,
        callbackAt: null,
        code: null,
        status: 'pending',
      });
      return { attemptId, expiresAt };
    },

    /**
     * Redeem the code the callback delivered (with the PKCE verifier), check the id_token's nonce, read
     * the profile and keep the tokens encrypted as pending until the link is decided.
     */
    async completeLinkExchange(input: { attemptId: string }): Promise<LinkedProfile> {
      let attempt = await attempts.findOne({ _id: input.attemptId });
      if (attempt?.status === 'exchanging') {
        // Another attempt of this activity sent the code (Temporal retried it while it was still under way,
        // or its worker died): wait for what it keeps, but not for ever, since a code is redeemed only once.
        const since = Date.parse(attempt.exchangingSince ?? '');
        if (now().getTime() - since < exchangeGiveUpMs)
          throw failure('LinkExchangeInProgress', 'an earlier attempt is redeeming the code');
        throw failure('LinkExchangeFailed', 'the code was sent to the provider by an attempt that never finished');
      }
      // A retry after the code was redeemed (the worker died, or Temporal lost its answer): the code cannot be
      // redeemed twice, so it carries on with the tokens the redemption kept.
      const redeemed = attempt?.status === 'exchanged' ? attempt.exchangedTokensCiphertext : undefined;
      if (!redeemed && attempt?.status === 'callback_received' && attempt.code && attempt.codeVerifierCiphertext) {
        // Claimed before the code leaves: one attempt only ever sends it.
        attempt = await attempts.findOneAndUpdate(
          { _id: attempt._id, status: 'callback_received' },
          { $set: { status: 'exchanging', exchangingSince: now().toISOString() } },
          { returnDocument: 'after' },
        );
        if (!attempt) throw failure('LinkExchangeInProgress', 'another attempt claimed the code');
      }
      if (
        !attempt ||
        (!redeemed && (attempt.status !== 'exchanging' || !attempt.code || !attempt.codeVerifierCiphertext))
      ) {
        throw failure('LinkExchangeFailed', 'the link attempt has no code to redeem (already used or discarded)');
      }
      const attemptId = attempt._id;
      const wipe = async (kept?: TokenSet) =>
        attempts.updateOne(
          { _id: attemptId },
          {
            $set: {
              status: 'exchanged',
              code: null,
              codeVerifierCiphertext: null,
              // The nonce stays with the kept tokens: a retry checks their id_token against it too.
              ...(kept ? {} : { nonce: null }),
              authorizationUrlCiphertext: null,
              exchangedTokensCiphertext: kept ? await vault.encrypt(vaultKeys.linkSecrets, JSON.stringify(kept)) : null,
            },
          },
        );
      try {
        const resolved = await resolveProvider(attempt.provider, providers, vault);
        let set: TokenSet;
        if (redeemed) {
          set = JSON.parse(await vault.decrypt(vaultKeys.linkSecrets, redeemed)) as TokenSet;
        } else {
          try {
            set = await exchangeCode(resolved.endpoints, resolved.credentials, {
              code: attempt.code!,
              codeVerifier: await vault.decrypt(vaultKeys.linkSecrets, attempt.codeVerifierCiphertext!),
              redirectUri: attempt.redirectUri,
              requestedScopes: attempt.scopes,
            });
          } catch (err) {
            // Not redeemed (unreachable, 5xx): the next attempt sends the code again, as it always did.
            const mapped = toFailure(err, 'LinkExchangeFailed');
            if (!(mapped instanceof ApplicationFailure && mapped.nonRetryable))
              await attempts.updateOne(
                { _id: attemptId, status: 'exchanging' },
                { $set: { status: 'callback_received' } },
              );
            throw err;
          }
          // The code is spent whatever happens next: never keep it (keep what it was redeemed for, sealed).
          await wipe(set);
        }
        if (resolved.definition.openid && attempt.nonce) {
          if (!set.idToken) throw new ProviderError('IdTokenInvalid', 'the OpenID provider returned no id_token');
          await verifyIdToken(resolved.endpoints, resolved.credentials.clientId, set.idToken, attempt.nonce);
        }
        const profile = resolved.definition.mapProfile(await fetchProfileJson(resolved.endpoints, set));
        const connectionId = connectionIdFor(attempt.accountId, attempt.provider, profile.providerAccountId);
        await storeTokens(
          `pending:${attempt._id}`,
          {
            accountId: attempt.accountId,
            provider: attempt.provider,
            providerAccountId: profile.providerAccountId,
            status: 'pending',
          },
          set,
          1,
          connectionId,
        );
        // The result goes into the link's history: the address and the name only sealed.
        const personal = await sealForHistory<LinkedPersonal>(accountKeys, attempt.accountId, linkedProfileContext, {
          email: profile.email,
          displayName: profile.displayName,
        });
        return {
          connectionId,
          providerAccountId: profile.providerAccountId,
          emailVerified: profile.emailVerified,
          scopes: set.scopes,
          hasRefreshToken: set.refreshToken !== undefined,
          ...(personal ? { personal } : {}),
          ...(set.expiresAt ? { accessTokenExpiresAt: set.expiresAt } : {}),
        };
      } catch (err) {
        const mapped = toFailure(err, 'LinkExchangeFailed');
        if (mapped instanceof ApplicationFailure && mapped.nonRetryable) await wipe();
        throw mapped;
      }
    },

    /** Make the pending tokens of an attempt the connection's tokens. */
    async activateConnectionTokens(input: { attemptId: string; connectionId: string }): Promise<{ version: number }> {
      // Decided: the redeemed tokens the attempt kept for a retry of its exchange are not needed any more.
      await attempts.updateOne({ _id: input.attemptId }, { $set: { nonce: null, exchangedTokensCiphertext: null } });
      const pending = await tokens.findOne({ _id: `pending:${input.attemptId}` });
      const current = await tokens.findOne({ _id: input.connectionId });
      if (!pending) {
        if (current?.status === 'active') return { version: current.version };
        throw failure('TokensMissing', `no pending tokens for ${input.connectionId}`);
      }
      const version = (current?.version ?? 0) + 1;
      const { _id: _pendingId, ...moved } = pending;
      await tokens.replaceOne(
        { _id: input.connectionId },
        { ...moved, status: 'active', version, updatedAt: now().toISOString() },
        { upsert: true },
      );
      await tokens.deleteOne({ _id: pending._id });
      return { version };
    },

    /**
     * Queue the "connected" notice with a link that undoes this connection for `linkUndoTtlMs`. The token
     * is made here and only its SHA-256 is stored; the workflow sees neither.
     */
    async queueLinkedNotice(input: {
      accountId: string;
      provider: ProviderId;
      connectionId: string;
      providerAccountId: string;
      /** How the notice names the provider account; the sealed `personal` (its name, else address) first. */
      providerAccount: string;
      personal?: string;
      idempotencyKey: string;
    }): Promise<{ queued: boolean }> {
      if (!notifier) throw new Error('queueLinkedNotice needs the notifier');
      const named = await openFromHistory<LinkedPersonal>(
        accountKeys,
        input.accountId,
        linkedProfileContext,
        input.personal,
      );
      const providerAccount = named.displayName ?? named.email ?? input.providerAccount;
      const account = await db
        .collection<AccountDocument>(collections.accounts)
        .findOne({ _id: input.accountId }, { projection: addressProjection });
      const to = account ? await accountEmailOf(accountKeys, account) : undefined;
      if (!to) return { queued: false };
      const token = b64url(randomBytes(32));
      const at = now();
      const expiresAt = new Date(at.getTime() + linkUndoTtlMs).toISOString();
      const tokenId = recordIdOf(token);
      await undoTokens.insertOne({
        _id: tokenId,
        accountId: input.accountId,
        provider: input.provider,
        connectionId: input.connectionId,
        providerAccountId: input.providerAccountId,
        noticeKey: input.idempotencyKey,
        createdAt: at.toISOString(),
        expiresAt,
        usedAt: null,
      });
      const { queued } = await notifier.send({
        idempotencyKey: input.idempotencyKey,
        channel: 'email',
        to,
        accountId: input.accountId,
        template: 'provider-linked',
        data: {
          providerName: input.provider,
          providerAccount,
          undoUrl: `${publicUrl}${linkUndoPath}?token=${token}`,
          undoUntil: expiresAt,
        },
      });
      // A retry after the notice went out: the token in that notice stays the only one.
      if (!queued) await undoTokens.deleteOne({ _id: tokenId });
      return { queued };
    },

    /** Forget an attempt: its verifier, its code and any tokens it obtained. Idempotent. */
    async discardLinkAttempt(input: { attemptId: string }): Promise<void> {
      await attempts.updateOne(
        { _id: input.attemptId },
        {
          $set: {
            status: 'discarded',
            code: null,
            codeVerifierCiphertext: null,
            nonce: null,
            authorizationUrlCiphertext: null,
            exchangedTokensCiphertext: null,
          },
        },
      );
      await tokens.deleteOne({ _id: `pending:${input.attemptId}` });
    },

    /**
     * Refresh a connection's access token with its refresh token. `InvalidGrant` (revoked at the provider,
     * or expired) is permanent: token custody then asks the person to reconnect.
     */
    async refreshConnectionTokens(input: {
      connectionId: string;
    }): Promise<{ accessTokenExpiresAt?: string; version: number }> {
      const doc = await tokens.findOne({ _id: input.connectionId });
      if (!doc || doc.status !== 'active') throw failure('TokensMissing', `no active tokens for ${input.connectionId}`);
      if (!doc.refreshTokenCiphertext)
        throw failure('InvalidGrant', 'the provider gave no refresh token; the person must reconnect');
      try {
        const resolved = await resolveProvider(doc.provider, providers, vault);
        const refreshToken = await openProviderToken(accountKeys, vault, doc, 'refresh', doc.refreshTokenCiphertext);
        const set = await refreshTokens(resolved.endpoints, resolved.credentials, refreshToken, doc.scopes);
        // Providers that rotate refresh tokens send a new one; the others keep the old one valid.
        // Stored again sealed with the account's key: a connection from before per-account keys moves over here.
        const keepRefresh = set.refreshToken ? set : { ...set, refreshToken };
        const version = doc.version + 1;
        await storeTokens(
          doc._id,
          {
            accountId: doc.accountId,
            provider: doc.provider,
            providerAccountId: doc.providerAccountId,
            status: 'active',
          },
          keepRefresh,
          version,
          doc._id,
        );
        return { version, ...(set.expiresAt ? { accessTokenExpiresAt: set.expiresAt } : {}) };
      } catch (err) {
        throw toFailure(err, 'InvalidGrant');
      }
    },

    /**
     * Revoke a connection's grant at the provider (its own call, `revocation.ts`; unless `atProvider` is
     * false) and delete the tokens here. Idempotent: a grant already gone there counts as revoked.
     */
    async revokeConnectionTokens(input: {
      connectionId: string;
      atProvider?: boolean;
    }): Promise<{ revokedAtProvider: boolean }> {
      const doc = await tokens.findOne({ _id: input.connectionId });
      if (!doc) return { revokedAtProvider: false };
      let revoked = false;
      if (input.atProvider !== false)
        try {
          const resolved = await resolveProvider(doc.provider, providers, vault);
          const accessToken = await openProviderToken(accountKeys, vault, doc, 'access', doc.accessTokenCiphertext);
          const refreshToken = doc.refreshTokenCiphertext
            ? await openProviderToken(accountKeys, vault, doc, 'refresh', doc.refreshTokenCiphertext)
            : undefined;
          const override = providers.endpointOverrides[doc.provider]?.revocation;
          revoked = await revokeGrant(
            { provider: doc.provider, ...resolved },
            { accessToken, ...(refreshToken ? { refreshToken } : {}) },
            {
              ...(override ? { override } : {}),
              ...(providers.sandboxUrl ? { sandboxUrl: providers.sandboxUrl } : {}),
            },
          );
        } catch (err) {
          // The account's key is destroyed (it was erased): the tokens cannot be read by anyone any more, so
          // there is nothing to revoke with; the ciphertext goes as usual.
          if (failureTypeOf(err) !== 'AccountKeyDestroyed') {
            const mapped = toFailure(err, 'RevocationFailed');
            if (!(mapped instanceof ApplicationFailure && mapped.nonRetryable)) throw mapped;
          }
        }
      await tokens.deleteOne({ _id: input.connectionId });
      return { revokedAtProvider: revoked };
    },
  };
}
