/**
 * Once per test run: find (or install) the tools, start a Temporal dev server and a MongoDB-compatible
 * server on free ports, and bundle the workflow code once. Test files get the addresses via `inject`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { freePort, startMongo, startTemporal, type RunningService } from '../../deploy/local/services.js';
import { ensureTools } from '../../deploy/local/tools.js';
import { workflowBundleOptions } from '../../workers/workers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    mongoUri: string;
    workflowBundlePath: string;
    temporalTestServerPath: string;
  }
}

const log = (line: string) => process.stderr.write(`[test-setup] ${line}\n`);

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tools = ensureTools(['temporal', 'temporal-test-server', 'mongo'], log);
  if (!tools.temporal || !tools.temporalTestServer)
    throw new Error(
      'The Temporal CLI and test server are needed for the tests: run `npm run tools` and read its output.',
    );
  const work = mkdtempSync(join(tmpdir(), 'cra-test-'));
  const services: RunningService[] = [];
  try {
    const temporal = await startTemporal({ binary: tools.temporal, port: await freePort(), log });
    services.push(temporal);
    let mongoUri = process.env.CRA_TEST_MONGODB_URI;
    if (!mongoUri) {
      if (!tools.mongo)
        throw new Error(
          'No MongoDB-compatible server for the tests: install mongod or Go (for FerretDB), or set CRA_TEST_MONGODB_URI.',
        );
      const mongo = await startMongo({ mongo: tools.mongo, port: await freePort(), dataDir: join(work, 'mongo'), log });
      services.push(mongo);
      mongoUri = mongo.uri;
    }
    const bundle = await bundleWorkflowCode({
      ...workflowBundleOptions,
      logger: { info() {}, warn: log, error: log, debug() {}, trace() {}, log() {} },
    });
    const bundlePath = join(work, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);
    project.provide('temporalAddress', temporal.address);
    project.provide('mongoUri', mongoUri);
    project.provide('workflowBundlePath', bundlePath);
    project.provide('temporalTestServerPath', tools.temporalTestServer);
    log(`Temporal ${temporal.address}, MongoDB ${mongoUri}`);
  } catch (err) {
    await Promise.all(services.map((s) => s.stop()));
    throw err;
  }
  return async () => {
    await Promise.all(services.reverse().map((s) => s.stop(5_000)));
    rmSync(work, { recursive: true, force: true });
  };
}
