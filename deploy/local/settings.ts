/**
 * Where the local stack lives, derived from the environment the same way for `npm start` and for the
 * operator commands (`token`, `outbox`, `audit:verify`, `origin:verify`), so a command run next to a second
 * stack (other `CRA_MONGO_PORT`, other `CRA_DATA_DIR`) reads that stack and not the default one.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfig, type CraConfig } from '../../domain/config.js';
import { projectRoot } from './tools.js';

export interface LocalStackSettings {
  temporalPort: number;
  temporalUiPort: number;
  mongoPort: number;
  /** `CRA_DATA_DIR` resolved against the project folder (not the shell's working directory). */
  dataDir: string;
  /** `MONGODB_URI` when set (an external server), else the server `npm start` runs on `CRA_MONGO_PORT`. */
  mongoUri: string;
  /** True when `MONGODB_URI` names the server: `npm start` starts none of its own. */
  externalMongo: boolean;
}

/** A port from the environment (1-65535), or the fallback when unset. */
export function portFrom(source: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = source[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new ConfigError([`${name}: a port number from 1 to 65535 (got "${raw}")`]);
  return value;
}

/** The MongoDB URI of the server `npm start` runs on a port. */
export function localMongoUri(port: number): string {
  return `mongodb://127.0.0.1:${port}`;
}

export function localStackSettings(source: Record<string, string | undefined> = process.env): LocalStackSettings {
  const mongoPort = portFrom(source, 'CRA_MONGO_PORT', 27017);
  const externalMongo = Boolean(source.MONGODB_URI);
  return {
    temporalPort: portFrom(source, 'CRA_TEMPORAL_PORT', 7233),
    temporalUiPort: portFrom(source, 'CRA_TEMPORAL_UI_PORT', 8233),
    mongoPort,
    dataDir: resolve(projectRoot, source.CRA_DATA_DIR || '.data'),
    mongoUri: externalMongo ? source.MONGODB_URI! : localMongoUri(mongoPort),
    externalMongo,
  };
}

/** The configuration the stack's worker and API get from `npm start`: its MongoDB and its data folder. */
export function localStackConfig(source: Record<string, string | undefined> = process.env): CraConfig {
  const settings = localStackSettings(source);
  return loadConfig({ ...source, MONGODB_URI: settings.mongoUri, CRA_DATA_DIR: settings.dataDir });
}
