/**
 * Key names and secret paths, checked the same way by both SecretVault adapters. They become URL
 * segments in Vault and JSON keys in the keyring, so anything that could step out of a mount (`..`,
 * a `/` inside a key name, a trailing `.`, which Vault answers with 404) is refused before any I/O.
 */
import { SecretVaultError } from './port.js';

/** Vault's own rule for transit key names (`\w[\w-.]*\w`), capped at 128 characters. */
const keyNamePattern = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9_])?$/;

const segment = '[A-Za-z0-9_-](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9_-])?';
/** `providers/google/client`: up to 16 segments, none of them `.` or `..`. */
const secretPathPattern = new RegExp(`^${segment}(?:/${segment}){0,15}$`);

/**
 * The offending value is never echoed: a swapped-argument bug (`encrypt(plaintext, keyName)`) would
 * otherwise put a plaintext in an error message, and error messages end up in Temporal history.
 */
export function assertKeyName(keyName: string): void {
  if (!keyNamePattern.test(keyName)) {
    throw new SecretVaultError('KeyNotFound', 'not a valid key name: use 1-128 letters, digits, "_", "-" or "."');
  }
}

export function assertSecretPath(path: string): void {
  if (!secretPathPattern.test(path)) {
    throw new SecretVaultError(
      'KeyNotFound',
      'not a valid secret path: use "/"-separated letters, digits, "_", "-" or "."',
    );
  }
}
