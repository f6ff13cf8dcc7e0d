/**
 * `npm run --silent consent -- <authorizationUrl> [--username <name>] [--deny]`: you at the sandbox provider's
 * consent page (`npm start` runs it): opens the authorization URL, picks the user name (default
 * `sandbox-user`), presses Approve (or Deny), and prints the address the sandbox sends the browser back to,
 * with its `code` and `state`, without opening it. Only the local sandbox has this page.
 */
import { completeConsent } from '../sandbox/driver.js';
import { fail, parseArgs } from './args.js';

const usage = 'npm run --silent consent -- <authorizationUrl> [--username <name>] [--deny]';
const [url, ...rest] = process.argv.slice(2);
if (!url || !URL.canParse(url))
  fail('the authorization URL is required (the "authorizationUrl" of the link answer)', usage);
const args = parseArgs(rest, { username: 'string', deny: 'boolean' }, usage);
try {
  const back = await completeConsent(url, {
    username: typeof args.username === 'string' ? args.username : 'sandbox-user',
    approve: !args.deny,
  });
  process.stdout.write(`${back.href}\n`);
} catch (err) {
  fail(`the sandbox's consent page did not send you back: ${(err as Error).message}`);
}
