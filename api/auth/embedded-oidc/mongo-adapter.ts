/**
 * oidc-provider's storage on MongoDB: one collection for every model, `_id` = `<model>:<id>`. Expiry is
 * checked on every read (FerretDB has no TTL indexes) and expired records are swept now and then.
 * A grant's codes and tokens carry its id, so revoking the grant revokes them all.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Collection, Db } from 'mongodb';
import { collections } from '../../../domain/collections.js';

interface StoredRecord {
  _id: string;
  model: string;
  payload: AdapterPayload;
  /** Epoch milliseconds; absent: kept until destroyed. */
  expiresAt?: number;
  grantId?: string;
  uid?: string;
  userCode?: string;
  /** The subject, for "sign out everywhere" and for listing a person's grants. */
  accountId?: string;
}

/** Models whose records belong to a grant and go when it is revoked. */
const grantBound = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

export function oidcRecords(db: Db): Collection<StoredRecord> {
  return db.collection<StoredRecord>(collections.oidcRecords);
}

/** The factory for oidc-provider's `adapter` setting. */
export function mongoAdapterFactory(db: Db): (model: string) => Adapter {
  const records = oidcRecords(db);
  let lastSweep = 0;
  const sweep = async () => {
    if (Date.now() - lastSweep < 60_000) return;
    lastSweep = Date.now();
    await records.deleteMany({ expiresAt: { $lt: Date.now() } }).catch(() => undefined);
  };
  const live = (doc: StoredRecord | null): AdapterPayload | undefined =>
    doc && (doc.expiresAt === undefined || doc.expiresAt > Date.now()) ? doc.payload : undefined;

  return (model: string): Adapter => {
    const key = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const record: Omit<StoredRecord, '_id'> = {
          model,
          payload,
          ...(typeof expiresIn === 'number' ? { expiresAt: Date.now() + expiresIn * 1000 } : {}),
          ...(grantBound.has(model) && payload.grantId ? { grantId: payload.grantId } : {}),
          ...(model === 'Grant' && payload.jti ? { grantId: payload.jti } : {}),
          ...(payload.uid ? { uid: payload.uid } : {}),
          ...(payload.userCode ? { userCode: payload.userCode } : {}),
          ...(payload.accountId ? { accountId: payload.accountId } : {}),
        };
        await records.replaceOne({ _id: key(id) }, record, { upsert: true });
        await sweep();
      },
      async find(id) {
        return live(await records.findOne({ _id: key(id) }));
      },
      async findByUid(uid) {
        return live(await records.findOne({ model, uid }));
      },
      async findByUserCode(userCode) {
        return live(await records.findOne({ model, userCode }));
      },
      async consume(id) {
        await records.updateOne({ _id: key(id) }, { $set: { 'payload.consumed': Math.floor(Date.now() / 1000) } });
      },
      async destroy(id) {
        await records.deleteOne({ _id: key(id) });
      },
      async revokeByGrantId(grantId) {
        await records.deleteMany({ grantId, model: { $in: [...grantBound] } });
      },
    };
  };
}

/** Revoke every grant, session and token the subject holds at the embedded issuer ("sign out everywhere"). */
export async function revokeEverythingOf(db: Db, subject: string): Promise<number> {
  const records = oidcRecords(db);
  const grants = await records.find({ model: 'Grant', accountId: subject }, { projection: { grantId: 1 } }).toArray();
  const grantIds = grants.map((g) => g.grantId).filter((g): g is string => typeof g === 'string');
  const removed = await records.deleteMany({
    $or: [{ accountId: subject }, ...(grantIds.length > 0 ? [{ grantId: { $in: grantIds } }] : [])],
  });
  return removed.deletedCount;
}

/** End the issuer's own session that issued `sid` to a client (a browser signed out from another device). */
export async function endIssuerSession(db: Db, clientId: string, sid: string): Promise<void> {
  await oidcRecords(db).deleteMany({ model: 'Session', [`payload.authorizations.${clientId}.sid`]: sid });
}
