/**
 * Files named by variables (certificates, keys, CA bundles, the Kubernetes service-account token), read
 * once at start. `loadConfig` stays pure; this is where a missing or unreadable file stops the process with
 * the variable and the path, never the file's content.
 */
import { readFileSync } from 'node:fs';

/** The file's bytes; throws `<VARIABLE>=<path>: cannot read the file (<reason>)`. */
export function readConfiguredFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new Error(`${variable}=${path}: cannot read the file (${reason})`);
  }
}
