/**
 * The audit log: append-only and hash-chained. Each event stores the hash of the one before it and a
 * SHA-256 over its own canonical JSON, and a head record keeps the last sequence number, so editing,
 * inserting, reordering or removing any event — the last one included — breaks the chain visibly.
 *
 * Erasure must make the log forget a person while the chain still verifies (`forgetAccount`):
 * - Format 2 (every event appended today) is hashed over its *committed* form: each personal value
 *   (`personalFieldsOf`) is replaced by `sha256(salt ‖ value)`, the per-value random salt stored beside it.
 *   Forgetting deletes the clear value and its salt and keeps the commitment, so the hash still matches;
 *   a clear value that was edited no longer matches its commitment. The value's place then holds a keyed
 *   hash (HMAC under a SecretVault key) so support can still find the person's events by a known id.
 * - Format 1 (events written before format 2) was hashed over the clear values, so no keyless check can
 *   survive replacing them. Forgetting one keeps its hash (the next event's `prevHash` still points at it)
 *   and adds a redaction record MAC'ed with a SecretVault key over the event as it is now stored and that
 *   hash; `verify` accepts the event when the MAC checks, which needs the SecretVault (`audit:verify` has it).
 * Every redaction carries such a seal (format 2 too: it covers the keyed hashes, which no hash covers).
 */
import { createHash, randomBytes } from 'node:crypto';
import { MongoServerError, type Collection, type Db, type Filter } from 'mongodb';
import { collections } from '../../domain/collections.js';
import type { SecretVault } from '../secrets/port.js';
import { canonicalJson } from './canonical-json.js';

type DetailValue = string | number | boolean | null;

export interface AuditEventInput {
  /** Idempotency key: appending the same id twice stores one event. */
  eventId: string;
  action: string;
  actor: { type: 'user' | 'system' | 'support'; id: string };
  accountId?: string;
  workflowId?: string;
  /**
   * Facts about the event. Never secrets or tokens. A personal value goes under one of
   * `personalDetailKeys`, so it is committed to (and can be forgotten) rather than hashed in clear.
   */
  details?: Record<string, DetailValue>;
}

/** Where a personal value sits in an event: `actor.id`, `workflowId` or `details.<key>`. */
export type PersonalField = 'actor.id' | 'workflowId' | `details.${string}`;

/** A format-2 event's commitment to one personal value; `salt` is gone once the value is forgotten. */
export interface PersonalCommitment {
  field: PersonalField;
  /** Hex SHA-256 of the salt's bytes followed by the canonical JSON of the value. */
  commitment: string;
  /** Hex, 16 random bytes; deleted with the clear value. */
  salt?: string;
}

/** What `forgetAccount` leaves on an event: which fields now hold keyed hashes, and its SecretVault MAC. */
export interface AuditRedaction {
  at: string;
  fields: PersonalField[];
  /** `hmac(auditKeyNames.redaction, redactionSealInput(event))`. */
  seal: string;
}

export interface AuditEvent extends AuditEventInput {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
  /** 2: hashed over the committed form. Absent: format 1, hashed over the clear event. */
  format?: 2;
  personal?: PersonalCommitment[];
  redaction?: AuditRedaction;
}

type AuditDocument = AuditEvent & { _id: string };
interface HeadDocument {
  _id: 'head';
  seq: number;
  hash: string;
}

export const genesisHash = '0'.repeat(64);
const headId = 'head' as const;

/**
 * The one list of `details` keys whose values are personal data (emails, names, provider account ids,
 * subjects, network evidence). A new audit event puts such a value under one of these keys, or adds its key
 * here; `test/integration/audit-log.test.ts` shows what is forgotten.
 */
export const personalDetailKeys: ReadonlySet<string> = new Set([
  'email',
  'emailAddress',
  'to',
  'name',
  'displayName',
  'givenName',
  'familyName',
  'phone',
  'phoneNumber',
  'subject',
  'providerAccountId',
  'providerAccountIds',
  'evidence',
  'network',
  'ip',
  'ipAddress',
  'userAgent',
]);

/** Processes whose workflow id embeds the person's subject (`signup/<subject>`, see `domain/ids.ts`). */
const subjectBearingProcesses = ['signup'];

/** SecretVault key names of the audit log's forgetting. */
export const auditKeyNames = {
  /**
   * HMAC key of the keyed hashes that replace personal values (stable: support looks events up by it).
   * The erasure's audit key (`erasureKeys.audit` in `activities/erasure/store.ts`).
   */
  pseudonym: 'erasure-audit',
  /** HMAC key of the redaction seals `verify` checks. */
  redaction: 'audit-redaction',
} as const;

/** What `forgetAccount` needs from the SecretVault; `auditForgetKeysOf(vault)` builds it. */
export interface AuditForgetKeys {
  /** Keyed hash of a personal value (the same value gives the same hash). */
  pseudonym(value: string): Promise<string>;
  /** MAC of a redaction seal's input. */
  seal(input: string): Promise<string>;
}

export function auditForgetKeysOf(vault: SecretVault): AuditForgetKeys {
  return {
    pseudonym: (value) => vault.hmac(auditKeyNames.pseudonym, value),
    seal: (input) => vault.hmac(auditKeyNames.redaction, input),
  };
}

export interface VerifyOptions {
  /** Checks redaction seals (required to verify a forgotten format-1 event). A function: opened only when needed. */
  vault?: SecretVault | (() => Promise<SecretVault>);
}

export interface ForgetResult {
  /** Events of the account (or subjects) found. */
  events: number;
  /** Events that had clear personal values and now hold keyed hashes. */
  eventsForgotten: number;
  /** Personal values replaced by keyed hashes in this call (0 when called again). */
  valuesForgotten: number;
}

export type ChainBreak = { seq: number; eventId?: string; reason: string };
export type VerifyResult =
  { ok: true; events: number; headHash: string } | { ok: false; events: number; firstBreak: ChainBreak };

const sha256Hex = (input: string | Buffer) => createHash('sha256').update(input).digest('hex');

export function commitmentOf(salt: string, value: unknown): string {
  return sha256Hex(Buffer.concat([Buffer.from(salt, 'hex'), Buffer.from(canonicalJson(value), 'utf8')]));
}

/** Where the event holds personal values by today's rules (a user actor's id, subject-bearing ids, personal details). */
export function personalFieldsOf(event: AuditEventInput): PersonalField[] {
  const fields: PersonalField[] = [];
  if (event.actor.type === 'user' && event.actor.id !== '') fields.push('actor.id');
  if (event.workflowId && subjectBearingProcesses.some((p) => event.workflowId!.startsWith(`${p}/`)))
    fields.push('workflowId');
  for (const [key, value] of Object.entries(event.details ?? {})) {
    if (personalDetailKeys.has(key) && value !== null && value !== '' && typeof value !== 'boolean')
      fields.push(`details.${key}`);
  }
  return fields;
}

/** Where the event holds one of the person's known identifiers, whatever the key. */
function identifierFieldsOf(event: AuditEventInput, identifiers: ReadonlySet<string>): PersonalField[] {
  if (identifiers.size === 0) return [];
  const fields: PersonalField[] = [];
  if (identifiers.has(event.actor.id)) fields.push('actor.id');
  if (event.workflowId?.split('/').some((s) => identifiers.has(s))) fields.push('workflowId');
  for (const [key, value] of Object.entries(event.details ?? {}))
    if (typeof value === 'string' && identifiers.has(value)) fields.push(`details.${key}`);
  return fields;
}

function read(event: AuditEventInput, field: PersonalField): DetailValue | undefined {
  if (field === 'actor.id') return event.actor.id;
  if (field === 'workflowId') return event.workflowId;
  return event.details?.[field.slice('details.'.length)];
}

/** `event` with `value` at `field` (a copy: the caller's event is left alone). */
function written<T extends AuditEventInput>(event: T, field: PersonalField, value: string): T {
  if (field === 'actor.id') return { ...event, actor: { ...event.actor, id: value } };
  if (field === 'workflowId') return { ...event, workflowId: value };
  return { ...event, details: { ...event.details, [field.slice('details.'.length)]: value } };
}

/**
 * The hash `verify` expects. Format 1: SHA-256 of the canonical JSON of the event. Format 2: of its committed
 * form, each personal value replaced by `commitment:<hex>`, without the salts and the redaction record.
 */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  if (event.format !== 2) return sha256Hex(canonicalJson(event));
  const { personal, redaction: _redaction, ...body } = event;
  let committed: Omit<AuditEvent, 'hash' | 'personal' | 'redaction'> = body;
  for (const c of personal ?? []) committed = written(committed, c.field, `commitment:${c.commitment}`);
  return sha256Hex(canonicalJson({ ...committed, committedFields: (personal ?? []).map((c) => c.field) }));
}

/** What a redaction seal covers: the event as stored after the redaction (its hash included), seal aside. */
export function redactionSealInput(event: AuditEvent): string {
  const { redaction, ...stored } = event;
  return canonicalJson({
    kind: 'cra-audit-redaction/1',
    event: stored,
    redaction: { at: redaction?.at, fields: redaction?.fields },
  });
}

export class AuditLog {
  private readonly events: Collection<AuditDocument>;
  private readonly heads: Collection<HeadDocument>;

  constructor(
    db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.events = db.collection<AuditDocument>(collections.auditEvents);
    this.heads = db.collection<HeadDocument>(`${collections.auditEvents}_head`);
  }

  async ensureIndexes(): Promise<void> {
    await this.events.createIndex({ seq: 1 }, { unique: true, name: 'seq_unique' });
    await this.events.createIndex({ accountId: 1, seq: 1 }, { name: 'account_seq' });
  }

  /** Append one event (once per eventId) at the end of the chain, in format 2 (no SecretVault call). */
  async append(input: AuditEventInput): Promise<AuditEvent> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const existing = await this.events.findOne({ _id: input.eventId });
      if (existing) return strip(existing);
      // The head record, read by its _id, says where the chain ends: no sorted scan of the whole log
      // (FerretDB on SQLite does not serve `sort: {seq: -1}` from the index).
      const head = await this.heads.findOne({ _id: headId });
      const seq = (head?.seq ?? 0) + 1;
      // Through JSON once: undefined fields vanish here rather than turning into nulls in the database,
      // so the stored event hashes exactly as it was hashed now.
      const clear = JSON.parse(
        JSON.stringify({ ...input, seq, at: this.now().toISOString(), prevHash: head?.hash ?? genesisHash }),
      ) as Omit<AuditEvent, 'hash'>;
      const personal = personalFieldsOf(clear).map((field): PersonalCommitment => {
        const salt = randomBytes(16).toString('hex');
        return { field, commitment: commitmentOf(salt, read(clear, field)), salt };
      });
      const body: Omit<AuditEvent, 'hash'> = { ...clear, format: 2, personal };
      const event: AuditEvent = { ...body, hash: hashEvent(body) };
      try {
        // _id = eventId and a unique seq: a duplicate event or a concurrent writer both fail here.
        await this.events.insertOne({ _id: input.eventId, ...event });
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
        // Someone else took this sequence number and may not have moved the head yet (or crashed
        // before it could): move it for them, then try again at the new end.
        const taken = await this.events.findOne({ seq });
        if (taken) await this.advanceHead(strip(taken));
        continue;
      }
      await this.advanceHead(event);
      return event;
    }
    throw new Error('audit log: too much contention appending an event');
  }

  /** Move the head forward (never back); a crash before this leaves the head behind, which verify allows. */
  private async advanceHead(event: AuditEvent): Promise<void> {
    try {
      await this.heads.updateOne(
        { _id: headId, seq: { $lt: event.seq } },
        { $set: { seq: event.seq, hash: event.hash } },
        { upsert: true },
      );
    } catch (err) {
      // The head is already at or past this event: another writer moved it.
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
  }

  /** Events, oldest first (optionally of one account). */
  async list(filter: { accountId?: string } = {}): Promise<AuditEvent[]> {
    const docs = await this.events
      .find(filter.accountId ? { accountId: filter.accountId } : {}, { sort: { seq: 1 } })
      .toArray();
    return docs.map(strip);
  }

  /**
   * Erasure: replace every personal value in the account's events (and in events whose user actor is one of
   * `subjects`, such as those written before the account existed) with its keyed hash, so the chain still
   * verifies (see the top of this file). Personal values are those `personalFieldsOf` names, and any actor
   * id, detail value or workflow id segment equal to one of `identifiers` (the person's known ids, emails
   * and names). Each event is rewritten in one atomic replace, so a crash leaves every event either
   * forgotten or not; calling it again forgets what is left and changes nothing else.
   */
  async forgetAccount(
    accountId: string,
    keys: AuditForgetKeys,
    options: { subjects?: string[]; identifiers?: string[] } = {},
  ): Promise<ForgetResult> {
    const filter: Filter<AuditDocument> = options.subjects?.length
      ? { $or: [{ accountId }, { 'actor.type': 'user', 'actor.id': { $in: options.subjects } }] }
      : { accountId };
    const identifiers = new Set([...(options.identifiers ?? []), ...(options.subjects ?? [])].filter((v) => v !== ''));
    const result: ForgetResult = { events: 0, eventsForgotten: 0, valuesForgotten: 0 };
    for await (const doc of this.events.find(filter, { sort: { seq: 1 } })) {
      result.events++;
      const event = strip(doc);
      const already = new Set<PersonalField>(event.redaction?.fields ?? []);
      const committed = new Map((event.personal ?? []).map((c) => [c.field, c]));
      for (const c of committed.values()) if (c.salt === undefined) already.add(c.field);
      const fields = [...new Set([...personalFieldsOf(event), ...identifierFieldsOf(event, identifiers)])].filter(
        (f) => !already.has(f),
      );
      if (fields.length === 0) continue;

      let forgotten: AuditEvent = event;
      for (const field of fields) {
        const value = read(event, field);
        if (value === undefined || value === null) continue;
        forgotten = written(forgotten, field, await this.pseudonymOf(field, String(value), keys, identifiers));
      }
      if (forgotten.personal) {
        // A forgotten committed value loses its salt; its commitment stays, and the hash with it.
        const now = new Set(fields);
        forgotten = {
          ...forgotten,
          personal: forgotten.personal.map(({ salt, ...c }) =>
            now.has(c.field) || salt === undefined ? c : { ...c, salt },
          ),
        };
      }
      const redaction = { at: this.now().toISOString(), fields: [...(event.redaction?.fields ?? []), ...fields] };
      const unsealed: AuditEvent = { ...forgotten, redaction: { ...redaction, seal: '' } };
      forgotten = { ...unsealed, redaction: { ...redaction, seal: await keys.seal(redactionSealInput(unsealed)) } };
      // The hash in the filter: a concurrent forgetting of the same event wrote the same values; either wins.
      await this.events.replaceOne({ _id: doc._id, hash: event.hash }, forgotten);
      result.eventsForgotten++;
      result.valuesForgotten += fields.length;
    }
    return result;
  }

  /**
   * The keyed hash that takes a value's place. A workflow id keeps its shape: `signup/<keyed hash of the
   * subject>`, and each segment that is one of the person's identifiers replaced by its keyed hash.
   */
  private async pseudonymOf(
    field: PersonalField,
    value: string,
    keys: AuditForgetKeys,
    identifiers: ReadonlySet<string>,
  ): Promise<string> {
    if (field !== 'workflowId') return keys.pseudonym(value);
    const slash = value.indexOf('/');
    if (subjectBearingProcesses.includes(value.slice(0, slash)))
      return `${value.slice(0, slash + 1)}${await keys.pseudonym(value.slice(slash + 1))}`;
    const segments = await Promise.all(
      value.split('/').map((s) => (identifiers.has(s) ? keys.pseudonym(s) : Promise.resolve(s))),
    );
    return segments.join('/');
  }

  /** Walk the chain from the first event and name the first broken link. */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    // The head is read first: events appended while the walk runs extend the chain past it, which is
    // fine, whereas reading it last would mistake them for removed ones.
    const head = await this.heads.findOne({ _id: headId });
    let vault: SecretVault | undefined;
    const sealChecker = async (): Promise<SecretVault | undefined> => {
      if (!vault && options.vault) vault = typeof options.vault === 'function' ? await options.vault() : options.vault;
      return vault;
    };
    let expectedSeq = 1;
    let prevHash = genesisHash;
    let count = 0;
    for await (const doc of this.events.find({}, { sort: { seq: 1 } })) {
      const event = strip(doc);
      const at = { seq: event.seq, eventId: event.eventId };
      const broken = (reason: string): VerifyResult => ({ ok: false, events: count, firstBreak: { ...at, reason } });
      if (event.seq !== expectedSeq) {
        return broken(
          event.seq > expectedSeq ? `event ${expectedSeq} is missing` : `sequence number ${event.seq} appears twice`,
        );
      }
      if (event.prevHash !== prevHash)
        return broken(
          'prevHash does not match the hash of the event before it (an event was inserted, removed or reordered)',
        );
      const contents = await this.contentsBreak(event, sealChecker);
      if (contents) return broken(contents);
      if (doc._id !== event.eventId) return broken('the event id was changed');
      prevHash = event.hash;
      expectedSeq++;
      count++;
    }
    if (head && head.seq >= expectedSeq) {
      return {
        ok: false,
        events: count,
        firstBreak: {
          seq: expectedSeq,
          reason: `the log ends at event ${expectedSeq - 1} but event ${head.seq} was written: events at the end were removed`,
        },
      };
    }
    return { ok: true, events: count, headHash: prevHash };
  }

  /** Why the event's contents do not match its hash (or its redaction seal), or undefined when they do. */
  private async contentsBreak(
    event: AuditEvent,
    sealChecker: () => Promise<SecretVault | undefined>,
  ): Promise<string | undefined> {
    const edited = 'the event was edited: its hash does not match its contents';
    const { hash, ...body } = event;
    const committed = new Set((event.personal ?? []).map((c) => c.field));
    for (const c of event.format === 2 ? (event.personal ?? []) : []) {
      if (c.salt === undefined) continue;
      const value = read(event, c.field);
      if (value === undefined || commitmentOf(c.salt, value) !== c.commitment)
        return `the event was edited: its ${c.field} does not match its commitment`;
    }
    // Values the hash covers in clear (every value of a format-1 event) can only be vouched for by the seal.
    const sealedOnly = (event.redaction?.fields ?? []).filter((f) => event.format !== 2 || !committed.has(f));
    if (sealedOnly.length === 0 && hashEvent(body) !== hash) return edited;
    if (!event.redaction) {
      const forgotten = (event.personal ?? []).some((c) => c.salt === undefined);
      return forgotten ? 'a personal value was removed without a redaction record' : undefined;
    }
    const vault = await sealChecker();
    if (!vault) {
      return sealedOnly.length === 0
        ? undefined
        : 'the event was redacted over values its hash covers: its seal needs the SecretVault to be checked';
    }
    const sealed = await vault
      .verifyHmac(auditKeyNames.redaction, redactionSealInput(event), event.redaction.seal)
      .catch(() => false);
    return sealed ? undefined : 'the event was edited after its redaction: its seal does not match';
  }
}

function strip(doc: AuditDocument): AuditEvent {
  const { _id: _ignored, ...event } = doc;
  return event;
}
