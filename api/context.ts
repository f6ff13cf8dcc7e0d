/** What every API handler can reach, created once per process and injected as typed context variables. */
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { CraConfig } from '../domain/config.js';

export interface Principal {
  subject: string;
  accountId: string;
  permissions: string[];
  email?: string;
  emailVerified: boolean;
}

export interface ApiDeps {
  config: CraConfig;
  temporal: Client;
  db: Db;
  log: Logger;
  /** Public keys served at `/.well-known/jwks.json` when CRA issues its own tokens. */
  jwks?: { keys: object[] };
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
  };
}
