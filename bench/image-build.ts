/**
 * Image build times, cold and cached (`npm run bench:image`):
 *
 *   cold         `stratus image build <image>` from an empty cache (mmdebstrap, npm, gzip, push)
 *   cached       the same build again: a cache hit, every blob already in ECR
 *   shared       a second image whose shared layers (Debian base, SDK, runtime) are cached
 *   baseline     raw `mmdebstrap --variant=minbase <suite>` to a tar, the same run: the
 *                floor a cold build cannot go below (its largest step)
 *
 * Figures, not pass/fail. One Stratus process (bin/stratus.js --ephemeral); the cache and
 * every temp dir are removed at the end. Needs root, mmdebstrap, npm and the network to
 * Debian's mirror and npm's registry.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hostDebianMirrors } from '../src/images/build/debian.js';
import { buildImage, type BuildResult } from '../src/images/build/builder.js';
import { createProgress } from '../src/images/build/progress.js';
import { killAllNow, makeTempDir, removeTempDir } from './children.js';
import { startStratus } from './stratus-process.js';

const { values } = parseArgs({
  options: {
    image: { type: 'string', default: 'nodejs20.x' },
    shared: { type: 'string', default: 'nodejs22.x' },
    'no-baseline': { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
});

interface Row {
  phase: string;
  image: string;
  seconds: number;
  buildSeconds?: number;
  pushSeconds?: number;
  layersBuilt?: number;
  mib?: number;
}

const s = (ms: number) => Math.round(ms / 100) / 10;

function row(phase: string, started: number, r: BuildResult): Row {
  return {
    phase,
    image: r.recipe.name,
    seconds: s(Date.now() - started),
    buildSeconds: s(r.buildMs),
    pushSeconds: s(r.pushMs),
    layersBuilt: r.layersBuilt,
    mib: Math.round(r.layers.reduce((n, l) => n + l.size, 0) / 1048576),
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const work = makeTempDir('bench-image-');
  const server = await startStratus({ auth: 'permissive' });
  const progress = createProgress(values.quiet ? () => {} : undefined);
  const loadBefore = (await import('node:os')).loadavg()[0];
  try {
    const cacheDir = join(work, 'cache');
    const opts = { endpoint: server.endpoint, cacheDir, progress };
    let t = Date.now();
    rows.push(row('cold', t, await buildImage(values.image, opts)));
    t = Date.now();
    rows.push(row('cached', t, await buildImage(values.image, opts)));
    if (values.shared) {
      t = Date.now();
      rows.push(row('shared layers cached', t, await buildImage(values.shared, opts)));
    }
    if (!values['no-baseline']) {
      t = Date.now();
      const { mirror } = await hostDebianMirrors();
      if (!mirror) throw new Error("this machine's apt sources name no Debian mirror");
      const r = spawnSync(
        'mmdebstrap',
        ['--variant=minbase', '--quiet', 'bookworm', join(work, 'raw.tar'), mirror],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      if (r.status !== 0) throw new Error(`mmdebstrap baseline failed (${r.status})`);
      rows.push({
        phase: 'baseline: raw mmdebstrap minbase',
        image: 'bookworm',
        seconds: s(Date.now() - t),
      });
    }
  } finally {
    await server.stop();
    removeTempDir(work);
  }
  const loadAfter = (await import('node:os')).loadavg()[0];
  const cold = rows.find((r) => r.phase === 'cold')?.seconds ?? 0;
  console.log('\nImage build times (seconds)\n');
  console.log(
    'phase                              image                 total  build   push  layers built  MiB',
  );
  for (const r of rows) {
    console.log(
      `${r.phase.padEnd(34)} ${r.image.padEnd(20)} ${String(r.seconds).padStart(6)} ${String(r.buildSeconds ?? '').padStart(6)} ${String(r.pushSeconds ?? '').padStart(6)} ${String(r.layersBuilt ?? '').padStart(13)} ${String(r.mib ?? '').padStart(4)}`,
    );
  }
  const base = rows.find((r) => r.phase.startsWith('baseline'));
  if (base && cold)
    console.log(`\ncold build ÷ raw mmdebstrap: ${(cold / base.seconds).toFixed(2)}×`);
  console.log(`load average: ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
  console.log(JSON.stringify({ rows, loadBefore, loadAfter }));
}

process.once('SIGINT', () => {
  killAllNow();
  process.exit(130);
});
main().catch((err: unknown) => {
  console.error(err);
  killAllNow();
  process.exit(1);
});
