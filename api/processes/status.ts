/**
 * Where any CRA process stands, read from its workflow's typed search attributes (the ones every starter
 * sets through `searchAttributesFor` and the workflows upsert as their stage changes).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { processOfWorkflowId, type ProcessName } from '../../domain/ids.js';
import { searchAttributes } from '../../temporal.config.js';
import { accountWorkflowsQuery } from './export.js';

export interface ProcessStatus {
  workflowId: string;
  process: string;
  /** Temporal's execution status, lower case (`running`, `completed`, …). */
  status: string;
  stage: string | null;
  /** The account the process belongs to (`CraAccountId`); absent for a recovery until it knows the account. */
  accountId?: string;
}

/** The process's status, or undefined when the id is none of ours or no such workflow exists. */
export async function describeProcess(temporal: Client, workflowId: string): Promise<ProcessStatus | undefined> {
  const process: ProcessName | undefined = processOfWorkflowId(workflowId);
  if (!process) return undefined;
  let description;
  try {
    description = await temporal.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const attrs = description.typedSearchAttributes;
  const accountId = attrs.get(searchAttributes.accountId);
  return {
    workflowId,
    process: attrs.get(searchAttributes.process) ?? process,
    status: description.status.name.toLowerCase(),
    stage: attrs.get(searchAttributes.stage) ?? null,
    ...(accountId !== undefined ? { accountId } : {}),
  };
}

/** The visibility query of a person's processes: running ones, and those closed since `closedSince`. */
export function accountProcessesQuery(accountId: string, closedSince: Date): string {
  return `${accountWorkflowsQuery(accountId)} AND (ExecutionStatus = 'Running' OR CloseTime > '${closedSince.toISOString()}')`;
}

/** The visibility query of support's queue: running workflows of these processes that wait for a person. */
export function approvalQueueQuery(processes: readonly ProcessName[], taskQueue: string): string {
  // Only this deployment's runs: several deployments may share a namespace (`TEMPORAL_TASK_QUEUE_PREFIX`), and
  // another's are neither ours to decide nor answer our queries (no worker of ours polls their queue).
  return `CraNeedsApproval = true AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}' AND CraProcess IN (${processes.map((p) => `'${p}'`).join(', ')})`;
}
