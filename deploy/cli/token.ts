/**
 * `npm run --silent token -- --sub <subject> [--email <e>] [--permissions a,b] [--ttl <seconds>] [--client-id <id>]`
 * prints an access token signed by the embedded issuer (the key under the stack's data folder), alone on stdout.
 */
import { EmbeddedIssuer } from '../../api/auth/embedded-issuer.js';
import { configOrFail, fail, parseArgs } from './args.js';

const usage =
  'npm run --silent token -- --sub <subject> [--email <address>] [--permissions a,b] [--ttl <seconds>] [--client-id <id>]';
/** OAuth client ids: printable ASCII without spaces (RFC 6749 §A.1 allows more, no client of ours needs it). */
const clientIdPattern = /^[\x21-\x7e]{1,128}$/;

const args = parseArgs(
  process.argv.slice(2),
  { sub: 'string', email: 'string', permissions: 'string', ttl: 'string', 'client-id': 'string' },
  usage,
);
const subject = args.sub;
if (typeof subject !== 'string' || subject.trim() === '') fail('--sub is required', usage);
const ttl = args.ttl === undefined ? 3600 : Number(args.ttl);
if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) fail('--ttl takes whole seconds from 1 to 86400', usage);
if (typeof args.email === 'string' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(args.email))
  fail(`--email "${args.email}" is not an email address`, usage);
const clientId = args['client-id'];
if (typeof clientId === 'string' && !clientIdPattern.test(clientId))
  fail(`--client-id "${clientId}" is not a client id: 1 to 128 printable characters, no spaces`, usage);
const config = configOrFail();
if (config.auth.jwksUrl)
  fail('This configuration verifies tokens from an external issuer (AUTH_JWKS_URL / Auth0): get tokens there.');
const issuer = await EmbeddedIssuer.load({
  dataDir: config.dataDir,
  issuer: config.auth.issuer,
  audience: config.auth.audience,
});
const token = await issuer.issue({
  subject,
  ...(typeof args.email === 'string' ? { email: args.email } : {}),
  permissions:
    typeof args.permissions === 'string'
      ? args.permissions
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)
      : [],
  ttlSeconds: ttl,
  ...(typeof clientId === 'string' ? { clientId } : {}),
});
process.stdout.write(`${token}\n`);
