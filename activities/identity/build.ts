/** The identity directory the configuration names: the embedded one (this database) or Auth0's Management API. */
import type { Db } from 'mongodb';
import type { CraConfig } from '../../domain/config.js';
import { defaultRole } from '../../domain/roles.js';
import { Auth0Directory } from './auth0-directory.js';
import { EmbeddedDirectory } from './embedded-directory.js';
import type { IdentityDirectory } from './port.js';

export function buildDirectory(config: CraConfig, db: Db): IdentityDirectory {
  const identity = config.identity;
  if (identity.kind === 'embedded') return new EmbeddedDirectory(db, config.publicUrl);
  return new Auth0Directory({
    domain: identity.domain,
    clientId: identity.clientId,
    clientSecret: identity.clientSecret,
    ...(identity.defaultRoleId ? { roleIds: { [defaultRole]: identity.defaultRoleId } } : {}),
  });
}
