/**
 * What a person's consents allow, read from the account document's consent history (the last answer per
 * purpose is the one in force). A feature stops when the person withdrew (answered `granted: false` to)
 * a purpose that lists it; a purpose never answered does not stop anything (accounts from before it).
 */
import type { Db } from 'mongodb';
import type { AccountDocument, RecordedConsent } from '../../domain/account-center.js';
import { collections } from '../../domain/collections.js';
import type { ConsentFeature, ConsentPurpose } from '../../domain/consents.js';

/** The last answer per purpose, in the order the purposes were first answered. */
export function consentsInForce(history: readonly RecordedConsent[]): RecordedConsent[] {
  const byPurpose = new Map<string, RecordedConsent>();
  for (const c of history) byPurpose.set(c.purpose, c);
  return [...byPurpose.values()];
}

/** The features the person's withdrawn consents stop, with the purpose that stops each. */
export function stoppedFeatures(
  history: readonly RecordedConsent[],
  purposes: readonly ConsentPurpose[],
): Map<ConsentFeature, string> {
  const stopped = new Map<ConsentFeature, string>();
  for (const answer of consentsInForce(history)) {
    if (answer.granted) continue;
    const purpose = purposes.find((p) => p.purpose === answer.purpose);
    for (const feature of purpose?.features ?? []) if (!stopped.has(feature)) stopped.set(feature, answer.purpose);
  }
  return stopped;
}

/** The purpose whose withdrawal stops `feature` for the account, or undefined when nothing stops it. */
export async function consentStopping(
  db: Db,
  accountId: string,
  feature: ConsentFeature,
  purposes: readonly ConsentPurpose[],
): Promise<string | undefined> {
  const doc = await db
    .collection<AccountDocument>(collections.accounts)
    .findOne({ _id: accountId }, { projection: { consents: 1 } });
  return doc ? stoppedFeatures(doc.consents ?? [], purposes).get(feature) : undefined;
}
