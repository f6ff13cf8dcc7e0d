/**
 * BENCHMARKS.md: one section per benchmark between `<!-- bench:<name>:start/end -->` markers, so a run
 * replaces only its own section and leaves the others (and any hand-written text) alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../deploy/local/tools.js';

export const benchmarksFile = join(projectRoot, 'BENCHMARKS.md');

const preamble = `# Benchmarks

Measured with \`npm run bench -- <name>\`. Every benchmark measures CRA and a baseline in the same run
on the same machine, and the ratios are what to compare between runs and machines: absolute numbers
move with the hardware, ratios much less. Speed is never asserted in tests; it is recorded here.
`;

export function writeSection(name: string, body: string, file = benchmarksFile): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : preamble;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}

export function machineSummary(): { cores: number; cpu: string; node: string; os: string; memoryGiB: number } {
  const all = cpus();
  return {
    cores: all.length,
    cpu: all[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${platform()} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** A Markdown table, columns padded so the file also reads well as plain text. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}
