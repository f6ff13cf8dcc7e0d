/**
 * A MongoDB outage must not leave a process unable to reach the database once it is back. With FerretDB the
 * driver monitors by polling `hello`; when the monitor's socket is destroyed before the driver sees it close,
 * that `hello` waits forever (see `guardHeartbeats`). The race is forced here the way it happens — the
 * monitor's socket goes away and a check is due at once — on the suite's own FerretDB, which is then stopped
 * under load and started again. The guarded client (`newMongoClient`, what the API and the workers use) writes
 * again; a bare client of the same driver stays stuck, which is why the guard exists (when a driver release
 * fixes it, that expectation fails and the guard can go).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newMongoClient } from '../../activities/connections/mongo.js';
import { restartablePort, startMongo, type RunningService } from '../../deploy/local/services.js';
import { ensureTools } from '../../deploy/local/tools.js';

const work = mkdtempSync(join(tmpdir(), 'cra-heartbeat-'));
let mongoOptions: Parameters<typeof startMongo>[0];
let mongo: RunningService & { uri: string };

beforeAll(async () => {
  const tools = ensureTools(['mongo'], () => undefined);
  if (!tools.mongo) throw new Error('this test needs FerretDB: run `npm run tools`');
  mongoOptions = {
    mongo: tools.mongo,
    port: await restartablePort(),
    dataDir: join(work, 'mongo'),
    log: () => undefined,
  };
  mongo = await startMongo(mongoOptions);
});

afterAll(async () => {
  await mongo.stop(5_000);
  rmSync(work, { recursive: true, force: true });
});

interface Monitored {
  topology: {
    s: {
      servers: Map<string, { monitor: { connection: { socket: { destroy(): void } } | null; requestCheck(): void } }>;
    };
  };
}

/** Destroy the monitor's socket and ask for a check in the same turn: the write lands before `close` is seen. */
function loseMonitorSocketMidCheck(client: MongoClient): void {
  const [server] = (client as unknown as Monitored).topology.s.servers.values();
  const monitor = server!.monitor;
  monitor.connection!.socket.destroy();
  monitor.requestCheck();
}

async function outageUnderLoad(clients: MongoClient[]): Promise<void> {
  let writing = true;
  const load = clients.map(async (client) => {
    while (writing)
      await client
        .db('heartbeat')
        .collection('load')
        .insertOne({ at: new Date() })
        .catch(() => new Promise((r) => setTimeout(r, 20)));
  });
  await mongo.stop(5_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  writing = false;
  await Promise.all(load);
  mongo = await startMongo(mongoOptions);
}

it('writes again after an outage that caught its monitor mid-heartbeat', async () => {
  // A long interval, so that no scheduled check runs between the forced one and the outage.
  const options = { heartbeatFrequencyMS: 30_000, serverSelectionTimeoutMS: 10_000 };
  const stalls: string[] = [];
  const guarded = newMongoClient({ uri: mongo.uri, db: 'heartbeat' }, options, (address) => stalls.push(address));
  const bare = new MongoClient(mongo.uri, { ...options, serverSelectionTimeoutMS: 3_000 });
  await Promise.all([guarded.connect(), bare.connect()]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 600)); // a requested check runs at once (minHeartbeatFrequencyMS)
    loseMonitorSocketMidCheck(guarded);
    loseMonitorSocketMidCheck(bare);
    await outageUnderLoad([guarded, bare]);

    const { insertedId } = await guarded.db('heartbeat').collection('after').insertOne({ by: 'guarded' });
    expect(await guarded.db('heartbeat').collection('after').findOne({ _id: insertedId })).toMatchObject({
      by: 'guarded',
    });
    expect(stalls).toEqual([`127.0.0.1:${mongoOptions.port}`]);
    await expect(bare.db('heartbeat').collection('after').insertOne({ by: 'bare' })).rejects.toThrow(/closed/);
  } finally {
    await Promise.all([guarded.close(true), bare.close(true)]);
  }
}, 60_000);
