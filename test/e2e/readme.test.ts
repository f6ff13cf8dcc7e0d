/**
 * The README as a newcomer pastes it: every `sh` block, in order, in one shell, against the stack `npm start`
 * runs (started as `deploy/local/start.ts`, with the variables of the README's own `VAR=… npm start` blocks),
 * each `# → <status> {json}` written under a command checked loosely against what the command printed (the
 * status its last curl answered; the keys and literal values of the JSON, `…` and `<placeholder>` matching
 * anything); then Ctrl-C stops it quietly and a restart still has the account and its workflows. The set-up
 * block (`npm install && npm start`, `npm test`) is not run: it is this run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/services.js';
import { projectRoot } from '../../deploy/local/tools.js';

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'cra-readme-'));
const dataDir = join(work, 'data');
/** Files the README's commands write into the project folder; removed afterwards unless they were there. */
const written = ['export.zip', 'erasure.json'].filter((f) => !existsSync(join(projectRoot, f)));
let launcher: ChildProcess | undefined;
let shell: ChildProcess | undefined;

afterAll(async () => {
  shell?.kill('SIGKILL');
  if (launcher && launcher.exitCode === null) {
    launcher.kill('SIGTERM');
    await new Promise((r) => launcher!.once('exit', r));
  }
  for (const f of written) rmSync(join(projectRoot, f), { force: true });
  rmSync(work, { recursive: true, force: true });
});

interface Segment {
  /** The block's number (1-based, among all fenced blocks) and first line, to name it in a failure. */
  block: string;
  script: string;
  /** The `# → …` written right after the commands, if any. */
  expected?: string;
}

/** `sh` blocks, in order. */
function shellBlocks(markdown: string): Array<{ name: string; lines: string[] }> {
  const blocks: Array<{ name: string; lines: string[] }> = [];
  const fence = /^```(\S*)\n([\s\S]*?)^```$/gm;
  let n = 0;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    n++;
    if (m[1] !== 'sh') continue;
    const lines = m[2]!.replace(/\n$/, '').split('\n');
    blocks.push({ name: `block ${n} ("${lines[0]}")`, lines });
  }
  return blocks;
}

const startsTheStack = /^((?:[A-Z_][A-Z0-9_]*=(?:'[^']*'|"[^"]*"|\S+)\s+)*)npm start\s*(#.*)?$/;
const isSetUp = (lines: string[]) => lines.some((l) => /^npm (install|test)\b/.test(l));

/** The variables of the README's `VAR=… npm start` lines. */
function stackVariables(lines: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of lines) {
    const assignments = startsTheStack.exec(line)?.[1] ?? '';
    for (const a of assignments.matchAll(/([A-Z_][A-Z0-9_]*)=('([^']*)'|"([^"]*)"|(\S+))/g))
      vars[a[1]!] = a[3] ?? a[4] ?? a[5]!;
  }
  return vars;
}

/** A block cut after each `# → …`: the commands before it are what it describes. */
function segments(block: { name: string; lines: string[] }): Segment[] {
  const out: Segment[] = [];
  let pending: string[] = [];
  const close = (expected?: string) => {
    if (pending.some((l) => l.trim() && !l.trim().startsWith('#')))
      out.push({ block: block.name, script: pending.join('\n'), ...(expected ? { expected } : {}) });
    pending = [];
  };
  for (const line of block.lines) {
    const own = /^# → (.*)$/.exec(line);
    if (own) {
      close(own[1]);
      continue;
    }
    pending.push(line);
    const trailing = /\s# → (.*)$/.exec(line);
    if (trailing) close(trailing[1]);
  }
  close();
  return out;
}

const any = Symbol('…');
type Expected = typeof any | RegExp | string | number | boolean | null | Expected[] | { [k: string]: Expected };

/** `202 {"a":"…","b":{…},…}` → the status and a pattern of the JSON (`…` and `<placeholder>` match anything). */
function expectation(text: string): { status?: number; json?: Expected } {
  const m = /^(\d{3})?\s*(\{.*\})?/.exec(text.trim())!;
  const out: { status?: number; json?: Expected } = {};
  if (m[1]) out.status = Number(m[1]);
  if (!m[2]) return out;
  const wild = '\u0000any';
  const source = m[2]
    .replace(/,\s*…(?=\s*[}\]])/g, '')
    .replace(/\{…\}|\[…\]/g, `"${wild}"`)
    .replace(/(?<=[:,[]\s*)…(?=\s*[,}\]])/g, `"${wild}"`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    return out; // prose, not JSON: nothing to compare
  }
  const toPattern = (v: unknown): Expected => {
    if (v === wild) return any;
    if (typeof v === 'string' && /…|<[a-zA-Z]+>/.test(v))
      return new RegExp(
        `^${v
          .split(/…|<[a-zA-Z]+>/)
          .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
    if (Array.isArray(v)) return v.map(toPattern);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPattern(x)]));
    return v as Expected;
  };
  out.json = toPattern(parsed);
  return out;
}

/** Where `actual` differs from the pattern (extra keys are fine), or undefined. */
function mismatch(pattern: Expected, actual: unknown, path = '$'): string | undefined {
  if (pattern === any) return actual === undefined ? `${path} is missing` : undefined;
  if (pattern instanceof RegExp)
    return typeof actual === 'string' && pattern.test(actual) ? undefined : `${path}: ${JSON.stringify(actual)}`;
  if (Array.isArray(pattern)) {
    if (!Array.isArray(actual) || actual.length !== pattern.length) return `${path}: ${JSON.stringify(actual)}`;
    return pattern.map((p, i) => mismatch(p, actual[i], `${path}[${i}]`)).find(Boolean);
  }
  if (pattern && typeof pattern === 'object') {
    if (!actual || typeof actual !== 'object') return `${path}: ${JSON.stringify(actual)}`;
    return Object.entries(pattern)
      .map(([k, p]) => mismatch(p, (actual as Record<string, unknown>)[k], `${path}.${k}`))
      .find(Boolean);
  }
  return actual === pattern ? undefined : `${path}: ${JSON.stringify(actual)}, not ${JSON.stringify(pattern)}`;
}

const statusMark = '[curl status ';
const statusLines = /\[curl status (\d{3})\]\n?/g;

/** The status of the last curl of a segment's output. */
function lastStatus(output: string): number | undefined {
  const all = [...output.matchAll(statusLines)];
  return all.length ? Number(all[all.length - 1]![1]) : undefined;
}

/** The output as the reader sees it, without the curl statuses. */
const withoutStatuses = (output: string) => output.replace(statusLines, '\n');

/** The last line of the output that is a JSON object (curl -s prints the body alone). */
function lastJson(output: string): unknown {
  for (const line of output.trim().split('\n').reverse()) {
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object') return value;
    } catch {
      // not JSON: an earlier line may be
    }
  }
  return undefined;
}

/** One bash for every block, so variables carry over; each segment's output goes to its own file. */
function openShell(env: NodeJS.ProcessEnv): { run: (s: Segment, i: number) => Promise<string> } {
  shell = spawn('bash', ['--noprofile', '--norc'], { cwd: projectRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let exited: number | null | undefined;
  const waiters = new Set<() => void>();
  shell.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    waiters.forEach((w) => w());
  });
  shell.stderr!.on('data', (c: Buffer) => (stdout += c.toString()));
  shell.once('exit', (code) => {
    exited = code;
    waiters.forEach((w) => w());
  });
  // Every curl also tells its status, on stderr: the blocks' output and what they capture stay as they are.
  shell.stdin!.write(`set -euo pipefail\ncurl() { command curl "$@" -w '%{stderr}${statusMark}%{http_code}]\\n'; }\n`);
  return {
    run: (segment, i) => {
      const file = join(work, `segment-${i}.sh`);
      const out = join(work, `segment-${i}.out`);
      writeFileSync(file, `${segment.script}\n`);
      const marker = `__segment_${i}_done__`;
      shell!.stdin!.write(`source '${file}' < /dev/null > '${out}' 2>&1; echo ${marker}\n`);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error('did not finish within 150 s')), 150_000);
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          const printed = existsSync(out) ? readFileSync(out, 'utf8') : '';
          if (error)
            reject(
              new Error(`${segment.block}: ${error.message}\n--- commands\n${segment.script}\n--- output\n${printed}`),
            );
          else resolve(printed);
        };
        const check = () => {
          if (stdout.includes(marker)) done();
          else if (exited !== undefined) done(new Error(`a command failed (the shell exited with ${exited})`));
        };
        waiters.add(check);
        check();
      });
    },
  };
}

it('runs every shell block of the README against npm start, as pasted', async () => {
  const blocks = shellBlocks(readme);
  const ports = {
    PORT: String(await freePort()),
    CRA_TEMPORAL_PORT: String(await freePort()),
    CRA_TEMPORAL_UI_PORT: String(await freePort()),
    CRA_MONGO_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    CRA_SANDBOX_PORT: String(await freePort()),
  };
  const localhost = (text: string) =>
    text
      .replace(/localhost:3000\b/g, `localhost:${ports.PORT}`)
      .replace(/localhost:4000\b/g, `localhost:${ports.CRA_SANDBOX_PORT}`)
      .replace(/localhost:7233\b/g, `localhost:${ports.CRA_TEMPORAL_PORT}`)
      .replace(/localhost:8233\b/g, `localhost:${ports.CRA_TEMPORAL_UI_PORT}`)
      .replace(/127\.0\.0\.1:27017\b/g, `127.0.0.1:${ports.CRA_MONGO_PORT}`);
  const runnable = blocks.filter((b) => !isSetUp(b.lines) && !b.lines.some((l) => startsTheStack.test(l)));
  // The README's `VAR=… npm start` blocks restart the same stack (its data stays): one stack with all of them.
  const fromReadme = Object.assign({}, ...blocks.map((b) => stackVariables(b.lines))) as Record<string, string>;
  expect(Object.keys(fromReadme).length).toBeGreaterThan(0);
  const env: NodeJS.ProcessEnv = { ...process.env, ...ports, ...fromReadme, CRA_DATA_DIR: dataDir, MONGODB_URI: '' };

  let output = '';
  const start = () => {
    output = '';
    // A group of its own, as a terminal's foreground job: Ctrl-C goes to the whole group.
    const child = spawn(process.execPath, ['--import', 'tsx', 'deploy/local/start.ts'], {
      cwd: projectRoot,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 180_000;
    return new Promise<ChildProcess>((resolve, reject) => {
      const poll = setInterval(() => {
        if (Date.now() > deadline) {
          clearInterval(poll);
          reject(new Error(`npm start printed no ready banner within 3 minutes:\n${output}`));
        } else if (output.includes('✔ CRA is ready.')) {
          clearInterval(poll);
          resolve(child);
        } else if (child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`npm start exited with ${child.exitCode}:\n${output}`));
        }
      }, 250);
    });
  };
  const ctrlC = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      // As a terminal does: SIGINT to every process of the foreground group (launcher, worker, API).
      process.kill(-child.pid!, 'SIGINT');
    });

  const startedAt = Date.now();
  launcher = await start();
  const readyAfter = Date.now() - startedAt;
  // The banner: the account center, the console and every service, on this stack's ports.
  for (const line of [
    `Account center   http://localhost:${ports.PORT}/`,
    `Support console  http://localhost:${ports.PORT}/console`,
    'npm run role -- grant support-lead --email',
    'npm run --silent outbox',
    `Temporal Web     http://localhost:${ports.CRA_TEMPORAL_UI_PORT}`,
    `MongoDB          mongodb://127.0.0.1:${ports.CRA_MONGO_PORT}`,
    `Sandbox OAuth    http://localhost:${ports.CRA_SANDBOX_PORT}`,
  ])
    expect(output).toContain(line);
  // Readable lines for a person, not JSON records; not the workflow bundle's webpack report.
  expect(output).not.toMatch(/^\[(api|worker)\] \{"level"/m);
  expect(output).not.toContain('workflow-bundle-');

  const bash = openShell(env);
  let i = 0;
  let checked = 0;
  let statuses = 0;
  for (const block of runnable)
    for (const segment of segments(block)) {
      const s = { ...segment, script: localhost(segment.script) };
      const output = await bash.run(s, i++);
      if (!s.expected) continue;
      const printed = withoutStatuses(output);
      const { status, json } = expectation(localhost(s.expected));
      const where = `${s.block}, under\n${s.script}\nit printed\n${printed}`;
      const answered = lastStatus(output);
      if (status !== undefined && answered !== undefined) {
        expect(answered, where).toBe(status);
        statuses++;
      }
      if (json === undefined) continue;
      const problem = mismatch(json, lastJson(printed));
      expect(problem, `${where}\nexpected ${s.expected}`).toBeUndefined();
      checked++;
    }
  expect(checked).toBeGreaterThan(10);
  expect(statuses).toBeGreaterThan(10);
  // The worker's metrics the banner points to saw the signup's activities.
  const metrics = await (await fetch(`http://127.0.0.1:${ports.METRICS_PORT}/metrics`)).text();
  expect(metrics).toMatch(/temporal_activity_execution_latency_bucket\{[^}]*activity_type="setUpSignupAccount"/);
  await bash.run({ block: 'the test', script: `printf '%s\\n' "$TOKEN" > '${join(work, 'token')}'` }, i++);
  const ranFor = Date.now() - startedAt - readyAfter;
  shell!.stdin!.end();

  // Ctrl-C as a terminal sends it; everything stops, exit 0, no page of Temporal warnings.
  const stoppedFrom = output.length;
  expect(await ctrlC(launcher)).toBe(0);
  const closing = output.slice(stoppedFrom);
  expect(closing).toContain('stopped.');
  expect(closing).not.toMatch(/WARN/);
  await expect(fetch(`http://127.0.0.1:${ports.PORT}/healthz`)).rejects.toThrow();

  // The data survives a restart: the account of the README's "Scripts and apps" is still there.
  launcher = await start();
  const token = readFileSync(join(work, 'token'), 'utf8').trim();
  const me = await fetch(`http://127.0.0.1:${ports.PORT}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({
    rootIdentity: { subject: 'auth0|ada' },
    // Its status may have become reauth_required: the sandbox provider keeps its grants in memory only.
    connected_providers: { nodes: [{ provider: 'github' }] },
  });
  const signup = await fetch(`http://127.0.0.1:${ports.PORT}/v1/workflows/signup%2Fauth0%7Cada`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(await signup.json()).toEqual({
    workflowId: 'signup/auth0|ada',
    process: 'signup',
    status: 'completed',
    stage: 'completed',
  });
  expect(await ctrlC(launcher)).toBe(0);
  console.log(
    `ready after ${Math.round(readyAfter / 1000)} s; the README's blocks took ${Math.round(ranFor / 1000)} s`,
  );
}, 600_000);
