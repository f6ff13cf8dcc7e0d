/**
 * `tsx deploy/sandbox/main.ts`: the sandbox OAuth 2.0 / OpenID provider on its own, for development.
 *
 * Environment (all optional):
 * - SANDBOX_PORT (4000), SANDBOX_HOST (127.0.0.1), SANDBOX_PUBLIC_URL (http://localhost:<port>): where it
 *   listens and how clients reach it; each provider's issuer is `<public url>/<provider>`.
 * - SANDBOX_PROVIDERS: comma-separated provider ids (default: every provider in domain/providers.ts).
 * - SANDBOX_CLIENTS_FILE, or SANDBOX_CLIENTS inline: JSON `{"<provider>": {"clientId": "…",
 *   "clientSecret": "…", "redirectUris": ["…"]}}`. Without them each provider has the client
 *   `cra-<provider>` / `cra-<provider>-sandbox-secret` redirecting to `<CRA_PUBLIC_URL>/v1/oauth/<provider>/callback`
 *   (CRA_PUBLIC_URL defaults to http://localhost:3000, as in CRA).
 * - SANDBOX_ACCESS_TOKEN_TTL, SANDBOX_REFRESH_TOKEN_TTL: seconds (3600, 14 days).
 * - SANDBOX_ADMIN_TOKEN: serves the admin routes to `Authorization: Bearer <token>`:
 *   `POST /_admin/<provider>/users/<username>/revoke-grants`, the way a person revokes an app's access at
 *   the provider, and the data and fault-injection routes listed in README.md.
 * SIGINT or SIGTERM closes it.
 */
import { readFileSync } from 'node:fs';
import { providerIds, type ProviderId } from '../../domain/providers.js';
import { defaultSandboxClients } from './default-clients.js';
import { startSandboxProvider, type SandboxClient } from './sandbox-provider.js';

const say = (line: string) => process.stdout.write(`[sandbox] ${line}\n`);

function fail(message: string): never {
  process.stderr.write(`[sandbox] ${message}\n`);
  process.exit(2);
}

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    fail(`${name}: a whole number from ${min} to ${max} (got "${raw}")`);
  return value;
}

function providersFromEnv(): ProviderId[] {
  const raw = process.env.SANDBOX_PROVIDERS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!raw || raw.length === 0) return [...providerIds];
  const unknown = raw.filter((id) => !(providerIds as readonly string[]).includes(id));
  if (unknown.length > 0)
    fail(`SANDBOX_PROVIDERS: unknown provider ${unknown.join(', ')} (known: ${providerIds.join(', ')})`);
  return raw as ProviderId[];
}

function clientsFromEnv(providers: ProviderId[]): Record<string, SandboxClient> {
  const file = process.env.SANDBOX_CLIENTS_FILE;
  const inline = process.env.SANDBOX_CLIENTS;
  if (!file && !inline) return defaultSandboxClients(process.env.CRA_PUBLIC_URL ?? 'http://localhost:3000', providers);
  const where = file ? `SANDBOX_CLIENTS_FILE (${file})` : 'SANDBOX_CLIENTS';
  let parsed: unknown;
  try {
    parsed = JSON.parse(file ? readFileSync(file, 'utf8') : inline!);
  } catch (err) {
    fail(`${where}: not readable JSON: ${(err as Error).message}`);
  }
  const clients = (parsed ?? {}) as Record<string, Partial<SandboxClient>>;
  for (const id of providers) {
    const c = clients[id];
    const valid =
      c &&
      typeof c.clientId === 'string' &&
      c.clientId !== '' &&
      typeof c.clientSecret === 'string' &&
      c.clientSecret !== '' &&
      Array.isArray(c.redirectUris) &&
      c.redirectUris.length > 0 &&
      c.redirectUris.every((u) => typeof u === 'string');
    if (!valid) fail(`${where}: "${id}" needs {"clientId": "…", "clientSecret": "…", "redirectUris": ["…"]}`);
  }
  return clients as Record<string, SandboxClient>;
}

let stopping = false;
let closeSandbox: (() => Promise<void>) | undefined;

function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  say(`${signal}: closing`);
  (closeSandbox?.() ?? Promise.resolve()).then(
    () => process.exit(0),
    () => process.exit(1),
  );
  setTimeout(() => process.exit(0), 5_000).unref();
}

async function main(): Promise<void> {
  // Registered first: a signal during start-up stops it too.
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  const port = intFromEnv('SANDBOX_PORT', 4000, 0, 65535);
  const providers = providersFromEnv();
  const sandbox = await startSandboxProvider({
    port,
    host: process.env.SANDBOX_HOST || '127.0.0.1',
    ...(process.env.SANDBOX_PUBLIC_URL ? { publicUrl: process.env.SANDBOX_PUBLIC_URL } : {}),
    providers,
    clients: clientsFromEnv(providers),
    accessTokenTtlSeconds: intFromEnv('SANDBOX_ACCESS_TOKEN_TTL', 3600, 1, 365 * 86_400),
    refreshTokenTtlSeconds: intFromEnv('SANDBOX_REFRESH_TOKEN_TTL', 14 * 86_400, 1, 365 * 86_400),
    ...(process.env.SANDBOX_ADMIN_TOKEN ? { adminToken: process.env.SANDBOX_ADMIN_TOKEN } : {}),
    log: (line) => process.stderr.write(`[sandbox] ${line}\n`),
  });
  closeSandbox = () => sandbox.close();
  if (stopping) return void (await sandbox.close());
  say(`ready at ${sandbox.url}: ${providers.map((id) => sandbox.endpoints(id).issuer).join(' ')}`);
}

main().catch((err: unknown) => fail((err as Error).stack ?? String(err)));
