/**
 * `npm run role -- grant <role> --email <address>` and `npm run role -- revoke <role> --email <address>`:
 * give a person of the embedded directory a staff role (`support`, `support-lead`, `dpo`, `operator`), that is its
 * permissions (`domain/roles.ts`), or take it away. The permissions are in the next access token, so the
 * person signs in again. With Auth0, assign the role of the same name there instead.
 */
import { MongoClient } from 'mongodb';
import { mongoClientOptions } from '../../activities/connections/mongo.js';
import { normalEmail } from '../../api/auth/embedded-oidc/accounts.js';
import { changeStaffRole } from '../../api/auth/embedded-oidc/staff-roles.js';
import { isStaffRole, staffRoles } from '../../domain/roles.js';
import { configOrFail, fail, parseArgs } from './args.js';

const roleNames = Object.keys(staffRoles).join(', ');
const usage = `npm run role -- grant|revoke <role> --email <address>   (roles: ${roleNames})`;
const [action, role, ...rest] = process.argv.slice(2);
if (action !== 'grant' && action !== 'revoke') fail('say grant or revoke', usage);
if (!role || !isStaffRole(role)) fail(`"${role ?? ''}" is not a role: one of ${roleNames}`, usage);
const args = parseArgs(rest, { email: 'string' }, usage);
if (typeof args.email !== 'string') fail('--email is required', usage);
const email = normalEmail(args.email);
const config = configOrFail();
if (config.identity.kind !== 'embedded')
  fail(
    'This configuration signs people in with Auth0: assign the role there (Auth0 Dashboard → User Management → Roles).',
  );

const mongo = new MongoClient(config.mongo.uri, mongoClientOptions(config.mongo, { serverSelectionTimeoutMS: 5_000 }));
try {
  await mongo.connect();
  const changed = await changeStaffRole(mongo.db(config.mongo.db), email, role, action);
  if (!changed) fail(`nobody has signed up with ${email}: create the account on the sign-in page first`);
  const { permissions } = changed;
  process.stdout.write(
    `${email} ${action === 'grant' ? 'now has' : 'no longer has'} the ${role} role; permissions: ${permissions.join(', ') || 'none'}.\nSign in again for it to take effect.\n`,
  );
} catch (err) {
  fail(`cannot update the directory at ${config.mongo.uri}: ${(err as Error).message}`);
} finally {
  await mongo.close();
}
