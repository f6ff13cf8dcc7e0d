/**
 * `npm run codec:rotate`: add a payload encryption key and make it the one new payloads are sealed under
 * (`activities/secrets/payload-codec.ts`). Old keys stay, so every history stays readable; the API and the
 * workers move to the new key within a minute (they re-read the keys every 60 s). The key bytes never leave
 * the SecretVault's secret and are never printed.
 */
import { buildSecretVault } from '../../activities/secrets/build.js';
import { payloadKeySecretPath, rotatePayloadKey } from '../../activities/secrets/payload-codec.js';
import { configOrFail, parseArgs } from './args.js';

parseArgs(process.argv.slice(2), {}, 'npm run codec:rotate');
const config = configOrFail();
try {
  const vault = await buildSecretVault({ dataDir: config.dataDir, ...(config.vault ? { vault: config.vault } : {}) });
  const { current, keys } = await rotatePayloadKey(vault);
  process.stdout.write(
    `payload key ${current} is now current (${keys} keys in ${payloadKeySecretPath}); ` +
      'the API and the workers use it for new payloads within a minute\n',
  );
} catch (err) {
  process.stderr.write(`cannot rotate the payload key: ${(err as Error).message}\n`);
  process.exit(1);
}
