/**
 * What a production install (`npm ci --omit=dev`) must hold: the static import graph of the production entry
 * points, read with the TypeScript compiler's own parser, reaches only Node's built-ins, our own production
 * code and packages listed in `dependencies` — never the sandbox, the local stack, tests, benches or a dev
 * dependency. A dynamic `import()` of dev-only code is allowed only on the embedded-identity path, which the
 * config refuses in production.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const entryPoints = [
  'api/main.ts',
  'workers/main.ts',
  'workflows/index.ts',
  'deploy/cli/audit-verify.ts',
  'deploy/cli/origin-verify.ts',
  'deploy/cli/erasure-verify.ts',
  'deploy/cli/outbox.ts',
  'deploy/cli/codec-rotate.ts',
  'workflows/failure-converter.ts',
];
/** They `import()` dev-only packages only when the embedded directory is in use (never with Auth0, never in production). */
const embeddedIdentityOnly = ['api/auth/embedded-oidc/provider.ts', 'api/auth/embedded-oidc/accounts.ts'];
const forbiddenFolders = ['deploy/sandbox/', 'deploy/local/services.ts', 'deploy/local/start.ts', 'test/', 'bench/'];

interface Edge {
  from: string;
  specifier: string;
  dynamic: boolean;
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const edges: Edge[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const typeOnly = ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly === true : node.isTypeOnly;
      // `import type` and `export type` vanish from the JavaScript; `import { type X }` alone is elided too.
      const allTypes =
        ts.isImportDeclaration(node) &&
        node.importClause !== undefined &&
        !node.importClause.name &&
        node.importClause.namedBindings !== undefined &&
        ts.isNamedImports(node.importClause.namedBindings) &&
        node.importClause.namedBindings.elements.length > 0 &&
        node.importClause.namedBindings.elements.every((e) => e.isTypeOnly);
      if (!typeOnly && !allTypes) edges.push({ from: file, specifier: node.moduleSpecifier.text, dynamic: false });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      edges.push({ from: file, specifier: node.arguments[0].text, dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** `../x.js` → the `.ts`/`.tsx` source it compiles from. */
function sourceOf(from: string, specifier: string): string {
  const base = join(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base]) {
    if (existsSync(join(root, candidate))) return relative(root, join(root, candidate));
  }
  throw new Error(`${from} imports ${specifier}, which resolves to no source file`);
}

const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
const builtins = new Set(builtinModules);

/** Walks the graph from the entry points; static edges always, dynamic ones except into the embedded path. */
function productionGraph() {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const dynamicEdges: Array<Edge & { target: string }> = [];
  const queue = [...entryPoints];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const edge of importsOf(file)) {
      if (edge.specifier.startsWith('node:') || builtins.has(edge.specifier)) continue;
      if (!edge.specifier.startsWith('.')) {
        if (!edge.dynamic) packages.set(packageName(edge.specifier), file);
        else dynamicEdges.push({ ...edge, target: edge.specifier });
        continue;
      }
      const target = sourceOf(file, edge.specifier);
      if (edge.dynamic) {
        dynamicEdges.push({ ...edge, target });
        if (embeddedIdentityOnly.includes(target)) continue;
      }
      queue.push(target);
    }
  }
  return { files, packages, dynamicEdges };
}

describe('the production install', () => {
  const graph = productionGraph();

  it('reaches no sandbox, local-stack launcher, test or bench code', () => {
    const reached = [...graph.files].filter((f) => forbiddenFolders.some((folder) => f.startsWith(folder)));
    expect(reached).toEqual([]);
    // The graph is the real one: the entry points reach the workers, the API and the workflows.
    expect(graph.files.size).toBeGreaterThan(100);
    expect(graph.files).toContain('workers/workers.ts');
    expect(graph.files).toContain('api/app.ts');
  });

  it('imports only packages listed in dependencies', () => {
    const missing = [...graph.packages].filter(([name]) => !(name in pkg.dependencies));
    expect(missing.map(([name, file]) => `${name} (imported by ${file})`)).toEqual([]);
  });

  it('loads a dev-only package by import() on the embedded-identity path alone', () => {
    const devOnly = graph.dynamicEdges.filter((e) => !e.specifier.startsWith('.') && !(e.target in pkg.dependencies));
    const outside = devOnly.filter((e) => !embeddedIdentityOnly.includes(e.from));
    expect(outside.map((e) => `${e.from} → ${e.specifier}`)).toEqual([]);
    // The one exemption is real: oidc-provider comes in there, when the embedded directory starts its issuer.
    expect(devOnly.map((e) => `${e.from} → ${e.specifier}`)).toContain(
      'api/auth/embedded-oidc/provider.ts → oidc-provider',
    );
  });

  it('lists the development tools as dev dependencies only', () => {
    for (const name of ['oidc-provider', 'tsx', 'playwright-core', 'vitest']) {
      expect(pkg.dependencies, name).not.toHaveProperty(name);
      expect(pkg.devDependencies, name).toHaveProperty(name);
    }
  });
});
