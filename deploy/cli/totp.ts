/**
 * `npm run --silent totp -- <secret> [--next]`: the code an authenticator app shows now for a base32 secret
 * (8 digits, 30 s, as `POST /v1/me/recovery-factors/totp` sets up; like `oathtool --totp -d 8 -b`), alone on
 * stdout. A code works once: `--next` prints the following one, which is accepted already (one step of drift).
 */
import { base32Decode, hotp, totpDefaults, totpStep } from '../../domain/recovery.js';
import { fail, parseArgs } from './args.js';

const usage = 'npm run --silent totp -- <secret> [--next]';
const [secret, ...rest] = process.argv.slice(2);
if (!secret || secret.startsWith('--')) fail('the secret is required (the "secret" of the set-up answer)', usage);
const args = parseArgs(rest, { next: 'boolean' }, usage);
let seed: Buffer;
try {
  seed = base32Decode(secret);
} catch {
  fail('the secret is not base32 (letters A-Z and digits 2-7)', usage);
}
const step = totpStep(Date.now(), totpDefaults.periodSeconds) + (args.next ? 1 : 0);
process.stdout.write(`${hotp(seed, step, totpDefaults.digits)}\n`);
