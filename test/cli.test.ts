/**
 * The `stratus` command as a person meets it: --version, a --help that lists every setting
 * the code reads (flags and STRATUS_* variables), and a busy port that says what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { OPTIONS } from '../src/cli.js';
import { repoRoot, runStratus } from './helpers/process.js';

/** Set by Stratus for the runtimes it starts, not read from the user's environment. */
const INTERNAL = new Set(['STRATUS_PRESTART']);

function settingsInCode(dir: string, out = new Set<string>()): Set<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'api') settingsInCode(path, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
      // Read as env.STRATUS_X (process.env, or the env a plugin is handed).
      for (const m of readFileSync(path, 'utf8').matchAll(/\benv(?:\.|\[')(STRATUS_[A-Z0-9_]+)/g))
        if (!INTERNAL.has(m[1])) out.add(m[1]);
    }
  }
  return out;
}

test('--version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  const run = await runStratus(['--version']);
  assert.equal(run.code, 0);
  assert.equal(run.stdout, `stratus ${version}\n`);
});

test('--help lists every flag and every STRATUS_* variable the code reads', async () => {
  const run = await runStratus(['--help']);
  assert.equal(run.code, 0);
  const flags = Object.keys(OPTIONS).map((k) => `--${k}`);
  const variables = [...settingsInCode(join(repoRoot(), 'src'))];
  assert.ok(variables.includes('STRATUS_PORT') && variables.length > 10, variables.join());
  const missing = [...flags, ...variables].filter((s) => !run.stdout.includes(s));
  assert.deepEqual(missing, [], 'add them to USAGE in src/cli.ts');
});

test('a busy port is named, with how to pick another', async () => {
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  const { port } = holder.address() as AddressInfo;
  try {
    const run = await runStratus(['--ephemeral', '--port', String(port)]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    assert.match(run.stderr, /--port N \(or STRATUS_PORT=N\), e\.g\. --port \d+/);
  } finally {
    holder.close();
  }
});
