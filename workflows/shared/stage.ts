/** Keep `CraStage` in Temporal Web in step with the workflow's own stage. */
import { upsertSearchAttributes } from '@temporalio/workflow';
import { searchAttributes } from '../../temporal.config.js';

export function recordStage(stage: string): void {
  upsertSearchAttributes([{ key: searchAttributes.stage, value: stage }]);
}
