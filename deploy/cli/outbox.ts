/**
 * `npm run --silent outbox -- [--to <address>] [--limit N] [--json]`: the notices CRA queued instead of
 * sending (embedded notifier), newest first. The outbox keeps them sealed: this command opens them with the
 * installation's SecretVault and account keys (the same data folder or Vault as `npm start`), and finds
 * `--to` through the address's blind index. Notices of erased accounts no longer open: it counts them.
 */
import { MongoClient } from 'mongodb';
import { mongoClientOptions } from '../../activities/connections/mongo.js';
import { readOutbox } from '../../activities/notify/outbox-notifier.js';
import { AccountKeys } from '../../activities/secrets/account-keys.js';
import { buildSecretVault } from '../../activities/secrets/build.js';
import { configOrFail, fail, parseArgs } from './args.js';

const usage = 'npm run --silent outbox -- [--to <address>] [--limit <n>] [--json]';
const args = parseArgs(process.argv.slice(2), { to: 'string', limit: 'string', json: 'boolean' }, usage);
const limit = args.limit === undefined ? 50 : Number(args.limit);
if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
  fail('--limit takes a whole number from 1 to 10000', usage);

const config = configOrFail();
const mongo = new MongoClient(config.mongo.uri, mongoClientOptions(config.mongo, { serverSelectionTimeoutMS: 5_000 }));
try {
  await mongo.connect();
  const vault = await buildSecretVault({ dataDir: config.dataDir, ...(config.vault ? { vault: config.vault } : {}) });
  const { notices, unreadable } = await readOutbox(mongo.db(config.mongo.db), new AccountKeys(vault), {
    ...(typeof args.to === 'string' ? { to: args.to } : {}),
    limit,
  });
  // On stderr, so `--json` stays the same array it always was.
  if (unreadable.length > 0) {
    process.stderr.write(
      `${unreadable.length} notice(s) no longer open (an erased account's key is destroyed, or they were altered)\n`,
    );
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(notices, null, 2)}\n`);
  } else if (notices.length === 0) {
    process.stdout.write('The outbox is empty.\n');
  } else {
    for (const n of notices) {
      process.stdout.write(
        `${n.queuedAt}  ${n.channel.padEnd(5)} to ${n.to}  [${n.template}]  ${n.subject}\n${n.body.replace(/^/gm, '    ')}\n\n`,
      );
    }
  }
} catch (err) {
  fail(`cannot read the outbox at ${config.mongo.uri}: ${(err as Error).message}`);
} finally {
  await mongo.close();
}
