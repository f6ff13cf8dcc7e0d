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

/** A person's consents as `GET /v1/me/consents` shows them. */
export interface ConsentsView {
  purposes: ConsentPurpose[];
  /** The answer in force per purpose; `upToDate` when it answers the configured version. */
  current: Array<RecordedConsent & { upToDate: boolean }>;
  /** Every answer ever recorded, oldest first. */
  history: RecordedConsent[];
  stopped: Array<{ feature: ConsentFeature; purpose: string }>;
}

export function consentsView(history: readonly RecordedConsent[], purposes: readonly ConsentPurpose[]): ConsentsView {
  return {
    purposes: [...purposes],
    current: consentsInForce(history).map((c) => ({
      ...c,
      upToDate: purposes.some((p) => p.purpose === c.purpose && p.version === c.version),
    })),
    history: [...history],
    stopped: [...stoppedFeatures(history, purposes)].map(([feature, purpose]) => ({ feature, purpose })),
  };
}

/** What `GET /v1/me` says is still to be answered: see `consentsRequiredSchema` in `api/routes/me.ts`. */
export interface ConsentsRequired {
  missing: Array<{ purpose: string; version: string; required: boolean }>;
  outdated: Array<{ purpose: string; given: string; current: string; required: boolean }>;
}

/**
 * Missing: a required purpose without a grant in force (never answered, or refused), or an optional one
 * never answered (a refusal of an optional purpose is an answer, not asked again). Outdated: a grant of a
 * version other than the configured one. Purposes no longer configured are left out.
 */
export function consentsRequired(
  history: readonly RecordedConsent[],
  purposes: readonly ConsentPurpose[],
): ConsentsRequired {
  const inForce = new Map(consentsInForce(history).map((c) => [c.purpose, c]));
  const out: ConsentsRequired = { missing: [], outdated: [] };
  for (const p of purposes) {
    const answer = inForce.get(p.purpose);
    if (!answer || (p.required && !answer.granted))
      out.missing.push({ purpose: p.purpose, version: p.version, required: p.required });
    else if (answer.granted && answer.version !== p.version)
      out.outdated.push({ purpose: p.purpose, given: answer.version, current: p.version, required: p.required });
  }
  return out;
}
