#!/usr/bin/env node
// `npm run build`: compiles with tsc (incremental: dist/.tsbuildinfo) and stamps the time,
// so bin/stratus.js can tell an up-to-date dist/ from a stale one with a few hundred stats
// instead of running tsc (seconds, even when there is nothing to do) on every start.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
/** Written after every successful build: tsc leaves .tsbuildinfo alone when nothing changed. */
const stamp = join(dist, '.stratus-build');

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The newest modification time under `dir`; a directory's own covers files added or removed. */
function newest(dir) {
  let max = mtime(dir);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const t = entry.isDirectory() ? newest(path) : mtime(path);
    if (t > max) max = t;
  }
  return max;
}

/** True when the server's sources (or the build settings) changed since the last build. */
export function isStale() {
  if (!existsSync(join(dist, 'src', 'cli.js'))) return true;
  const built = Math.max(mtime(join(dist, '.tsbuildinfo')), mtime(stamp));
  const changed = Math.max(
    newest(join(root, 'src')),
    mtime(join(root, 'tsconfig.json')),
    mtime(join(root, 'package.json')),
  );
  return changed > built;
}

/** Runs tsc; its report goes to `output` (a file descriptor). Returns tsc's exit status. */
export function build(output = 1) {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('stratus: TypeScript is not installed: run npm ci\n');
    return 1;
  }
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], {
    cwd: root,
    stdio: ['ignore', output, 2],
  });
  const status = result.status ?? 1;
  if (status === 0) writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return status;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(build());
}
