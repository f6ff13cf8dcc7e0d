/**
 * The environment, checked once at start. A missing or malformed value stops the process with a
 * message that names the variable and the form it expects.
 */
import { z } from 'zod';
import { parseProviderConfig, type ProviderConfig } from './provider-config.js';
import { parseConsentPurposes, type ConsentPurpose } from './consents.js';
import { parseClientRedirectUris, parseLinkClientRedirectUris, type LinkClientRedirectUris } from './link-clients.js';

const duration = z
  .string()
  .regex(
    /^\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$/,
    'a duration such as "30s", "10 minutes" or "48h"',
  );
const portForm = 'a port number from 0 to 65535';
const port = z.coerce.number(portForm).int(portForm).min(0, portForm).max(65535, portForm);
/** A comma-separated list, blanks dropped. */
const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const configSchema = z
  .object({
    CRA_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: port.default(3000),
    CRA_DATA_DIR: z.string().default('.data'),
    CRA_PUBLIC_URL: z.url().optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `json` (one object per line, for a log shipper) or `pretty` (for a person); JSON in production, else pretty. */
    LOG_FORMAT: z.enum(['json', 'pretty']).optional(),

    TEMPORAL_ADDRESS: z
      .string()
      .regex(/^[^\s:]+:\d+$/, 'host:port, e.g. localhost:7233')
      .default('localhost:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    // A secured cluster or Temporal Cloud (the Temporal CLI's own names): TLS, mTLS client certificate, API key.
    TEMPORAL_TLS: flag.optional(),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
    /** Temporal Web, for the support console's links to a workflow (the dev server's UI by default). */
    TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
    /**
     * Origins allowed to call the codec endpoint from a browser (CORS): Temporal Web's, by default
     * `TEMPORAL_UI_URL`'s origin (and its localhost/127.0.0.1 twin). Comma-separated.
     */
    TEMPORAL_CODEC_CORS_ORIGINS: z
      .string()
      .min(1)
      .refine(
        (v) => v.split(',').every((o) => /^https?:\/\//.test(o.trim()) && URL.canParse(o.trim())),
        'comma-separated origins, e.g. https://temporal.example.com',
      )
      .optional(),
    /**
     * The dev server's Temporal Web cannot send a sign-in with its codec requests: `npm start` gives it an
     * endpoint with this per-run secret in its path instead. Refused in production (operators sign in there).
     */
    CRA_CODEC_LOCAL_TOKEN: z
      .string()
      .regex(/^[A-Za-z0-9_-]{32,128}$/, '32 to 128 letters, digits, "_" or "-"')
      .optional(),
    TEMPORAL_TASK_QUEUE_PREFIX: z
      .string()
      .regex(/^[a-z0-9-]*$/, 'lower-case letters, digits and -')
      .default(''),

    /** Where notices go: `outbox` (kept sealed, read with `npm run outbox`) or `smtp`; smtp in production. */
    CRA_NOTIFIER: z.enum(['outbox', 'smtp']).optional(),
    /** The mail relay: `smtp://[user:password@]host[:port]` (STARTTLS when offered) or `smtps://…` (TLS). */
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\/[^/?#\s]+/, 'smtp://[user:password@]host[:port] or smtps://…')
      .optional(),
    /** The sender of notices; absent: `no-reply@` the public URL's host. */
    SMTP_FROM: z.string().regex(/@/, 'an address, e.g. CRA <no-reply@example.com>').optional(),

    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'a MongoDB connection string: mongodb://host:port')
      .default('mongodb://127.0.0.1:27017'),
    MONGODB_DB: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, 'a database name: letters, digits, _ and -')
      .default('cra'),
    // TLS to MongoDB beyond what the URI says: the CA that signed the servers, a client certificate + key (PEM).
    MONGODB_TLS_CA_FILE: z.string().min(1).optional(),
    MONGODB_TLS_CERT_KEY_FILE: z.string().min(1).optional(),

    AUTH_ISSUER: z.url().optional(),
    AUTH_AUDIENCE: z.string().min(1).default('https://api.cra.local'),
    AUTH_JWKS_URL: z.url().optional(),
    AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),

    AUTH0_DOMAIN: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?$/i, 'a tenant domain such as example.eu.auth0.com')
      .optional(),
    AUTH0_CLIENT_ID: z.string().min(1).optional(),
    AUTH0_CLIENT_SECRET: z.string().min(1).optional(),
    AUTH0_AUDIENCE: z.string().min(1).optional(),
    AUTH0_DEFAULT_ROLE_ID: z.string().min(1).optional(),
    // Sign-in through Universal Login: a Regular Web Application (defaults to AUTH0_CLIENT_ID/SECRET).
    AUTH0_LOGIN_CLIENT_ID: z.string().min(1).optional(),
    AUTH0_LOGIN_CLIENT_SECRET: z.string().min(1).optional(),
    IDENTITY_ACTIVITIES_PER_SECOND: z.coerce.number().positive().max(1000).optional(),

    SIGNUP_HOOK_SECRETS: commaList
      .pipe(
        z
          .array(z.string().min(32, 'each secret at least 32 characters'))
          .min(1)
          .max(2, 'at most two secrets (current, previous)'),
      )
      .optional(),
    SIGNUP_DETAILS_WAIT: duration.optional(),

    RECOVERY_NOTICE_INTERVAL: duration.optional(),
    RECOVERY_COOLING_PERIOD: duration.optional(),
    RECOVERY_EXPIRY: duration.optional(),
    RECOVERY_CODE_TTL: duration.optional(),
    RECOVERY_TICKET_TTL: duration.optional(),
    AGENT_SIGNATURE_WINDOW: duration.optional(),
    RECOVERY_RATE_LIMIT_PER_IP: z.coerce.number('a whole number of requests').int().positive().optional(),
    RECOVERY_RATE_LIMIT_PER_EMAIL: z.coerce.number('a whole number of requests').int().positive().optional(),
    RECOVERY_RATE_LIMIT_WINDOW: duration.optional(),
    TRUSTED_PROXY_HOPS: z.coerce
      .number('how many proxies (0-5) append to X-Forwarded-For')
      .int()
      .min(0)
      .max(5)
      .optional(),
    /**
     * Peers whose `X-Forwarded-For` counts (IP addresses or CIDR ranges, comma-separated): Kong's. A request
     * from any other peer is judged by its own address, whatever it claims.
     */
    TRUSTED_PROXIES: commaList
      .pipe(
        z
          .array(
            z
              .string()
              .regex(
                /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+)(\/\d{1,3})?$/i,
                'IP addresses or CIDR ranges, e.g. 10.0.0.0/8,fd00::/8',
              ),
          )
          .min(1),
      )
      .optional(),
    CLIENT_COUNTRY_HEADER: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'a header name set by the gateway, e.g. cf-ipcountry')
      .optional(),
    WEBAUTHN_RP_ID: z
      .string()
      .regex(/^[a-z0-9.-]+$/i, 'a host name such as cra.example.com')
      .optional(),
    WEBAUTHN_ORIGINS: commaList.pipe(z.array(z.url()).min(1)).optional(),
    // Recovery: a connection younger than this does not count for the provider_reauth factor.
    RECOVERY_MIN_CONNECTION_AGE: duration.optional(),

    VAULT_ADDR: z.url().optional(),
    VAULT_TOKEN: z.string().min(1).optional(),
    VAULT_TRANSIT_MOUNT: z
      .string()
      .regex(/^[a-z0-9_-]+$/i, 'a mount name such as transit')
      .default('transit'),
    VAULT_KV_MOUNT: z
      .string()
      .regex(/^[a-z0-9_-]+$/i, 'a mount name such as secret')
      .default('secret'),
    VAULT_NAMESPACE: z.string().min(1).optional(),
    /** The CA that signed Vault's certificate (Vault's own name for it). */
    VAULT_CACERT: z.string().min(1).optional(),
    // AppRole: a role id and a secret id, logged in at the approle mount.
    VAULT_ROLE_ID: z.string().min(1).optional(),
    VAULT_SECRET_ID: z.string().min(1).optional(),
    VAULT_APPROLE_MOUNT: z
      .string()
      .regex(/^[a-z0-9_/-]+$/i, 'a mount path such as approle')
      .default('approle'),
    // Kubernetes auth: the Vault role bound to the pod's service account, whose token is read from the file.
    VAULT_K8S_ROLE: z.string().min(1).optional(),
    VAULT_K8S_MOUNT: z
      .string()
      .regex(/^[a-z0-9_/-]+$/i, 'a mount path such as kubernetes')
      .default('kubernetes'),
    VAULT_K8S_TOKEN_PATH: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),

    SYNC_INTERVAL: duration.default('6 hours'),
    SYNC_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
    SYNC_MAX_PAGES_PER_RUN: z.coerce.number().int().min(1).max(100_000).default(500),
    // Pages one sync activity reads and writes before it reports back (at most 2000 records / 20 s either way).
    SYNC_BATCH_PAGES: z.coerce.number().int().min(1).max(100).default(20),

    // Data rights: how long a download link lives, the erasure's grace window, how long a tombstone is kept.
    EXPORT_LINK_TTL: duration.default('24 hours'),
    ERASURE_GRACE_PERIOD: duration.default('7 days'),
    DELETED_ACCOUNT_RETENTION: duration.default('612 days'),

    SUPPORT_EMAIL: z.email('an email address such as support@example.com').optional(),

    METRICS_PORT: port.default(9464),
    /** Where the worker's Prometheus endpoint listens: loopback on a laptop, `0.0.0.0` in a container. */
    METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** A workflow bundle made by `npm run build`; unset: the worker bundles `workflows/` at start (development). */
    WORKFLOW_BUNDLE: z.string().min(1).optional(),
    WORKER_SHUTDOWN_GRACE: duration.default('10s'),
    CRA_HEALTH_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
    CRA_ENABLE_SANDBOX: flag.optional(),
    LINK_AUTO_APPROVE_VERIFIED_EMAIL: flag.default(false),
  })
  // `when`: run even when a variable failed above, so one start names every bad variable, not the first batch.
  .superRefine(
    (env, ctx) => {
      const auth0 = ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET', 'AUTH0_AUDIENCE'] as const;
      const set = auth0.filter((k) => env[k] !== undefined);
      if (set.length > 0 && set.length < auth0.length) {
        for (const k of auth0.filter((key) => env[key] === undefined)) {
          ctx.addIssue({ code: 'custom', path: [k], message: `required when any of ${auth0.join(', ')} is set` });
        }
      }
      if ((env.AUTH0_LOGIN_CLIENT_ID === undefined) !== (env.AUTH0_LOGIN_CLIENT_SECRET === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [env.AUTH0_LOGIN_CLIENT_ID === undefined ? 'AUTH0_LOGIN_CLIENT_ID' : 'AUTH0_LOGIN_CLIENT_SECRET'],
          message: 'AUTH0_LOGIN_CLIENT_ID and AUTH0_LOGIN_CLIENT_SECRET go together',
        });
      }
      // Vault: exactly one way to authenticate (a token, AppRole or Kubernetes), and only with VAULT_ADDR.
      const vaultMethods = [
        env.VAULT_TOKEN !== undefined ? 'VAULT_TOKEN' : undefined,
        env.VAULT_ROLE_ID !== undefined || env.VAULT_SECRET_ID !== undefined
          ? 'VAULT_ROLE_ID + VAULT_SECRET_ID'
          : undefined,
        env.VAULT_K8S_ROLE !== undefined ? 'VAULT_K8S_ROLE' : undefined,
      ].filter((m): m is string => m !== undefined);
      if (env.VAULT_ADDR === undefined && vaultMethods.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['VAULT_ADDR'], message: `required with ${vaultMethods.join(', ')}` });
      }
      if (env.VAULT_ADDR !== undefined && vaultMethods.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['VAULT_TOKEN'],
          message:
            'VAULT_ADDR needs one way to log in: VAULT_TOKEN, VAULT_ROLE_ID + VAULT_SECRET_ID (AppRole) or VAULT_K8S_ROLE (Kubernetes)',
        });
      }
      if (vaultMethods.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['VAULT_TOKEN'],
          message: `one Vault login method at a time, got ${vaultMethods.join(' and ')}`,
        });
      }
      if ((env.VAULT_ROLE_ID === undefined) !== (env.VAULT_SECRET_ID === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [env.VAULT_ROLE_ID === undefined ? 'VAULT_ROLE_ID' : 'VAULT_SECRET_ID'],
          message: 'VAULT_ROLE_ID and VAULT_SECRET_ID go together (AppRole)',
        });
      }
      // Temporal: a client certificate is a pair; a certificate or an API key means TLS.
      if ((env.TEMPORAL_TLS_CLIENT_CERT_PATH === undefined) !== (env.TEMPORAL_TLS_CLIENT_KEY_PATH === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [
            env.TEMPORAL_TLS_CLIENT_CERT_PATH === undefined
              ? 'TEMPORAL_TLS_CLIENT_CERT_PATH'
              : 'TEMPORAL_TLS_CLIENT_KEY_PATH',
          ],
          message: 'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together',
        });
      }
      if (env.TEMPORAL_TLS === false) {
        for (const k of [
          'TEMPORAL_API_KEY',
          'TEMPORAL_TLS_CLIENT_CERT_PATH',
          'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
          'TEMPORAL_TLS_SERVER_NAME',
        ] as const) {
          if (env[k] !== undefined) {
            ctx.addIssue({ code: 'custom', path: [k], message: 'needs TLS, but TEMPORAL_TLS=false' });
          }
        }
      }
      if (
        env.CRA_ENV === 'production' &&
        typeof env.MONGODB_URI === 'string' &&
        !env.MONGODB_URI.startsWith('mongodb+srv://') &&
        !/[?&]replicaSet=[^&]+/.test(env.MONGODB_URI)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['MONGODB_URI'],
          message:
            'must name a replica set in production (CRA_ENV=production): add ?replicaSet=<name>, or use mongodb+srv://',
        });
      }
      if (env.CRA_ENV === 'production' && env.CRA_CODEC_LOCAL_TOKEN !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['CRA_CODEC_LOCAL_TOKEN'],
          message:
            "not in production (CRA_ENV=production): operators use the codec endpoint with their own token (permission 'histories:decode')",
        });
      }
      // Notices: production sends them; the outbox (which keeps every code and link, sealed) is for development.
      if (env.CRA_ENV === 'production' && env.CRA_NOTIFIER === 'outbox') {
        ctx.addIssue({
          code: 'custom',
          path: ['CRA_NOTIFIER'],
          message: 'outbox is refused in production (CRA_ENV=production): notices are sent, set SMTP_URL',
        });
      }
      if ((env.CRA_NOTIFIER ?? (env.CRA_ENV === 'production' ? 'smtp' : 'outbox')) === 'smtp' && !env.SMTP_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['SMTP_URL'],
          message: 'required to send notices (CRA_NOTIFIER=smtp, the default in production)',
        });
      }
      if (env.CRA_ENV === 'production' && env.VAULT_ADDR === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['VAULT_ADDR'],
          message: 'required in production (CRA_ENV=production): the local keyring is for development',
        });
      }
      if (env.CRA_ENV === 'production') {
        for (const k of auth0.filter((key) => env[key] === undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: 'required in production (CRA_ENV=production): the embedded directory is for development',
          });
        }
      }
    },
    { when: () => true },
  );

export type Env = z.infer<typeof configSchema>;

/**
 * The origins the codec endpoint answers browsers from: the configured list, else Temporal Web's origin. A
 * loopback origin brings its twin (`localhost` ↔ `127.0.0.1`): the same Temporal Web, typed either way.
 */
function codecCorsOrigins(configured: string | undefined, uiUrl: string): string[] {
  const origins = (configured ?? uiUrl)
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => new URL(o).origin);
  const twins = origins.flatMap((o) => {
    const url = new URL(o);
    if (url.hostname === 'localhost') url.hostname = '127.0.0.1';
    else if (url.hostname === '127.0.0.1') url.hostname = 'localhost';
    else return [];
    return [url.origin];
  });
  return [...new Set([...origins, ...twins])];
}

/** Support's address when `SUPPORT_EMAIL` is not set. */
export const defaultSupportEmail = 'support@cra.local';

/** The configuration the processes use, derived from the checked environment. */
export interface CraConfig {
  env: Env['CRA_ENV'];
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  logLevel: Env['LOG_LEVEL'];
  logFormat: 'json' | 'pretty';
  temporal: {
    address: string;
    namespace: string;
    taskQueuePrefix: string;
    uiUrl: string;
    /** The codec endpoint's browser origins (Temporal Web) and the local run's path secret. */
    codec: { corsOrigins: string[]; localToken?: string };
    /** TLS to the frontend: on with `TEMPORAL_TLS`, a client certificate or an API key; files are read at start. */
    tls?: TemporalTlsConfig;
    /** `TEMPORAL_API_KEY` (Temporal Cloud), sent as `authorization: Bearer …`. */
    apiKey?: string;
  };
  mongo: {
    uri: string;
    db: string;
    /** `MONGODB_TLS_CA_FILE`, `MONGODB_TLS_CERT_KEY_FILE`: files the driver reads (TLS is on with either). */
    tls?: { caFile?: string; certKeyFile?: string };
  };
  auth: { issuer: string; audience: string; jwksUrl?: string; clockToleranceSeconds: number };
  identity:
    | {
        kind: 'embedded';
        activitiesPerSecond: number;
        /** Public clients (apps, SPAs, CLIs) of the embedded issuer: their sign-in redirect URIs (`EMBEDDED_OIDC_CLIENTS`). */ appClients: LinkClientRedirectUris;
      }
    | {
        kind: 'auth0';
        domain: string;
        clientId: string;
        clientSecret: string;
        audience: string;
        defaultRoleId?: string;
        activitiesPerSecond: number;
        login?: { clientId: string; clientSecret: string };
      };
  signup: { hookSecrets: string[]; detailsWait?: string };
  worker: { metricsPort: number; metricsHost: string; shutdownGrace: string; workflowBundle?: string };
  /** `TRUSTED_PROXIES`: the peers whose `X-Forwarded-For` the API reads (with `TRUSTED_PROXY_HOPS`); absent: any peer. */
  trustedProxies?: string[];
  healthTimeoutMs: number;
  providers: ProviderConfig;
  /** Link: redirect URIs of apps that finish links themselves (`LINK_CLIENT_REDIRECT_URIS`), by OAuth client id. */
  link?: { clientRedirectUris: LinkClientRedirectUris };
  /**
   * `LINK_AUTO_APPROVE_VERIFIED_EMAIL`: a link conflict approves itself, without support, when the provider
   * account verified the linking account's own address and not the other account's. Off unless set.
   */
  linkAutoApproveVerifiedEmail: boolean;
  /** What the environment overrides of the recovery defaults (`temporal.config.ts`, `domain/recovery.ts`); absent when nothing is. */
  recovery?: RecoveryOverrides;
  /** Provider data sync: schedule interval, page size, pages per run before continue-as-new. */
  sync: { interval: string; pageSize: number; maxPagesPerRun: number; batchPages: number };
  /** Where reports for support go (`SUPPORT_EMAIL`); absent: `defaultSupportEmail`. */
  supportEmail?: string;
  /** Data rights: consent purposes (`CONSENT_PURPOSES`), export link lifetime, erasure grace and tombstone retention. */
  dataRights: {
    consentPurposes: ConsentPurpose[];
    exportLinkTtl: string;
    erasureGracePeriod: string;
    deletedAccountRetention: string;
  };
  /** HashiCorp Vault; absent: the embedded keyring under the data folder. */
  vault?: VaultConfig;
  /** Where notices go (`CRA_NOTIFIER`): the sealed outbox, or email through an SMTP relay (`SMTP_URL`, `SMTP_FROM`). */
  notifier: NotifierConfig;
}

export type NotifierConfig = { kind: 'outbox' } | { kind: 'smtp'; url: string; from: string };

/** Paths, not contents: `loadConfig` reads no file (see `activities/connections/files.ts`). */
export interface TemporalTlsConfig {
  /** `TEMPORAL_TLS_SERVER_CA_CERT_PATH`; absent: the system's roots (Temporal Cloud). */
  serverCaCertPath?: string;
  /** `TEMPORAL_TLS_SERVER_NAME`: the name the server's certificate must carry, when not the address's host. */
  serverName?: string;
  /** `TEMPORAL_TLS_CLIENT_CERT_PATH` + `TEMPORAL_TLS_CLIENT_KEY_PATH`: mTLS. */
  clientCertPair?: { certPath: string; keyPath: string };
}

/** How CRA logs in to Vault: a static token, AppRole, or the pod's Kubernetes service account. */
export type VaultAuth =
  | { method: 'token'; token: string }
  | { method: 'approle'; roleId: string; secretId: string; mount: string }
  | { method: 'kubernetes'; role: string; mount: string; tokenPath: string };

export interface VaultConfig {
  endpoint: string;
  auth: VaultAuth;
  transitMount: string;
  kvMount: string;
  namespace?: string;
  /** `VAULT_CACERT`: the CA file that signed Vault's certificate. */
  caCert?: string;
}

export interface RecoveryOverrides {
  noticeInterval?: string;
  coolingPeriod?: string;
  expiry?: string;
  codeTtl?: string;
  ticketTtl?: string;
  agentSignatureWindow?: string;
  rateLimitPerIp?: number;
  rateLimitPerEmail?: number;
  rateLimitWindow?: string;
  trustedProxyHops?: number;
  countryHeader?: string;
  webauthnRpId?: string;
  webauthnOrigins?: string[];
  /** `RECOVERY_MIN_CONNECTION_AGE`: connections younger than this are no `provider_reauth` factor. */
  minConnectionAge?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Check the environment and derive the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): CraConfig {
  const blanksRemoved = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(blanksRemoved);
  const providers = parseProviderConfig(blanksRemoved, blanksRemoved.CRA_ENV === 'production');
  const linkClients = parseLinkClientRedirectUris(
    blanksRemoved.LINK_CLIENT_REDIRECT_URIS,
    blanksRemoved.CRA_ENV === 'production',
  );
  const consentPurposes = parseConsentPurposes(blanksRemoved.CONSENT_PURPOSES);
  const appClients = parseClientRedirectUris(
    'EMBEDDED_OIDC_CLIENTS',
    blanksRemoved.EMBEDDED_OIDC_CLIENTS,
    blanksRemoved.CRA_ENV === 'production',
  );
  if (
    !parsed.success ||
    providers.problems.length > 0 ||
    linkClients.problems.length > 0 ||
    appClients.problems.length > 0 ||
    consentPurposes.problems.length > 0
  ) {
    throw new ConfigError([
      ...(parsed.error?.issues ?? []).map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        // Echo the value to help, but never a secret, nor the credentials of a connection string.
        const got =
          typeof issue.path[0] === 'string' &&
          issue.path[0] in blanksRemoved &&
          !/SECRET|TOKEN|API_KEY|ROLE_ID|SMTP_URL/.test(issue.path[0])
            ? ` (got "${blanksRemoved[issue.path[0]]!.replace(/\/\/[^/?#]*@/, '//[redacted]@')}")`
            : '';
        return `${name}: ${issue.message}${got}`;
      }),
      ...providers.problems,
      ...linkClients.problems,
      ...appClients.problems,
      ...consentPurposes.problems,
    ]);
  }
  const env = parsed.data;
  const publicUrl = (env.CRA_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');
  const auth0 = env.AUTH0_DOMAIN
    ? {
        kind: 'auth0' as const,
        domain: env.AUTH0_DOMAIN,
        clientId: env.AUTH0_CLIENT_ID!,
        clientSecret: env.AUTH0_CLIENT_SECRET!,
        audience: env.AUTH0_AUDIENCE!,
        defaultRoleId: env.AUTH0_DEFAULT_ROLE_ID,
        activitiesPerSecond: env.IDENTITY_ACTIVITIES_PER_SECOND ?? 2,
        ...(env.AUTH0_LOGIN_CLIENT_ID && env.AUTH0_LOGIN_CLIENT_SECRET
          ? { login: { clientId: env.AUTH0_LOGIN_CLIENT_ID, clientSecret: env.AUTH0_LOGIN_CLIENT_SECRET } }
          : {}),
      }
    : undefined;
  return {
    env: env.CRA_ENV,
    host: env.HOST,
    port: env.PORT,
    publicUrl,
    dataDir: env.CRA_DATA_DIR,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT ?? (env.CRA_ENV === 'production' ? 'json' : 'pretty'),
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueuePrefix: env.TEMPORAL_TASK_QUEUE_PREFIX,
      uiUrl: env.TEMPORAL_UI_URL.replace(/\/+$/, ''),
      codec: {
        corsOrigins: codecCorsOrigins(env.TEMPORAL_CODEC_CORS_ORIGINS, env.TEMPORAL_UI_URL),
        ...(env.CRA_CODEC_LOCAL_TOKEN ? { localToken: env.CRA_CODEC_LOCAL_TOKEN } : {}),
      },
      ...temporalTls(env),
      ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
    },
    mongo: {
      uri: env.MONGODB_URI,
      db: env.MONGODB_DB,
      ...(env.MONGODB_TLS_CA_FILE || env.MONGODB_TLS_CERT_KEY_FILE
        ? {
            tls: {
              ...(env.MONGODB_TLS_CA_FILE ? { caFile: env.MONGODB_TLS_CA_FILE } : {}),
              ...(env.MONGODB_TLS_CERT_KEY_FILE ? { certKeyFile: env.MONGODB_TLS_CERT_KEY_FILE } : {}),
            },
          }
        : {}),
    },
    auth: {
      issuer: env.AUTH_ISSUER ?? (auth0 ? `https://${auth0.domain}/` : `${publicUrl}/`),
      audience: env.AUTH_AUDIENCE,
      jwksUrl: env.AUTH_JWKS_URL ?? (auth0 ? `https://${auth0.domain}/.well-known/jwks.json` : undefined),
      clockToleranceSeconds: env.AUTH_CLOCK_TOLERANCE_SECONDS,
    },
    identity: auth0 ?? {
      kind: 'embedded',
      activitiesPerSecond: env.IDENTITY_ACTIVITIES_PER_SECOND ?? 50,
      appClients: appClients.value,
    },
    signup: { hookSecrets: env.SIGNUP_HOOK_SECRETS ?? [], detailsWait: env.SIGNUP_DETAILS_WAIT },
    worker: {
      metricsPort: env.METRICS_PORT,
      metricsHost: env.METRICS_HOST,
      shutdownGrace: env.WORKER_SHUTDOWN_GRACE,
      ...(env.WORKFLOW_BUNDLE ? { workflowBundle: env.WORKFLOW_BUNDLE } : {}),
    },
    ...(env.TRUSTED_PROXIES ? { trustedProxies: env.TRUSTED_PROXIES } : {}),
    healthTimeoutMs: env.CRA_HEALTH_TIMEOUT_MS,
    providers: providers.config,
    ...(Object.keys(linkClients.value).length > 0 ? { link: { clientRedirectUris: linkClients.value } } : {}),
    linkAutoApproveVerifiedEmail: env.LINK_AUTO_APPROVE_VERIFIED_EMAIL,
    sync: {
      interval: env.SYNC_INTERVAL,
      pageSize: env.SYNC_PAGE_SIZE,
      maxPagesPerRun: env.SYNC_MAX_PAGES_PER_RUN,
      batchPages: env.SYNC_BATCH_PAGES,
    },
    dataRights: {
      consentPurposes: consentPurposes.value,
      exportLinkTtl: env.EXPORT_LINK_TTL,
      erasureGracePeriod: env.ERASURE_GRACE_PERIOD,
      deletedAccountRetention: env.DELETED_ACCOUNT_RETENTION,
    },
    ...(env.SUPPORT_EMAIL ? { supportEmail: env.SUPPORT_EMAIL } : {}),
    notifier:
      (env.CRA_NOTIFIER ?? (env.CRA_ENV === 'production' ? 'smtp' : 'outbox')) === 'smtp'
        ? { kind: 'smtp', url: env.SMTP_URL!, from: env.SMTP_FROM ?? `CRA <no-reply@${new URL(publicUrl).hostname}>` }
        : { kind: 'outbox' },
    ...(env.VAULT_ADDR
      ? {
          vault: {
            endpoint: env.VAULT_ADDR,
            auth: vaultAuth(env),
            transitMount: env.VAULT_TRANSIT_MOUNT,
            kvMount: env.VAULT_KV_MOUNT,
            ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
            ...(env.VAULT_CACERT ? { caCert: env.VAULT_CACERT } : {}),
          },
        }
      : {}),
    ...recoveryOverrides(env),
  };
}

/** The schema's refinements guarantee exactly one method when VAULT_ADDR is set. */
function vaultAuth(env: Env): VaultAuth {
  if (env.VAULT_ROLE_ID && env.VAULT_SECRET_ID) {
    return {
      method: 'approle',
      roleId: env.VAULT_ROLE_ID,
      secretId: env.VAULT_SECRET_ID,
      mount: env.VAULT_APPROLE_MOUNT,
    };
  }
  if (env.VAULT_K8S_ROLE) {
    return {
      method: 'kubernetes',
      role: env.VAULT_K8S_ROLE,
      mount: env.VAULT_K8S_MOUNT,
      tokenPath: env.VAULT_K8S_TOKEN_PATH,
    };
  }
  return { method: 'token', token: env.VAULT_TOKEN! };
}

/** TLS is on when asked, or implied by a client certificate, a CA, a server name or an API key. */
function temporalTls(env: Env): { tls?: TemporalTlsConfig } {
  const implied =
    env.TEMPORAL_API_KEY !== undefined ||
    env.TEMPORAL_TLS_CLIENT_CERT_PATH !== undefined ||
    env.TEMPORAL_TLS_SERVER_CA_CERT_PATH !== undefined ||
    env.TEMPORAL_TLS_SERVER_NAME !== undefined;
  if (!(env.TEMPORAL_TLS ?? implied)) return {};
  return {
    tls: {
      ...(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH ? { serverCaCertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH } : {}),
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverName: env.TEMPORAL_TLS_SERVER_NAME } : {}),
      ...(env.TEMPORAL_TLS_CLIENT_CERT_PATH && env.TEMPORAL_TLS_CLIENT_KEY_PATH
        ? { clientCertPair: { certPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH, keyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH } }
        : {}),
    },
  };
}

function recoveryOverrides(env: Env): { recovery?: RecoveryOverrides } {
  const all: RecoveryOverrides = {
    noticeInterval: env.RECOVERY_NOTICE_INTERVAL,
    coolingPeriod: env.RECOVERY_COOLING_PERIOD,
    expiry: env.RECOVERY_EXPIRY,
    codeTtl: env.RECOVERY_CODE_TTL,
    ticketTtl: env.RECOVERY_TICKET_TTL,
    agentSignatureWindow: env.AGENT_SIGNATURE_WINDOW,
    rateLimitPerIp: env.RECOVERY_RATE_LIMIT_PER_IP,
    rateLimitPerEmail: env.RECOVERY_RATE_LIMIT_PER_EMAIL,
    rateLimitWindow: env.RECOVERY_RATE_LIMIT_WINDOW,
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    countryHeader: env.CLIENT_COUNTRY_HEADER,
    webauthnRpId: env.WEBAUTHN_RP_ID,
    webauthnOrigins: env.WEBAUTHN_ORIGINS,
    minConnectionAge: env.RECOVERY_MIN_CONNECTION_AGE,
  };
  const set = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as RecoveryOverrides;
  return Object.keys(set).length > 0 ? { recovery: set } : {};
}
