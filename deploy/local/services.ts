/**
 * Starts and stops the local servers CRA runs against: the Temporal dev server and a MongoDB-compatible
 * server. Shared by `npm start` and the test setup so both run the same commands.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { searchAttributeRegistrations } from '../../temporal.config.js';

export interface RunningService {
  name: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Its last lines of output (stdout and stderr), for an error that says why it did not start. */
  lastOutput?(): string[];
}

type Log = (line: string) => void;

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether nothing listens on `port` of 127.0.0.1. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

/**
 * A free port below the kernel's ephemeral range, for a server stopped and started again on the same port (the
 * fault suite's). While it is down, clients keep connecting to it from ephemeral source ports, and one of them
 * can be given the server's own port: TCP connects that socket to itself, it holds the port, and the server
 * cannot listen there again. A port the kernel never hands out as a source port cannot be taken that way.
 */
export async function restartablePort(): Promise<number> {
  let low = 32_768; // Linux's default; the range is read where the kernel says it.
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // Not Linux: its default stands (macOS's range, 49152 and up, lies above it).
  }
  const from = 10_000;
  if (low - from < 1_000) return freePort();
  for (let tries = 0; tries < 100; tries++) {
    const port = from + Math.floor(Math.random() * (low - from));
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port between ${from} and ${low}`);
}

function supervise(
  name: string,
  cmd: string,
  args: string[],
  log: Log,
  onOutput?: (line: string) => void,
  ownGroup = false,
): RunningService {
  const child = spawn(cmd, args, { detached: ownGroup, stdio: ['ignore', 'pipe', 'pipe'] });
  const recent: string[] = [];
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 20) recent.shift();
      onOutput?.(line);
    }
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') log(`${name} exited (${signal ?? `code ${code}`})`);
  });
  return { name, child, stop: (graceMs = 10_000) => stopProcess(child, graceMs), lastOutput: () => [...recent] };
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      done();
    });
    child.kill('SIGTERM');
  });
}

async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  service: RunningService,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  service.child.once('exit', () => (exited = true));
  const said = () => {
    const lines = service.lastOutput?.() ?? [];
    return lines.length > 0 ? `; it said:\n${lines.join('\n')}` : '';
  };
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited before it was ready${said()}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} was not ready after ${timeoutMs} ms${said()}`);
}

export interface TemporalOptions {
  binary: string;
  port: number;
  /** Web UI port, or undefined for a headless server. */
  uiPort?: number;
  /** The codec endpoint Temporal Web decodes payloads through (`--ui-codec-endpoint`). */
  codecEndpoint?: string;
  /** SQLite file for persistence; in memory when omitted. */
  dbFile?: string;
  ip?: string;
  log: Log;
  output?: (line: string) => void;
  /**
   * A process group of its own (`npm start`): a terminal's Ctrl-C then reaches only the launcher and the
   * worker and API beside it, and the launcher stops the server after the worker has drained, so the worker
   * never talks to a server already gone. The servers of a test run stay in its group.
   */
  ownGroup?: boolean;
}

/** The Temporal dev server with CRA's search attributes registered; resolves once it answers health checks. */
export async function startTemporal(
  opts: TemporalOptions,
): Promise<RunningService & { address: string; uiUrl?: string }> {
  const ip = opts.ip ?? '127.0.0.1';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.uiPort !== undefined) args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  else args.push('--headless');
  if (opts.uiPort !== undefined && opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  if (opts.dbFile) {
    // WAL lets readers (Web UI, visibility) proceed while the server writes; NORMAL sync is safe with WAL.
    args.push(
      '--db-filename',
      opts.dbFile,
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
    );
  }
  for (const [name, type] of searchAttributeRegistrations) args.push('--search-attribute', `${name}=${type}`);
  const service = supervise('temporal', opts.binary, args, opts.log, opts.output, opts.ownGroup);
  const address = `${ip}:${opts.port}`;
  await waitFor(
    'Temporal dev server',
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    },
    service,
    60_000,
  );
  return { ...service, address, uiUrl: opts.uiPort !== undefined ? `http://localhost:${opts.uiPort}` : undefined };
}

export interface MongoOptions {
  mongo: { kind: 'mongod' | 'ferretdb'; path: string };
  port: number;
  dataDir: string;
  log: Log;
  output?: (line: string) => void;
  /**
   * A process group of its own (`npm start`): a terminal's Ctrl-C then reaches only the launcher and the
   * worker and API beside it, and the launcher stops the server after the worker has drained, so the worker
   * never talks to a server already gone. The servers of a test run stay in its group.
   */
  ownGroup?: boolean;
}

/** A MongoDB-compatible server with its data under `dataDir`; resolves once it answers `ping`. */
export async function startMongo(opts: MongoOptions): Promise<RunningService & { uri: string }> {
  mkdirSync(opts.dataDir, { recursive: true });
  const args =
    opts.mongo.kind === 'ferretdb'
      ? [
          '--handler=sqlite',
          `--sqlite-url=file:${opts.dataDir}/`,
          `--state-dir=${opts.dataDir}`,
          `--listen-addr=127.0.0.1:${opts.port}`,
          '--telemetry=disable',
          '--debug-addr=127.0.0.1:0',
          '--log-level=error',
        ]
      : [
          '--dbpath',
          opts.dataDir,
          '--bind_ip',
          '127.0.0.1',
          '--port',
          String(opts.port),
          '--quiet',
          '--logpath',
          join(opts.dataDir, 'mongod.log'),
        ];
  const service = supervise(opts.mongo.kind, opts.mongo.path, args, opts.log, opts.output, opts.ownGroup);
  const uri = `mongodb://127.0.0.1:${opts.port}`;
  await waitFor(
    opts.mongo.kind,
    async () => {
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000 });
      try {
        await client.db('admin').command({ ping: 1 });
        return true;
      } finally {
        await client.close();
      }
    },
    service,
    60_000,
  );
  return { ...service, uri };
}
