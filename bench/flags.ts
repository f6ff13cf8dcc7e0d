/** Command-line flags for `npm run bench`: `--name value`, `--name=value`, or a bare `--name` (true). */

export class UsageError extends Error {
  override name = 'UsageError';
}

export type Flags = Map<string, string | true>;

export function parseFlags(args: readonly string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const match = arg.match(/^--([a-z][a-z0-9-]*)(?:=(.*))?$/);
    if (!match) throw new UsageError(`unexpected argument "${arg}"`);
    const [, name, inline] = match;
    const following = args[i + 1];
    if (inline !== undefined) flags.set(name!, inline);
    else if (following !== undefined && !following.startsWith('--')) {
      flags.set(name!, following);
      i++;
    } else flags.set(name!, true);
  }
  return flags;
}

/** Fail on any flag the benchmark does not know, so a typo never runs the defaults silently. */
export function rejectUnknown(flags: Flags, known: readonly string[]): void {
  const unknown = [...flags.keys()].filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new UsageError(`unknown flag${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `--${k}`).join(', ')}`);
}

export function intFlag(flags: Flags, name: string, fallback: number, min = 1, max = 100_000): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = raw === true ? Number.NaN : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new UsageError(`--${name} takes a whole number from ${min} to ${max}`);
  return value;
}

export function intListFlag(flags: Flags, name: string, fallback: number[], min = 1, max = 1000): number[] {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const values = raw === true ? [] : raw.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min || v > max)) {
    throw new UsageError(`--${name} takes comma-separated whole numbers from ${min} to ${max}, e.g. 1,8`);
  }
  return [...new Set(values)];
}

export function boolFlag(flags: Flags, name: string): boolean {
  const raw = flags.get(name);
  if (raw === undefined) return false;
  if (raw === true || raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new UsageError(`--${name} takes no value (or true/false)`);
}
