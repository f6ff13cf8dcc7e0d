/**
 * Schemathesis against the real API: the test stack (Temporal dev server, the MongoDB-compatible server, the
 * workers, the sandbox providers, the API over HTTP) is fuzzed from its own `GET /openapi.json`, with every
 * check and the stateful phase, as a signed-up person who is also staff (so the console routes are reached
 * past their permission checks). It passes when Schemathesis sent at least 1 000 requests and found nothing:
 * no 5xx, no response outside the documented schema, no bad input accepted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ensureTools } from '../../deploy/local/tools.js';
import { staffPermissions } from '../../domain/roles.js';
import { signedUp } from '../support/accounts.js';
import { useTestStack } from '../support/stack.js';
import { fuzzArguments, minimumRequests, readRun, summary } from './run.js';

const stack = useTestStack({ sandbox: true });
// CRA_FUZZ_REPORT_DIR keeps the reports (JUnit, JSON, NDJSON) for a look afterwards.
const reportDir = process.env.CRA_FUZZ_REPORT_DIR ?? mkdtempSync(join(tmpdir(), 'cra-fuzz-'));
afterAll(() => {
  if (!process.env.CRA_FUZZ_REPORT_DIR) rmSync(reportDir, { recursive: true, force: true });
});

it(`Schemathesis sends at least ${minimumRequests} generated requests and finds no 5xx and no schema violation`, async () => {
  const { schemathesis } = ensureTools(['schemathesis']);
  if (!schemathesis) throw new Error('Schemathesis is needed for the fuzz test: run `npm run tools`.');
  const person = await signedUp(stack, `auth0|fuzz-${Date.now()}`, {
    permissions: Object.values(staffPermissions),
  });
  const args = fuzzArguments({ baseUrl: stack.baseUrl, token: person.token, reportDir });
  const { exitCode, output } = await new Promise<{ exitCode: number | null; output: string }>((resolve, reject) => {
    const child = spawn(schemathesis, args, {
      cwd: reportDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ exitCode: code, output: Buffer.concat(out).toString('utf8').split(person.token).join('[token]') }),
    );
  });
  const run = readRun(reportDir);
  // Schemathesis's own report (each failure with a curl line to reproduce it) when it found something.
  if (exitCode !== 0 || run.failures.length > 0) process.stdout.write(output);
  process.stdout.write(summary(run));
  expect(run.failures, summary(run)).toEqual([]);
  expect(run.requests).toBeGreaterThanOrEqual(minimumRequests);
  expect(exitCode).toBe(0);
}, 300_000);
