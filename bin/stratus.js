#!/usr/bin/env node
// The `stratus` command. In a checkout (src/ present) it first compiles when a source
// changed since the last build (scripts/build.js); unchanged, it starts the compiled server
// at once, for `npm start` and `npx stratus` alike. An installed package has dist/ only.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/', import.meta.url))) {
  const { build, isStale } = await import('../scripts/build.js');
  if (isStale()) {
    process.stderr.write('stratus: sources changed since the last build, compiling (tsc)...\n');
    // tsc reports on stdout: send it to stderr, stdout is for what the command prints.
    if (build(2) !== 0) {
      process.stderr.write('stratus: the build failed (see above); fix it, then npm run build\n');
      process.exit(1);
    }
  }
}
const { main } = await import('../dist/src/cli.js');
await main(process.argv.slice(2));
