/**
 * Staff roles in the embedded directory: a role is its permissions (`domain/roles.ts`) on the person's
 * directory entry, carried by their next access token. `npm run role` and the tests use this; with Auth0,
 * roles are assigned there.
 */
import type { Db } from 'mongodb';
import { collections } from '../../../domain/collections.js';
import { staffRoles, type StaffRole } from '../../../domain/roles.js';
import { normalEmail, type PasswordUser } from './accounts.js';

/** Grant or revoke `role` for the person signed up with `email`; undefined when nobody has. */
export async function changeStaffRole(
  db: Db,
  email: string,
  role: StaffRole,
  action: 'grant' | 'revoke',
): Promise<{ permissions: string[] } | undefined> {
  const users = db.collection<PasswordUser>(collections.identityUsers);
  const user = await users.findOne({ email: normalEmail(email) });
  if (!user) return undefined;
  const held = new Set(user.permissions ?? []);
  if (action === 'grant') for (const p of staffRoles[role]) held.add(p);
  else {
    // A permission that another role the person fully holds also grants stays.
    const kept = new Set(
      Object.entries(staffRoles)
        .filter(([name, ps]) => name !== role && ps.every((p) => held.has(p)))
        .flatMap(([, ps]) => ps),
    );
    for (const p of staffRoles[role]) if (!kept.has(p)) held.delete(p);
  }
  const permissions = [...held].sort();
  await users.updateOne({ _id: user._id }, { $set: { permissions } });
  return { permissions };
}
