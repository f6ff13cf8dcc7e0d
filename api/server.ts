/**
 * The API's HTTP server, one helper for `api/main.ts` and the test stack: `@hono/node-server` with a
 * known cap on request headers, and problem+json (not Node's empty answers) for requests the HTTP parser
 * refuses before the app sees them.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { problem, type Problem } from '../domain/problem.js';
import { maxAuthorizationBytes, maxHeaderBytes } from './middleware/header-limits.js';
import { problemContentType } from './problem.js';

export interface ServeApiOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  hostname: string;
  port: number;
}

/** A whole HTTP/1.1 response for a socket the parser gave up on; the connection is closed after it. */
function rawProblemResponse(body: Problem): string {
  const json = JSON.stringify(body);
  const reason = body.title.replace(/[^\x20-\x7e]/g, '?');
  return [
    `HTTP/1.1 ${body.status} ${reason}`,
    `content-type: ${problemContentType}`,
    `content-length: ${Buffer.byteLength(json)}`,
    'connection: close',
    '',
    json,
  ].join('\r\n');
}

/** What to answer for an error of Node's HTTP parser (codes from llhttp and `node:http`). */
export function problemForClientError(code: string | undefined): Problem {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return problem(
        'headers-too-large',
        `The request headers are larger than ${maxHeaderBytes / 1024} KiB in all (the Authorization header at most ${maxAuthorizationBytes / 1024} KiB).`,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return problem('request-timeout', 'The request did not arrive in time.');
    default:
      return problem('malformed-request', 'The request is not valid HTTP/1.1.');
  }
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // As Node's own handler: answer unless the connection is gone or a response has started on it.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  socket.end(rawProblemResponse(problemForClientError(err.code)));
  // The client may still be sending the rest of the request: do not keep the connection for it.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/** Serve the app; `onListening` gets the bound address (port 0 picks a free one). */
export function serveApi(opts: ServeApiOptions, onListening?: (info: AddressInfo) => void): ServerType {
  const server = serve(
    { fetch: opts.fetch, hostname: opts.hostname, port: opts.port, serverOptions: { maxHeaderSize: maxHeaderBytes } },
    onListening,
  ) as Server;
  // With a listener, Node no longer answers parser errors itself: every code is handled above.
  server.on('clientError', onClientError);
  return server;
}
