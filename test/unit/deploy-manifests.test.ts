/**
 * The deployment files against the code: every YAML file under deploy/ parses; every variable compose and
 * Kubernetes set is one the configuration reads (domain/environment.ts); the API's and the worker's
 * environment from compose and from the Kubernetes manifests loads in production without a ConfigError;
 * ports, probes and commands match the routes, the config and the build; the worker's grace fits inside
 * Kubernetes' termination grace. No Docker or Kubernetes runs here, so these static checks are what catch drift.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { configSchema, loadConfig } from '../../domain/config.js';
import { environmentVariables, isEnvironmentVariable } from '../../domain/environment.js';
import { searchAttributeRegistrations } from '../../temporal.config.js';

const root = join(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

function filesUnder(dir: string, test: (name: string) => boolean): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

type Json = Record<string, unknown>;
const yamlDocs = (path: string): Json[] =>
  parseAllDocuments(read(path), { merge: true }).map((d) => {
    expect(d.errors, path).toEqual([]);
    return d.toJS({ maxAliasCount: 100 }) as Json;
  });

// ---- compose ----------------------------------------------------------------------------------------
interface ComposeService {
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
  networks?: Record<string, { aliases?: string[] }>;
  stop_grace_period?: string;
  build?: { target: string };
  ports?: string[];
}
const compose = parseYaml(read('deploy/compose.yaml'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** Samples for the variables compose requires from the operator (`${VAR:?message}`). */
const operatorSamples: Record<string, string> = {
  AUTH0_DOMAIN: 'example.eu.auth0.com',
  AUTH0_CLIENT_ID: 'compose-client-id',
  AUTH0_CLIENT_SECRET: 'compose-client-secret',
  SIGNUP_HOOK_SECRETS: 'a-hook-secret-of-at-least-thirty-two-chars',
  SMTP_URL: 'smtps://cra:relay-password@smtp.example.com:465',
};

/** Compose's interpolation (https://docs.docker.com/reference/compose-file/interpolation/): `:?` needs a value, `:-` defaults. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    if (op === '-') return arg ?? '';
    const sample = operatorSamples[name];
    if (sample === undefined) throw new Error(`no sample for the required compose variable ${name}`);
    return sample;
  });
}
const composeEnv = (service: string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(compose.services[service]!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
  );

// ---- Kubernetes ---------------------------------------------------------------------------------------
interface K8sContainer {
  name: string;
  image: string;
  command: string[];
  ports: { name: string; containerPort: number }[];
  env?: { name: string; value: string }[];
  envFrom?: ({ configMapRef: { name: string } } | { secretRef: { name: string } })[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: Json & {
    ports?: { port: number; targetPort: string | number }[];
    template?: { spec: { terminationGracePeriodSeconds: number; containers: K8sContainer[] } };
  };
}
const kustomization = parseYaml(read('deploy/k8s/kustomization.yaml')) as {
  namespace: string;
  resources: string[];
  images: { name: string }[];
};
const k8sObjects: K8sObject[] = kustomization.resources.flatMap(
  (f) => yamlDocs(`deploy/k8s/${f}`) as unknown[] as K8sObject[],
);
const secretExample = yamlDocs('deploy/k8s/secret.example.yaml')[0] as unknown as K8sObject;
const byKind = (kind: string, name: string): K8sObject => {
  const found = k8sObjects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found;
};
const container = (deployment: string): K8sContainer =>
  byKind('Deployment', deployment).spec!.template!.spec.containers[0]!;

/** A container's environment as Kubernetes builds it: envFrom first, then env (which wins). */
function k8sEnv(c: K8sContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if ('configMapRef' in from) Object.assign(env, byKind('ConfigMap', from.configMapRef.name).data);
    else {
      expect(from.secretRef.name).toBe(secretExample.metadata.name);
      Object.assign(env, secretExample.stringData);
    }
  }
  for (const { name, value } of c.env ?? []) env[name] = value;
  return env;
}

// ---- helpers -------------------------------------------------------------------------------------------
/** `configSchema`'s duration forms, in seconds. */
function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$/.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  const unit = m[2]!;
  const factor =
    unit.startsWith('ms') || unit.startsWith('milli')
      ? 0.001
      : ({ s: 1, m: 60, h: 3600, d: 86400 } as const)[unit[0] as 's'];
  return Number(m[1]) * factor;
}

const defaultOf = (name: 'PORT' | 'METRICS_PORT' | 'WORKER_SHUTDOWN_GRACE'): string =>
  String(configSchema.shape[name].parse(undefined));

const healthRoutes = [...read('api/routes/health.ts').matchAll(/path: '([^']+)'/g)].map((m) => m[1]!);

// ---- tests -----------------------------------------------------------------------------------------------
describe('every YAML file under deploy/ parses', () => {
  const files = filesUnder('deploy', (n) => /\.ya?ml$/.test(n));
  it('finds the compose file and the Kubernetes manifests', () => {
    expect(files).toEqual(expect.arrayContaining(['deploy/compose.yaml', 'deploy/k8s/kustomization.yaml']));
  });
  it.each(files)('%s', (file) => {
    const docs = yamlDocs(file);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect(d).toBeTypeOf('object');
  });
});

describe('domain/environment.ts', () => {
  it('lists the schema keys, provider variables and list variables the config reads', () => {
    for (const k of Object.keys(configSchema.shape)) expect(environmentVariables.has(k), k).toBe(true);
    for (const k of ['ENABLE_GOOGLE_LOGIN', 'PROVIDER_GITHUB_TOKEN_URL', 'CRA_SANDBOX_URL', 'CONSENT_PURPOSES']) {
      expect(isEnvironmentVariable(k), k).toBe(true);
    }
    expect(isEnvironmentVariable('VAULT_TOKEN_TYPO')).toBe(false);
  });
});

describe('compose', () => {
  const craServices = ['api', 'worker'];

  it.each(craServices)('%s: every variable is one CRA reads', (service) => {
    const unknown = Object.keys(composeEnv(service)).filter((k) => !isEnvironmentVariable(k));
    expect(unknown).toEqual([]);
  });

  it.each(craServices)('%s: the environment loads in production (every required variable set)', (service) => {
    const env = composeEnv(service);
    expect(env.CRA_ENV).toBe('production');
    expect(env.MONGODB_URI).toMatch(/[?&]replicaSet=|^mongodb\+srv:\/\//);
    const config = loadConfig(env);
    if (config) expect(config.identity.kind).toBe('auth0');
    expect(env.VAULT_ROLE_ID && env.VAULT_SECRET_ID).toBeTruthy();
  });

  it('the Vault AppRole ids compose gives CRA are the ones vault-init sets', () => {
    const api = compose.services.api!.environment!;
    const init = compose.services['vault-init']!.environment!;
    expect(api.VAULT_ROLE_ID).toBe(init.CRA_VAULT_ROLE_ID);
    expect(api.VAULT_SECRET_ID).toBe(init.CRA_VAULT_SECRET_ID);
    const script = read('deploy/compose/vault-init.sh');
    expect(script).toMatch(/role-id role_id="\$CRA_VAULT_ROLE_ID"/);
    expect(script).toMatch(/custom-secret-id secret_id="\$CRA_VAULT_SECRET_ID"/);
    expect(script).toContain('vault secrets enable transit');
  });

  it('the API health check asks a route that exists, on PORT; the worker its metrics port', () => {
    const api = composeEnv('api');
    const apiCheck = compose.services.api!.healthcheck!.test.join(' ');
    const [, apiPort, apiPath] = /127\.0\.0\.1:(\d+)(\/\w+)/.exec(apiCheck)!;
    expect(healthRoutes).toContain(apiPath);
    expect(apiPort).toBe(api.PORT ?? defaultOf('PORT'));
    expect(api.HOST).toBe('0.0.0.0');

    const worker = composeEnv('worker');
    const [, metricsPort, metricsPath] = /127\.0\.0\.1:(\d+)(\/\w+)/.exec(
      compose.services.worker!.healthcheck!.test.join(' '),
    )!;
    expect(metricsPath).toBe('/metrics');
    expect(metricsPort).toBe(worker.METRICS_PORT);
    expect(worker.METRICS_HOST).toBe('0.0.0.0');
    expect(compose.services.worker!.build!.target).toBe('worker');
    expect(compose.services.api!.build!.target).toBe('api');
  });

  it("the worker's stop grace exceeds its shutdown grace", () => {
    const worker = composeEnv('worker');
    expect(seconds(compose.services.worker!.stop_grace_period!)).toBeGreaterThan(
      seconds(worker.WORKER_SHUTDOWN_GRACE!) + 5,
    );
  });

  it("the API answers at the host Kong's service URL names, and only Kong's address is a trusted proxy", () => {
    const kongUrl = new URL(kongApiUrl());
    expect(compose.services.api!.networks!.default!.aliases).toContain(kongUrl.hostname);
    expect(kongUrl.port).toBe(composeEnv('api').PORT);
    const kongIp = (compose.services.kong!.networks!.default as unknown as { ipv4_address: string }).ipv4_address;
    expect(composeEnv('api').TRUSTED_PROXIES).toBe(kongIp);
    expect(composeEnv('api').TRUSTED_PROXY_HOPS).toBe('1');
    expect(compose.services.kong!.environment).toMatchObject({
      KONG_DATABASE: 'off',
      KONG_DECLARATIVE_CONFIG: '/kong/kong.yaml',
    });
  });

  it('Temporal: the server and the schema job share one PostgreSQL setting the image accepts', () => {
    // DB values and variable names: https://github.com/temporalio/docker-builds/blob/main/docker-readme/server.md
    const server = compose.services.temporal!.environment!;
    const schema = compose.services['temporal-schema']!.environment!;
    expect(server).toEqual(schema);
    expect(server).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    const pg = (compose.services.postgresql as { environment: Record<string, string> }).environment;
    expect([server.POSTGRES_USER, server.POSTGRES_PWD]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD]);
    const script = read('deploy/compose/temporal-schema.sh');
    expect(script).toContain('--plugin postgres12');
    expect(script).toMatch(/update-schema -d "\$schema\/\$dir\/versioned"/);
    expect(composeEnv('api').TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('temporal-init registers the search attributes temporal.config.ts defines', () => {
    const script = read('deploy/compose/temporal-init.sh');
    const registered = [...script.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => [m[1], m[2]]);
    expect(registered).toEqual(searchAttributeRegistrations.map(([n, t]) => [n, t]));
    expect(compose.services['temporal-init']!.environment!.CRA_NAMESPACE).toBe(composeEnv('api').TEMPORAL_NAMESPACE);
  });
});

/** The upstream URL in kong/kong.yaml that points at the CRA API. */
function kongApiUrl(): string {
  const kong = parseYaml(read('kong/kong.yaml')) as { services: { url?: string; host?: string; port?: number }[] };
  const urls = kong.services.map((s) => s.url ?? `http://${s.host}:${s.port}`).filter((u) => /cra-api/.test(u));
  expect(urls.length).toBeGreaterThan(0);
  return urls[0]!;
}

describe('Kubernetes', () => {
  const deployments = ['cra-api', 'cra-worker'];

  it('has Deployments, Services, HPAs, PDBs and NetworkPolicies for the API and the worker', () => {
    for (const d of deployments) {
      byKind('Deployment', d);
      byKind('HorizontalPodAutoscaler', d);
      byKind('PodDisruptionBudget', d);
      byKind('NetworkPolicy', d);
    }
    byKind('Service', 'cra-api');
    byKind('ConfigMap', 'cra-config');
  });

  it.each(deployments)('%s: every variable (ConfigMap, Secret example, env) is one CRA reads', (d) => {
    const names = [
      ...Object.keys(byKind('ConfigMap', 'cra-config').data!),
      ...Object.keys(secretExample.stringData!),
      ...(container(d).env ?? []).map((e) => e.name),
    ];
    expect(names.filter((k) => !isEnvironmentVariable(k))).toEqual([]);
  });

  it.each(deployments)('%s: the environment loads in production', (d) => {
    const env = k8sEnv(container(d));
    expect(env.CRA_ENV).toBe('production');
    expect(env.MONGODB_URI).toMatch(/[?&]replicaSet=|^mongodb\+srv:\/\//);
    expect(env.VAULT_K8S_ROLE).toBeTruthy();
    const config = loadConfig(env);
    if (config) expect(config.identity.kind).toBe('auth0');
  });

  it('the API: container port = PORT, probes on routes that exist, Service port = Kong upstream', () => {
    const c = container('cra-api');
    const env = k8sEnv(c);
    const http = c.ports.find((p) => p.name === 'http')!;
    expect(String(http.containerPort)).toBe(env.PORT ?? defaultOf('PORT'));
    expect(env.HOST).toBe('0.0.0.0');
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      expect(healthRoutes).toContain(probe!.httpGet.path);
      expect(probe!.httpGet.port).toBe('http');
    }
    expect(c.readinessProbe!.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe!.httpGet.path).toBe('/healthz');

    const service = byKind('Service', 'cra-api');
    const kongUrl = new URL(kongApiUrl());
    expect(kongUrl.hostname).toBe(`${service.metadata.name}.${kustomization.namespace}.svc.cluster.local`);
    const port = service.spec!.ports!.find((p) => String(p.port) === kongUrl.port);
    expect(port?.targetPort).toBe('http');
    expect(env.TRUSTED_PROXY_HOPS).toBe('1');
    expect(env.TRUSTED_PROXIES).toBeTruthy();
  });

  it('the worker: metrics port = METRICS_PORT, probes on /metrics, drains within terminationGracePeriodSeconds', () => {
    const c = container('cra-worker');
    const env = k8sEnv(c);
    const metrics = c.ports.find((p) => p.name === 'metrics')!;
    expect(String(metrics.containerPort)).toBe(env.METRICS_PORT ?? defaultOf('METRICS_PORT'));
    expect(env.METRICS_HOST).toBe('0.0.0.0');
    for (const probe of [c.startupProbe, c.livenessProbe]) {
      expect(probe!.httpGet).toEqual({ path: '/metrics', port: 'metrics' });
    }
    const grace = seconds(env.WORKER_SHUTDOWN_GRACE ?? defaultOf('WORKER_SHUTDOWN_GRACE'));
    const termination = byKind('Deployment', 'cra-worker').spec!.template!.spec.terminationGracePeriodSeconds;
    expect(termination).toBeGreaterThanOrEqual(grace + 10);
  });

  it('images are the ones kustomization.yaml maps, commands the Dockerfile targets run', () => {
    const images = kustomization.images.map((i) => i.name);
    expect(container('cra-api').image).toBe('cra-api');
    expect(container('cra-worker').image).toBe('cra-worker');
    expect(images).toEqual(expect.arrayContaining(['cra-api', 'cra-worker']));
    expect(container('cra-api').command).toEqual(dockerStage('api').cmd);
    expect(container('cra-worker').command).toEqual(dockerStage('worker').cmd);
    expect(k8sEnv(container('cra-worker')).WORKFLOW_BUNDLE).toBe(dockerEnv().WORKFLOW_BUNDLE);
  });
});

// ---- Dockerfile ----------------------------------------------------------------------------------------------
interface Stage {
  name: string;
  from: string;
  lines: string[];
  cmd?: string[];
}
function dockerStages(): Stage[] {
  const text = read('Dockerfile').replace(/\\\n\s*/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)\s+AS\s+(\S+)/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2]!, lines: [] });
    else if (stages.length > 0) {
      const stage = stages.at(-1)!;
      stage.lines.push(line);
      if (/^CMD\s/.test(line)) stage.cmd = JSON.parse(line.slice(4)) as string[];
    }
  }
  return stages;
}
function dockerStage(name: string): Stage {
  const s = dockerStages().find((st) => st.name === name);
  if (!s) throw new Error(`no Dockerfile stage ${name}`);
  return s;
}
/** ENV of the runtime stage (`ENV A=1 B=2`). */
function dockerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of dockerStage('runtime').lines.filter((l) => l.startsWith('ENV '))) {
    for (const m of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  }
  return env;
}

describe('Dockerfile', () => {
  it('builds in one stage and installs production dependencies only in the runtime stage', () => {
    const build = dockerStage('build');
    expect(build.lines).toEqual(expect.arrayContaining(['RUN npm ci', 'RUN npm run build']));
    const runtime = dockerStage('runtime');
    const installs = runtime.lines.filter((l) => /npm (ci|install)/.test(l));
    expect(installs.length).toBeGreaterThan(0);
    for (const l of installs) expect(l).toMatch(/npm ci --omit=dev/);
    expect(runtime.lines.some((l) => /^COPY --from=build \/app\/dist/.test(l))).toBe(true);
    expect(runtime.from).toMatch(/NODE_IMAGE|slim/);
    expect(read('Dockerfile')).toMatch(/ARG NODE_IMAGE=node:2[24]-\w+-slim/);
  });

  it('runs as a non-root user', () => {
    const users = dockerStage('runtime').lines.filter((l) => l.startsWith('USER '));
    expect(users.length).toBe(1);
    const user = users[0]!.slice(5).split(':')[0]!;
    expect(['root', '0']).not.toContain(user);
    for (const s of ['api', 'worker']) expect(dockerStage(s).lines.some((l) => l.startsWith('USER '))).toBe(false);
  });

  it('the targets inherit the runtime, expose PORT / METRICS_PORT, check /healthz and /metrics', () => {
    const env = dockerEnv();
    const api = dockerStage('api');
    const worker = dockerStage('worker');
    expect(api.from).toBe('runtime');
    expect(worker.from).toBe('runtime');
    expect(api.lines).toContain(`EXPOSE ${env.PORT}`);
    expect(worker.lines).toContain(`EXPOSE ${env.METRICS_PORT}`);
    expect(api.lines.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/process\.env\.PORT\+'\/healthz'/);
    expect(healthRoutes).toContain('/healthz');
    expect(worker.lines.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/process\.env\.METRICS_PORT\+'\/metrics'/);
    expect(env).toMatchObject({ HOST: '0.0.0.0', METRICS_HOST: '0.0.0.0', CRA_ENV: 'production' });
    for (const k of Object.keys(env).filter((k) => k !== 'NODE_ENV')) expect(isEnvironmentVariable(k), k).toBe(true);
    expect(dockerStages().at(-1)!.name).toBe('api');
  });

  it('the commands run files the build makes from sources that exist', () => {
    const buildConfig = existsSync(join(root, 'tsconfig.build.json'))
      ? (JSON.parse(read('tsconfig.build.json')) as { include?: string[] })
      : undefined;
    const env = dockerEnv();
    expect(env.WORKFLOW_BUNDLE).toBe('/app/dist/workflow-bundle.js');
    expect(dockerStage('runtime').lines).toContain('WORKDIR /app');
    for (const stage of ['api', 'worker']) {
      const cmd = dockerStage(stage).cmd!;
      const [node, file] = [cmd[0], cmd.at(-1)];
      expect(node).toBe('node');
      // Between them, only node's own options (the worker's heap cap).
      for (const option of cmd.slice(1, -1)) expect(option).toMatch(/^--[a-z-]+(=\S+)?$/);
      const source = file!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(existsSync(join(root, source)), source).toBe(true);
      if (buildConfig?.include) {
        const covered = buildConfig.include.some((pattern) => globToRegExp(pattern).test(source));
        expect(covered, `${source} in tsconfig.build.json's include`).toBe(true);
      }
    }
  });
});

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/^\.\//, '')
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*\/?/g, '@@')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]')
    .replace(/@@/g, '(?:.*/)?');
  // A bare folder (`api`) includes everything under it, as TypeScript reads it.
  return new RegExp(`^${body}${/[*.]/.test(glob) ? '' : '(?:/.*)?'}$`);
}
