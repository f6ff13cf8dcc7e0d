/**
 * A recording proxy in front of the sandbox's token and revocation endpoints. A test points a provider's
 * `PROVIDER_<ID>_TOKEN_URL` / `_REVOCATION_URL` at `<url>/<provider>/token` or `<url>/<provider>/revocation`
 * and sees every call CRA made there, with the sandbox's answer: what was revoked, how often, what was issued.
 * A revocation goes on to the provider's own revocation endpoint in the sandbox (GitHub's
 * `DELETE /applications/{client_id}/grant`, Facebook's `DELETE /me/permissions`, RFC 7009 elsewhere), with
 * the method, body and credentials CRA sent.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sandboxRevocationPath } from '../../deploy/sandbox/revocation-routes.js';
import { isProviderId, providerCatalog } from '../../domain/provider-catalog.js';
import type { TestStack } from './stack.js';

export interface ProxiedCall {
  provider: string;
  kind: 'token' | 'revocation';
  /** The form CRA sent (empty for a JSON body). */
  form: URLSearchParams;
  /** The token the call carried: in the form (`token`), in a JSON body (`access_token`), or as the bearer. */
  token: string | undefined;
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
        const sandbox = stack().sandbox!;
        const endpoints = sandbox.endpoints(provider);
        const descriptor = isProviderId(provider) ? providerCatalog[provider].revocation : undefined;
        const authorization = req.headers.authorization;
        // GitHub's path names the client: the one whose Basic credentials came with the call.
        const basicUser = /^Basic (.+)$/i.exec(authorization ?? '')?.[1];
        const clientId = basicUser
          ? decodeURIComponent(Buffer.from(basicUser, 'base64').toString().split(':')[0]!)
          : '';
        const target =
          kind === 'token'
            ? endpoints.token
            : descriptor
              ? `${sandbox.url}${sandboxRevocationPath(provider, descriptor).replace(':client_id', encodeURIComponent(clientId))}`
              : endpoints.revocation;
        const method = req.method ?? 'POST';
        const contentType = req.headers['content-type'];
        const upstream = await fetch(target, {
          method,
          headers: {
            ...(contentType ? { 'content-type': contentType } : {}),
            ...(authorization ? { authorization } : {}),
            accept: 'application/json',
          },
          ...(body !== '' || method === 'POST' ? { body } : {}),
        });
        const answer = await upstream.text();
        const json = contentType?.includes('json') ? (JSON.parse(body || '{}') as Record<string, unknown>) : {};
        const form = contentType?.includes('json') ? new URLSearchParams() : new URLSearchParams(body);
        const bearer = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
        const token =
          form.get('token') ?? (typeof json.access_token === 'string' ? json.access_token : undefined) ?? bearer;
        seen({ provider, kind, form, token, ok: upstream.ok, answer });
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
