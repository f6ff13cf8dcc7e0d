/**
 * `loadConfig`: defaults for an empty environment, one `ConfigError` naming every bad variable and the
 * form it expects, Auth0 settings all-or-nothing (and required in production), and never a secret in
 * the message.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../domain/config.js';
import { defaultConsentPurposes } from '../../domain/consents.js';

/** The ConfigError `loadConfig` throws for `env` (fails the test when it does not throw one). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(Object.keys(env))}`);
}

/** The problem line about one variable. */
function lineFor(err: ConfigError, variable: string): string {
  const line = err.problems.find((p) => p.startsWith(`${variable}:`));
  expect(line, `a problem naming ${variable} in:\n${err.message}`).toBeDefined();
  expect(err.message).toContain(line!);
  return line!;
}

const auth0 = {
  AUTH0_DOMAIN: 'cra-test.eu.auth0.com',
  AUTH0_CLIENT_ID: 'cra-m2m-client',
  AUTH0_CLIENT_SECRET: 'S3CRET-client-secret-never-in-messages',
  AUTH0_AUDIENCE: 'https://cra-test.eu.auth0.com/api/v2/',
};

describe('loadConfig defaults', () => {
  it('gives a working development configuration for an empty environment', () => {
    const { providers, ...rest } = loadConfig({});
    expect(providers.sandboxUrl).toBeUndefined();
    expect(providers.linkAttemptTtl).toBe('10 minutes');
    expect(providers.tokenRefreshMargin).toBe('5 minutes');
    expect(providers.flags.github).toEqual({ enabled: true });
    expect(providers.flags.coderabbit).toEqual({ enabled: false });
    expect(rest).toEqual({
      env: 'development',
      host: '127.0.0.1',
      port: 3000,
      publicUrl: 'http://localhost:3000',
      dataDir: '.data',
      logLevel: 'info',
      logFormat: 'pretty',
      // A matching verified address is evidence for support, never a link by itself, unless configured.
      linkAutoApproveVerifiedEmail: false,
      temporal: {
        address: 'localhost:7233',
        namespace: 'default',
        taskQueuePrefix: '',
        uiUrl: 'http://localhost:8233',
        codec: { corsOrigins: ['http://localhost:8233', 'http://127.0.0.1:8233'] },
      },
      mongo: { uri: 'mongodb://127.0.0.1:27017', db: 'cra' },
      auth: {
        issuer: 'http://localhost:3000/',
        audience: 'https://api.cra.local',
        jwksUrl: undefined,
        clockToleranceSeconds: 30,
      },
      identity: { kind: 'embedded', activitiesPerSecond: 50, appClients: {} },
      signup: { hookSecrets: [], detailsWait: undefined },
      worker: { metricsPort: 9464, metricsHost: '127.0.0.1', shutdownGrace: '10s' },
      healthTimeoutMs: 2000,
      sync: { interval: '6 hours', pageSize: 100, maxPagesPerRun: 500, batchPages: 20 },
      dataRights: {
        consentPurposes: defaultConsentPurposes,
        exportLinkTtl: '24 hours',
        erasureGracePeriod: '7 days',
        deletedAccountRetention: '612 days',
      },
    });
  });

  it('treats empty strings as unset', () => {
    const blank = loadConfig({
      PORT: '',
      TEMPORAL_ADDRESS: '',
      MONGODB_URI: '',
      SIGNUP_HOOK_SECRETS: '',
      AUTH0_DOMAIN: '',
      AUTH0_CLIENT_SECRET: '',
      CRA_ENV: '',
    });
    expect(blank).toEqual(loadConfig({}));
    expect(blank.signup.hookSecrets).toEqual([]);
  });

  it('ignores unknown variables (the process environment has many)', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', npm_config_cache: '/tmp' })).toEqual(loadConfig({}));
  });

  it('reads the values it is given', () => {
    const config = loadConfig({
      CRA_ENV: 'test',
      PORT: '8080',
      CRA_PUBLIC_URL: 'https://cra.example.com/',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'cra',
      TEMPORAL_TASK_QUEUE_PREFIX: 'ci-1-',
      MONGODB_URI: 'mongodb+srv://cluster0.example.net',
      MONGODB_DB: 'cra_ci',
      AUTH_CLOCK_TOLERANCE_SECONDS: '5',
      SIGNUP_HOOK_SECRETS: ` ${'a'.repeat(32)} , ${'b'.repeat(40)} `,
      SIGNUP_DETAILS_WAIT: '10 minutes',
    });
    expect(config).toMatchObject({
      env: 'test',
      port: 8080,
      publicUrl: 'https://cra.example.com',
      temporal: { address: 'temporal.internal:7233', namespace: 'cra', taskQueuePrefix: 'ci-1-' },
      mongo: { uri: 'mongodb+srv://cluster0.example.net', db: 'cra_ci' },
      auth: { issuer: 'https://cra.example.com/', clockToleranceSeconds: 5 },
      signup: { hookSecrets: ['a'.repeat(32), 'b'.repeat(40)], detailsWait: '10 minutes' },
    });
  });
});

describe('loadConfig refuses malformed values', () => {
  it.each(['localhost', 'localhost:', ':7233', 'localhost:port', 'http://localhost:7233', 'local host:7233'])(
    'TEMPORAL_ADDRESS=%s',
    (value) => {
      const err = configError({ TEMPORAL_ADDRESS: value });
      const line = lineFor(err, 'TEMPORAL_ADDRESS');
      expect(line).toContain('host:port');
      expect(line).toContain('localhost:7233');
    },
  );

  it.each(['localhost:27017', 'postgres://db:5432/cra', 'mongodb:/db:27017', 'http://db:27017'])(
    'MONGODB_URI=%s',
    (value) => {
      const line = lineFor(configError({ MONGODB_URI: value }), 'MONGODB_URI');
      expect(line).toContain('mongodb://host:port');
    },
  );

  it.each(['abc', '3000abc', '-1', '65536', '80.5', '99999999'])('PORT=%s', (value) => {
    const line = lineFor(configError({ PORT: value }), 'PORT');
    expect(line).toMatch(/port number from 0 to 65535/);
    expect(line).toContain(`"${value}"`);
  });

  it('names every bad variable at once', () => {
    const err = configError({ PORT: 'x', TEMPORAL_ADDRESS: 'nope', MONGODB_URI: 'nope', LOG_LEVEL: 'loud' });
    expect(err.problems).toHaveLength(4);
    for (const name of ['PORT', 'TEMPORAL_ADDRESS', 'MONGODB_URI', 'LOG_LEVEL']) lineFor(err, name);
    expect(err.message.split('\n')[0]).toBe('Invalid configuration:');
  });

  it('names the Auth0 rules together with a malformed variable, not one start later', () => {
    const err = configError({ CRA_ENV: 'production', PORT: 'x' });
    lineFor(err, 'PORT');
    for (const name of ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET', 'AUTH0_AUDIENCE']) lineFor(err, name);
  });

  it('does not echo the credentials of a malformed connection string', () => {
    const err = configError({ MONGODB_URI: 'mongo://cra_admin:hunter2-db-password@db.internal:27017/cra' });
    expect(lineFor(err, 'MONGODB_URI')).toContain('db.internal:27017');
    expect(err.message).not.toContain('hunter2-db-password');
  });

  it('refuses a hook secret shorter than 32 characters and more than two secrets', () => {
    lineFor(configError({ SIGNUP_HOOK_SECRETS: 'too-short' }), 'SIGNUP_HOOK_SECRETS.0');
    const three = configError({ SIGNUP_HOOK_SECRETS: ['a', 'b', 'c'].map((c) => c.repeat(32)).join(',') });
    expect(lineFor(three, 'SIGNUP_HOOK_SECRETS')).toContain('at most two');
  });
});

describe('loadConfig and Auth0', () => {
  it('derives the issuer and JWKS URL from the tenant domain', () => {
    const config = loadConfig(auth0);
    expect(config.auth).toEqual({
      issuer: 'https://cra-test.eu.auth0.com/',
      audience: 'https://api.cra.local',
      jwksUrl: 'https://cra-test.eu.auth0.com/.well-known/jwks.json',
      clockToleranceSeconds: 30,
    });
    expect(config.identity).toEqual({
      kind: 'auth0',
      domain: 'cra-test.eu.auth0.com',
      clientId: 'cra-m2m-client',
      clientSecret: auth0.AUTH0_CLIENT_SECRET,
      audience: 'https://cra-test.eu.auth0.com/api/v2/',
      defaultRoleId: undefined,
      activitiesPerSecond: 2,
    });
  });

  it('lets AUTH_ISSUER and AUTH_JWKS_URL override the derived ones', () => {
    const config = loadConfig({
      ...auth0,
      AUTH_ISSUER: 'https://login.example.com/',
      AUTH_JWKS_URL: 'https://login.example.com/jwks',
    });
    expect(config.auth).toMatchObject({
      issuer: 'https://login.example.com/',
      jwksUrl: 'https://login.example.com/jwks',
    });
  });

  it('accepts Auth0 with Vault in production', () => {
    const config = loadConfig({
      ...auth0,
      CRA_ENV: 'production',
      MONGODB_URI: 'mongodb://db-0.internal:27017,db-1.internal:27017/?replicaSet=rs0',
      VAULT_ADDR: 'https://vault.internal:8200',
      VAULT_TOKEN: 'hvs.test',
    });
    expect(config.identity.kind).toBe('auth0');
    expect(config.vault).toMatchObject({
      endpoint: 'https://vault.internal:8200',
      transitMount: 'transit',
      kvMount: 'secret',
    });
    // One JSON object per line for the log shipper in production; readable lines only when asked.
    expect(config.logFormat).toBe('json');
  });

  it('logs for a person in development unless LOG_FORMAT says json, and takes TEMPORAL_UI_URL without its last slash', () => {
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.example.com/' }).temporal.uiUrl).toBe(
      'https://temporal.example.com',
    );
    expect(lineFor(configError({ LOG_FORMAT: 'yaml' }), 'LOG_FORMAT')).toBeDefined();
  });

  it('lets the codec endpoint answer Temporal Web only, and keeps its local secret out of production', () => {
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.example.com/ui' }).temporal.codec.corsOrigins).toEqual([
      'https://temporal.example.com',
    ]);
    expect(
      loadConfig({ TEMPORAL_CODEC_CORS_ORIGINS: 'https://a.example.com, http://127.0.0.1:9233' }).temporal.codec
        .corsOrigins,
    ).toEqual(['https://a.example.com', 'http://127.0.0.1:9233', 'http://localhost:9233']);
    expect(
      lineFor(configError({ TEMPORAL_CODEC_CORS_ORIGINS: 'temporal.example.com' }), 'TEMPORAL_CODEC_CORS_ORIGINS'),
    ).toMatch(/comma-separated origins/);
    lineFor(configError({ CRA_CODEC_LOCAL_TOKEN: 'short' }), 'CRA_CODEC_LOCAL_TOKEN');
    const token = 'a'.repeat(32);
    expect(loadConfig({ CRA_CODEC_LOCAL_TOKEN: token }).temporal.codec.localToken).toBe(token);
    const production = {
      ...auth0,
      CRA_ENV: 'production',
      MONGODB_URI: 'mongodb://db-0.internal:27017/?replicaSet=rs0',
      VAULT_ADDR: 'https://vault.internal:8200',
      VAULT_TOKEN: 'hvs.test',
    };
    expect(loadConfig(production).temporal.codec.localToken).toBeUndefined();
    expect(lineFor(configError({ ...production, CRA_CODEC_LOCAL_TOKEN: token }), 'CRA_CODEC_LOCAL_TOKEN')).toMatch(
      /not in production/,
    );
  });
});
