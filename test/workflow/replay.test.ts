/**
 * Every recorded history in `test/histories/` replays against today's workflow bundle, and every workflow
 * type the worker registers has at least one: a behaviour change to a live workflow goes behind `patched()`,
 * and this is where a missing patch shows up as non-determinism. Record new histories with
 * `npx vitest run --config test/support/record-histories.config.ts` (see `test/support/record-histories.ts`).
 *
 * Histories recorded before a patch, kept as they were:
 * - `link-completed.json`, `link-awaiting-callback.json`: before `link-url-off-history` and `link-undo-notice`;
 * - `recovery-completed.json`: before `recovery-links-during-recovery` (`recovery-linked-during-recovery.json`: after).
 * The sync histories hold `deletion-check-once`; none from before it exists (today's code cannot record one).
 * - `sync-completed.json`, `sync-deletion-check.json`, `sync-cancelled-by-disconnect.json`: before
 *   `sync-page-batches` (one `syncPage` per page); `sync-batches-completed.json`, `sync-batches-deletion-check.json`:
 *   after it (`syncPages` batches, the ledger's `completeSyncRun`).
 * - `signup-completed.json`, `signup-completed-sealed.json`, `signup-sign-in-connection.json`: before
 *   `signup-one-account-step` (one activity per step); `signup-one-account-step.json`: after it.
 * - `sync-cancelled-by-disconnect.json`, `disconnect-cancelled.json`, `link-cancelled.json`,
 *   `token-custody-cancelled.json`: cancelled runs after `sync-cancellation`, `disconnect-cancellation`,
 *   `link-cancellation` and `token-custody-cancellation` (the completed histories above are from before them).
 * - `disconnect-completed.json`, `disconnect-cancelled.json`: before `retention-heartbeat` (retention steps without a
 *   heartbeat timeout); `disconnect-completed-retention-heartbeat.json`: after it (30 s).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import * as workflows from '../../workflows/index.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const dir = join(process.cwd(), 'test', 'histories');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const histories = files.map((file) => ({
  file,
  history: historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8'))),
}));
/** The workflow type a history ran: the name in its first event. */
const typeOf = (h: (typeof histories)[number]['history']) =>
  h.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
/** The worker bundles `workflows/index.ts` and registers each exported function under its name. */
const workflowTypes = Object.entries(workflows)
  .filter(([, value]) => typeof value === 'function')
  .map(([name]) => name)
  .sort();

describe('recorded histories', () => {
  it('cover every workflow type the worker registers', () => {
    expect(workflowTypes.length).toBeGreaterThan(0);
    const recorded = new Set(histories.map(({ history }) => typeOf(history)));
    expect(
      workflowTypes.filter((type) => !recorded.has(type)),
      'workflow types without a recorded history',
    ).toEqual([]);
  });

  it('are each of a workflow type that still exists', () => {
    expect(
      histories.filter(({ history }) => !workflowTypes.includes(typeOf(history) ?? '')).map(({ file }) => file),
    ).toEqual([]);
  });

  it.each(histories)('today’s code replays $file without non-determinism', async ({ file, history }) => {
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        history,
        `replay-${file}`,
      ),
    ).resolves.toBeUndefined();
  });
});
