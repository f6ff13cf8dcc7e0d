/**
 * Replay of recorded link histories against today's workflow code: links begun (or finished) before a
 * change must still replay, so every behaviour change of the link workflow goes behind `patched()`.
 * `link-completed.json` and `link-awaiting-callback.json` were recorded before the authorization URL left
 * the update's result and before the undo notice (patches `link-url-off-history`, `link-undo-notice`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

describe('replay', () => {
  const dir = join(process.cwd(), 'test', 'histories');
  const files = readdirSync(dir).filter((f) => f.startsWith('link-') && f.endsWith('.json'));

  it('has recorded link histories to replay', () => {
    expect(files).toEqual(expect.arrayContaining(['link-completed.json', 'link-awaiting-callback.json']));
  });

  it.each(files)('today’s link code replays %s without non-determinism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, `replay-${file}`)).resolves.toBeUndefined();
  });
});
