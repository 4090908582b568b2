#!/usr/bin/env node
// Runs every compiled test file (unit tests beside the code, integration tests in test/)
// with node's own test runner. `npm test` builds first.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = ['dist/src', 'dist/codegen', 'dist/bench', 'dist/test']
  .flatMap((d) => {
    try {
      return find(d);
    } catch {
      return [];
    }
  })
  .filter((f) => filter.length === 0 || filter.some((p) => f.includes(p)))
  .sort();

if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
