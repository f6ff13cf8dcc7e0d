/**
 * Faults injected into the data API on demand, so tests can see a sync back off and retry: the next n
 * data requests of a provider (or of one of its kinds) are answered 429, 500 or 503, or slowly.
 * Faults queue in the order injected; a request takes the first that matches it.
 */
import { SandboxDataError } from './datasets.js';

export type FaultStatus = 429 | 500 | 503;

export interface SandboxFault {
  /** The status answered instead of a page; without one, `delayMs` only slows the page down. */
  status?: FaultStatus;
  /** How many data requests it answers; default 1. */
  times?: number;
  /** `Retry-After` (seconds) on a 429 or 503; a 429 has 1 unless told. */
  retryAfterSeconds?: number;
  /** Wait this long before answering, with the fault's status or with the page. */
  delayMs?: number;
  /** Only requests for this kind; default any kind of the provider. */
  kind?: string;
}

export interface SandboxFaultControl {
  /** Queues a fault for the provider's data requests; throws `SandboxDataError` for a fault that makes no sense. */
  inject(provider: string, fault: SandboxFault): void;
  /** Forgets every fault not yet fired, of every provider. */
  clear(): void;
}

/** A fault as it fires on one request. */
export interface FiredFault {
  status: FaultStatus | undefined;
  retryAfterSeconds: number | undefined;
  delayMs: number;
}

interface QueuedFault extends FiredFault {
  provider: string;
  kind: string | undefined;
  remaining: number;
}

const statuses: readonly number[] = [429, 500, 503];
const maxTimes = 1_000_000;
/** Longer than any client's patience is not a slow response but a hang; tests wanting that can close the sandbox. */
const maxDelayMs = 120_000;
const maxRetryAfterSeconds = 86_400;

export class SandboxFaults implements SandboxFaultControl {
  readonly #queue: QueuedFault[] = [];
  readonly #kindsOf: (provider: string) => readonly string[];

  /** `kindsOf` throws for a provider the sandbox does not serve. */
  constructor(kindsOf: (provider: string) => readonly string[]) {
    this.#kindsOf = kindsOf;
  }

  inject(provider: string, fault: SandboxFault): void {
    this.#queue.push({ provider, ...validFault(fault, this.#kindsOf(provider), provider) });
  }

  clear(): void {
    this.#queue.length = 0;
  }

  /** The fault this request gets, if any; firing it uses up one of its times. */
  take(provider: string, kind: string): FiredFault | undefined {
    const at = this.#queue.findIndex((f) => f.provider === provider && (f.kind === undefined || f.kind === kind));
    const fault = this.#queue[at];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#queue.splice(at, 1);
    return { status: fault.status, retryAfterSeconds: fault.retryAfterSeconds, delayMs: fault.delayMs };
  }
}

/** Checks a fault given in code or as an HTTP body (`unknown`), the same way. */
function validFault(input: unknown, kinds: readonly string[], provider: string): Omit<QueuedFault, 'provider'> {
  const bad = (message: string): never => {
    throw new SandboxDataError(400, 'invalid_request', `a fault: ${message}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return bad('a JSON object such as {"status": 429, "times": 2, "retryAfterSeconds": 1}');
  const { status, times, retryAfterSeconds, delayMs, kind, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    bad(`unknown field ${unknown.join(', ')} (the fields are status, times, retryAfterSeconds, delayMs and kind)`);
  const whole = (value: unknown, name: string, min: number, max: number): number | undefined => {
    if (value === undefined) return undefined;
    return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? value
      : bad(`${name} is a whole number from ${min} to ${max}`);
  };
  if (status !== undefined && !statuses.includes(status as number)) bad(`status is one of ${statuses.join(', ')}`);
  const count = whole(times, 'times', 1, maxTimes) ?? 1;
  const delay = whole(delayMs, 'delayMs', 0, maxDelayMs) ?? 0;
  const retryAfter = whole(retryAfterSeconds, 'retryAfterSeconds', 0, maxRetryAfterSeconds);
  if (status === undefined && delay === 0) bad('give a status, a delayMs, or both');
  if (retryAfter !== undefined && status !== 429 && status !== 503)
    bad('retryAfterSeconds goes with status 429 or 503');
  if (kind !== undefined && (typeof kind !== 'string' || !kinds.includes(kind)))
    bad(`${provider} has no data kind ${JSON.stringify(kind)}`);
  return {
    status: status as FaultStatus | undefined,
    remaining: count,
    delayMs: delay,
    retryAfterSeconds: retryAfter ?? (status === 429 ? 1 : undefined),
    kind: kind as string | undefined,
  };
}
