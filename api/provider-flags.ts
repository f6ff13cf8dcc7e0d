/**
 * Feature-flag decisions for provider linking, for one caller: the rule from the environment plus any
 * per-account override support has set (`feature_flag_overrides`).
 */
import type { Db } from 'mongodb';
import type { AccountDocument } from '../domain/account-center.js';
import { collections } from '../domain/collections.js';
import type { CraConfig } from '../domain/config.js';
import { evaluateFlag, type FlagDecision } from '../domain/feature-flags.js';
import { flagNameFor } from '../domain/provider-catalog.js';
import { providerIds, type ProviderId } from '../domain/providers.js';

export interface FlagOverrideDocument {
  _id: string; // `<flag>/<accountId>`
  flag: string;
  accountId: string;
  enabled: boolean;
  setBy: string;
  reason: string;
  setAt: string;
}

export const overrideId = (flag: string, accountId: string) => `${flag}/${accountId}`;

export function flagOverrides(db: Db) {
  return db.collection<FlagOverrideDocument>(collections.flagOverrides);
}

/** Every provider's decision for this account (one read of the account and one of its overrides). */
export async function providerFlagsFor(
  db: Db,
  config: CraConfig,
  accountId: string,
): Promise<Record<ProviderId, FlagDecision & { flag: string }>> {
  const [account, overrides] = await Promise.all([
    db.collection<AccountDocument>(collections.accounts).findOne({ _id: accountId }, { projection: { roles: 1 } }),
    flagOverrides(db).find({ accountId }).toArray(),
  ]);
  const subject = { accountId, roles: account?.roles ?? [] };
  const byFlag = new Map(overrides.map((o) => [o.flag, o.enabled]));
  const out = {} as Record<ProviderId, FlagDecision & { flag: string }>;
  for (const id of providerIds) {
    const flag = flagNameFor(id);
    out[id] = { flag, ...evaluateFlag(flag, config.providers.flags[id], subject, byFlag.get(flag)) };
  }
  return out;
}
