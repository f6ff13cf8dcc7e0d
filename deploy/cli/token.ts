/**
 * `npm run --silent token -- --sub <subject> [--email <e>] [--permissions a,b] [--ttl <seconds>]`
 * prints an access token signed by the embedded issuer, alone on stdout.
 */
import { EmbeddedIssuer } from '../../api/auth/embedded-issuer.js';
import { ConfigError, loadConfig } from '../../domain/config.js';
import { fail, parseArgs } from './args.js';

const usage = 'npm run --silent token -- --sub <subject> [--email <address>] [--permissions a,b] [--ttl <seconds>]';

try {
  const args = parseArgs(process.argv.slice(2), { sub: 'string', email: 'string', permissions: 'string', ttl: 'string' }, usage);
  const subject = args.sub;
  if (typeof subject !== 'string' || subject.trim() === '') fail('--sub is required', usage);
  const ttl = args.ttl === undefined ? 3600 : Number(args.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) fail('--ttl takes whole seconds from 1 to 86400', usage);
  if (typeof args.email === 'string' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(args.email)) fail(`--email "${args.email}" is not an email address`, usage);
  const config = loadConfig();
  if (config.auth.jwksUrl) fail('This configuration verifies tokens from an external issuer (AUTH_JWKS_URL / Auth0): get tokens there.');
  const issuer = await EmbeddedIssuer.load({ dataDir: config.dataDir, issuer: config.auth.issuer, audience: config.auth.audience });
  const token = await issuer.issue({
    subject,
    ...(typeof args.email === 'string' ? { email: args.email } : {}),
    permissions: typeof args.permissions === 'string' ? args.permissions.split(',').map((p) => p.trim()).filter(Boolean) : [],
    ttlSeconds: ttl,
  });
  process.stdout.write(`${token}\n`);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
