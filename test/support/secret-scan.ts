/**
 * A scan for secrets and personal values in what an operator keeps: workflow histories (as Temporal exports
 * them, and decoded with the codec as Temporal Web shows them) and log lines. A value counts as found in clear,
 * in base64 or in base64url at any byte alignment (a value inside a longer encoded string shows up as an
 * aligned slice of its own encoding), and key material also in hex. Values of 12 characters or more are looked
 * up through an index of their first 12 characters, so hundreds of secrets cost one pass over each text; a
 * shorter value (a 6-digit code) must stand alone, not inside a longer run of letters or digits.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { PayloadEncryptionCodec } from '../../activities/secrets/payload-codec.js';
import { decodedPayloads } from './history.js';

/** One value the scan must not find, with what it is (for the report; the value itself is never printed). */
export interface Secret {
  kind: string;
  value: string;
}

/** A text the scan reads: one history (raw or decoded) or one log. */
export interface Haystack {
  source: string;
  text: string;
}

export interface Finding {
  kind: string;
  /** The first characters of the value, enough to tell which it was. */
  preview: string;
  form: string;
  source: string;
}

const indexLength = 12;

/** The slices of `bytes`' base64 that every encoding of a longer byte string holding `bytes` contains. */
function alignedBase64(bytes: Buffer, url: boolean): string[] {
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(url ? 'base64url' : 'base64');
    // Drop the 4-character group the prefix shares, and the last group when it holds padding or a neighbour's bits.
    const start = offset === 0 ? 0 : 4;
    const end = Math.floor((offset + bytes.length) / 3) * 4;
    if (end - start >= indexLength) forms.push(encoded.slice(start, end));
  }
  return forms;
}

/** The forms a value may take in a history or a log line. */
export function encodedForms(value: string | Buffer): Array<{ form: string; text: string }> {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const forms: Array<{ form: string; text: string }> = [];
  if (typeof value === 'string') forms.push({ form: 'clear', text: value });
  else forms.push({ form: 'hex', text: bytes.toString('hex') });
  if (bytes.length >= 9) {
    for (const text of alignedBase64(bytes, false)) forms.push({ form: 'base64', text });
    for (const text of alignedBase64(bytes, true)) forms.push({ form: 'base64url', text });
  }
  // A form equal to another (a value whose base64 and base64url agree) is looked for once.
  return forms.filter((f, i) => forms.findIndex((g) => g.text === f.text) === i);
}

/** Every secret (and personal value) the scan looks for, added as the run hands them out. */
export class SecretCatalog {
  readonly #byValue = new Map<string, { kind: string; bytes?: Buffer }>();

  /** Add a value; empty and very short ones (under 6 characters) are refused, as they would match by chance. */
  add(kind: string, value: string | undefined | null): void {
    if (value === undefined || value === null) return;
    if (value.length < 6) throw new Error(`secret-scan: a ${kind} of ${value.length} characters cannot be scanned for`);
    if (!this.#byValue.has(value)) this.#byValue.set(value, { kind });
  }

  /** Add key material (bytes): looked for in hex, base64 and base64url. */
  addKey(kind: string, bytes: Buffer): void {
    if (bytes.length < 16) throw new Error(`secret-scan: a ${kind} of ${bytes.length} bytes is not key material`);
    this.#byValue.set(`key:${bytes.toString('hex')}`, { kind, bytes });
  }

  has(value: string): boolean {
    return this.#byValue.has(value);
  }

  get size(): number {
    return this.#byValue.size;
  }

  /** How many of each kind. */
  kinds(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { kind } of this.#byValue.values()) counts[kind] = (counts[kind] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
  }

  entries(): Array<{ kind: string; value: string | Buffer; preview: string }> {
    return [...this.#byValue].map(([value, { kind, bytes }]) => ({
      kind,
      value: bytes ?? value,
      preview: bytes ? `${bytes.toString('hex').slice(0, 4)}…` : `${value.slice(0, 4)}…`,
    }));
  }
}

interface Needle {
  kind: string;
  preview: string;
  form: string;
  text: string;
}

const wordChar = /[A-Za-z0-9]/;

/** Where any of the catalog's values occurs in any of the texts, in any of its forms. */
export function scanForSecrets(catalog: SecretCatalog, haystacks: readonly Haystack[]): Finding[] {
  const index = new Map<string, Needle[]>();
  const short: Needle[] = [];
  for (const entry of catalog.entries())
    for (const { form, text } of encodedForms(entry.value)) {
      const needle = { kind: entry.kind, preview: entry.preview, form, text };
      if (text.length < indexLength) short.push(needle);
      else {
        const key = text.slice(0, indexLength);
        const list = index.get(key);
        if (list) list.push(needle);
        else index.set(key, [needle]);
      }
    }
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const found = (n: Needle, source: string) => {
    const key = `${n.kind}|${n.preview}|${n.form}|${source}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({ kind: n.kind, preview: n.preview, form: n.form, source });
  };
  for (const { source, text } of haystacks) {
    for (let i = 0; i + indexLength <= text.length; i++) {
      const candidates = index.get(text.slice(i, i + indexLength));
      if (candidates) for (const n of candidates) if (text.startsWith(n.text, i)) found(n, source);
    }
    for (const n of short) {
      for (let at = text.indexOf(n.text); at >= 0; at = text.indexOf(n.text, at + 1)) {
        const before = text[at - 1] ?? '';
        const after = text[at + n.text.length] ?? '';
        if (!wordChar.test(before) && !wordChar.test(after)) {
          found(n, source);
          break;
        }
      }
    }
  }
  return findings;
}

/** Every run a visibility query finds (continued-as-new runs and children are runs of their own). */
export async function workflowRuns(temporal: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of temporal.workflow.list({ query })) runs.push(run);
  return runs;
}

/** Every run whose workflow tasks go to one of these queues. */
export function workflowRunsOn(temporal: Client, taskQueues: readonly string[]): Promise<WorkflowExecutionInfo[]> {
  return workflowRuns(temporal, taskQueues.map((q) => `TaskQueue = "${q}"`).join(' OR '));
}

/** One run's history as the scan reads it: Temporal's JSON export (payloads in base64) and the decoded payloads. */
export async function historyHaystacks(
  temporal: Client,
  codec: PayloadEncryptionCodec,
  run: Pick<WorkflowExecutionInfo, 'workflowId' | 'runId'>,
): Promise<{ raw: Haystack; decoded: Haystack; events: number }> {
  const history = await temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
  const source = `${run.workflowId} (${run.runId})`;
  return {
    raw: { source: `history ${source}`, text: historyToJSON(history) },
    decoded: { source: `decoded history ${source}`, text: decodedPayloads(history, codec).join('\n') },
    events: history.events?.length ?? 0,
  };
}
