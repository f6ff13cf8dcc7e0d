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

export interface ApiEnv {
  Variables: {
    deps: ApiDeps;
    principal: Principal;
  };
}
