/**
 * `npm run audit:verify`: walks the hash-chained audit log and names the first broken link.
 * Exit 0 when the chain is whole, 1 when it is broken, 2 when it could not be read. The SecretVault is
 * opened only when an event forgotten by an erasure needs its redaction seal checked.
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
  const result = await new AuditLog(mongo.db(config.mongo.db)).verify({ vault });
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.ok) process.stdout.write(`audit log intact: ${result.events} events, head ${result.headHash}\n`);
  else {
    const b = result.firstBreak;
    process.stdout.write(
      `audit log BROKEN at event ${b.seq}${b.eventId ? ` (${b.eventId})` : ''}: ${b.reason}\n${result.events} events before it verify.\n`,
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
