/**
 * What a log line shows of the objects that hold secrets. At debug level the Temporal SDK logs each worker's
 * options (`Creating worker`), its data converter and so the payload codec among them, and Temporal's core names
 * an activity's task token `task_token` in the fields of its own lines: the log must not carry a Vault token, a
 * keyring's keys or a task token (found by the secret scan of a whole run, test/attacks/secret-scan.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { HashiCorpVault } from '../../activities/secrets/hashicorp-vault.js';
import { KeyringVault } from '../../activities/secrets/keyring-vault.js';
import { PayloadEncryptionCodec } from '../../activities/secrets/payload-codec.js';
import { redactedLogPaths } from '../../domain/redaction.js';

const dataDir = mkdtempSync(join(tmpdir(), 'cra-log-secrets-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** A logger as `createLogger` builds it (the same redaction), writing into an array. */
function capturedLogger() {
  const lines: string[] = [];
  const log = pino(
    { level: 'debug', redact: { paths: redactedLogPaths, censor: '[redacted]' } },
    { write: (line: string) => void lines.push(line) },
  );
  return { log, lines };
}

it('logs a worker’s options with its codec and SecretVault named, without their keys or token', async () => {
  const keyring = await KeyringVault.open({ dataDir });
  const codec = await PayloadEncryptionCodec.create(keyring);
  const token = 'hvs.log-secrets-0123456789abcdef';
  const vault = new HashiCorpVault({ endpoint: 'http://vault.internal:8200', token });
  const { log, lines } = capturedLogger();
  // The shape the SDK logs: the options object, the codec inside the data converter.
  log.debug(
    { options: { dataConverter: { payloadCodecs: [codec] }, activities: { vault, keyring } } },
    'Creating worker',
  );
  const text = lines.join('\n');
  const stored = JSON.parse(readFileSync(join(dataDir, 'keys', 'keyring.json'), 'utf8')) as {
    keys: Record<string, Array<{ key: string }>>;
  };
  const keys = Object.values(stored.keys).flatMap((versions) => versions.map((v) => v.key));
  expect(keys.length).toBeGreaterThan(0);
  for (const key of keys) expect(text).not.toContain(key);
  expect(text).not.toContain(token);
  // What it does say: which codec, which key is current, which Vault.
  expect(text).toContain('"codec":"AES-256-GCM"');
  expect(text).toContain(`"currentKeyId":"${codec.currentKeyId}"`);
  expect(text).toContain('"endpoint":"http://vault.internal:8200"');
  expect(text).toContain('"kind":"keyring"');
});

it('redacts the task token Temporal’s core names in its own log lines', () => {
  const { log, lines } = capturedLogger();
  const taskToken = 'TaskToken(CiQwMWEyM2I0Ny05YWQzLTdlZWMtOTlmOC0zNDE3MGE0NGQ5ZWYSLXJl)';
  // As workers/main.ts forwards a core entry: its fields spread into the record.
  log.warn(
    { sdkComponent: 'core', task_token: taskToken, source: 'temporal' },
    'Activity not found on completion. This may happen if the activity has already been cancelled but completed anyway.',
  );
  log.debug({ activity: { taskToken: taskToken } }, 'activity');
  expect(lines.join('\n')).not.toContain(taskToken);
  expect(lines.join('\n')).toContain('"task_token":"[redacted]"');
});
