/**
 * What a provider webhook touches in the database: the deliveries already handled (one document per
 * `<provider>:<deliveryId>`, so a replay or a provider's redelivery starts nothing twice), and the
 * connections a delivery is about (found by the provider account ids in its payload).
 *
 * No TTL index (FerretDB has none, see docs/architecture.md): each delivery carries `expiresAt`, a reader
 * ignores an expired one, and now and then an insert sweeps them out.
 */
import { MongoServerError, type Db } from 'mongodb';
import type { AccountDocument } from '../domain/account-center.js';
import { collections } from '../domain/collections.js';
import type { ProviderId } from '../domain/providers.js';

/** How long a delivery id is remembered: GitHub lets a delivery be redelivered for days, Slack retries for an hour. */
export const deliveryMemoryMs = 7 * 24 * 3600_000;

interface DeliveryDocument {
  _id: string;
  provider: ProviderId;
  receivedAt: string;
  expiresAt: string;
}

const deliveries = (db: Db) => db.collection<DeliveryDocument>(collections.webhookDeliveries);
const deliveryKey = (provider: ProviderId, deliveryId: string) => `${provider}:${deliveryId}`;

/**
 * Remember a delivery; false when it was seen before (a replay). The unique `_id` decides, so two copies
 * arriving at once are one first delivery and one replay.
 */
export async function claimDelivery(
  db: Db,
  provider: ProviderId,
  deliveryId: string,
  now = new Date(),
): Promise<boolean> {
  const _id = deliveryKey(provider, deliveryId);
  const doc: DeliveryDocument = {
    _id,
    provider,
    receivedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + deliveryMemoryMs).toISOString(),
  };
  try {
    await deliveries(db).insertOne(doc);
  } catch (err) {
    if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    // Remembered, unless its memory ran out: then it counts as new.
    const taken = await deliveries(db).findOneAndReplace(
      { _id, expiresAt: { $lt: doc.receivedAt } },
      { provider, receivedAt: doc.receivedAt, expiresAt: doc.expiresAt },
    );
    return taken !== null;
  }
  if (now.getTime() % 16 === 0)
    void deliveries(db)
      .deleteMany({ expiresAt: { $lt: doc.receivedAt } })
      .catch(() => undefined);
  return true;
}

/** Forget a delivery whose handling failed, so the provider's retry is handled rather than called a replay. */
export async function releaseDelivery(db: Db, provider: ProviderId, deliveryId: string): Promise<void> {
  await deliveries(db).deleteOne({ _id: deliveryKey(provider, deliveryId) });
}

export interface LinkedConnection {
  accountId: string;
  connectionId: string;
  providerAccountId: string;
  status: AccountDocument['connected_providers']['nodes'][number]['status'];
}

/**
 * The connections (not disconnected) of any of these provider accounts. Provider account ids are kept in
 * clear on the account document (ids, not personal fields), so this is one indexed-path query.
 */
export async function connectionsOf(
  db: Db,
  provider: ProviderId,
  providerAccountIds: readonly string[],
): Promise<LinkedConnection[]> {
  if (providerAccountIds.length === 0) return [];
  const wanted = new Set(providerAccountIds);
  const docs = await db
    .collection<AccountDocument>(collections.accounts)
    .find({
      'connected_providers.nodes.provider': provider,
      'connected_providers.nodes.providerAccountId': { $in: [...wanted] },
    } as never)
    .toArray();
  // Dot paths into the array can match two different nodes: the exact node is checked here.
  return docs.flatMap((doc) =>
    doc.connected_providers.nodes
      .filter((n) => n.provider === provider && wanted.has(n.providerAccountId) && n.status !== 'disconnected')
      .map((n) => ({
        accountId: doc._id,
        connectionId: n.connectionId,
        providerAccountId: n.providerAccountId,
        status: n.status,
      })),
  );
}
