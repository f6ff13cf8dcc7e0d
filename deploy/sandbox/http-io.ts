/** Small request/response helpers for the sandbox's own `node:http` routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Form bodies are a few fields; anything larger is not a consent form. */
const maxFormBytes = 64 * 1024;
/** Admin bodies are a count, a fault or a record's changed fields. */
const maxJsonBytes = 64 * 1024;

export class RequestTooLarge extends Error {}
/** A body that is not the JSON it should be: answered 400. */
export class RequestNotJson extends Error {}

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams((await readBody(req, maxFormBytes, 'a form body')).toString('utf8'));
}

/** The JSON body, or undefined when there is none. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req, maxJsonBytes, 'a JSON body')).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RequestNotJson('the request body is not JSON');
  }
}

async function readBody(req: IncomingMessage, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new RequestTooLarge(`${what} over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  send(res, status, 'text/html; charset=utf-8', html);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, 'text/plain; charset=utf-8', `${text}\n`);
}

export function sendNoContent(res: ServerResponse): void {
  res.statusCode = 204;
  res.setHeader('cache-control', 'no-store');
  res.end();
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
