/**
 * Layer unpack benchmark (issue 9, "Speed"): a realistic gzip layer (by default ~130 MB
 * unpacked: 30,000 small files in 1,500 directories, a few large ones, symlinks and
 * hardlinks) unpacked through the layer cache (src/runtime/images/) against GNU
 * `tar -xzf` of the same file, in the same run, alternating. Figures, not pass/fail;
 * target: cache ≥ 0.8× tar. See bench/README.md.
 *
 *   npm run bench:layers [-- --runs 5 --small 30000 --big-mb 50]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import type { ResolvedImage } from '../src/runtime/container.js';
import { LayerCache } from '../src/runtime/images/layer-cache.js';

const TARGET_RATIO = 0.8;
const TIME = '/usr/bin/time';

function say(msg: string): void {
  process.stderr.write(`[layers-bench] ${msg}\n`);
}

/** Deterministic bytes: text-like (compresses ~3×) or random-like (does not compress). */
function content(seed: number, size: number, kind: 'text' | 'random' | 'zero'): Buffer {
  if (kind === 'zero') return Buffer.alloc(size);
  if (kind === 'random') {
    const out = Buffer.allocUnsafe(size);
    let block = createHash('sha256').update(`r${seed}`).digest();
    for (let at = 0; at < size; at += 32) {
      block = createHash('sha256').update(block).digest();
      block.copy(out, at, 0, Math.min(32, size - at));
    }
    return out;
  }
  const words = ['lib', 'usr', 'share', 'python3', 'def ', 'return ', 'import ', 'self', '\n'];
  const parts: string[] = [];
  let n = 0;
  let x = seed * 2654435761;
  while (n < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = words[x % words.length] + String(x % 97);
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

async function buildLayer(path: string, small: number, bigMb: number): Promise<number> {
  const archive = pack();
  const out = pipeline(archive, createGzip({ level: 6 }), createWriteStream(path));
  let bytes = 0;
  const add = (header: Parameters<typeof archive.entry>[0], body?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const mtime = new Date('2024-01-01T00:00:00Z');
      if (body) {
        bytes += body.length;
        archive.entry({ mtime, ...header, size: body.length }, body, (e) =>
          e ? reject(e) : resolve(),
        );
      } else archive.entry({ mtime, ...header }, (e) => (e ? reject(e) : resolve()));
    });
  const dirs = Math.max(1, Math.round(small / 20));
  await add({ name: 'usr/', type: 'directory', mode: 0o755 });
  for (let d = 0; d < dirs; d++) {
    await add({ name: `usr/lib/pkg${d}/`, type: 'directory', mode: 0o755 });
    for (let f = 0; f < small / dirs; f++) {
      const i = d * 1000 + f;
      const size = 200 + ((i * 7919) % 4800);
      await add({ name: `usr/lib/pkg${d}/mod${f}.py`, mode: 0o644 }, content(i, size, 'text'));
    }
    await add({ name: `usr/lib/pkg${d}/alias`, type: 'symlink', linkname: 'mod0.py' });
    await add({
      name: `usr/lib/pkg${d}/same.py`,
      type: 'link',
      linkname: `usr/lib/pkg${d}/mod1.py`,
    });
  }
  await add({ name: 'opt/', type: 'directory', mode: 0o755 });
  const third = Math.max(1, Math.round((bigMb * 1024 * 1024) / 3));
  await add({ name: 'opt/big-text.bin', mode: 0o644 }, content(1, third, 'text'));
  await add({ name: 'opt/big-random.bin', mode: 0o755 }, content(2, third, 'random'));
  await add({ name: 'opt/big-zero.bin', mode: 0o644 }, content(3, third, 'zero'));
  archive.finalize();
  await out;
  return bytes;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      small: { type: 'string', default: '30000' },
      'big-mb': { type: 'string', default: '50' },
      /** Use this gzip layer instead of building one. */
      layer: { type: 'string' },
      /** Where both unpack (default: the temp directory); e.g. /dev/shm to leave the disk out. */
      dir: { type: 'string' },
      /** Build the layer to this path and stop. */
      'build-only': { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const work = await mkdtemp(join(values.dir ?? tmpdir(), 'layers-bench-'));
  try {
    const layerPath = values.layer ?? values['build-only'] ?? join(work, 'layer.tar.gz');
    let contentBytes: number;
    if (values.layer) {
      // The tar's size stands in for the content's.
      contentBytes = Number(
        spawnSync('sh', ['-c', `gzip -dc < "$0" | wc -c`, layerPath]).stdout.toString(),
      );
    } else {
      say('building the layer…');
      contentBytes = await buildLayer(layerPath, Number(values.small), Number(values['big-mb']));
      if (values['build-only']) return;
    }
    const compressed = statSync(layerPath).size;
    const digest = `sha256:${createHash('sha256').update(layerPath).digest('hex')}`;
    const image: ResolvedImage = {
      reference: 'bench/layer',
      account: '000000000000',
      region: 'us-east-1',
      repository: 'bench/layer',
      manifestDigest: digest,
      config: {},
      layers: [
        { digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: compressed },
      ],
      pull: { reference: '', username: '', password: '' },
      openLayer: async () => createReadStream(layerPath, { highWaterMark: 1024 * 1024 }),
    };
    say(
      `layer: ${(contentBytes / 1e6).toFixed(1)} MB of file content, ` +
        `${(compressed / 1e6).toFixed(1)} MB gzip; ${runs} runs each, alternating`,
    );
    const tarMs: number[] = [];
    const cacheMs: number[] = [];
    const tarCpuMs: number[] = [];
    const cacheCpuMs: number[] = [];
    const timed = existsSync(TIME);
    for (let run = 0; run < runs; run++) {
      const tarDir = join(work, `tar-${run}`);
      await mkdir(tarDir);
      spawnSync('sync');
      let t = performance.now();
      // GNU time reports the CPU of tar and its gzip child.
      const timeFile = join(work, 'time');
      const r = timed
        ? spawnSync(TIME, ['-f', '%U %S', '-o', timeFile, 'tar', '-xzf', layerPath, '-C', tarDir])
        : spawnSync('tar', ['-xzf', layerPath, '-C', tarDir]);
      tarMs.push(performance.now() - t);
      if (timed) {
        const [user, sys] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
        tarCpuMs.push((user + sys) * 1000);
      }
      if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
      await rm(tarDir, { recursive: true, force: true });

      const cache = new LayerCache(join(work, `cache-${run}`), { mode: 'copy' });
      await cache.overlay();
      spawnSync('sync');
      t = performance.now();
      const cpu = process.cpuUsage();
      await cache.layer(image, image.layers[0]);
      cacheMs.push(performance.now() - t);
      const used = process.cpuUsage(cpu);
      cacheCpuMs.push((used.user + used.system) / 1000);
      await rm(join(work, `cache-${run}`), { recursive: true, force: true });
      say(
        `run ${run + 1}: tar ${tarMs[run].toFixed(0)} ms (cpu ${tarCpuMs[run]?.toFixed(0)}), ` +
          `cache ${cacheMs[run].toFixed(0)} ms (cpu ${cacheCpuMs[run].toFixed(0)})`,
      );
    }
    const tar = median(tarMs);
    const ours = median(cacheMs);
    const mbps = (ms: number) => contentBytes / 1e6 / (ms / 1000);
    const ratio = tar / ours;
    const cpuRatio = timed ? median(tarCpuMs) / median(cacheCpuMs) : NaN;
    const rows = [
      ['', 'median ms', 'MB/s (content)', 'median CPU ms'],
      ['tar -xzf', tar.toFixed(0), mbps(tar).toFixed(0), timed ? median(tarCpuMs).toFixed(0) : '-'],
      ['layer cache', ours.toFixed(0), mbps(ours).toFixed(0), median(cacheCpuMs).toFixed(0)],
    ];
    for (const row of rows) console.log(row.map((c, i) => c.padEnd(i === 0 ? 14 : 16)).join(''));
    console.log(
      `ratio (cache throughput ÷ tar): ${ratio.toFixed(2)}× (target ≥ ${TARGET_RATIO}) ` +
        `${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}; CPU time ratio (tar ÷ cache): ` +
        `${cpuRatio.toFixed(2)}×`,
    );
    console.log(
      JSON.stringify({
        bench: 'layers',
        contentBytes,
        compressedBytes: compressed,
        runs,
        tarMs,
        cacheMs,
        tarCpuMs,
        cacheCpuMs,
        ratio,
        cpuRatio,
        cpus: cpus().length,
        loadavg: loadavg(),
      }),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
