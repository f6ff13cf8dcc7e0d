/**
 * In-memory storage for one sandbox OpenID server: oidc-provider's adapter interface, plus "revoke
 * everything this account granted", which the provider's own adapter cannot answer. oidc-provider's
 * built-in memory adapter is one process-wide LRU of 1000 entries: a benchmark would evict live grants
 * and get spurious invalid_grant answers, so each server gets its own unbounded, expiring map.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; undefined keeps it until destroyed. */
  expiresAt: number | undefined;
}

/** Models whose records belong to a grant and go when it is revoked (as in oidc-provider's own adapter). */
const grantBound = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

export class GrantStore {
  readonly #entries = new Map<string, Entry>();
  readonly #byGrant = new Map<string, Set<string>>();
  readonly #sessionByUid = new Map<string, string>();
  readonly #byUserCode = new Map<string, string>();

  /** The factory oidc-provider's `adapter` setting takes: one adapter per model name. */
  adapterFor(model: string): Adapter {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id, payload, expiresIn) => {
        this.#delete(key(id));
        this.#entries.set(key(id), {
          payload,
          expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
        });
        if (grantBound.has(model) && payload.grantId) this.#index(this.#byGrant, payload.grantId, key(id));
        if (model === 'Session' && payload.uid) this.#sessionByUid.set(payload.uid, id);
        if (payload.userCode) this.#byUserCode.set(payload.userCode, id);
      },
      find: async (id) => this.#get(key(id)),
      findByUid: async (uid) => {
        const id = this.#sessionByUid.get(uid);
        return id === undefined ? undefined : this.#get(key(id));
      },
      findByUserCode: async (userCode) => {
        const id = this.#byUserCode.get(userCode);
        return id === undefined ? undefined : this.#get(key(id));
      },
      consume: async (id) => {
        const payload = this.#get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        this.#delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        this.#revokeGrant(grantId);
      },
    };
  }

  /** Destroys every grant `accountId` gave, with its codes and tokens; returns how many grants went. */
  revokeGrantsOf(accountId: string): number {
    const grantIds: string[] = [];
    for (const [key, entry] of this.#entries) {
      if (key.startsWith('Grant:') && entry.payload.accountId === accountId && !this.#expired(entry))
        grantIds.push(key.slice('Grant:'.length));
    }
    for (const grantId of grantIds) {
      this.#delete(`Grant:${grantId}`);
      this.#revokeGrant(grantId);
    }
    return grantIds.length;
  }

  /** Drops expired records; a long-running sandbox (or a benchmark) would otherwise only grow. */
  sweep(): void {
    for (const [key, entry] of this.#entries) if (this.#expired(entry)) this.#delete(key);
  }

  #revokeGrant(grantId: string): void {
    for (const key of [...(this.#byGrant.get(grantId) ?? [])]) this.#delete(key);
    this.#byGrant.delete(grantId);
  }

  #get(key: string): AdapterPayload | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.#expired(entry)) {
      this.#delete(key);
      return undefined;
    }
    return entry.payload;
  }

  #expired(entry: Entry): boolean {
    return entry.expiresAt !== undefined && entry.expiresAt <= Date.now();
  }

  #index(index: Map<string, Set<string>>, name: string, key: string): void {
    const keys = index.get(name) ?? new Set<string>();
    keys.add(key);
    index.set(name, keys);
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const { grantId, uid, userCode } = entry.payload;
    if (grantId) {
      const keys = this.#byGrant.get(grantId);
      keys?.delete(key);
      if (keys?.size === 0) this.#byGrant.delete(grantId);
    }
    const id = key.slice(key.indexOf(':') + 1);
    if (key.startsWith('Session:') && uid && this.#sessionByUid.get(uid) === id) this.#sessionByUid.delete(uid);
    if (userCode && this.#byUserCode.get(userCode) === id) this.#byUserCode.delete(userCode);
  }
}
