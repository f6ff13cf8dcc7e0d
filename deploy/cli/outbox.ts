/**
 * `npm run --silent outbox -- [--to <address>] [--limit N] [--json]`: the notices CRA queued instead of
 * sending (embedded notifier), newest first.
 */
import { MongoClient } from 'mongodb';
import { mongoClientOptions } from '../../activities/connections/mongo.js';
import { queuedNotices } from '../../activities/notify/outbox-notifier.js';
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
  const notices = await queuedNotices(mongo.db(config.mongo.db), {
    ...(typeof args.to === 'string' ? { to: args.to } : {}),
    limit,
  });
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
