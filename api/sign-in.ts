/**
 * Sign-in for people, built once per API process: the embedded OpenID provider (the local default) or
 * nothing (Auth0 is the issuer), and the account center's OpenID client of whichever issuer it is.
 */
import type { Db } from 'mongodb';
import type { JWK } from 'jose';
import type { Notifier } from '../activities/notify/port.js';
import type { CraConfig } from '../domain/config.js';
import { SignInClient, signInIssuerOf } from '../ui/sign-in-client.js';
import { recoverySettings } from './routes/recoveries/settings.js';
import type { EmbeddedOidc } from './auth/embedded-oidc/provider.js';
import type { InteractionDeps } from './auth/embedded-oidc/interactions.js';

export interface SignIn {
  client: SignInClient;
  /** Present for the embedded issuer. */
  embedded?: { oidc: EmbeddedOidc; interactions: InteractionDeps };
}

/** Undefined when people cannot sign in here: an external issuer (`AUTH_JWKS_URL`) that is not Auth0. */
export async function buildSignIn(opts: {
  config: CraConfig;
  db: Db;
  notifier: Notifier;
  signingKey?: JWK;
}): Promise<SignIn | undefined> {
  const { config, db } = opts;
  const redirectUri = `${config.publicUrl}/account/callback`;
  if (config.identity.kind === 'auth0') return { client: new SignInClient(signInIssuerOf(config), redirectUri) };
  if (!opts.signingKey) return undefined;
  const { createEmbeddedOidc } = await import('./auth/embedded-oidc/provider.js');
  const { EmbeddedAccounts } = await import('./auth/embedded-oidc/accounts.js');
  const oidc = await createEmbeddedOidc({
    db,
    issuer: config.auth.issuer,
    publicUrl: config.publicUrl,
    audience: config.auth.audience,
    signingKey: opts.signingKey,
    trustProxy: (config.recovery?.trustedProxyHops ?? 0) > 0,
    appClients: config.identity.appClients,
  });
  return {
    client: new SignInClient(
      signInIssuerOf(config, { clientId: oidc.clientId, clientSecret: oidc.clientSecret }),
      redirectUri,
    ),
    embedded: {
      oidc,
      interactions: {
        oidc,
        db,
        accounts: new EmbeddedAccounts(db, opts.notifier, config.publicUrl),
        webauthn: recoverySettings(config).webauthn,
      },
    },
  };
}
