/**
 * The one place the configuration becomes MongoClient options: TLS with a CA file and a client
 * certificate + key (PEM), on top of what the URI says (https://www.mongodb.com/docs/drivers/node/current/security/tls/:
 * `tls`, `tlsCAFile`, `tlsCertificateKeyFile`). The driver reads the files; they are checked here first so a
 * wrong path names its variable.
 */
import type { MongoClientOptions } from 'mongodb';
import type { CraConfig } from '../../domain/config.js';
import { readConfiguredFile } from './files.js';

export function mongoClientOptions(mongo: CraConfig['mongo'], extra: MongoClientOptions = {}): MongoClientOptions {
  const tls = mongo.tls;
  if (tls?.caFile) readConfiguredFile('MONGODB_TLS_CA_FILE', tls.caFile);
  if (tls?.certKeyFile) readConfiguredFile('MONGODB_TLS_CERT_KEY_FILE', tls.certKeyFile);
  return {
    ...extra,
    ...(tls
      ? {
          tls: true,
          ...(tls.caFile ? { tlsCAFile: tls.caFile } : {}),
          ...(tls.certKeyFile ? { tlsCertificateKeyFile: tls.certKeyFile } : {}),
        }
      : {}),
  };
}

/** The URI without credentials, for messages. */
export function redactedMongoUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

/** `cannot reach MongoDB at <uri> [over TLS (MONGODB_TLS_CA_FILE=…)]: <reason>`. */
export function mongoConnectError(mongo: CraConfig['mongo'], err: unknown): Error {
  const settings = [
    mongo.tls?.caFile ? `MONGODB_TLS_CA_FILE=${mongo.tls.caFile}` : undefined,
    mongo.tls?.certKeyFile ? `MONGODB_TLS_CERT_KEY_FILE=${mongo.tls.certKeyFile}` : undefined,
  ].filter(Boolean);
  const how = mongo.tls ? ` over TLS (${settings.join(', ')})` : '';
  return new Error(
    `cannot reach MongoDB at ${redactedMongoUri(mongo.uri)}${how} (MONGODB_URI): ${err instanceof Error ? err.message : String(err)}`,
  );
}
