/**
 * The one place the configuration becomes Temporal connection options, for the API's `Connection`, the
 * workers' `NativeConnection` and the workers' lazy `Client`: TLS (server CA, server name, mTLS client pair)
 * and Temporal Cloud's API key.
 *
 * - TLS options: https://docs.temporal.io/develop/typescript/temporal-clients (Connect to Temporal Cloud, mTLS:
 *   `tls: { clientCertPair: { crt, key } }`; a self-hosted CA: `serverRootCACertificate`, `serverNameOverride`).
 * - API key: https://docs.temporal.io/cloud/api-keys and the same page's "API key" example: `tls: true`,
 *   `apiKey`, sent as `authorization: Bearer <key>`; the namespace also goes as `temporal-namespace`
 *   metadata, which Temporal Cloud's regional endpoints route on.
 */
import type { ConnectionOptions, DataConverter } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CraConfig } from '../../domain/config.js';
import { readConfiguredFile } from './files.js';

type TemporalConfig = CraConfig['temporal'];

export interface TemporalConnectionSettings {
  address: string;
  tls?: {
    serverRootCACertificate?: Buffer;
    serverNameOverride?: string;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** Reads the files the configuration names (throws naming the variable) and builds the shared options. */
export function temporalConnectionSettings(temporal: TemporalConfig): TemporalConnectionSettings {
  const tls = temporal.tls;
  return {
    address: temporal.address,
    ...(tls
      ? {
          tls: {
            ...(tls.serverCaCertPath
              ? {
                  serverRootCACertificate: readConfiguredFile('TEMPORAL_TLS_SERVER_CA_CERT_PATH', tls.serverCaCertPath),
                }
              : {}),
            ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
            ...(tls.clientCertPair
              ? {
                  clientCertPair: {
                    crt: readConfiguredFile('TEMPORAL_TLS_CLIENT_CERT_PATH', tls.clientCertPair.certPath),
                    key: readConfiguredFile('TEMPORAL_TLS_CLIENT_KEY_PATH', tls.clientCertPair.keyPath),
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(temporal.apiKey ? { apiKey: temporal.apiKey, metadata: { 'temporal-namespace': temporal.namespace } } : {}),
  };
}

/** For `Connection.connect` / `Connection.lazy` (@temporalio/client). */
export function temporalClientOptions(temporal: TemporalConfig): ConnectionOptions {
  return temporalConnectionSettings(temporal);
}

/** For `NativeConnection.connect` (@temporalio/worker). */
export function temporalNativeOptions(temporal: TemporalConfig): NativeConnectionOptions {
  return temporalConnectionSettings(temporal);
}

/**
 * `cannot reach Temporal at <address> over TLS (TEMPORAL_TLS_SERVER_CA_CERT_PATH=…, …): <reason>`: which
 * settings were in play, by variable and path, never the API key.
 */
export function temporalConnectError(temporal: TemporalConfig, err: unknown): Error {
  const tls = temporal.tls;
  const settings = [
    tls?.serverCaCertPath ? `TEMPORAL_TLS_SERVER_CA_CERT_PATH=${tls.serverCaCertPath}` : undefined,
    tls?.serverName ? `TEMPORAL_TLS_SERVER_NAME=${tls.serverName}` : undefined,
    tls?.clientCertPair ? `TEMPORAL_TLS_CLIENT_CERT_PATH=${tls.clientCertPair.certPath}` : undefined,
    temporal.apiKey ? 'TEMPORAL_API_KEY=[redacted]' : undefined,
  ].filter(Boolean);
  const how = tls ? ` over TLS${settings.length > 0 ? ` (${settings.join(', ')})` : ''}` : '';
  let reason = err instanceof Error ? err.message : String(err);
  if (temporal.apiKey) reason = reason.split(temporal.apiKey).join('[redacted]');
  // A server that wants a client certificate drops the connection after the handshake: say what may be missing.
  if (tls && !tls.clientCertPair && !temporal.apiKey && /deadline|UNAVAILABLE|handshake|certificate/i.test(reason)) {
    reason += '; if the server requires mTLS, set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH';
  }
  return new Error(
    `cannot reach Temporal at ${temporal.address}${how}, namespace ${temporal.namespace} (TEMPORAL_NAMESPACE): ${reason}`,
  );
}

/**
 * The failure converter's module, for `bundleWorkflowCode` and the worker's `failureConverterPath`: the
 * compiled `.js` in a build, the `.ts` source under tsx.
 */
export const failureConverterPath = ((): string => {
  const compiled = fileURLToPath(new URL('../../workflows/failure-converter.js', import.meta.url));
  return existsSync(compiled) ? compiled : compiled.replace(/\.js$/, '.ts');
})();

/**
 * The data converter of every CRA client and worker: every payload through the codec, and failures' messages
 * and stacks encoded (the failure converter, loaded by path: the client and the worker `require` it, the
 * workflow sandbox has it from the bundle).
 */
export function dataConverterWith(codec: PayloadCodec): DataConverter & { failureConverterPath: string } {
  return { payloadCodecs: [codec], failureConverterPath };
}
