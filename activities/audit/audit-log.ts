/**
 * The audit log: append-only, hash-chained and keyed. Events are chained per account (`chain: accountId`;
 * events without an account on the `global` chain), so appends for different accounts never wait on each
 * other. Each event stores the hash of the one before it on its chain, a SHA-256 over its own canonical JSON,
 * and a MAC under the SecretVault key `audit-chain` over (chain, seq, hash); each chain's head record is MAC'ed
 * over (chain, seq, hash) too, and a signed checkpoint lists every chain's head as `verify` last found it.
 * Someone who can write to the database but cannot ask the SecretVault for a MAC can recompute every hash,
 * but not a MAC: an edited, inserted, removed or re-chained event breaks its chain visibly, and a chain cut
 * back (its head rolled back to an older signed value, or removed with all its events) is found as far as the
 * last checkpoint. Only MACs are stored; the key never leaves the SecretVault.
 *
 * Events written before chains (format 1 and 2: one global sequence, unkeyed) are the `legacy` chain: the
 * first checkpoint (written by the first append, or by `verify`) signs its last seq and hash, which seals it,
 * and every chain's sequence numbers start after it, so an account's events keep one order across the change.
 *
 * Erasure must make the log forget a person while the chain still verifies (`forgetAccount`):
 * - Format 2 and 3 (every event appended since format 2) are hashed over their *committed* form: each personal
 *   value (`personalFieldsOf`) is replaced by `sha256(salt ‖ value)`, the per-value random salt stored beside it.
 *   Forgetting deletes the clear value and its salt and keeps the commitment, so the hash still matches;
 *   a clear value that was edited no longer matches its commitment. The value's place then holds a keyed
 *   hash (HMAC under a SecretVault key) so support can still find the person's events by a known id.
 * - Format 1 (events written before format 2) was hashed over the clear values, so no keyless check can
 *   survive replacing them. Forgetting one keeps its hash (the next event's `prevHash` still points at it)
 *   and adds a redaction record MAC'ed with a SecretVault key over the event as it is now stored and that
 *   hash; `verify` accepts the event when the MAC checks.
 * Every redaction carries such a seal (format 2 and 3 too: it covers the keyed hashes, which no hash covers).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MongoBulkWriteError, MongoServerError, type Collection, type Db, type Filter } from 'mongodb';
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
  /** The chain the event is on: its account id, or `global`. Absent: the legacy chain (format 1 and 2). */
  chain?: string;
  /** Position on its chain (legacy events: on the one global chain). */
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
  /**
   * 3: on a per-account chain, hashed over the committed form and MAC'ed. 2: the same hash, on the legacy
   * chain, no MAC. Absent: format 1, hashed over the clear event.
   */
  format?: 2 | 3;
  personal?: PersonalCommitment[];
  redaction?: AuditRedaction;
  /** Format 3: `hmac(auditKeyNames.chain, eventMacInput(chain, seq, hash))`. */
  mac?: string;
}

type AuditDocument = AuditEvent & { _id: string };

/** The legacy chain's head (`_id: 'head'`), unsigned: written by the log before chains. */
interface LegacyHeadDocument {
  _id: 'head';
  seq: number;
  hash: string;
}

/** A chain's head (`_id: 'chain/<chain>'`): where it ends, MAC'ed (`headMacInput`). May lag behind a crash. */
interface ChainHeadDocument {
  _id: string;
  chain: string;
  seq: number;
  hash: string;
  mac: string;
}

/**
 * The signed checkpoint (`_id: 'checkpoint'`): the legacy chain's end (its seal), where every chain's
 * numbering starts, and every chain's last event as a `verify` found it. Rewritten by each `verify` that
 * finds the log whole; the first one is written by the first append.
 */
export interface AuditCheckpoint {
  _id: 'checkpoint';
  /** 1, 2, …: one more at each rewrite. */
  n: number;
  at: string;
  legacy: { seq: number; hash: string };
  /** The first seq of every chain (`legacy.seq + 1`). */
  base: number;
  /** Each chain's last event, sorted by chain (objects: FerretDB stores no nested arrays). */
  chains: { chain: string; seq: number; hash: string }[];
  /** `hmac(auditKeyNames.chain, checkpointMacInput(checkpoint))`. */
  mac: string;
}

type HeadsDocument = LegacyHeadDocument | ChainHeadDocument | AuditCheckpoint;

export const genesisHash = '0'.repeat(64);
const legacyHeadId = 'head' as const;
const checkpointId = 'checkpoint' as const;
const chainHeadId = (chain: string) => `chain/${chain}`;

/** The chain of events without an account. */
export const globalChain = 'global';
/** The name `verify` gives the events written before chains. */
export const legacyChain = 'legacy';
/** The chain an event goes on. */
export const chainOf = (event: Pick<AuditEventInput, 'accountId'>): string => event.accountId ?? globalChain;

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
  /** HMAC key of every event's MAC, every chain head's and the checkpoint's. */
  chain: 'audit-chain',
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

/** A SecretVault, or a function that opens one when it is first needed. */
export type AuditVault = SecretVault | (() => Promise<SecretVault>);

export interface AuditLogOptions {
  /** Makes and checks the MACs (key `audit-chain`) and the redaction seals. Opened on first use. */
  vault: AuditVault;
  now?: () => Date;
}

export interface VerifyOptions {
  /** Another SecretVault than the log's own (to check with another key: a test). */
  vault?: AuditVault;
  /** Write a new signed checkpoint of what was verified when the log is whole (default true). */
  checkpoint?: boolean;
}

export interface ForgetResult {
  /** Events of the account (or subjects) found. */
  events: number;
  /** Events that had clear personal values and now hold keyed hashes. */
  eventsForgotten: number;
  /** Personal values replaced by keyed hashes in this call (0 when called again). */
  valuesForgotten: number;
}

/** Where the log is broken: the chain (`legacy` for events before chains), the seq on it, and why. */
export type ChainBreak = { chain: string; seq: number; eventId?: string; reason: string };
export type VerifyResult =
  | { ok: true; events: number; chains: number; checkpoint: number }
  | { ok: false; events: number; firstBreak: ChainBreak };

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

const isCommitted = (event: Pick<AuditEvent, 'format'>) => event.format === 2 || event.format === 3;

/**
 * The hash `verify` expects. Format 1: SHA-256 of the canonical JSON of the event. Format 2 and 3: of its
 * committed form, each personal value replaced by `commitment:<hex>`, without the salts, the redaction record
 * and the MAC (which is made over this hash).
 */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  if (!isCommitted(event)) return sha256Hex(canonicalJson(event));
  const { personal, redaction: _redaction, mac: _mac, ...body } = event;
  let committed: Omit<AuditEvent, 'hash' | 'personal' | 'redaction' | 'mac'> = body;
  for (const c of personal ?? []) committed = written(committed, c.field, `commitment:${c.commitment}`);
  return sha256Hex(canonicalJson({ ...committed, committedFields: (personal ?? []).map((c) => c.field) }));
}

/** What an event's MAC covers: its chain, its place on it and its hash (which covers everything else). */
export const eventMacInput = (chain: string, seq: number, hash: string) =>
  canonicalJson({ kind: 'cra-audit-event/1', chain, seq, hash });

/** What a chain head's MAC covers (another kind than the event's: an event's MAC is no head's). */
export const headMacInput = (chain: string, seq: number, hash: string) =>
  canonicalJson({ kind: 'cra-audit-head/1', chain, seq, hash });

/** What the checkpoint's MAC covers: all of it but the MAC. */
export function checkpointMacInput(checkpoint: Omit<AuditCheckpoint, 'mac'> & { mac?: string }): string {
  const { mac: _mac, ...body } = checkpoint;
  return canonicalJson({ kind: 'cra-audit-checkpoint/1', ...body });
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

/** How many MACs one `verify` asks the SecretVault for at once. */
const macBatch = 500;

/** One step of `verify`'s walk: an event, or the end of a chain; its MAC (if any) is checked in a batch. */
interface WalkItem {
  /** A break found without the key (links, hashes, sequence, heads, checkpoint). */
  structural?: ChainBreak;
  mac?: { input: string; mac: string; broken: ChainBreak };
  /** An event, counted once it verifies. */
  event?: AuditEvent;
}

export class AuditLog {
  private readonly events: Collection<AuditDocument>;
  private readonly heads: Collection<HeadsDocument>;
  private readonly now: () => Date;
  private readonly vaultSource: AuditVault;
  private opened?: Promise<SecretVault>;
  /** Where every chain's numbering starts: read from (or written into) the first checkpoint, once. */
  private base?: Promise<number>;

  constructor(
    private readonly db: Db,
    options: AuditLogOptions,
  ) {
    this.events = db.collection<AuditDocument>(collections.auditEvents);
    this.heads = db.collection<HeadsDocument>(`${collections.auditEvents}_head`);
    this.now = options.now ?? (() => new Date());
    this.vaultSource = options.vault;
  }

  async ensureIndexes(): Promise<void> {
    // The legacy log's one global sequence; chains number their events each from the same base.
    await this.events.dropIndex('seq_unique').catch(() => undefined);
    await this.events.createIndex({ chain: 1, seq: 1 }, { unique: true, name: 'chain_seq_unique' });
    await this.events.createIndex({ accountId: 1, seq: 1 }, { name: 'account_seq' });
  }

  private vault(): Promise<SecretVault> {
    const source = this.vaultSource;
    if (typeof source !== 'function') return Promise.resolve(source);
    if (!this.opened) {
      this.opened = source();
      // A failed open is tried again by the next call rather than remembered.
      this.opened.catch(() => (this.opened = undefined));
    }
    return this.opened;
  }

  /** Append one event (once per eventId) at the end of its account's chain, in format 3, MAC'ed. */
  async append(input: AuditEventInput): Promise<AuditEvent> {
    const chain = chainOf(input);
    const headId = chainHeadId(chain);
    const vault = await this.vault();
    for (let attempt = 0; attempt < 100; attempt++) {
      const existing = await this.events.findOne({ _id: input.eventId });
      if (existing) return strip(existing);
      // The chain's head, read by its _id, says where the chain ends: no sorted scan (FerretDB on SQLite
      // does not serve `sort: {seq: -1}` from the index).
      const [head, base] = await Promise.all([
        this.heads.findOne({ _id: headId }) as Promise<ChainHeadDocument | null>,
        this.chainBase(vault),
      ]);
      const seq = head ? head.seq + 1 : base;
      // Through JSON once: undefined fields vanish here rather than turning into nulls in the database,
      // so the stored event hashes exactly as it was hashed now.
      const clear = JSON.parse(
        JSON.stringify({ ...input, chain, seq, at: this.now().toISOString(), prevHash: head?.hash ?? genesisHash }),
      ) as Omit<AuditEvent, 'hash'>;
      const personal = personalFieldsOf(clear).map((field): PersonalCommitment => {
        const salt = randomBytes(16).toString('hex');
        return { field, commitment: commitmentOf(salt, read(clear, field)), salt };
      });
      const body: Omit<AuditEvent, 'hash'> = { ...clear, format: 3, personal };
      const hash = hashEvent(body);
      const [mac, headMac] = await vault.hmacMany(auditKeyNames.chain, [
        eventMacInput(chain, seq, hash),
        headMacInput(chain, seq, hash),
      ]);
      const event: AuditEvent = { ...body, hash, mac: mac! };
      try {
        // _id = eventId and a unique (chain, seq): a duplicate event or a concurrent writer both fail here.
        await this.events.insertOne({ _id: input.eventId, ...event });
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
        // Someone else took this place and may not have moved the head yet (or crashed before it could):
        // move it for them, then try again at the new end.
        const taken = await this.events.findOne({ chain, seq });
        if (taken) await this.advanceHeadTo(vault, strip(taken));
        continue;
      }
      await this.advanceHead({ _id: headId, chain, seq, hash, mac: headMac! });
      return event;
    }
    throw new Error('audit log: too much contention appending an event');
  }

  /**
   * Append several events of one account (once per eventId each), in order, as one write: the events that
   * are new go at the end of the chain together, with one MAC request and one head move (a signup's five
   * events cost what one did). A concurrent writer on the same chain, or an event another attempt stored
   * meanwhile, sends the rest through `append` one by one, which sorts either out.
   */
  async appendMany(inputs: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    const unique = [...new Map(inputs.map((i) => [i.eventId, i])).values()];
    const oneByOne = async () => {
      const appended: AuditEvent[] = [];
      for (const input of unique) appended.push(await this.append(input));
      return appended;
    };
    if (unique.length <= 1 || new Set(unique.map(chainOf)).size > 1) return oneByOne();
    const chain = chainOf(unique[0]!);
    const headId = chainHeadId(chain);
    const vault = await this.vault();
    // No look-up of the ids first (FerretDB on SQLite scans the whole log for an `$in` on _id): an event
    // stored already fails the insert below, like a writer that took our place, and both go one by one.
    const [head, base] = await Promise.all([
      this.heads.findOne({ _id: headId }) as Promise<ChainHeadDocument | null>,
      this.chainBase(vault),
    ]);
    const at = this.now().toISOString();
    let seq = head ? head.seq : base - 1;
    let prevHash = head?.hash ?? genesisHash;
    const bodies = unique.map((input) => {
      seq++;
      // As in `append`: through JSON once, so the stored event hashes exactly as it is hashed here.
      const clear = JSON.parse(JSON.stringify({ ...input, chain, seq, at, prevHash })) as Omit<AuditEvent, 'hash'>;
      const personal = personalFieldsOf(clear).map((field): PersonalCommitment => {
        const salt = randomBytes(16).toString('hex');
        return { field, commitment: commitmentOf(salt, read(clear, field)), salt };
      });
      const body: Omit<AuditEvent, 'hash'> = { ...clear, format: 3, personal };
      const hash = hashEvent(body);
      prevHash = hash;
      return { ...body, hash };
    });
    const macs = await vault.hmacMany(
      auditKeyNames.chain,
      bodies.flatMap((b) => [eventMacInput(chain, b.seq, b.hash), headMacInput(chain, b.seq, b.hash)]),
    );
    const events: AuditEvent[] = bodies.map((b, i) => ({ ...b, mac: macs[2 * i]! }));
    const headOf = (i: number): ChainHeadDocument => ({
      _id: headId,
      chain,
      seq: events[i]!.seq,
      hash: events[i]!.hash,
      mac: macs[2 * i + 1]!,
    });
    try {
      // Ordered: a failure leaves the events before it stored, in their places, and none after it.
      await this.events.insertMany(
        events.map((e, i) => ({ _id: unique[i]!.eventId, ...e })),
        { ordered: true },
      );
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      const inserted = err instanceof MongoBulkWriteError ? err.insertedCount : 0;
      if (inserted > 0) await this.advanceHead(headOf(inserted - 1));
      return oneByOne();
    }
    await this.advanceHead(headOf(events.length - 1));
    return events;
  }

  /** Sign a head for an event another writer stored, once its own MAC shows the log wrote it. */
  private async advanceHeadTo(vault: SecretVault, event: AuditEvent): Promise<void> {
    const chain = event.chain ?? '';
    if (
      !event.mac ||
      !(await vault.verifyHmac(auditKeyNames.chain, eventMacInput(chain, event.seq, event.hash), event.mac))
    )
      throw new Error(`audit log: event ${event.seq} of chain ${chain} carries no valid MAC; run audit:verify`);
    const mac = await vault.hmac(auditKeyNames.chain, headMacInput(chain, event.seq, event.hash));
    await this.advanceHead({ _id: chainHeadId(chain), chain, seq: event.seq, hash: event.hash, mac });
  }

  /** Move a head forward (never back); a crash before this leaves the head behind, which verify allows. */
  private async advanceHead(head: ChainHeadDocument): Promise<void> {
    try {
      await this.heads.updateOne(
        { _id: head._id, seq: { $lt: head.seq } },
        { $set: { chain: head.chain, seq: head.seq, hash: head.hash, mac: head.mac } },
        { upsert: true },
      );
    } catch (err) {
      // The head is already at or past this event: another writer moved it.
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    }
  }

  /** The first seq of every chain, sealing the legacy chain in the first checkpoint when there is none yet. */
  private chainBase(vault: SecretVault): Promise<number> {
    if (!this.base) {
      this.base = this.firstCheckpoint(vault).then((c) => c.base);
      this.base.catch(() => (this.base = undefined));
    }
    return this.base;
  }

  private async firstCheckpoint(vault: SecretVault): Promise<AuditCheckpoint> {
    const found = (await this.heads.findOne({ _id: checkpointId })) as AuditCheckpoint | null;
    if (found) return found;
    const legacy = await this.legacyEnd();
    const checkpoint = await this.signCheckpoint(vault, { n: 1, legacy, base: legacy.seq + 1, chains: [] });
    try {
      await this.heads.insertOne(checkpoint);
      return checkpoint;
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      // Another writer sealed it first, from the same legacy chain.
      return (await this.heads.findOne({ _id: checkpointId })) as AuditCheckpoint;
    }
  }

  /** The legacy chain's last event: its head, and any event a crashed writer stored past it. */
  private async legacyEnd(): Promise<{ seq: number; hash: string }> {
    const head = (await this.heads.findOne({ _id: legacyHeadId })) as LegacyHeadDocument | null;
    const end = { seq: head?.seq ?? 0, hash: head?.hash ?? genesisHash };
    for (;;) {
      const next = await this.events.findOne({ seq: end.seq + 1, chain: { $exists: false } });
      if (!next) return end;
      end.seq = next.seq;
      end.hash = next.hash;
    }
  }

  private async signCheckpoint(
    vault: SecretVault,
    body: Omit<AuditCheckpoint, '_id' | 'at' | 'mac'>,
  ): Promise<AuditCheckpoint> {
    const unsigned = { _id: checkpointId, at: this.now().toISOString(), ...body };
    return { ...unsigned, mac: await vault.hmac(auditKeyNames.chain, checkpointMacInput(unsigned)) };
  }

  /** Events, oldest first on each chain: of one account, or of one chain (`globalChain`), or all. */
  list(filter: AuditListFilter = {}): Promise<AuditEvent[]> {
    return auditEventsOf(this.db, filter);
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

  /**
   * Walk every chain from its first event and name the first broken link: each event's sequence, link,
   * contents and MAC; each chain's signed head; and the signed checkpoint (every chain it lists must still
   * reach the event it saw). When the log is whole, signs a new checkpoint of what it found (unless
   * `checkpoint: false`), so a later cut is found as far back as this run.
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    const vault = options.vault
      ? typeof options.vault === 'function'
        ? await options.vault()
        : options.vault
      : await this.vault();
    // Heads and checkpoint are read first: events appended while the walk runs extend chains past them,
    // which is fine, whereas reading them last would mistake them for removed ones.
    const stored = await this.heads.find({}).toArray();
    const checkpoint = stored.find((d): d is AuditCheckpoint => d._id === checkpointId);
    const legacyHead = stored.find((d): d is LegacyHeadDocument => d._id === legacyHeadId);
    const chainHeads = new Map<string, ChainHeadDocument>();
    for (const d of stored)
      if (d._id.startsWith('chain/')) chainHeads.set(d._id.slice('chain/'.length), d as ChainHeadDocument);
    if (checkpoint) {
      const signed = await vault
        .verifyHmac(auditKeyNames.chain, checkpointMacInput(checkpoint), String(checkpoint.mac))
        .catch(() => false);
      if (!signed)
        return {
          ok: false,
          events: 0,
          firstBreak: { chain: 'checkpoint', seq: 0, reason: 'the checkpoint was edited: its MAC does not match' },
        };
    }
    const checkpointed = new Map((checkpoint?.chains ?? []).map(({ chain, seq, hash }) => [chain, { seq, hash }]));

    const items: WalkItem[] = [];
    let verified = 0;
    /** Checks the MACs of the items so far in one SecretVault call; the first break in walk order, if any. */
    const flush = async (): Promise<ChainBreak | undefined> => {
      const keyed = items.filter((i) => i.mac);
      const expected = keyed.length
        ? await vault.hmacMany(
            auditKeyNames.chain,
            keyed.map((i) => i.mac!.input),
          )
        : [];
      const good = new Set<WalkItem>();
      for (const [k, item] of keyed.entries()) {
        // Same key version: compare; an older version (a rotation since) or a mismatch: ask the SecretVault.
        const ok =
          sameMac(expected[k]!, item.mac!.mac) ||
          (await vault.verifyHmac(auditKeyNames.chain, item.mac!.input, item.mac!.mac).catch(() => false));
        if (ok) good.add(item);
      }
      for (const item of items) {
        if (item.structural) return item.structural;
        if (item.mac && !good.has(item)) return item.mac.broken;
        if (item.event) verified++;
      }
      items.length = 0;
      return undefined;
    };
    const failed = (firstBreak: ChainBreak): VerifyResult => ({ ok: false, events: verified, firstBreak });

    /** The chain being walked. `expect`: events the chain must still hold (from its head and the checkpoint). */
    interface Walk {
      chain: string | undefined;
      name: string;
      expectedSeq: number;
      prevHash: string;
      last?: { seq: number; hash: string };
      expect: { seq: number; hash: string; rewritten: string; cut: (end: number) => string }[];
    }
    const seen = new Map<string | undefined, { seq: number; hash: string }>();
    const start = (chain: string | undefined): Walk => {
      const walk: Walk = {
        chain,
        name: chain ?? legacyChain,
        expectedSeq: chain === undefined ? 1 : (checkpoint?.base ?? 1),
        prevHash: genesisHash,
        expect: [],
      };
      if (chain === undefined && checkpoint && checkpoint.legacy.seq > 0) {
        walk.expect.push({
          ...checkpoint.legacy,
          rewritten: 'the legacy chain was rewritten: this is not the event the checkpoint sealed',
          cut: (end) =>
            `the legacy chain, sealed at event ${checkpoint.legacy.seq} by the checkpoint, ends at event ${end}: events at the end were removed`,
        });
      } else if (chain === undefined && !checkpoint && legacyHead) {
        walk.expect.push({
          seq: legacyHead.seq,
          hash: legacyHead.hash,
          rewritten: 'the event at the head is not the one the head names',
          cut: (end) =>
            `the log ends at event ${end} but event ${legacyHead.seq} was written: events at the end were removed`,
        });
      }
      const head = chain === undefined ? undefined : chainHeads.get(chain);
      if (head)
        walk.expect.push({
          seq: head.seq,
          hash: head.hash,
          rewritten: 'the event at the chain’s head is not the one the head was signed for: the chain was rewritten',
          cut: (end) =>
            `the chain’s head says event ${head.seq} was written but the chain ends at event ${end}: events at the end were removed`,
        });
      const saw = chain === undefined ? undefined : checkpointed.get(chain);
      if (saw)
        walk.expect.push({
          ...saw,
          rewritten: `the chain was rewritten: this is not the event checkpoint ${checkpoint!.n} saw`,
          cut: (end) =>
            `checkpoint ${checkpoint!.n} saw event ${saw.seq} of this chain, but it ends at event ${end}: events were removed or its head rolled back`,
        });
      return walk;
    };
    /** The end of a chain: its head's MAC, then whatever it should still hold. */
    const finish = (walk: Walk) => {
      const head = walk.chain === undefined ? undefined : chainHeads.get(walk.chain);
      if (head)
        items.push({
          mac: {
            input: headMacInput(walk.name, head.seq, head.hash),
            mac: String(head.mac),
            broken: {
              chain: walk.name,
              seq: head.seq,
              reason: 'the chain’s head was rewritten without the key: its MAC does not match',
            },
          },
        });
      const end = walk.last?.seq ?? walk.expectedSeq - 1;
      for (const e of walk.expect)
        if (!walk.last || e.seq > walk.last.seq)
          items.push({ structural: { chain: walk.name, seq: e.seq, reason: e.cut(end) } });
      if (walk.last) seen.set(walk.chain, walk.last);
    };

    let walk: Walk | undefined;
    for await (const doc of this.events.find({}, { sort: { chain: 1, seq: 1 } })) {
      const event = strip(doc);
      if (!walk || walk.chain !== event.chain) {
        if (walk) finish(walk);
        walk = start(event.chain);
      }
      const at = { chain: walk.name, seq: event.seq, eventId: event.eventId };
      const broken = (reason: string): ChainBreak => ({ ...at, reason });
      const item: WalkItem = { event };
      const legacy = event.chain === undefined;
      const contents = await this.contentsBreak(event, vault);
      const expected = walk.expect.find((e) => e.seq === event.seq && e.hash !== event.hash);
      if (event.seq !== walk.expectedSeq)
        item.structural = broken(
          event.seq > walk.expectedSeq
            ? `event ${walk.expectedSeq} is missing`
            : `sequence number ${event.seq} appears twice`,
        );
      else if (event.prevHash !== walk.prevHash)
        item.structural = broken(
          'prevHash does not match the hash of the event before it (an event was inserted, removed or reordered)',
        );
      else if (contents) item.structural = broken(contents);
      else if (doc._id !== event.eventId) item.structural = broken('the event id was changed');
      else if (legacy && event.format === 3) item.structural = broken('a keyed event without a chain');
      else if (!legacy && event.format !== 3) item.structural = broken('an unkeyed event on a keyed chain');
      else if (!legacy && chainOf(event) !== event.chain)
        item.structural = broken('the event’s account does not match its chain');
      else if (!legacy && !checkpoint) item.structural = broken('the signed checkpoint is missing: it was removed');
      else if (legacy && checkpoint && event.seq > checkpoint.legacy.seq)
        item.structural = broken('an event was added to the legacy chain after the checkpoint sealed it');
      else if (expected) item.structural = broken(expected.rewritten);
      if (!legacy)
        item.mac = {
          input: eventMacInput(walk.name, event.seq, event.hash),
          mac: String(event.mac ?? ''),
          broken: broken('the event’s MAC does not match: it was edited, inserted or re-chained without the key'),
        };
      items.push(item);
      walk.expectedSeq++;
      walk.prevHash = event.hash;
      walk.last = { seq: event.seq, hash: event.hash };
      if (item.structural || items.length >= macBatch) {
        const found = await flush();
        if (found) return failed(found);
      }
    }
    if (walk) finish(walk);
    // Chains that a head or the checkpoint names but that hold no event at all.
    if (!seen.has(undefined) && checkpoint && checkpoint.legacy.seq > 0)
      items.push({
        structural: {
          chain: legacyChain,
          seq: 1,
          reason: 'every event of the legacy chain the checkpoint sealed is gone',
        },
      });
    if (!seen.has(undefined) && !checkpoint && legacyHead && legacyHead.seq > 0)
      items.push({
        structural: {
          chain: legacyChain,
          seq: 1,
          reason: `the log is empty but event ${legacyHead.seq} was written: events at the end were removed`,
        },
      });
    for (const chain of new Set([...chainHeads.keys(), ...checkpointed.keys()]))
      if (!seen.has(chain))
        items.push({
          structural: {
            chain,
            seq: chainHeads.get(chain)?.seq ?? checkpointed.get(chain)!.seq,
            reason: `the chain ${checkpointed.has(chain) ? `is in checkpoint ${checkpoint!.n}` : 'has a head'} but none of its events is left: they were removed`,
          },
        });
    const found = await flush();
    if (found) return failed(found);

    const chains = [...seen].filter((e): e is [string, { seq: number; hash: string }] => e[0] !== undefined);
    let n = checkpoint?.n ?? 0;
    if (options.checkpoint !== false) {
      const legacyEnd = checkpoint?.legacy ?? seen.get(undefined) ?? { seq: 0, hash: genesisHash };
      const next = await this.signCheckpoint(vault, {
        n: n + 1,
        legacy: legacyEnd,
        base: checkpoint?.base ?? legacyEnd.seq + 1,
        chains: chains
          .map(([chain, e]) => ({ chain, seq: e.seq, hash: e.hash }))
          .sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0)),
      });
      // Another verify that got there first wins; so does an append's first checkpoint.
      if (checkpoint) {
        const written = await this.heads.replaceOne({ _id: checkpointId, n: checkpoint.n }, next);
        if (written.modifiedCount === 1) n = next.n;
      } else {
        try {
          await this.heads.insertOne(next);
          n = next.n;
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
        }
      }
    }
    return { ok: true, events: verified, chains: seen.size, checkpoint: n };
  }

  /** Why the event's contents do not match its hash (or its redaction seal), or undefined when they do. */
  private async contentsBreak(event: AuditEvent, vault: SecretVault): Promise<string | undefined> {
    const edited = 'the event was edited: its hash does not match its contents';
    const { hash, ...body } = event;
    const committed = new Set((event.personal ?? []).map((c) => c.field));
    for (const c of isCommitted(event) ? (event.personal ?? []) : []) {
      if (c.salt === undefined) continue;
      const value = read(event, c.field);
      if (value === undefined || commitmentOf(c.salt, value) !== c.commitment)
        return `the event was edited: its ${c.field} does not match its commitment`;
    }
    // Values the hash covers in clear (every value of a format-1 event) can only be vouched for by the seal.
    const sealedOnly = (event.redaction?.fields ?? []).filter((f) => !isCommitted(event) || !committed.has(f));
    if (sealedOnly.length === 0 && hashEvent(body) !== hash) return edited;
    if (!event.redaction) {
      const forgotten = (event.personal ?? []).some((c) => c.salt === undefined);
      return forgotten ? 'a personal value was removed without a redaction record' : undefined;
    }
    const sealed = await vault
      .verifyHmac(auditKeyNames.redaction, redactionSealInput(event), event.redaction.seal)
      .catch(() => false);
    return sealed ? undefined : 'the event was edited after its redaction: its seal does not match';
  }
}

export interface AuditListFilter {
  accountId?: string;
  chain?: string;
}

/** `AuditLog.list` for a reader without the SecretVault: listing checks nothing. */
export async function auditEventsOf(db: Db, filter: AuditListFilter = {}): Promise<AuditEvent[]> {
  const events = db.collection<AuditDocument>(collections.auditEvents);
  // An account's legacy events (the one global seq) come before its chain's, which start after them.
  const docs = filter.accountId
    ? await events.find({ accountId: filter.accountId }, { sort: { seq: 1 } }).toArray()
    : await events.find(filter.chain ? { chain: filter.chain } : {}, { sort: { chain: 1, seq: 1 } }).toArray();
  return docs.map(strip);
}

/** Two MAC strings equal, compared in constant time. */
function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function strip(doc: AuditDocument): AuditEvent {
  const { _id: _ignored, ...event } = doc;
  return event;
}
