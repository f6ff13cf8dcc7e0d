/** Which workflow code a worker runs: production loads the prebuilt bundle and never bundles at start. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../domain/config.js';
import { workflowCodeOf, workflowsPath } from '../../workers/workers.js';

const production = {
  CRA_ENV: 'production',
  AUTH0_DOMAIN: 'cra.eu.auth0.com',
  AUTH0_CLIENT_ID: 'id',
  AUTH0_CLIENT_SECRET: 'secret',
  AUTH0_AUDIENCE: 'https://cra.eu.auth0.com/api/v2/',
  VAULT_ADDR: 'https://vault.example.com',
  VAULT_ROLE_ID: 'role',
  VAULT_SECRET_ID: 'secret-id',
  MONGODB_URI: 'mongodb://m1,m2,m3/?replicaSet=rs0',
  SMTP_URL: 'smtps://cra:relay@smtp.example.com:465',
};

describe('the workflow code of a worker', () => {
  it('is the sources, bundled at start, in development', () => {
    expect(workflowCodeOf(loadConfig({}))).toEqual({ workflowsPath });
  });

  it('is WORKFLOW_BUNDLE when it names a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cra-bundle-')), 'workflow-bundle.js');
    writeFileSync(file, '// bundle');
    expect(workflowCodeOf(loadConfig({ ...production, WORKFLOW_BUNDLE: file }))).toEqual({
      workflowBundle: { codePath: file },
    });
  });

  it('stops a production worker without the bundle, naming the variable', () => {
    expect(() => workflowCodeOf(loadConfig(production))).toThrow(/^WORKFLOW_BUNDLE: required in production/);
    expect(() => workflowCodeOf(loadConfig({ ...production, WORKFLOW_BUNDLE: '/nowhere/bundle.js' }))).toThrow(
      'WORKFLOW_BUNDLE=/nowhere/bundle.js: no such file',
    );
  });
});
