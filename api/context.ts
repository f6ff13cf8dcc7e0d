/** What every API handler can reach, created once per process and injected as typed context variables. */
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Notifier } from '../activities/notify/port.js';
import type { SecretVault } from '../activities/secrets/port.js';
import type { CraConfig } from '../domain/config.js';
import type { InProcessApp } from './auth/in-process.js';
import type { SignIn } from './sign-in.js';
import type { PayloadEncryptionCodec } from '../activities/secrets/payload-codec.js';

export interface Principal {
  subject: string;
  accountId: string;
  permissions: string[];
  email?: string;
  emailVerified: boolean;
  /** The OAuth client the access token was issued to (`client_id` of RFC 9068, or Auth0's `azp`). */
  clientId?: string;
}

export interface ApiDeps {
  config: CraConfig;
  temporal: Client;
  db: Db;
  log: Logger;
  /** Public keys served at `/.well-known/jwks.json` when CRA issues its own tokens. */
  jwks?: { keys: object[] };
  /**
   * The SecretVault (TOTP seeds, provider client credentials, PKCE verifiers of recovery sign-ins) and the
   * Notifier (phone confirmation codes). Built from the config on first use when not given (`api/adapters.ts`).
   */
  vault?: SecretVault;
  notifier?: Notifier;
  /** The payload codec of the API's Temporal client; the codec endpoint decodes with it (`api/codec.ts`). */
  codec?: PayloadEncryptionCodec;
  /** People's sign-in (the account center's OpenID client, and the embedded issuer when it runs). */
  signIn?: SignIn;
}

/** An AI agent whose HTTP message signature checked out (see `auth/http-signatures.ts`). */
export interface AgentPrincipal {
  agentId: string;
  /** The account of the person who registered the agent's key. */
  accountId: string;
  name: string;
}

export interface ApiEnv {
  Variables: {
    deps: ApiDeps;
    principal: Principal;
    agent?: AgentPrincipal;
    /** The app itself, for the pages' in-process API client (`ui/api-client.ts`). */
    app: InProcessApp;
  };
}
