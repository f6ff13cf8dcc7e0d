/**
 * The one place the configuration becomes MongoClient options: TLS with a CA file and a client
 * certificate + key (PEM), on top of what the URI says (https://www.mongodb.com/docs/drivers/node/current/security/tls/:
 * `tls`, `tlsCAFile`, `tlsCertificateKeyFile`). The driver reads the files; they are checked here first so a
 * wrong path names its variable.
 */
import type { Socket } from 'node:net';
import {
  MongoClient,
  type MongoClientOptions,
  type ServerHeartbeatFailedEvent,
  type ServerHeartbeatStartedEvent,
  type ServerHeartbeatSucceededEvent,
} from 'mongodb';
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

/** What `guardHeartbeats` reads of the driver's topology (mongodb 7: `client.topology.s.servers`). */
interface MonitoredTopology {
  s?: { servers?: Map<string, { monitor?: { connection?: { socket?: Socket } | null } | null }> };
}

/**
 * Frees a MongoClient whose server monitor would wait forever on one heartbeat. With a server that sends no
 * `topologyVersion` (FerretDB, so every local and test stack) the driver polls with `hello` on its monitor
 * connection. When the server goes away, the socket can be destroyed before the driver has seen its `close`
 * event; the `hello` written in that moment gets `false` from `socket.write` and waits for a `drain` that a
 * destroyed socket never emits (mongodb 7.9, `cmap/connection.js` `writeCommand`: no timeout without CSOT).
 * The monitor then never checks again, the server stays Unknown with its pool paused, and every operation fails
 * server selection with `connection N to host closed` until the process restarts — the fault suite saw it
 * after a FerretDB restart, and `test/integration/mongo-heartbeat.test.ts` reproduces it.
 *
 * Every `checkEveryMs` the guard looks for a heartbeat pending longer than `stallMs` on a destroyed socket, and
 * fails that write with an error on the socket: the monitor records a failed heartbeat and connects anew. A
 * heartbeat on a live socket is left alone (the driver's own `connectTimeoutMS` bounds it). Returns a function
 * that stops the guard; it also stops when the client closes.
 */
export function guardHeartbeats(
  client: MongoClient,
  opts: { stallMs?: number; checkEveryMs?: number; onStall?: (address: string) => void } = {},
): () => void {
  const stallMs = opts.stallMs ?? 5_000;
  const pending = new Map<string, number>();
  const started = (e: ServerHeartbeatStartedEvent) => pending.set(e.connectionId, Date.now());
  const ended = (e: ServerHeartbeatSucceededEvent | ServerHeartbeatFailedEvent) => pending.delete(e.connectionId);
  const timer = setInterval(() => {
    const servers = (client as unknown as { topology?: MonitoredTopology }).topology?.s?.servers;
    for (const [address, since] of pending) {
      if (Date.now() - since < stallMs) continue;
      const socket = servers?.get(address)?.monitor?.connection?.socket;
      if (!socket?.destroyed) continue;
      pending.delete(address);
      opts.onStall?.(address);
      socket.emit('error', new Error(`heartbeat to ${address} stalled on a closed socket`));
    }
  }, opts.checkEveryMs ?? 1_000).unref();
  const stop = () => {
    clearInterval(timer);
    client.off('serverHeartbeatStarted', started);
    client.off('serverHeartbeatSucceeded', ended);
    client.off('serverHeartbeatFailed', ended);
    client.off('topologyClosed', stop);
  };
  client.on('serverHeartbeatStarted', started);
  client.on('serverHeartbeatSucceeded', ended);
  client.on('serverHeartbeatFailed', ended);
  client.on('topologyClosed', stop);
  return stop;
}

/** A MongoClient with `mongoClientOptions` and `guardHeartbeats`, the way every long-running process makes one. */
export function newMongoClient(
  mongo: CraConfig['mongo'],
  extra: MongoClientOptions = {},
  onStall?: (address: string) => void,
): MongoClient {
  const client = new MongoClient(mongo.uri, mongoClientOptions(mongo, extra));
  guardHeartbeats(client, onStall ? { onStall } : {});
  return client;
}
