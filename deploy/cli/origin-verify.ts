/**
 * `npm run origin:verify`: checks every imported record's origin MAC and content hash and lists the
 * records whose origin or content was edited. Records of erased accounts (their data key destroyed) cannot
 * be read and are counted apart: they are not forgeries. Exit 0 when all verify, 1 when some do not, 2 on errors.
 */
import { MongoClient } from 'mongodb';
import { mongoClientOptions } from '../../activities/connections/mongo.js';
import { verifyAllOrigins } from '../../activities/records/activities.js';
import { AccountKeys } from '../../activities/secrets/account-keys.js';
import { buildSecretVault } from '../../activities/secrets/build.js';
import { configOrFail, parseArgs } from './args.js';

const args = parseArgs(
  process.argv.slice(2),
  { json: 'boolean', account: 'string' },
  'npm run origin:verify [-- --account <accountId>] [--json]',
);
const config = configOrFail();
const mongo = new MongoClient(config.mongo.uri, mongoClientOptions(config.mongo, { serverSelectionTimeoutMS: 5_000 }));
let exitCode = 0;
try {
  await mongo.connect();
  const vault = await buildSecretVault({ dataDir: config.dataDir, ...(config.vault ? { vault: config.vault } : {}) });
  const result = await verifyAllOrigins(
    mongo.db(config.mongo.db),
    vault,
    new AccountKeys(vault),
    typeof args.account === 'string' ? { accountId: args.account } : {},
  );
  const erased = result.erased > 0 ? ` (${result.erased} of erased accounts, unreadable by design)` : '';
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.invalid.length === 0)
    process.stdout.write(`origins intact: ${result.checked - result.erased} records verified${erased}\n`);
  else {
    process.stdout.write(
      `${result.invalid.length} of ${result.checked} records do NOT verify (edited origin or content); they must not be acted on:\n`,
    );
    for (const r of result.invalid) process.stdout.write(`  ${r.recordId}  ${r.reason}\n`);
  }
  exitCode = result.invalid.length === 0 ? 0 : 1;
} catch (err) {
  process.stderr.write(`cannot verify origins: ${(err as Error).message}\n`);
  exitCode = 2;
} finally {
  await mongo.close();
}
process.exit(exitCode);
