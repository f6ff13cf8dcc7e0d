/**
 * The CRA workers: one per task queue. `accounts` runs the workflows and the MongoDB-side activities;
 * `identity` runs directory calls at a capped rate, shared by every worker on that queue.
 */
import { Client, Connection } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createAccountActivities } from '../activities/accounts/activities.js';
import { createSignupAccountActivities } from '../activities/accounts/signup-account.js';
import { createAuditActivities } from '../activities/audit/activities.js';
import { createDisconnectActivities } from '../activities/disconnect/activities.js';
import { createErasureActivities } from '../activities/erasure/activities.js';
import { createErasureIdentityActivities } from '../activities/erasure/identity-activities.js';
import { createExportActivities } from '../activities/exports/activities.js';
import { createIdentityActivities } from '../activities/identity/activities.js';
import { createNotifyActivities } from '../activities/notify/activities.js';
import { createProviderActivities } from '../activities/providers/activities.js';
import { createRecordActivities, defaultSyncBatch } from '../activities/records/activities.js';
import { createRetentionActivities } from '../activities/records/retention.js';
import { createSyncControlActivities } from '../activities/sync/control.js';
import { createRecoveryActivities } from '../activities/recovery/activities.js';
import { createRecoveryIdentityActivities } from '../activities/recovery/identity-activities.js';
import { createRecoveryProviderActivities } from '../activities/recovery/provider-reauth.js';
import { dataConverterWith, failureConverterPath, temporalClientOptions } from '../activities/connections/temporal.js';
import { PayloadEncryptionCodec } from '../activities/secrets/payload-codec.js';
import { defaultSupportEmail, type CraConfig } from '../domain/config.js';
import { taskQueueNames } from '../temporal.config.js';
import type { WorkerDependencies } from './dependencies.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** What every workflow bundle is built from (`npm run build`, the tests, the benches): the codec's failure converter included. */
export const workflowBundleOptions = { workflowsPath, failureConverterPath } as const;
/** Where `npm run build` writes the bundle, seen from the compiled `dist/workers/workers.js`. */
const builtBundlePath = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/**
 * The workflow code a worker runs: the bundle it is given, `WORKFLOW_BUNDLE`, the bundle beside the compiled
 * code, or (development, under tsx) the sources, bundled at start. Production never bundles at start: the
 * image holds no sources and webpack would double the worker's memory.
 */
export function workflowCodeOf(
  config: CraConfig,
  given?: { codePath: string },
): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  if (given) return { workflowBundle: given };
  if (config.worker.workflowBundle) {
    if (!existsSync(config.worker.workflowBundle))
      throw new Error(
        `WORKFLOW_BUNDLE=${config.worker.workflowBundle}: no such file (npm run build writes dist/workflow-bundle.js)`,
      );
    return { workflowBundle: { codePath: config.worker.workflowBundle } };
  }
  if (existsSync(builtBundlePath)) return { workflowBundle: { codePath: builtBundlePath } };
  if (config.env === 'production')
    throw new Error(
      'WORKFLOW_BUNDLE: required in production (CRA_ENV=production): the bundle npm run build writes, dist/workflow-bundle.js',
    );
  return { workflowsPath };
}

export interface CreateWorkersOptions {
  config: CraConfig;
  connection: NativeConnection;
  deps: WorkerDependencies;
  /** A prebuilt bundle (tests build one per run); otherwise `WORKFLOW_BUNDLE`, or the worker bundles `workflows/index.ts`. */
  workflowBundle?: { codePath: string };
  /** Extra options for every worker (tests shorten the shutdown grace). */
  overrides?: Partial<WorkerOptions>;
  /** For activities that talk to Temporal (sync schedules, token custody); a lazy client on the configured address otherwise. */
  temporal?: Client;
  /** The payload codec (the same keys as the API's); built from `deps.vault` when not given. */
  codec?: PayloadEncryptionCodec;
}

export async function createWorkers({
  config,
  connection,
  deps,
  workflowBundle,
  overrides,
  temporal,
  codec: given,
}: CreateWorkersOptions): Promise<Worker[]> {
  const codec = given ?? (await PayloadEncryptionCodec.create(deps.vault));
  // Lazy: a worker that never runs such an activity never opens this connection.
  const client =
    temporal ??
    new Client({
      connection: Connection.lazy(temporalClientOptions(config.temporal)),
      namespace: config.temporal.namespace,
      dataConverter: dataConverterWith(codec),
    });
  const queues = taskQueueNames(config.temporal.taskQueuePrefix);
  const common = {
    connection,
    namespace: config.temporal.namespace,
    shutdownGraceTime: config.worker.shutdownGrace,
    // Every payload encrypted; failures' messages and stacks encoded, so encrypted too.
    dataConverter: dataConverterWith(codec),
    ...overrides,
  };
  const accounts = await Worker.create({
    ...common,
    taskQueue: queues.accounts,
    ...workflowCodeOf(config, workflowBundle),
    activities: {
      ...createAccountActivities({ db: deps.db, accountKeys: deps.accountKeys, vault: deps.vault }),
      ...createSignupAccountActivities({
        db: deps.db,
        accountKeys: deps.accountKeys,
        vault: deps.vault,
        auditLog: deps.auditLog,
        notifier: deps.notifier,
      }),
      ...createNotifyActivities({ notifier: deps.notifier, db: deps.db, accountKeys: deps.accountKeys }),
      ...createAuditActivities({ auditLog: deps.auditLog }),
      ...createProviderActivities({
        db: deps.db,
        vault: deps.vault,
        accountKeys: deps.accountKeys,
        providers: config.providers,
        publicUrl: config.publicUrl,
        notifier: deps.notifier,
      }),
      ...createSyncControlActivities({ temporal: client, config, db: deps.db }),
      ...createRecordActivities({
        db: deps.db,
        vault: deps.vault,
        accountKeys: deps.accountKeys,
        consentPurposes: config.dataRights.consentPurposes,
        providers: config.providers,
        temporal: client,
        batch: { ...defaultSyncBatch, pages: config.sync.batchPages },
      }),
      ...createRecoveryActivities({
        db: deps.db,
        notifier: deps.notifier,
        accountKeys: deps.accountKeys,
        vault: deps.vault,
        publicUrl: config.publicUrl,
      }),
      ...createRecoveryProviderActivities({
        db: deps.db,
        vault: deps.vault,
        providers: config.providers,
        publicUrl: config.publicUrl,
      }),
      ...createDisconnectActivities({ db: deps.db, temporal: client }),
      ...createErasureActivities({
        db: deps.db,
        vault: deps.vault,
        accountKeys: deps.accountKeys,
        auditLog: deps.auditLog,
        temporal: client,
        providers: config.providers,
      }),
      ...createExportActivities({ db: deps.db, vault: deps.vault, accountKeys: deps.accountKeys, temporal: client }),
      ...createRetentionActivities({
        db: deps.db,
        vault: deps.vault,
        accountKeys: deps.accountKeys,
        auditLog: deps.auditLog,
        notifier: deps.notifier,
        supportEmail: config.supportEmail ?? defaultSupportEmail,
      }),
    },
  });
  const identity = await Worker.create({
    ...common,
    taskQueue: queues.identity,
    activities: {
      ...createIdentityActivities({ directory: deps.directory, accountKeys: deps.accountKeys }),
      ...createRecoveryIdentityActivities({
        directory: deps.directory,
        notifier: deps.notifier,
        db: deps.db,
        accountKeys: deps.accountKeys,
      }),
      ...createErasureIdentityActivities({ db: deps.db, directory: deps.directory }),
    },
    // Server-side limit across all workers of the queue: keeps CRA under the directory's rate limit.
    maxTaskQueueActivitiesPerSecond: config.identity.activitiesPerSecond,
  });
  return [accounts, identity];
}
