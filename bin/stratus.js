#!/usr/bin/env node
// The `stratus` command. In a checkout (src/ and TypeScript present) it first brings dist/
// up to date when a source changed since the last build: one incremental tsc, only then.
// Unchanged, it starts the compiled server at once (`npm start` and `npx stratus` alike).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
/** Touched after a build here; tsc leaves .tsbuildinfo alone when it found nothing to do. */
const stamp = join(dist, '.stratus-build');

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The newest modification time under `dir` (a few hundred stats: milliseconds). */
function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // A directory's own time covers files added, renamed or deleted in it.
    const t = entry.isDirectory() ? Math.max(mtime(path), newest(path)) : mtime(path);
    if (t > max) max = t;
  }
  return max;
}

function typescriptCompiler() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

function buildIfStale() {
  if (!existsSync(join(root, 'src'))) return; // an installed package: dist is all there is
  const entry = join(dist, 'src', 'cli.js');
  const built = existsSync(entry) ? Math.max(mtime(join(dist, '.tsbuildinfo')), mtime(stamp)) : 0;
  const changed = Math.max(
    newest(join(root, 'src')),
    mtime(join(root, 'tsconfig.json')),
    mtime(join(root, 'package.json')),
  );
  if (built >= changed) return;
  const tsc = typescriptCompiler();
  if (!tsc) {
    if (built > 0) return; // no compiler (production install): run what was built
    process.stderr.write('stratus: dist/ is missing and TypeScript is not installed: run npm ci\n');
    process.exit(1);
  }
  process.stderr.write('stratus: sources changed since the last build, compiling (tsc)...\n');
  // tsc reports on stdout; keep stdout for what the command itself prints (--version).
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
  if (result.status !== 0) {
    process.stderr.write('stratus: the build failed (see above); fix it or run npm run build\n');
    process.exit(1);
  }
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

buildIfStale();
const { main } = await import('../dist/src/cli.js');
await main(process.argv.slice(2));
