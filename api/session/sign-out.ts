/**
 * Ending browser sessions: here, and at the issuer (their refresh tokens are revoked, RFC 7009). "Everywhere"
 * also ends the embedded issuer's own sessions and grants and refuses every access token issued before now.
 */
import { collections } from '../../domain/collections.js';
import { vaultOf } from '../adapters.js';
import type { ApiDeps } from '../context.js';
import { endBrowserSessions, type BrowserSessionDocument } from './browser-session.js';

/** SecretVault key that encrypts the issuer's refresh tokens held for browser sessions. */
export const sessionTokensKey = 'session-tokens';

async function revokeIssuerTokens(deps: ApiDeps, ended: BrowserSessionDocument[]): Promise<void> {
  const client = deps.signIn?.client;
  if (!client) return;
  const vault = await vaultOf(deps);
  const embedded = deps.signIn?.embedded;
  for (const s of ended) {
    if (embedded && s.issuerSid) {
      const { endIssuerSession } = await import('../auth/embedded-oidc/mongo-adapter.js');
      await endIssuerSession(deps.db, embedded.oidc.clientId, s.issuerSid);
    }
    if (!s.refreshTokenCiphertext) continue;
    try {
      await client.revoke(await vault.decrypt(sessionTokensKey, s.refreshTokenCiphertext));
    } catch (err) {
      // The session is gone here whatever the issuer says; its refresh token expires with it.
      deps.log.warn(
        { err: { message: (err as Error).message }, sessionId: s.sessionId },
        'could not revoke a session refresh token at the issuer',
      );
    }
  }
}

/** End one session of a subject; returns whether there was one. */
export async function signOutSession(
  deps: ApiDeps,
  subject: string,
  sessionId: string,
): Promise<BrowserSessionDocument | undefined> {
  const ended = await endBrowserSessions(deps.db, subject, sessionId);
  await revokeIssuerTokens(deps, ended);
  return ended[0];
}

/** End every session of a subject, here and at the embedded issuer, and refuse older access tokens. */
export async function signOutEverywhere(deps: ApiDeps, subject: string): Promise<number> {
  const ended = await endBrowserSessions(deps.db, subject);
  await revokeIssuerTokens(deps, ended);
  if (deps.config.identity.kind === 'embedded') {
    const { revokeEverythingOf } = await import('../auth/embedded-oidc/mongo-adapter.js');
    await revokeEverythingOf(deps.db, subject);
    await deps.db
      .collection<{ _id: string; sessions_revoked_at?: string }>(collections.identityUsers)
      .updateOne({ _id: subject }, { $set: { sessions_revoked_at: new Date().toISOString() } });
  }
  return ended.length;
}
