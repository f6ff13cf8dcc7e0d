/**
 * `npm run api`: serves the CRA API on HOST:PORT against the Temporal and MongoDB named by the
 * environment. SIGINT/SIGTERM stop accepting connections, finish requests and exit.
 */
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../domain/config.js';
import { createLogger } from '../domain/logging.js';
import { buildNotifier } from '../activities/notices.js';
import { AccountKeys } from '../activities/secrets/account-keys.js';
import { buildSecretVault, loggedVaultEvents } from '../activities/secrets/build.js';
import { mongoConnectError, newMongoClient } from '../activities/connections/mongo.js';
import { dataConverterWith, temporalClientOptions } from '../activities/connections/temporal.js';
import { PayloadEncryptionCodec } from '../activities/secrets/payload-codec.js';
import { createApp } from './app.js';
import { EmbeddedIssuer } from './auth/embedded-issuer.js';
import { buildSignIn } from './sign-in.js';
import { serveApi } from './server.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'cra-api');
  const mongo = newMongoClient(config.mongo, { serverSelectionTimeoutMS: 5_000 }, (address) =>
    log.warn({ address }, 'MongoDB heartbeat stalled on a closed socket; reconnecting'),
  );
  await mongo.connect().catch((err: Error) => {
    throw mongoConnectError(config.mongo, err);
  });
  const issuer = config.auth.jwksUrl
    ? undefined
    : await EmbeddedIssuer.load({
        dataDir: config.dataDir,
        issuer: config.auth.issuer,
        audience: config.auth.audience,
      });
  const db = mongo.db(config.mongo.db);
  // The same SecretVault and Notifier as the workers: the API encrypts TOTP seeds and texts phone codes itself.
  const vault = await buildSecretVault({
    dataDir: config.dataDir,
    ...(config.vault ? { vault: config.vault } : {}),
    events: loggedVaultEvents(log),
  });
  // Every payload the API sends to Temporal is encrypted; the codec endpoint decodes for Temporal Web.
  const codec = await PayloadEncryptionCodec.create(vault);
  // Lazy: the API starts (and /readyz says 503) while Temporal is still coming up. The TLS files are read now.
  const connection = Connection.lazy(temporalClientOptions(config.temporal));
  const temporal = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterWith(codec),
  });
  // A short key cache, as the API's own (`api/adapters.ts`): an erased account's key stops sealing soon after.
  const notifier = buildNotifier(db, {
    accountKeys: new AccountKeys(vault, { ttlMs: 30_000 }),
    config: config.notifier,
  });
  const signIn = await buildSignIn({ config, db, notifier, ...(issuer ? { signingKey: issuer.signingJwk() } : {}) });
  const app = createApp({
    config,
    temporal,
    db,
    log,
    vault,
    codec,
    notifier,
    ...(signIn ? { signIn } : {}),
    ...(issuer ? { jwks: issuer.jwks() } : {}),
  });

  const server = serveApi({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
    log.info(
      { url: `http://${config.host}:${info.port}`, issuer: config.auth.issuer, identity: config.identity.kind },
      'api ready',
    );
  });
  const stop = (signal: string) => {
    log.info({ signal }, 'api stopping');
    server.close(async () => {
      await connection.close().catch(() => undefined);
      await mongo.close();
      process.exit(0);
    });
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`cra-api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 78 : 1);
});
