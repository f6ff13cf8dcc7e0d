/**
 * `npm run erasure:verify -- <file>`: checks an erasure certificate (the erasure's result, `GET /v1/me/erasure`
 * or `GET /v1/support/erasures/{accountId}`, saved as JSON) against this installation's SecretVault.
 * Prints OK and what the certificate says, or what is wrong. Exit 0 when it verifies, 1 when it does not
 * (or cannot be read), 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { verifyCertificate } from '../../activities/erasure/certificate.js';
import { buildSecretVault } from '../../activities/secrets/build.js';
import type { ErasureCertificate } from '../../workflows/erasure/messages.js';
import { configOrFail, fail } from './args.js';

const usage = 'npm run erasure:verify -- <certificate.json>';
const [file, ...rest] = process.argv.slice(2);
if (!file || rest.length > 0 || file.startsWith('--')) fail('give the certificate file, and only it', usage);

/** The certificate itself, or the answer that carries it (`{certificate}` or `{status, certificate}`). */
function certificateIn(json: unknown): ErasureCertificate {
  const value = json as { certificate?: unknown; format?: unknown };
  return (
    value && typeof value === 'object' && !('format' in value) && 'certificate' in value ? value.certificate : value
  ) as ErasureCertificate;
}

let exitCode = 1;
try {
  const certificate = certificateIn(JSON.parse(readFileSync(file, 'utf8')));
  const config = configOrFail();
  const vault = await buildSecretVault({ dataDir: config.dataDir, ...(config.vault ? { vault: config.vault } : {}) });
  const result = await verifyCertificate(vault, certificate);
  if (result.ok) {
    const total = certificate.steps.reduce((n, s) => n + s.deleted, 0);
    process.stdout.write(
      `OK: erasure certificate of account ${certificate.accountId}, erased ${certificate.erasedAt}: ` +
        `${certificate.steps.length} stores, ${total} things deleted; tombstone purged at ${certificate.purgeAt}\n`,
    );
    exitCode = 0;
  } else process.stdout.write(`NOT VALID: ${result.reason}\n`);
} catch (err) {
  process.stdout.write(`NOT VALID: cannot check ${file}: ${(err as Error).message}\n`);
}
process.exit(exitCode);
