/**
 * `npm run build [-- --out-dir <dir>]`: the production build. `tsc -p tsconfig.build.json` compiles the
 * production code to `dist/` (or `<dir>`), then `bundleWorkflowCode` writes the workflow bundle once, to
 * `<dir>/workflow-bundle.js`, so a production worker loads it (`WORKFLOW_BUNDLE`) and never runs webpack.
 * The output runs on plain `node` from a production-only install (`npm ci --omit=dev`). `tsconfig.build.json`
 * names what production runs: no local stack, sandbox, tests or benches, and of the operator commands only
 * those a production install uses (audit, origin and erasure checks, the outbox).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const root = fileURLToPath(new URL('..', import.meta.url));

function outDirFrom(argv: string[]): string {
  const at = argv.indexOf('--out-dir');
  if (at === -1) return join(root, 'dist');
  const value = argv[at + 1];
  if (!value || value.startsWith('--')) {
    process.stderr.write('usage: npm run build [-- --out-dir <dir>]\n');
    process.exit(2);
  }
  return resolve(value);
}

async function main(): Promise<void> {
  const outDir = outDirFrom(process.argv.slice(2));
  const started = Date.now();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  if (compiled.status !== 0) throw new Error(`tsc failed (exit ${compiled.status ?? compiled.signal})`);
  // The compiled files are ES modules: say so where node looks when the folder is outside the project.
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);

  const { code } = await bundleWorkflowCode({
    workflowsPath: join(root, 'workflows', 'index.ts'),
    // Failures' messages and stacks encoded, so the payload codec encrypts them (activities/secrets/payload-codec.ts).
    failureConverterPath: join(root, 'workflows', 'failure-converter.ts'),
    // The bundler's own progress report is noise here; warnings and errors still fail the build.
    logger: {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (message) => process.stderr.write(`bundle: ${message}\n`),
      error: (message) => process.stderr.write(`bundle: ${message}\n`),
      log: () => undefined,
    },
  });
  writeFileSync(join(outDir, 'workflow-bundle.js'), code);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `built ${outDir} in ${seconds} s: node ${join(outDir, 'api/main.js')}, ` +
      `WORKFLOW_BUNDLE=${join(outDir, 'workflow-bundle.js')} node --max-old-space-size=128 --max-semi-space-size=2 ` +
      `${join(outDir, 'workers/main.js')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
