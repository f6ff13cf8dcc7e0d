/**
 * Render kong/kong.yaml for a deployment: the `auth0` consumer gets one RS256 `jwt_secrets` entry per
 * signing key of the Auth0 tenant's JWKS (key = kid, which the jwt plugin reads from the token header with
 * `key_claim_name: kid`; https://developer.konghq.com/plugins/jwt), and the cra-api service its upstream URL.
 * During a signing-key rotation the JWKS holds both keys, so both are accepted.
 *
 *   tsx kong/render.ts --jwks https://<tenant>.auth0.com/.well-known/jwks.json --upstream http://cra-api:3000 \
 *     [--origin https://account.example.com] [--in kong/kong.yaml] [--out kong/kong.rendered.yaml]
 * `--jwks` may also be a file path (a saved JWKS).
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';

interface Jwk extends JsonWebKey {
  kid?: string;
  use?: string;
  alg?: string;
}
interface KongDocument {
  services?: { name: string; url?: string }[];
  consumers?: { username: string; jwt_secrets?: unknown[] }[];
  plugins?: { name: string; config?: Record<string, unknown> }[];
}

/** One Kong jwt credential per RS256 signing key (RSA, `use` sig or absent, `alg` RS256 or absent). */
export function jwtSecretsOf(jwks: { keys?: Jwk[] }): { key: string; algorithm: 'RS256'; rsa_public_key: string }[] {
  const keys = (jwks.keys ?? []).filter(
    (k) => k.kty === 'RSA' && (k.use ?? 'sig') === 'sig' && (k.alg ?? 'RS256') === 'RS256' && k.kid,
  );
  if (keys.length === 0) throw new Error('The JWKS holds no RS256 signing key with a kid.');
  return keys.map((k) => ({
    key: String(k.kid),
    algorithm: 'RS256' as const,
    rsa_public_key: createPublicKey({ key: { kty: k.kty, n: k.n, e: k.e } as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString(),
  }));
}

/** The rendered declarative config, as YAML. */
export function render(source: string, opts: { jwks: { keys?: Jwk[] }; upstream: string; origin?: string }): string {
  const doc = parse(source) as KongDocument;
  const upstream = new URL(opts.upstream);
  const service = doc.services?.find((s) => s.name === 'cra-api');
  if (!service) throw new Error('kong.yaml has no cra-api service.');
  service.url = upstream.toString().replace(/\/$/, '');
  const consumer = doc.consumers?.find((c) => c.username === 'auth0');
  if (!consumer) throw new Error('kong.yaml has no auth0 consumer.');
  consumer.jwt_secrets = jwtSecretsOf(opts.jwks);
  if (opts.origin) {
    const cors = doc.plugins?.find((p) => p.name === 'cors');
    if (cors?.config) cors.config.origins = [new URL(opts.origin).origin];
  }
  return `# Rendered by kong/render.ts from kong/kong.yaml; do not edit.\n${stringify(doc, { lineWidth: 0 })}`;
}

async function loadJwks(source: string): Promise<{ keys?: Jwk[] }> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET ${source}: HTTP ${res.status}`);
    return (await res.json()) as { keys?: Jwk[] };
  }
  return JSON.parse(readFileSync(source, 'utf8')) as { keys?: Jwk[] };
}

async function main() {
  const { values } = parseArgs({
    options: {
      jwks: { type: 'string' },
      upstream: { type: 'string' },
      origin: { type: 'string' },
      in: { type: 'string', default: fileURLToPath(new URL('./kong.yaml', import.meta.url)) },
      out: { type: 'string', default: fileURLToPath(new URL('./kong.rendered.yaml', import.meta.url)) },
    },
  });
  if (!values.jwks || !values.upstream) throw new Error('Usage: kong/render.ts --jwks <url|file> --upstream <url>');
  const out = render(readFileSync(values.in, 'utf8'), {
    jwks: await loadJwks(values.jwks),
    upstream: values.upstream,
    ...(values.origin ? { origin: values.origin } : {}),
  });
  writeFileSync(values.out, out);
  console.log(`Wrote ${values.out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
