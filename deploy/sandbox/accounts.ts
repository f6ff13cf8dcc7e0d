/** The people who signed in at the sandbox's consent pages: what they typed is what userinfo returns. */

export interface SandboxAccount {
  /** `<provider>:<username>`: the `sub`, stable per provider and username. */
  accountId: string;
  username: string;
  email: string;
  emailVerified: boolean;
}

export const defaultUsername = 'sandbox-user';

/** Kept to characters that are safe in a `sub`, a URL path segment and an email's local part. */
export const usernamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function accountIdFor(provider: string, username: string): string {
  return `${provider}:${username}`;
}

export function defaultEmailFor(provider: string, username: string): string {
  return `${username}@${provider}.sandbox.test`;
}

/** In memory, like the tokens: a restarted sandbox has forgotten both. */
export class SandboxAccounts {
  readonly #accounts = new Map<string, SandboxAccount>();

  /** The latest consent wins: a person can come back and sign in with another email. */
  save(account: SandboxAccount): void {
    this.#accounts.set(account.accountId, account);
  }

  find(accountId: string): SandboxAccount | undefined {
    return this.#accounts.get(accountId);
  }
}
