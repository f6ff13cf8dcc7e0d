/** The lint rule that keeps workflow code deterministic really rejects what it should, and only there. */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function messages(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('workflow determinism lint', () => {
  it('rejects Node built-ins, I/O libraries, activity code and timers inside workflows/', async () => {
    const found = await messages(
      [
        "import { readFileSync } from 'node:fs';",
        "import { createHash } from 'crypto';",
        "import { MongoClient } from 'mongodb';",
        "import { ManagementClient } from 'auth0';",
        "import { createAccountActivities } from '../../activities/accounts/activities.js';",
        'export const used = [readFileSync, createHash, MongoClient, ManagementClient, createAccountActivities];',
        'export function later(): unknown { setTimeout(() => undefined, 10); return process.env.HOME; }',
      ].join('\n'),
      'workflows/signup/probe.ts',
    );
    expect(found.filter((m) => m.includes('no-restricted-imports'))).toHaveLength(5);
    expect(found.some((m) => m.includes("'setTimeout'"))).toBe(true);
    expect(found.some((m) => m.includes("'process'"))).toBe(true);
  });

  it('allows type-only imports of activities and the workflow API', async () => {
    const found = await messages(
      [
        "import { proxyActivities, sleep } from '@temporalio/workflow';",
        "import type { createAccountActivities } from '../../activities/accounts/activities.js';",
        'const a = proxyActivities<ReturnType<typeof createAccountActivities>>({ startToCloseTimeout: 1000 });',
        'export async function probe(): Promise<void> { await sleep(10); await a.addAccountRole({ accountId: "x", role: "member" }); }',
      ].join('\n'),
      'workflows/signup/probe.ts',
    );
    expect(found).toEqual([]);
  });

  it('does not restrict the same imports outside workflows/', async () => {
    const found = await messages(
      "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n",
      'activities/accounts/probe.ts',
    );
    expect(found).toEqual([]);
  });
});
