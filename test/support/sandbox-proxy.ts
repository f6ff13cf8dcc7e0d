/**
 * A recording proxy in front of the sandbox's token and revocation endpoints. A test points a provider's
 * `PROVIDER_<ID>_TOKEN_URL` / `_REVOCATION_URL` at `<url>/<provider>/token` or `<url>/<provider>/revocation`
 * and sees every call CRA made there, with the sandbox's answer: what was revoked, how often, what was issued.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestStack } from './stack.js';

export interface ProxiedCall {
  provider: string;
  kind: 'token' | 'revocation';
  /** The form CRA sent. */
  form: URLSearchParams;
  ok: boolean;
  /** The sandbox's answer, as text. */
  answer: string;
}

export interface SandboxProxy {
  url: string;
  close(): Promise<void>;
}

/** Start the proxy; `stack()` gives the running stack (the proxy starts before it, its URL goes into its env). */
export async function startSandboxProxy(
  stack: () => TestStack,
  seen: (call: ProxiedCall) => void,
): Promise<SandboxProxy> {
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const [, provider = '', kind = ''] = (req.url ?? '').split('/');
        if (kind !== 'token' && kind !== 'revocation') throw new Error(`no such endpoint: ${req.url}`);
        const endpoints = stack().sandbox!.endpoints(provider);
        const upstream = await fetch(kind === 'token' ? endpoints.token : endpoints.revocation, {
          method: 'POST',
          headers: {
            'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded',
            ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
            accept: 'application/json',
          },
          body,
        });
        const answer = await upstream.text();
        seen({ provider, kind, form: new URLSearchParams(body), ok: upstream.ok, answer });
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(answer);
      })().catch(() => {
        res.writeHead(502);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}
