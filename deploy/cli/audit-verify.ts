/**
 * `npm run audit:verify`: walks every chain of the keyed audit log and names the first broken link, then
 * signs a new checkpoint of what it verified (so a later cut is found as far back as this run).
 * Exit 0 when the log is whole, 1 when it is broken, 2 when it could not be read. It opens the SecretVault
 * the configuration names (the MACs and the erasure's seals are checked with it): no extra flag.
 */
import { MongoClient } from 'mongodb';
import { mongoClientOptions } from '../../activities/connections/mongo.js';
import { AuditLog } from '../../activities/audit/audit-log.js';
import { buildSecretVault } from '../../activities/secrets/build.js';
import { configOrFail, parseArgs } from './args.js';

const args = parseArgs(process.argv.slice(2), { json: 'boolean' }, 'npm run audit:verify [-- --json]');
const config = configOrFail();
const mongo = new MongoClient(config.mongo.uri, mongoClientOptions(config.mongo, { serverSelectionTimeoutMS: 5_000 }));
let exitCode = 0;
try {
  await mongo.connect();
  const vault = () => buildSecretVault({ dataDir: config.dataDir, ...(config.vault ? { vault: config.vault } : {}) });
  const result = await new AuditLog(mongo.db(config.mongo.db), { vault }).verify();
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.ok)
    process.stdout.write(
      `audit log intact: ${result.events} events on ${result.chains} chains, checkpoint ${result.checkpoint}\n`,
    );
  else {
    const b = result.firstBreak;
    process.stdout.write(
      `audit log BROKEN at event ${b.seq} of chain ${b.chain}${b.eventId ? ` (${b.eventId})` : ''}: ${b.reason}\n${result.events} events before it verify.\n`,
    );
  }
  exitCode = result.ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`cannot read the audit log at ${config.mongo.uri}: ${(err as Error).message}\n`);
  exitCode = 2;
} finally {
  await mongo.close();
}
process.exit(exitCode);
