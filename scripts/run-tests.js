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
// Each file runs in its own process, which node's runner times out as a whole: a file that
// hangs (a hook that never settles, a handle left open) fails with its name instead of
// holding the suite up forever. The default is the longest test timeout a file sets (the
// batch restart test's 30 minutes); STRATUS_TEST_FILE_TIMEOUT_MS overrides it.
const fileTimeoutMs = Number(process.env.STRATUS_TEST_FILE_TIMEOUT_MS ?? 1_800_000);
// Two files at a time on the 2-core CI machine: most of a file's time is spent waiting on
// servers, runtimes and containers, and more would only add load to timing-sensitive code.
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    `--test-timeout=${fileTimeoutMs}`,
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
