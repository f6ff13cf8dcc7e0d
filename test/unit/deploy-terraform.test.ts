/**
 * Terraform and Vault files against the code: every HCL file parses with HashiCorp's own parser (Go HCL
 * in wasm, @cdktf/hcl2json); the Auth0 roles and permissions equal domain/roles.ts; social connections
 * follow the provider catalog's flags; CRA's Vault policy grants every request the Vault adapter makes;
 * the transit keys are the ones the code names; outputs are CRA variables; and the post-registration
 * Action, run as Auth0 runs it, sends a request CRA's hook signature check accepts, over real HTTP.
 * No Terraform binary or Auth0 tenant here: these are the checks that catch drift.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { signatureHeader, verifySignature } from '../../api/auth/hook-signature.js';
import { postRegistrationPath } from '../../api/routes/hooks.js';
import { configSchema } from '../../domain/config.js';
import { isEnvironmentVariable } from '../../domain/environment.js';
import { flagNameFor, providerCatalog } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';
import { emailLookupKey } from '../../activities/accounts/personal-fields.js';
import { auditKeyNames } from '../../activities/audit/audit-log.js';
import { erasureKeys } from '../../activities/erasure/store.js';
import { subjectLookupKey } from '../../activities/erasure/subject-accounts.js';
import { exportLinkMacKey } from '../../activities/exports/store.js';
import { vaultKeys } from '../../activities/providers/stores.js';
import { originMacKey } from '../../activities/records/store.js';
import { accountDataKeyName } from '../../activities/secrets/account-keys.js';
import { sessionTokensKey } from '../../api/session/sign-out.js';
import { defaultRole, staffRoles } from '../../domain/roles.js';
import { providerReauthKey, recoveryFactorKey } from '../../domain/recovery.js';

const root = join(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const hclFiles = ['deploy/terraform', 'deploy/vault'].flatMap((dir) =>
  readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(tf|hcl)$/.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name))),
);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- hcl2json's shape
/**
 * HashiCorp's HCL parser (Go, compiled to wasm). Loaded by a computed specifier so TypeScript never reads its
 * declarations, whose `/// <reference lib="dom" />` would change `Headers` and friends for the whole project.
 */
const hcl2json = '@cdktf/hcl2json';
const { parse: parseHcl } = (await import(hcl2json)) as { parse: (file: string, text: string) => Promise<unknown> };

const parsed = new Map<string, Json>();
const terraform: Json = {};
let policy: Record<string, [{ capabilities: string[] }]> = {};

beforeAll(async () => {
  for (const f of hclFiles) parsed.set(f, (await parseHcl(f, read(f))) as Json);
  // One module: merge the files' top-level blocks as Terraform does.
  for (const [f, doc] of parsed) {
    if (!f.startsWith('deploy/terraform/')) continue;
    for (const [block, body] of Object.entries(doc)) {
      if (Array.isArray(body)) terraform[block] = [...((terraform[block] as unknown[]) ?? []), ...body];
      else terraform[block] = mergeDeep((terraform[block] as Json) ?? {}, body as Json);
    }
  }
  policy = parsed.get('deploy/vault/cra-policy.hcl')!.path as typeof policy;
});

function mergeDeep(a: Json, b: Json): Json {
  for (const [k, v] of Object.entries(b)) a[k] = k in a ? mergeDeep(a[k] as Json, v as Json) : v;
  return a;
}
const locals = (): Json => Object.assign({}, ...(terraform.locals as Json[]));
const resource = (type: string, name: string): Json => {
  const r = (terraform.resource as Json)?.[type]?.[name]?.[0] as Json | undefined;
  if (!r) throw new Error(`no resource ${type}.${name}`);
  return r;
};

describe('every HCL file parses', () => {
  it('finds the Terraform module and the policy', () => {
    expect(hclFiles).toEqual(
      expect.arrayContaining(['deploy/terraform/auth0.tf', 'deploy/terraform/vault.tf', 'deploy/vault/cra-policy.hcl']),
    );
  });
  it.each(hclFiles)('%s', (file) => {
    expect(Object.keys(parsed.get(file)!).length).toBeGreaterThan(0);
  });
  it('a syntax error is caught (the parser is real)', async () => {
    await expect(parseHcl('broken.tf', 'resource "x" "y" {\n  a = \n')).rejects.toThrow();
  });
});

describe('Auth0', () => {
  it('roles equal domain/roles.ts: member plus the staff roles, with their permissions', () => {
    const roles = locals().role_permissions as Record<string, string[]>;
    const expected: Record<string, readonly string[]> = { [defaultRole]: [], ...staffRoles };
    expect(Object.keys(roles).sort()).toEqual(Object.keys(expected).sort());
    for (const [role, perms] of Object.entries(expected))
      expect([...roles[role]!].sort(), role).toEqual([...perms].sort());
    expect(resource('auth0_role', 'cra').for_each).toBe('${local.role_permissions}');
  });

  it("the resource server's scopes are the union of the roles' permissions", () => {
    expect(locals().permissions).toBe('${distinct(flatten(values(local.role_permissions)))}');
    const scopes = resource('auth0_resource_server_scopes', 'cra').dynamic.scopes[0] as Json;
    expect(scopes.for_each).toBe('${toset(local.permissions)}');
    expect(resource('auth0_resource_server', 'cra')).toMatchObject({
      enforce_policies: true,
      token_dialect: 'access_token_authz',
    });
  });

  /**
   * Built-in Auth0 social strategies (ConnectionStrategyEnum,
   * https://auth0.github.io/node-auth0/variables/index.Management.ConnectionStrategyEnum.html), and the one
   * each CRA provider maps to. A provider absent here has no built-in connection.
   */
  const auth0Strategies = new Set(
    'ad adfs amazon apple dropbox bitbucket auth0-oidc auth0 baidu bitly box custom daccount dwolla email evernote-sandbox evernote exact facebook fitbit github google-apps google-oauth2 instagram ip line linkedin oauth1 oauth2 office365 oidc okta paypal paypal-sandbox pingfederate planningcenter salesforce-community salesforce-sandbox salesforce samlp sharepoint shopify shop sms soundcloud thirtysevensignals twitter untappd vkontakte waad weibo windowslive wordpress yahoo yandex auth0-adldap'.split(
      ' ',
    ),
  );
  const renamed: Record<string, string> = { google: 'google-oauth2', microsoft: 'windowslive', x: 'twitter' };
  const strategyOf = (id: string): string | undefined => {
    const s = renamed[id] ?? id;
    return auth0Strategies.has(s) ? s : undefined;
  };

  it('a social connection for each catalog provider Auth0 supports, behind the catalog flag and its default', () => {
    const connections = locals().social_connections as Record<string, { strategy: string; enabled: string }>;
    const supported = providerIds.filter((id) => strategyOf(id));
    expect(Object.keys(connections).sort()).toEqual([...supported].sort());
    const variables = terraform.variable as Record<string, [{ default: unknown }]>;
    for (const id of supported) {
      const flag = flagNameFor(id);
      expect(connections[id]).toEqual({ strategy: strategyOf(id), enabled: `\${var.${flag}}` });
      expect(variables[flag]?.[0]?.default, flag).toBe(providerCatalog[id].enabledByDefault);
    }
    expect(resource('auth0_connection', 'social').for_each).toBe('${local.enabled_social}');
  });

  it('the post-registration Action is bound to its trigger with the hook URL and secret', () => {
    const action = resource('auth0_action', 'post_registration');
    expect(action.supported_triggers[0].id).toBe('post-user-registration');
    const secrets = Object.fromEntries(
      (action.secrets as { name: string; value: string }[]).map((s) => [s.name, s.value]),
    );
    expect(secrets.CRA_HOOK_URL).toBe(`\${var.public_url}${postRegistrationPath}`);
    expect(secrets.CRA_HOOK_SECRET).toBe('${var.signup_hook_secret}');
    expect(resource('auth0_trigger_actions', 'post_registration').trigger).toBe('post-user-registration');
  });
});

describe('the post-registration Action against CRA’s signature check (real HTTP)', () => {
  const secret = 'an-action-secret-of-at-least-32-characters';
  const received: { path?: string; header?: string; body?: string } = {};
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      Object.assign(received, { path: req.url, header: req.headers[signatureHeader.toLowerCase()], body });
      res.writeHead(202).end();
    });
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${postRegistrationPath}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('signs the body as api/auth/hook-signature.ts verifies it', async () => {
    // Auth0 runs the file as a CommonJS module and calls onExecutePostUserRegistration(event, api).
    const module = { exports: {} as { onExecutePostUserRegistration?: (event: unknown) => Promise<void> } };
    const code = read('deploy/terraform/actions/post-registration.js');
    new Function('require', 'module', 'exports', code)(createRequire(import.meta.url), module, module.exports);
    await module.exports.onExecutePostUserRegistration!({
      user: { user_id: 'auth0|abc', email: 'ada@example.com', email_verified: true, given_name: 'Ada' },
      secrets: { CRA_HOOK_URL: url, CRA_HOOK_SECRET: secret },
    });
    expect(received.path).toBe(postRegistrationPath);
    expect(verifySignature(received.header, received.body!, [secret])).toEqual({ ok: true });
    expect(verifySignature(received.header, received.body!, ['some-other-secret-of-32-characters!!'])).toMatchObject({
      ok: false,
    });
    expect(JSON.parse(received.body!)).toEqual({
      user: { user_id: 'auth0|abc', email: 'ada@example.com', email_verified: true, given_name: 'Ada' },
    });
  });
});

describe('Vault', () => {
  const defaults = {
    transit: String(configSchema.shape.VAULT_TRANSIT_MOUNT.parse(undefined)),
    kv: String(configSchema.shape.VAULT_KV_MOUNT.parse(undefined)),
  };

  /** Vault's policy path matching: `*` at the end is a prefix, `+` one segment. */
  function capabilitiesFor(path: string): string[] {
    return Object.entries(policy)
      .filter(([pattern]) => {
        const body = pattern
          .replace(/[.?^${}()|[\]\\]/g, '\\$&')
          .replace(/\+/g, '[^/]+')
          .replace(/\*$/, '.*');
        return new RegExp(`^${body}$`).test(path);
      })
      .flatMap(([, [rule]]) => rule.capabilities);
  }

  it("grants every request hashicorp-vault.ts makes, on the config's default mounts", () => {
    const source = read('activities/secrets/hashicorp-vault.ts');
    // `${this.transit}/encrypt/${…}`, `${keyPath}/rotate` and `${this.kv}/data/${…}` with the method beside them.
    const requests = [...source.matchAll(/\$\{this\.(transit|kv)\}\/([a-z/]+)\//g)].map((m) => ({
      mount: defaults[m[1] as 'transit' | 'kv'],
      op: m[2]!,
    }));
    expect(requests.length).toBeGreaterThan(8);
    const needs: Record<string, string> = { data: 'read' };
    for (const { mount, op } of requests) {
      const caps = capabilitiesFor(`${mount}/${op}/some-name`);
      expect(caps.length, `${mount}/${op}/*`).toBeGreaterThan(0);
      const expected = op === 'metadata' ? 'delete' : (needs[op] ?? 'update');
      expect(caps, `${mount}/${op}/*`).toContain(expected);
    }
    expect(source).toContain('`${keyPath}/rotate`');
    expect(capabilitiesFor(`${defaults.transit}/keys/some-name/rotate`)).toContain('update');
    expect(capabilitiesFor(`${defaults.kv}/data/providers/google`)).toEqual(
      expect.arrayContaining(['create', 'update']),
    );
    expect(capabilitiesFor(`${defaults.transit}/encrypt/new-key`)).toContain('create');
    expect(capabilitiesFor('sys/mounts')).toEqual([]);
  });

  it('Terraform mounts the engines where the config expects them and uses the one policy file', () => {
    expect(resource('vault_mount', 'transit')).toMatchObject({ path: defaults.transit, type: 'transit' });
    expect(resource('vault_mount', 'kv')).toMatchObject({ path: defaults.kv, type: 'kv', options: { version: '2' } });
    expect(resource('vault_policy', 'cra').policy).toBe('${file("${path.module}/../vault/cra-policy.hcl")}');
    expect(read('deploy/compose/vault-init.sh')).toContain('vault policy write cra /vault/cra-policy.hcl');
    expect(resource('vault_approle_auth_backend_role', 'cra').token_policies).toEqual(['${vault_policy.cra.name}']);
    expect(resource('vault_kubernetes_auth_backend_role', 'cra')).toMatchObject({
      role_name: 'cra',
      bound_service_account_names: ['cra'],
    });
  });

  it("CRA's pods log in as the Kubernetes role Terraform binds, with mounts the policy covers", () => {
    const configMap = (parseYaml(read('deploy/k8s/configmap.yaml')) as { data: Record<string, string> }).data;
    const kustomization = parseYaml(read('deploy/k8s/kustomization.yaml')) as { namespace: string };
    const serviceAccount = parseYaml(read('deploy/k8s/serviceaccount.yaml')) as { metadata: { name: string } };
    const role = resource('vault_kubernetes_auth_backend_role', 'cra');
    expect(configMap.VAULT_K8S_ROLE).toBe(role.role_name);
    expect(role.bound_service_account_names).toEqual([serviceAccount.metadata.name]);
    const variables = terraform.variable as Record<string, [{ default: unknown }]>;
    expect(variables.kubernetes_namespace![0].default).toBe(kustomization.namespace);
    for (const file of ['deploy/k8s/api.yaml', 'deploy/k8s/worker.yaml']) {
      const deployment = parseAllDocuments(read(file))[0]!.toJS() as {
        spec: { template: { spec: { serviceAccountName: string } } };
      };
      expect(deployment.spec.template.spec.serviceAccountName, file).toBe(serviceAccount.metadata.name);
    }
    expect([configMap.VAULT_TRANSIT_MOUNT, configMap.VAULT_KV_MOUNT]).toEqual([defaults.transit, defaults.kv]);
    expect(configMap.VAULT_K8S_MOUNT).toBe(resource('vault_auth_backend', 'kubernetes').path);
  });

  it('declares the transit keys the code names', () => {
    const codeKeys = new Set([
      originMacKey,
      exportLinkMacKey,
      subjectLookupKey,
      accountDataKeyName,
      emailLookupKey,
      sessionTokensKey,
      providerReauthKey,
      recoveryFactorKey,
      ...Object.values(erasureKeys),
      ...Object.values(vaultKeys),
      ...Object.values(auditKeyNames),
    ]);
    expect([...(locals().transit_keys as string[])].sort()).toEqual([...codeKeys].sort());
  });
});

describe('outputs', () => {
  it('every key of the environment outputs is a variable CRA reads', () => {
    const outputs = terraform.output as Record<string, [{ value: Json }]>;
    const names = ['cra_environment', 'cra_secret_environment'].flatMap((o) => Object.keys(outputs[o]![0].value));
    expect(names.length).toBeGreaterThan(8);
    expect(names.filter((n) => !isEnvironmentVariable(n))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining(['AUTH0_CLIENT_SECRET', 'VAULT_ROLE_ID', 'VAULT_SECRET_ID', 'SIGNUP_HOOK_SECRETS']),
    );
  });
});
