/**
 * The production IdentityDirectory: Auth0, through the Management API v2 and the official `auth0`
 * SDK (client-credentials grant; the SDK caches the token until shortly before it expires).
 * Auth0 creates users at sign-up; CRA only reads them, binds them to a CRA account through
 * `app_metadata.cra_account_id`, and mirrors roles when an Auth0 role id is configured.
 */
import { ManagementClient, ManagementError, ManagementTimeoutError } from 'auth0';
import type { Management } from 'auth0';
import {
  IdentityError,
  type EnsureRootIdentityInput,
  type IdentityDirectory,
  type ResetCredentialsOptions,
  type ResetCredentialsResult,
  type RootIdentity,
} from './port.js';

export interface Auth0DirectoryOptions {
  /** Tenant domain, a bare host name: `tenant.eu.auth0.com` or a custom domain. */
  domain: string;
  /** Machine-to-machine application with `read:users update:users read:roles create:role_members` (`delete:users` for erasure). */
  clientId: string;
  clientSecret: string;
  /** Management API audience; defaults to `https://<domain>/api/v2/`. */
  audience?: string;
  /** CRA role name → Auth0 role id, e.g. `{ member: 'rol_123' }`. Roles without an entry are not mirrored. */
  roleIds?: Record<string, string>;
  /** A fetch for both the token and the Management API calls (tests point it at a local stand-in). */
  fetch?: typeof fetch;
}

/** `app_metadata` key that binds an Auth0 user to its CRA account. */
const accountIdKey = 'cra_account_id';

/** `app_metadata` key where an erasure notes the secondary identities it is about to unlink. */
const erasureSecondariesKey = 'cra_erasure_secondaries';

interface SecondaryIdentity {
  provider: Management.UserIdentityProviderEnum;
  user_id: string;
}

const secondaryKey = (i: SecondaryIdentity) => `${i.provider}|${i.user_id}`;

/** The secondaries an erasure noted before a crash (anything else in that key is ignored). */
function notedSecondaries(value: unknown): SecondaryIdentity[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v): SecondaryIdentity[] => {
    const i = v as Partial<SecondaryIdentity> | null;
    return typeof i?.provider === 'string' && typeof i.user_id === 'string'
      ? [{ provider: i.provider, user_id: i.user_id }]
      : [];
  });
}

/** Used when a 429 carries neither `x-ratelimit-reset` nor `retry-after`. */
const defaultRetryAfterMs = 1000;

export class Auth0Directory implements IdentityDirectory {
  readonly kind = 'auth0' as const;
  private readonly client: ManagementClient;
  private readonly roleIds: Readonly<Record<string, string>>;

  constructor(options: Auth0DirectoryOptions) {
    this.roleIds = { ...options.roleIds };
    this.client = new ManagementClient({
      domain: options.domain,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      audience: options.audience ?? `https://${options.domain}/api/v2/`,
      // Temporal's activity retry policy owns retries: SDK retries would sleep inside the activity
      // (up to a minute on a 429) and spend the tenant's rate limit twice, invisibly.
      maxRetries: 0,
      // The SDK's documented `fetch` option is used for the token request and every API call alike.
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  async getIdentity(subject: string): Promise<RootIdentity | undefined> {
    const path = userPath(subject);
    try {
      const user = await this.client.users.get(subject);
      return toRootIdentity(subject, user);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw toIdentityError(err, 'GET', path);
    }
  }

  async ensureRootIdentity(input: EnsureRootIdentityInput): Promise<RootIdentity> {
    const path = userPath(input.subject);
    let user: Management.GetUserResponseContent;
    try {
      user = await this.client.users.get(input.subject);
    } catch (err) {
      // A 404 here means the person never signed up through Auth0: CRA never creates Auth0 users.
      throw toIdentityError(err, 'GET', path);
    }

    const boundTo = user.app_metadata?.[accountIdKey];
    if (boundTo === input.accountId) return toRootIdentity(input.subject, user);
    if (boundTo !== undefined && boundTo !== null && boundTo !== '') {
      // Re-binding silently would hand one person's login to another account.
      throw new IdentityError(
        'IdentityRejected',
        `Auth0 user ${input.subject} is already bound to another CRA account`,
      );
    }

    // Auth0 merges app_metadata on PATCH (first level only), so other app_metadata keys survive.
    // Only the binding is written: email and names stay Auth0's. Auth0 has no conditional PATCH;
    // one workflow per subject is what keeps two bindings from racing here.
    try {
      const updated = await this.client.users.update(input.subject, {
        app_metadata: { [accountIdKey]: input.accountId },
      });
      return toRootIdentity(input.subject, updated);
    } catch (err) {
      throw toIdentityError(err, 'PATCH', path);
    }
  }

  /** https://auth0.com/docs/api/management/v2/users/patch-users-by-id: root attributes `given_name`, `family_name`. */
  async updateNames(subject: string, names: { givenName: string; familyName: string }): Promise<{ updated: boolean }> {
    try {
      await this.client.users.update(subject, { given_name: names.givenName, family_name: names.familyName });
      return { updated: true };
    } catch (err) {
      const mapped = toIdentityError(err, 'PATCH', userPath(subject));
      if (mapped.type === 'IdentityNotFound') return { updated: false };
      throw mapped;
    }
  }

  async linkIdentity(
    subject: string,
    identity: { provider: string; providerAccountId: string },
  ): Promise<{ linked: boolean }> {
    const secondary = auth0Identity(identity.provider, identity.providerAccountId);
    try {
      await this.client.users.identities.link(subject, secondary);
      return { linked: true };
    } catch (err) {
      const mapped = toIdentityError(err, 'POST', `${userPath(subject)}/identities`);
      // The provider account never signed in through Auth0, so there is no secondary user to link:
      // CRA holds the connection itself.
      if (mapped.type === 'IdentityNotFound' || (mapped.type === 'IdentityRejected' && statusOf(err) === 400))
        return { linked: false };
      throw mapped;
    }
  }

  async unlinkIdentity(
    subject: string,
    identity: { provider: string; providerAccountId: string },
  ): Promise<{ unlinked: boolean }> {
    const secondary = auth0Identity(identity.provider, identity.providerAccountId);
    try {
      await this.client.users.identities.delete(subject, secondary.provider, secondary.user_id);
      return { unlinked: true };
    } catch (err) {
      const mapped = toIdentityError(
        err,
        'DELETE',
        `${userPath(subject)}/identities/${secondary.provider}/${encodeURIComponent(secondary.user_id)}`,
      );
      // Already unlinked, or the user is gone: nothing left to remove.
      if (mapped.type === 'IdentityNotFound') return { unlinked: false };
      throw mapped;
    }
  }

  /**
   * Erasure of the Auth0 user. A linked identity lives inside the primary user, and unlinking makes it a user of
   * its own again ("If your goal is to delete the secondary identity entirely, you must first unlink the accounts,
   * and then delete the newly created secondary account":
   * https://auth0.com/docs/manage-users/user-accounts/user-account-linking/unlink-user-accounts). So:
   * 1. read the user (https://auth0.com/docs/api/management/v2/users/get-users-by-id); 404: already gone;
   * 2. note its secondary identities in its own `app_metadata` (PATCH, merged at the first level), because once
   *    unlinked they are no longer listed there and a retry after a crash must still find their users;
   * 3. unlink each (https://auth0.com/docs/api/management/v2/users/delete-user-identity-by-user-id) and delete
   *    the user it becomes, `<provider>|<user_id>` (https://auth0.com/docs/api/management/v2/users/delete-users-by-id);
   * 4. delete the user (same page). Every call is safe to repeat: a 404 means that part is done.
   * `unlinkedIdentities` counts every secondary identity removed, on this call or one before it.
   */
  async deleteIdentity(subject: string): Promise<{ deleted: boolean; unlinkedIdentities: number }> {
    const path = userPath(subject);
    let user: Management.GetUserResponseContent;
    try {
      user = await this.client.users.get(subject);
    } catch (err) {
      if (statusOf(err) === 404) return { deleted: false, unlinkedIdentities: 0 };
      throw toIdentityError(err, 'GET', path);
    }
    const linked = (user.identities ?? [])
      .slice(1)
      .flatMap((i): SecondaryIdentity[] =>
        i.provider && i.user_id !== undefined ? [{ provider: i.provider, user_id: String(i.user_id) }] : [],
      );
    const noted = notedSecondaries(user.app_metadata?.[erasureSecondariesKey]);
    const known = new Set(noted.map(secondaryKey));
    const fresh = linked.filter((i) => !known.has(secondaryKey(i)));
    const secondaries = [...noted, ...fresh];
    if (fresh.length > 0) {
      await mappedCall('PATCH', path, () =>
        this.client.users.update(subject, { app_metadata: { [erasureSecondariesKey]: secondaries } }),
      );
    }
    const stillLinked = new Set(linked.map(secondaryKey));
    for (const secondary of secondaries) {
      if (stillLinked.has(secondaryKey(secondary))) {
        await this.gone(
          'DELETE',
          `${path}/identities/${secondary.provider}/${encodeURIComponent(secondary.user_id)}`,
          () => this.client.users.identities.delete(subject, secondary.provider, secondary.user_id),
        );
      }
      const secondaryUser = `${secondary.provider}|${secondary.user_id}`;
      await this.gone('DELETE', userPath(secondaryUser), () => this.client.users.delete(secondaryUser));
    }
    await this.gone('DELETE', path, () => this.client.users.delete(subject));
    return { deleted: true, unlinkedIdentities: secondaries.length };
  }

  /** A call whose 404 means its work is already done (an erasure's retry). */
  private async gone(method: string, path: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw toIdentityError(err, method, path);
    }
  }

  async assignRole(subject: string, role: string): Promise<void> {
    const roleId = this.roleIds[role];
    // CRA keeps roles in its own account document; Auth0 only gets a copy where an Auth0 role id
    // is configured (for RBAC claims in Auth0-issued tokens). No id configured: nothing to mirror.
    if (roleId === undefined) return;
    try {
      // Assigning a role the user already has is a no-op at Auth0, so retries are safe.
      await this.client.users.roles.assign(subject, { roles: [roleId] });
    } catch (err) {
      throw toIdentityError(err, 'POST', `${userPath(subject)}/roles`);
    }
  }

  /**
   * A recovery's reset, in an order that leaves no usable credential behind: MFA enrolments removed, refresh
   * tokens and sessions revoked, then a short-lived password-change ticket. Every call is idempotent.
   * Needs `delete:authentication_methods delete:refresh_tokens delete:sessions create:user_tickets`.
   */
  async resetCredentials(subject: string, options: ResetCredentialsOptions): Promise<ResetCredentialsResult> {
    const path = userPath(subject);
    await mappedCall('DELETE', `${path}/authentication-methods`, () =>
      this.client.users.authenticationMethods.deleteAll(subject),
    );
    await mappedCall('DELETE', `${path}/refresh-tokens`, () => this.client.users.refreshToken.delete(subject));
    await mappedCall('DELETE', `${path}/sessions`, () => this.client.users.sessions.delete(subject));
    // mark_email_as_verified: false — a recovery proves control of the account, not of its address.
    const ticket = await mappedCall('POST', '/api/v2/tickets/password-change', () =>
      this.client.tickets.changePassword({
        user_id: subject,
        ttl_sec: options.ticketTtlSeconds,
        mark_email_as_verified: false,
        ...(options.resultUrl ? { result_url: options.resultUrl } : {}),
      }),
    );
    return ticket.ticket ? { passwordChangeTicketUrl: ticket.ticket } : {};
  }
}

async function mappedCall<T>(method: string, path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toIdentityError(err, method, path);
  }
}

/** Auth0's social connection strategy per CRA provider; the rest are custom OAuth2 connections named after the provider. */
const auth0Strategies: Record<string, Management.UserIdentityProviderEnum> = {
  google: 'google-oauth2',
  apple: 'apple',
  facebook: 'facebook',
  microsoft: 'windowslive',
  x: 'twitter',
  github: 'github',
  linkedin: 'linkedin',
  amazon: 'amazon',
};

/** The secondary identity as Auth0 names it: custom OAuth2 connections prefix the user id with the connection name. */
function auth0Identity(
  provider: string,
  providerAccountId: string,
): { provider: Management.UserIdentityProviderEnum; user_id: string } {
  const strategy = auth0Strategies[provider];
  return strategy
    ? { provider: strategy, user_id: providerAccountId }
    : { provider: 'oauth2', user_id: `${provider}|${providerAccountId}` };
}

/** The Management API path of a user, as sent on the wire (`auth0|abc` → `auth0%7Cabc`). */
function userPath(subject: string): string {
  return `/api/v2/users/${encodeURIComponent(subject)}`;
}

/**
 * Roles are left empty: CRA's account document is the source of truth for roles, and a
 * `GET /users/{id}/roles` on every read would double the calls against the tenant's small
 * Management API rate limit for data no caller reads.
 */
function toRootIdentity(subject: string, user: Management.GetUserResponseContent): RootIdentity {
  const accountId = user.app_metadata?.[accountIdKey];
  return {
    subject: user.user_id ?? subject,
    emailVerified: user.email_verified ?? false,
    ...(user.email ? { email: user.email } : {}),
    ...(user.given_name ? { givenName: user.given_name } : {}),
    ...(user.family_name ? { familyName: user.family_name } : {}),
    ...(typeof accountId === 'string' && accountId !== '' ? { accountId } : {}),
    roles: [],
  };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ManagementError ? err.statusCode : undefined;
}

/**
 * The one place Auth0/SDK errors become IdentityErrors. The message names only the method, path
 * and status: SDK errors can carry response bodies and request details, so neither they nor
 * their text are attached (Temporal would persist them in history).
 */
function toIdentityError(err: unknown, method: string, path: string): IdentityError {
  if (err instanceof IdentityError) return err;
  // The SDK fetches its token lazily inside the API call; say which request actually failed.
  const tokenFailure = err instanceof ManagementError && err.message.startsWith('ManagementClient: token request');
  const where = tokenFailure ? 'POST /oauth/token' : `${method} ${path}`;
  const status = statusOf(err);

  if (err instanceof ManagementTimeoutError || status === undefined) {
    return new IdentityError('IdentityUnavailable', `Auth0 ${where} failed: no response`);
  }
  const what = `Auth0 ${where} failed with status ${status}`;
  if (status === 404) return new IdentityError('IdentityNotFound', what);
  if (status === 429) {
    const headers = err instanceof ManagementError ? err.rawResponse?.headers : undefined;
    return new IdentityError('IdentityRateLimited', what, retryAfterMs(headers));
  }
  if (status === 408 || status >= 500) return new IdentityError('IdentityUnavailable', what);
  // 400/401/403/409 and any other 4xx: retrying the same request cannot succeed.
  return new IdentityError('IdentityRejected', what);
}

/**
 * `x-ratelimit-reset` is the UNIX time (seconds) the bucket refills; `retry-after` is seconds.
 * A missing, malformed or already-past value falls through to the next source.
 */
function retryAfterMs(headers: Headers | undefined, now = Date.now()): number {
  const reset = Number(headers?.get('x-ratelimit-reset') ?? Number.NaN);
  if (Number.isFinite(reset) && reset * 1000 > now) return Math.ceil(reset * 1000 - now);
  const retryAfter = Number(headers?.get('retry-after') ?? Number.NaN);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.ceil(retryAfter * 1000);
  return defaultRetryAfterMs;
}
