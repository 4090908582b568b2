/**
 * What ships (src/ without its tests and conformance suites, bin/, runtimes/) imports only the packages
 * package.json lists under `dependencies`, and nothing from test/: test helpers live in
 * test/helpers/. Every other file imports only declared packages (dependencies or
 * devDependencies), so nothing works only because another package happens to pull it in.
 * Imports are read with TypeScript's own pre-processor, dynamic imports included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { repoRoot as findRoot } from './helpers/process.js';

const repoRoot = findRoot();

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const runtime = new Set(Object.keys(pkg.dependencies ?? {}));
const declared = new Set([...runtime, ...Object.keys(pkg.devDependencies ?? {})]);
const builtins = new Set(builtinModules);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (/\.(ts|js|cjs|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function imports(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((f) => f.fileName);
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for builtins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || builtins.has(specifier.split('/')[0])) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Unit tests and the conformance suites (kept beside the interface every backend must pass,
 * as DESIGN.md lays out) do not ship: package.json's `files` leaves them out.
 */
const shipped = (file: string) => !/(\.test|conformance)\.(ts|js)$/.test(file);
// src/api is generated and imports only src/protocol: skipped for speed.
const srcFiles = sources(join(repoRoot, 'src')).filter(
  (f) => !f.startsWith(join(repoRoot, 'src', 'api')),
);

test('shipped code imports only runtime dependencies and nothing from test/', () => {
  const problems: string[] = [];
  const files = [
    ...srcFiles.filter(shipped),
    ...sources(join(repoRoot, 'bin')),
    ...sources(join(repoRoot, 'runtimes')),
  ];
  for (const file of files) {
    for (const spec of imports(file)) {
      const where = relative(repoRoot, file);
      if (spec.startsWith('.')) {
        const target = relative(repoRoot, resolve(dirname(file), spec));
        if (target.startsWith('test/') || target.startsWith('bench/'))
          problems.push(`${where} imports ${spec} (test code)`);
        continue;
      }
      // Test helpers give themselves away by importing the test runner.
      if (spec === 'node:test') problems.push(`${where} imports node:test (test code)`);
      const name = packageOf(spec);
      if (name && !runtime.has(name)) problems.push(`${where} imports ${name}`);
    }
  }
  assert.deepEqual(problems, [], 'move test code to test/helpers/ or declare the dependency');
});

test('every imported package is declared in package.json', () => {
  const problems: string[] = [];
  const dirs = ['src', 'test', 'bench', 'codegen', 'scripts'];
  const files = dirs.flatMap((d) => (d === 'src' ? srcFiles : sources(join(repoRoot, d))));
  for (const file of files) {
    for (const spec of imports(file)) {
      const name = spec.startsWith('.') ? undefined : packageOf(spec);
      if (name && !declared.has(name)) problems.push(`${relative(repoRoot, file)} imports ${name}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('no build output or bytecode is committed', (t) => {
  const git = spawnSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' });
  if (git.status !== 0) return t.skip('not a git checkout');
  const tracked = git.stdout.split('\0').filter(Boolean);
  assert.ok(tracked.includes('package.json'));
  const generated = tracked.filter((f) =>
    /(^|\/)(__pycache__|node_modules|dist)\/|\.(pyc|pyo|tsbuildinfo)$/.test(f),
  );
  assert.deepEqual(generated, []);
});

test('the checks see real imports', () => {
  // Guards the checks themselves: a scan that found nothing would pass vacuously.
  const found = srcFiles.flatMap(imports);
  assert.ok(found.includes('better-sqlite3'));
  assert.ok(imports(join(repoRoot, 'test', 'dependencies.test.ts')).includes('typescript'));
});
