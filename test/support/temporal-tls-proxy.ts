/**
 * A TLS-terminating gRPC proxy in front of the run's Temporal dev server (which speaks plaintext), so the
 * client and worker TLS paths run for real: HTTP/2 over TLS with ALPN `h2`, each stream forwarded with its
 * headers, body and trailers to the dev server.
 *
 * Modes:
 * - `mtls`: the client must present a certificate signed by the CA (`requestCert`, `rejectUnauthorized`), as a
 *   self-hosted cluster with mTLS does (https://docs.temporal.io/self-hosted-guide/security#encryption-in-transit-with-mtls).
 * - `api-key`: TLS without a client certificate; every call must carry `authorization: Bearer <key>`, as
 *   Temporal Cloud checks API keys (https://docs.temporal.io/cloud/api-keys#using-apikeys), otherwise it answers
 *   gRPC status 16 UNAUTHENTICATED (https://grpc.github.io/grpc/core/md_doc_statuscodes.html), trailers-only.
 */
import {
  connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface TemporalTlsProxyOptions {
  /** The dev server's `host:port` (plaintext gRPC). */
  upstream: string;
  mode: 'mtls' | 'api-key';
  cert: Buffer;
  key: Buffer;
  /** The CA client certificates must chain to (mtls). */
  ca?: Buffer;
  /** The key the `api-key` mode accepts. */
  apiKey?: string;
}

export interface TemporalTlsProxy {
  address: string;
  /** Calls forwarded, and calls refused for a missing or wrong API key. */
  stats: { forwarded: number; unauthenticated: number };
  close(): Promise<void>;
}

/** HTTP/2 connection-specific headers may not be forwarded (RFC 9113 §8.2.2), nor pseudo-headers copied. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith(':') && !hopByHop.has(k)));
}

export async function startTemporalTlsProxy(opts: TemporalTlsProxyOptions): Promise<TemporalTlsProxy> {
  const stats = { forwarded: 0, unauthenticated: 0 };
  let upstream: ClientHttp2Session | undefined;
  const session = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = connect(`http://${opts.upstream}`);
      upstream.on('error', () => undefined);
    }
    return upstream;
  };
  const server = createSecureServer({
    cert: opts.cert,
    key: opts.key,
    ALPNProtocols: ['h2'],
    ...(opts.mode === 'mtls' ? { ca: opts.ca, requestCert: true, rejectUnauthorized: true } : {}),
  });
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (opts.mode === 'api-key' && headers.authorization !== `Bearer ${opts.apiKey}`) {
      stats.unauthenticated += 1;
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(16),
          'grpc-message': 'Request unauthorized.',
        },
        { endStream: true },
      );
      return;
    }
    stats.forwarded += 1;
    const up = session().request({
      ...forwardable(headers),
      [constants.HTTP2_HEADER_METHOD]: headers[':method'] ?? 'POST',
      [constants.HTTP2_HEADER_PATH]: headers[':path'] ?? '/',
    });
    up.on('error', () => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('close', () => {
      if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
    });
    let trailers: OutgoingHttpHeaders | undefined;
    up.on('trailers', (t) => {
      trailers = forwardable(t);
    });
    up.on('response', (h) => {
      if (h['grpc-status'] !== undefined) {
        // Trailers-only: the status is in the headers and no body follows.
        stream.respond({ ...forwardable(h), ':status': h[':status'] ?? 200 }, { endStream: true });
        return;
      }
      stream.respond({ ...forwardable(h), ':status': h[':status'] ?? 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? {}));
      up.pipe(stream);
    });
    stream.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    async close() {
      upstream?.destroy();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
