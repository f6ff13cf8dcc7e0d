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
      notifier: { kind: 'outbox' },
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
      SMTP_URL: 'smtps://cra:relay-pw@smtp.internal:465',
    });
    expect(config.identity.kind).toBe('auth0');
    // Production sends notices (the default there), from the public URL's host unless SMTP_FROM says otherwise.
    expect(config.notifier).toEqual({
      kind: 'smtp',
      url: 'smtps://cra:relay-pw@smtp.internal:465',
      from: 'CRA <no-reply@localhost>',
    });
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
      SMTP_URL: 'smtps://relay.internal:465',
    };
    expect(loadConfig(production).temporal.codec.localToken).toBeUndefined();
    expect(lineFor(configError({ ...production, CRA_CODEC_LOCAL_TOKEN: token }), 'CRA_CODEC_LOCAL_TOKEN')).toMatch(
      /not in production/,
    );
  });

  it('refuses the local keyring, the sandbox provider and loopback provider endpoints in production', () => {
    const err = configError({
      ...auth0,
      CRA_ENV: 'production',
      CRA_SANDBOX_URL: 'http://localhost:4000',
      PROVIDER_GITHUB_TOKEN_URL: 'http://127.0.0.1:4000/github/token',
    });
    expect(lineFor(err, 'VAULT_ADDR')).toContain('required in production');
    expect(lineFor(err, 'CRA_SANDBOX_URL')).toContain('refused in production');
    expect(lineFor(err, 'PROVIDER_GITHUB_TOKEN_URL')).toContain('public https endpoint');
  });

  it('reads provider flags: on, off, a rollout percentage, roles and accounts', () => {
    const { flags } = loadConfig({
      ENABLE_GITHUB_LOGIN: 'false',
      ENABLE_X_LOGIN: 'true',
      ENABLE_REDDIT_LOGIN: '25%',
      ENABLE_SLACK_LOGIN_ROLES: 'beta, staff',
      ENABLE_SPOTIFY_LOGIN_ACCOUNTS: 'a,b',
    }).providers;
    expect(flags.github).toEqual({ enabled: false });
    expect(flags.x).toEqual({ enabled: true });
    expect(flags.reddit).toEqual({ enabled: false, rolloutPercent: 25 });
    expect(flags.slack).toEqual({ enabled: false, roles: ['beta', 'staff'] });
    expect(flags.spotify).toEqual({ enabled: false, accounts: ['a', 'b'] });
    expect(lineFor(configError({ ENABLE_GITHUB_LOGIN: 'sometimes' }), 'ENABLE_GITHUB_LOGIN')).toContain(
      'rollout percentage',
    );
    expect(lineFor(configError({ ENABLE_GITHUB_LOGIN: '150%' }), 'ENABLE_GITHUB_LOGIN')).toContain(
      'rollout percentage',
    );
  });

  it('refuses a domain given as a URL, saying what it expects', () => {
    expect(lineFor(configError({ ...auth0, AUTH0_DOMAIN: 'https://cra-test.eu.auth0.com' }), 'AUTH0_DOMAIN')).toContain(
      'example.eu.auth0.com',
    );
  });

  it.each(Object.keys(auth0))('names the missing settings when only %s is set', (only) => {
    const err = configError({ [only]: auth0[only as keyof typeof auth0] });
    const missing = Object.keys(auth0).filter((k) => k !== only);
    expect(err.problems).toHaveLength(missing.length);
    for (const name of missing) expect(lineFor(err, name)).toContain('required when any of');
    expect(err.problems.some((p) => p.startsWith(`${only}:`))).toBe(false);
  });

  it('names exactly the one missing setting', () => {
    const { AUTH0_AUDIENCE: _omitted, ...three } = auth0;
    const err = configError(three);
    expect(err.problems).toEqual([expect.stringMatching(/^AUTH0_AUDIENCE: required when any of/)]);
  });

  it('refuses CRA_ENV=production without Auth0, naming each setting', () => {
    const err = configError({ CRA_ENV: 'production' });
    for (const name of Object.keys(auth0)) expect(lineFor(err, name)).toContain('production');
  });
});

describe('loadConfig never puts a secret in its message', () => {
  const hookSecret = 'hook-secret-VALUE-that-must-not-leak';
  const hookSecret2 = 'second-hook-secret-VALUE-that-must-not-leak-either';

  function expectNoSecrets(err: ConfigError, ...secrets: string[]) {
    const texts = [err.message, String(err), JSON.stringify(err.problems), err.stack ?? ''];
    for (const secret of secrets) for (const text of texts) expect(text).not.toContain(secret);
  }

  it('when the Auth0 client secret comes without the rest', () => {
    const err = configError({ AUTH0_CLIENT_SECRET: auth0.AUTH0_CLIENT_SECRET });
    lineFor(err, 'AUTH0_DOMAIN');
    expectNoSecrets(err, auth0.AUTH0_CLIENT_SECRET);
  });

  it('when another variable is malformed next to a valid client secret', () => {
    const err = configError({ ...auth0, PORT: 'x', AUTH0_DOMAIN: 'not a domain' });
    lineFor(err, 'PORT');
    lineFor(err, 'AUTH0_DOMAIN');
    expectNoSecrets(err, auth0.AUTH0_CLIENT_SECRET);
  });

  it('in production without the other Auth0 settings', () => {
    const err = configError({
      CRA_ENV: 'production',
      AUTH0_CLIENT_SECRET: auth0.AUTH0_CLIENT_SECRET,
      SIGNUP_HOOK_SECRETS: hookSecret,
    });
    expectNoSecrets(err, auth0.AUTH0_CLIENT_SECRET, hookSecret);
  });

  it('when a hook secret is too short', () => {
    const short = 'short-hook-secret';
    const err = configError({ SIGNUP_HOOK_SECRETS: `${hookSecret},${short}` });
    lineFor(err, 'SIGNUP_HOOK_SECRETS.1');
    expectNoSecrets(err, short, hookSecret);
  });

  it('when there are too many hook secrets', () => {
    const err = configError({ SIGNUP_HOOK_SECRETS: `${hookSecret},${hookSecret2},${hookSecret}-3`, PORT: 'x' });
    lineFor(err, 'SIGNUP_HOOK_SECRETS');
    expectNoSecrets(err, hookSecret, hookSecret2);
  });

  it('when the hook secrets are only separators', () => {
    const err = configError({ SIGNUP_HOOK_SECRETS: ' , , ' });
    lineFor(err, 'SIGNUP_HOOK_SECRETS');
  });
});

describe('sign-in settings', () => {
  it("registers the embedded issuer's app clients by exact redirect URI, and names a bad one", () => {
    const config = loadConfig({ EMBEDDED_OIDC_CLIENTS: '{"mobile-app":["http://127.0.0.1:8765/callback"]}' });
    expect(config.identity).toMatchObject({
      kind: 'embedded',
      appClients: { 'mobile-app': ['http://127.0.0.1:8765/callback'] },
    });
    expect(() => loadConfig({ EMBEDDED_OIDC_CLIENTS: '{"mobile-app":["http://app.example/callback"]}' })).toThrow(
      /EMBEDDED_OIDC_CLIENTS: client "mobile-app": "http:\/\/app.example\/callback" must use https/,
    );
    expect(() => loadConfig({ EMBEDDED_OIDC_CLIENTS: 'not json' })).toThrow(/EMBEDDED_OIDC_CLIENTS: a JSON object/);
  });

  it('takes a separate Universal Login client for Auth0, both halves or neither', () => {
    const auth0 = {
      AUTH0_DOMAIN: 'cra-test.eu.auth0.com',
      AUTH0_CLIENT_ID: 'm2m',
      AUTH0_CLIENT_SECRET: 'm2m-secret',
      AUTH0_AUDIENCE: 'https://cra-test.eu.auth0.com/api/v2/',
    };
    expect(
      loadConfig({ ...auth0, AUTH0_LOGIN_CLIENT_ID: 'web', AUTH0_LOGIN_CLIENT_SECRET: 'web-secret' }).identity,
    ).toMatchObject({ kind: 'auth0', login: { clientId: 'web', clientSecret: 'web-secret' } });
    expect(loadConfig(auth0).identity).not.toHaveProperty('login');
    expect(() => loadConfig({ ...auth0, AUTH0_LOGIN_CLIENT_ID: 'web' })).toThrow(
      /AUTH0_LOGIN_CLIENT_SECRET: AUTH0_LOGIN_CLIENT_ID and AUTH0_LOGIN_CLIENT_SECRET go together/,
    );
  });
});

describe('CONSENT_PURPOSES', () => {
  it('gives terms (required) and provider_data (stops the provider sync) without it', () => {
    const { consentPurposes } = loadConfig({}).dataRights;
    expect(consentPurposes.map((p) => [p.purpose, p.required, p.features])).toEqual([
      ['terms', true, []],
      ['provider_data', false, ['provider_sync']],
    ]);
  });

  it('reads a JSON array, with required and features optional', () => {
    const purposes = [
      { purpose: 'terms', version: '2027-01', description: 'The terms', required: true },
      { purpose: 'provider_data', version: '3', description: 'Provider data', features: ['provider_sync'] },
    ];
    expect(loadConfig({ CONSENT_PURPOSES: JSON.stringify(purposes) }).dataRights.consentPurposes).toEqual([
      { ...purposes[0], features: [] },
      { ...purposes[1], required: false },
    ]);
  });

  it('refuses what is not JSON, or not a non-empty array, saying what it expects', () => {
    for (const raw of ['terms=1', '{"purpose":"terms"}', '[]']) {
      const line = lineFor(configError({ CONSENT_PURPOSES: raw }), 'CONSENT_PURPOSES');
      expect(line).toContain('a JSON array of {purpose, version, description');
    }
  });

  it('names the item and the field that is wrong, every one of them', () => {
    const err = configError({
      CONSENT_PURPOSES: JSON.stringify([
        { purpose: 'Terms!', version: '1', description: 'x' },
        { purpose: 'provider_data', version: '', description: 'y', features: ['mailing'] },
        { purpose: 'news', version: '1', description: 'z', requird: true },
      ]),
    });
    const lines = err.problems.filter((p) => p.startsWith('CONSENT_PURPOSES:'));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^CONSENT_PURPOSES: item 1 \("Terms!"\), purpose: lower-case letters/);
    expect(lines[1]).toMatch(/^CONSENT_PURPOSES: item 2 \("provider_data"\), version: /);
    expect(lines[2]).toMatch(/^CONSENT_PURPOSES: item 2 \("provider_data"\), features\[0\]: .*provider_sync/);
    // A misspelt field is refused rather than silently dropped (the purpose would not be required).
    expect(lines[3]).toMatch(/^CONSENT_PURPOSES: item 3 \("news"\): .*requird/);
  });

  it('refuses a purpose listed twice', () => {
    const line = lineFor(
      configError({
        CONSENT_PURPOSES: JSON.stringify([
          { purpose: 'terms', version: '1', description: 'x' },
          { purpose: 'terms', version: '2', description: 'y' },
        ]),
      }),
      'CONSENT_PURPOSES',
    );
    expect(line).toBe('CONSENT_PURPOSES: item 2 ("terms"): purpose "terms" is listed twice');
  });
});

describe('loadConfig: Temporal TLS, mTLS and API key', () => {
  it('has no TLS and no API key by default', () => {
    const { temporal } = loadConfig({});
    expect(temporal.tls).toBeUndefined();
    expect(temporal.apiKey).toBeUndefined();
  });

  it('derives TLS with a server CA and name, and mTLS from a certificate and key', () => {
    const { temporal } = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'cra-prod',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/cra/temporal-ca.pem',
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/cra/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/etc/cra/client.key',
    });
    expect(temporal).toMatchObject({
      address: 'temporal.internal:7233',
      namespace: 'cra-prod',
      tls: {
        serverCaCertPath: '/etc/cra/temporal-ca.pem',
        serverName: 'frontend.temporal.internal',
        clientCertPair: { certPath: '/etc/cra/client.pem', keyPath: '/etc/cra/client.key' },
      },
    });
  });

  it('turns TLS on for an API key or a client certificate', () => {
    const cloud = loadConfig({ TEMPORAL_ADDRESS: 'cra.a1b2c.tmprl.cloud:7233', TEMPORAL_API_KEY: 'tcak-secret-123' });
    expect(cloud.temporal.tls).toEqual({});
    expect(cloud.temporal.apiKey).toBe('tcak-secret-123');
    const mtls = loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/c.key' });
    expect(mtls.temporal.tls?.clientCertPair).toEqual({ certPath: '/c.pem', keyPath: '/c.key' });
    expect(loadConfig({ TEMPORAL_TLS: 'true' }).temporal.tls).toEqual({});
  });

  it('wants the client certificate and key together', () => {
    expect(lineFor(configError({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' }), 'TEMPORAL_TLS_CLIENT_KEY_PATH')).toContain(
      'go together',
    );
    expect(lineFor(configError({ TEMPORAL_TLS_CLIENT_KEY_PATH: '/c.key' }), 'TEMPORAL_TLS_CLIENT_CERT_PATH')).toContain(
      'go together',
    );
  });

  it('refuses TEMPORAL_TLS=false with an API key or a client certificate, without echoing the key', () => {
    const err = configError({
      TEMPORAL_TLS: 'false',
      TEMPORAL_API_KEY: 'tcak-secret-never-shown',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/c.key',
    });
    expect(lineFor(err, 'TEMPORAL_API_KEY')).toContain('TEMPORAL_TLS=false');
    expect(lineFor(err, 'TEMPORAL_TLS_CLIENT_CERT_PATH')).toContain('TEMPORAL_TLS=false');
    expect(err.message).not.toContain('tcak-secret-never-shown');
  });
});

describe('loadConfig: MongoDB TLS and replica set', () => {
  it('derives TLS files, and none by default', () => {
    expect(loadConfig({}).mongo.tls).toBeUndefined();
    expect(
      loadConfig({ MONGODB_TLS_CA_FILE: '/etc/cra/mongo-ca.pem', MONGODB_TLS_CERT_KEY_FILE: '/etc/cra/mongo.pem' })
        .mongo.tls,
    ).toEqual({ caFile: '/etc/cra/mongo-ca.pem', certKeyFile: '/etc/cra/mongo.pem' });
  });

  it('sends notices by SMTP in production and refuses the outbox there; the outbox elsewhere unless asked', () => {
    const production = {
      ...auth0,
      CRA_ENV: 'production',
      MONGODB_URI: 'mongodb+srv://cluster0.example.net/',
      VAULT_ADDR: 'https://vault:8200',
      VAULT_TOKEN: 'hvs.x',
    };
    expect(lineFor(configError(production), 'SMTP_URL')).toContain('required to send notices');
    const outbox = configError({ ...production, SMTP_URL: 'smtp://smtp.internal:587', CRA_NOTIFIER: 'outbox' });
    expect(lineFor(outbox, 'CRA_NOTIFIER')).toContain('refused in production');
    // A malformed relay URL is named, its credentials never echoed.
    const bad = configError({ CRA_NOTIFIER: 'smtp', SMTP_URL: 'http://cra:relay-pw@smtp.internal' });
    expect(lineFor(bad, 'SMTP_URL')).not.toContain('relay-pw');
    expect(
      loadConfig({ CRA_NOTIFIER: 'smtp', SMTP_URL: 'smtp://127.0.0.1:2525', SMTP_FROM: 'Support <help@cra.test>' })
        .notifier,
    ).toEqual({ kind: 'smtp', url: 'smtp://127.0.0.1:2525', from: 'Support <help@cra.test>' });
    expect(loadConfig({}).notifier).toEqual({ kind: 'outbox' });
  });

  it('wants a replica set in production, named by replicaSet= or an SRV URI', () => {
    const production = {
      ...auth0,
      CRA_ENV: 'production',
      VAULT_ADDR: 'https://vault:8200',
      VAULT_TOKEN: 'hvs.x',
      SMTP_URL: 'smtp://smtp.internal:587',
    };
    const err = configError({ ...production, MONGODB_URI: 'mongodb://user:pw@db.internal:27017/cra' });
    const line = lineFor(err, 'MONGODB_URI');
    expect(line).toContain('replica set');
    expect(line).not.toContain('pw@');
    expect(loadConfig({ ...production, MONGODB_URI: 'mongodb+srv://cluster0.example.net/' }).mongo.uri).toBe(
      'mongodb+srv://cluster0.example.net/',
    );
    expect(
      loadConfig({ ...production, MONGODB_URI: 'mongodb://a:27017,b:27017/?tls=true&replicaSet=rs0' }).mongo.uri,
    ).toContain('replicaSet=rs0');
    // Development and tests run a single server.
    expect(loadConfig({ MONGODB_URI: 'mongodb://127.0.0.1:27017' }).mongo.uri).toBe('mongodb://127.0.0.1:27017');
  });
});

describe('loadConfig: Vault login methods', () => {
  const addr = { VAULT_ADDR: 'https://vault.internal:8200' };

  it('takes a static token', () => {
    expect(loadConfig({ ...addr, VAULT_TOKEN: 'hvs.static', VAULT_CACERT: '/etc/cra/vault-ca.pem' }).vault).toEqual({
      endpoint: 'https://vault.internal:8200',
      auth: { method: 'token', token: 'hvs.static' },
      transitMount: 'transit',
      kvMount: 'secret',
      caCert: '/etc/cra/vault-ca.pem',
    });
  });

  it('takes AppRole with its mount (default approle)', () => {
    expect(loadConfig({ ...addr, VAULT_ROLE_ID: 'role-1', VAULT_SECRET_ID: 'sid-1' }).vault?.auth).toEqual({
      method: 'approle',
      roleId: 'role-1',
      secretId: 'sid-1',
      mount: 'approle',
    });
    expect(
      loadConfig({ ...addr, VAULT_ROLE_ID: 'r', VAULT_SECRET_ID: 's', VAULT_APPROLE_MOUNT: 'cra-approle' }).vault?.auth,
    ).toMatchObject({ mount: 'cra-approle' });
  });

  it('takes Kubernetes auth with its mount and the service-account token path', () => {
    expect(loadConfig({ ...addr, VAULT_K8S_ROLE: 'cra-worker' }).vault?.auth).toEqual({
      method: 'kubernetes',
      role: 'cra-worker',
      mount: 'kubernetes',
      tokenPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
  });

  it('wants exactly one login method with VAULT_ADDR, and VAULT_ADDR with any', () => {
    expect(lineFor(configError(addr), 'VAULT_TOKEN')).toContain('VAULT_ROLE_ID + VAULT_SECRET_ID');
    const two = configError({ ...addr, VAULT_TOKEN: 'hvs.never-shown', VAULT_K8S_ROLE: 'cra' });
    expect(lineFor(two, 'VAULT_TOKEN')).toContain('one Vault login method at a time');
    expect(two.message).not.toContain('hvs.never-shown');
    expect(lineFor(configError({ VAULT_K8S_ROLE: 'cra' }), 'VAULT_ADDR')).toContain('required with VAULT_K8S_ROLE');
  });

  it('wants the AppRole role id and secret id together, never echoing the secret id', () => {
    const err = configError({ ...addr, VAULT_SECRET_ID: 'sid-never-shown' });
    expect(lineFor(err, 'VAULT_ROLE_ID')).toContain('go together');
    expect(err.message).not.toContain('sid-never-shown');
    expect(lineFor(configError({ ...addr, VAULT_ROLE_ID: 'role-1' }), 'VAULT_SECRET_ID')).toContain('go together');
  });
});
