import { ConfigError, type CraConfig } from '../../domain/config.js';
import { localStackConfig } from '../local/settings.js';

/** Minimal `--name value` / `--flag` parsing for CRA's command-line tools, with a clear error. */
export function parseArgs(
  argv: string[],
  spec: Record<string, 'string' | 'boolean'>,
  usage: string,
): Record<string, string | boolean | undefined> {
  const out: Record<string, string | boolean | undefined> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.replace(/^--/, '');
    const kind = arg.startsWith('--') ? spec[name] : undefined;
    if (!kind) fail(`unknown argument "${arg}"`, usage);
    if (kind === 'boolean') out[name] = true;
    else {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) fail(`${arg} needs a value`, usage);
      out[name] = value;
    }
  }
  return out;
}

export function fail(message: string, usage?: string): never {
  process.stderr.write(`${message}\n${usage ? `usage: ${usage}\n` : ''}`);
  process.exit(2);
}

/**
 * The checked configuration, with the MongoDB and data folder `npm start` gives its processes (from
 * `CRA_MONGO_PORT`, `CRA_DATA_DIR`, or `MONGODB_URI`), or the problems printed and exit 2.
 */
export function configOrFail(): CraConfig {
  try {
    return localStackConfig();
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
}
