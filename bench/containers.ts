/**
 * The container benchmark (issue 9, "Speed"), side by side in one run:
 * 1. start to exit of `/bin/true` through the runc driver (create, start, wait, remove;
 *    network none) against raw `runc run` of the same bundle, alternating, busybox-static
 *    rootfs already prepared. Target: driver ≤ 1.5× raw runc.
 * 2. the same through an image root (one gzipped busybox layer): the first start of a new
 *    image (an empty layer cache: unpack, then overlay), then starts with the layer cached
 *    in a loop of their own, alternating with raw runc of the same overlay bundle. Figures
 *    in bench/README.md (cached ÷ raw 1.10–1.28× at load 13–23; target ≤ 1.5×).
 * 3. published ports: the driver's nftables DNAT against a userland TCP proxy in Node
 *    (net.Socket pipes, as docker-proxy does), both in front of the same busybox httpd in a
 *    private container: sequential small requests (a new connection each) and a 64 MB
 *    download.
 * 4. docker (where a daemon answers): start to exit of `/bin/true` through the docker
 *    driver against `docker run --rm` of the same image (bench/containers-docker.ts).
 *
 *   npm run bench:containers [-- --runs 40 --image-runs 10 --requests 300
 *     --skip runc,docker --docker-network none|private]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type {
  Container,
  ContainerSpec,
  ImageLayer,
  ResolvedImage,
} from '../src/runtime/container.js';
import { LayerCache } from '../src/runtime/images/layer-cache.js';
import { RuncDriver } from '../src/runtime/runc/driver.js';
import { busyboxRootfs, runcSkipReason } from '../src/runtime/runc/test-support.js';
import { dockerAvailable } from '../src/runtime/docker/driver.js';
import { makeTempDir, removeTempDir, runBench } from './children.js';
import { dockerStartToExit } from './containers-docker.js';
import { RawBundles, rawRunc } from './raw-runc.js';

function say(msg: string): void {
  process.stderr.write(`[containers-bench] ${msg}\n`);
}

const TARGET_RATIO = 1.5;
const quiet = { onStdout: () => {}, onStderr: () => {} };

function stats(ms: number[]): { p50: number; mean: number; p90: number } {
  const s = [...ms].sort((a, b) => a - b);
  return {
    p50: s[Math.floor(s.length / 2)],
    p90: s[Math.floor(s.length * 0.9)],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

const fmt = (n: number) => n.toFixed(1).padStart(7);

async function startToExit(
  driver: RuncDriver,
  rootfs: string,
  runs: number,
): Promise<ContainerSpec> {
  const spec: ContainerSpec = {
    name: 'bench',
    root: { kind: 'rootfs', path: rootfs },
    command: ['/bin/true'],
    env: {},
    network: { mode: 'none' },
    labels: {},
  };
  // The raw runs use the bundle the driver wrote (same config.json, same cgroup parent).
  const held = await driver.create(spec, quiet);
  const bundle = join(driver.stateDir, held.id);
  const viaDriver: number[] = [];
  const withRemove: number[] = [];
  const viaRunc: number[] = [];
  const once = () => runOnce(driver, spec);
  for (let i = 0; i < 3; i++) {
    await once();
    await rawRunc(driver.runcArgv, bundle, `${held.id}-warm${i}`);
  }
  for (let i = 0; i < runs; i++) {
    const [toExit, total] = await once();
    viaDriver.push(toExit);
    withRemove.push(total);
    const t0 = performance.now();
    const code = await rawRunc(driver.runcArgv, bundle, `${held.id}-raw${i}`);
    if (code !== 0) throw new Error(`raw runc exited ${code}`);
    viaRunc.push(performance.now() - t0);
  }
  await held.remove();
  const d = stats(viaDriver);
  const dr = stats(withRemove);
  const r = stats(viaRunc);
  console.log(`\nStart to exit of /bin/true (${runs} runs each, alternating; ms)`);
  console.log('                     p50     p90    mean');
  console.log(`driver (runc)    ${fmt(d.p50)} ${fmt(d.p90)} ${fmt(d.mean)}`);
  console.log(`  + remove()     ${fmt(dr.p50)} ${fmt(dr.p90)} ${fmt(dr.mean)}`);
  console.log(`raw runc run     ${fmt(r.p50)} ${fmt(r.p90)} ${fmt(r.mean)}`);
  const ratio = d.p50 / r.p50;
  console.log(
    `ratio (p50)      ${ratio.toFixed(2)}×  target ≤ ${TARGET_RATIO}×  ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}`,
  );
  return spec;
}

async function imageStarts(
  work: string,
  rootfs: string,
  runs: number,
  raw: { driver: RuncDriver; spec: ContainerSpec },
): Promise<void> {
  const tgz = join(work, 'busybox.tar.gz');
  execFileSync('tar', ['-czf', tgz, '-C', rootfs, '.']);
  const layer: ImageLayer = {
    digest: `sha256:${createHash('sha256').update(readFileSync(tgz)).digest('hex')}`,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    size: statSync(tgz).size,
  };
  const image: ResolvedImage = {
    reference: 'busybox:latest',
    account: '000000000000',
    region: 'us-east-1',
    repository: 'busybox',
    manifestDigest: layer.digest,
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/true'] },
    layers: [layer],
    pull: { reference: '', username: '', password: '' },
    openLayer: async () => createReadStream(tgz),
  };
  const spec: ContainerSpec = {
    name: 'bench-image',
    root: { kind: 'image', image },
    env: {},
    network: { mode: 'none' },
    labels: {},
  };
  const first: number[] = [];
  const cached: number[] = [];
  const cachedTotal: number[] = [];
  const cache = new LayerCache(join(work, 'layers'));
  const driverOf = (c: LayerCache) =>
    new RuncDriver({
      stateDir: join(work, 'state-images'),
      prepareRootfs: (img, dir) => c.prepareRootfs(img, dir),
      overlayLayers: (img, dir) => c.overlayLayers(img, dir),
    });
  const shared = driverOf(cache);
  await runOnce(shared, spec); // unpacks the layer into the shared cache
  // Raw runc of the same bundle (the image's overlay config the driver wrote, a fresh
  // upper/work per run), alternating with the cached starts; and of the plain rootfs
  // bundle, to show what the overlay costs.
  const held = await shared.create(spec, quiet);
  const rawBundles = await RawBundles.copy(join(shared.stateDir, held.id), join(work, 'raw-image'));
  const heldRootfs = await raw.driver.create(raw.spec, quiet);
  const rootfsBundle = join(raw.driver.stateDir, heldRootfs.id);
  const rawRootfsMs: number[] = [];
  const rawMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    // A new cache directory per first start: the layer is unpacked again.
    const fresh = join(work, `layers-${i}`);
    first.push((await runOnce(driverOf(new LayerCache(fresh)), spec))[0]);
    rmSync(fresh, { recursive: true, force: true });
  }
  // Cached starts in a loop of their own, alternating with the raw runs: a first start's
  // aftermath (unpack worker threads winding down, a new driver's set-up) would otherwise
  // land in the cached start measured right after it.
  for (let i = 0; i < runs; i++) {
    const [toExit, total] = await runOnce(shared, spec);
    cached.push(toExit);
    cachedTotal.push(total);
    const id = `${held.id}-img${i}`;
    const bundle = await rawBundles.prepare(id);
    const t0 = performance.now();
    await rawRunc(shared.runcArgv, bundle, id);
    rawMs.push(performance.now() - t0);
    await rawBundles.discard(bundle);
    const t1 = performance.now();
    await rawRunc(raw.driver.runcArgv, rootfsBundle, `${heldRootfs.id}-img${i}`);
    rawRootfsMs.push(performance.now() - t1);
  }
  await held.remove();
  await heldRootfs.remove();
  const rawP50 = stats(rawMs).p50;
  const f = stats(first);
  const c = stats(cached);
  const ct = stats(cachedTotal);
  console.log(
    `\nImage root (one ${(layer.size / 1024).toFixed(0)} KB gzipped busybox layer; ${runs} runs; ms)`,
  );
  console.log('                     p50     p90    mean');
  console.log(`first start      ${fmt(f.p50)} ${fmt(f.p90)} ${fmt(f.mean)}`);
  console.log(`layer cached     ${fmt(c.p50)} ${fmt(c.p90)} ${fmt(c.mean)}`);
  console.log(`  + remove()     ${fmt(ct.p50)} ${fmt(ct.p90)} ${fmt(ct.mean)}`);
  console.log(`raw runc run     ${fmt(rawP50)}   (the same overlay bundle, alternating)`);
  console.log(`raw runc run     ${fmt(stats(rawRootfsMs).p50)}   (the plain rootfs bundle)`);
  const ratio = c.p50 / rawP50;
  console.log(
    `cached ÷ raw (p50) ${ratio.toFixed(2)}×  target ≤ ${TARGET_RATIO}×  ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}`,
  );
}

/** create → start → exit, and the same with remove(): [toExit, withRemove] in ms. */
async function runOnce(driver: RuncDriver, spec: ContainerSpec): Promise<[number, number]> {
  const t0 = performance.now();
  const c = await driver.create(spec, quiet);
  await c.start();
  const exit = await c.wait();
  const t1 = performance.now();
  await c.remove();
  if (exit.code !== 0) throw new Error(`run exited ${exit.code}`);
  return [t1 - t0, performance.now() - t0];
}

/** A userland TCP proxy: what the DNAT rule is measured against. */
function proxy(targetHost: string, targetPort: number): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    });
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0 });
    });
  });
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitForHttp(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (
      await get(port, '/small').then(
        (n) => n > 0,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('httpd did not answer');
}

async function ports(driver: RuncDriver, rootfs: string, requests: number): Promise<void> {
  const c: Container = await driver.create(
    {
      name: 'bench-ports',
      root: { kind: 'rootfs', path: rootfs },
      command: [
        '/bin/sh',
        '-c',
        'echo ok > /www/small && head -c 67108864 /dev/zero > /www/big && exec httpd -f -p 8080 -h /www',
      ],
      env: {},
      tmpfs: [{ target: '/www', sizeMb: 80 }],
      network: { mode: 'private', ports: [{ containerPort: 8080, protocol: 'tcp' }] },
      labels: {},
    },
    quiet,
  );
  const { server, port: proxyPort } = await proxy(c.ip!, 8080);
  try {
    await c.start();
    const dnatPort = c.ports[0].hostPort;
    await waitForHttp(dnatPort);
    await waitForHttp(proxyPort);
    const rows: [string, number][] = [
      ['nftables DNAT', dnatPort],
      ['Node proxy', proxyPort],
    ];
    const latency = new Map<string, number[]>();
    const mbps = new Map<string, number[]>();
    for (let round = 0; round < 3; round++) {
      for (const [name, port] of rows) {
        const lat: number[] = latency.get(name) ?? [];
        for (let i = 0; i < requests / 3; i++) {
          const t0 = performance.now();
          await get(port, '/small');
          lat.push(performance.now() - t0);
        }
        latency.set(name, lat);
        const t0 = performance.now();
        const bytes = await get(port, '/big');
        const s = (performance.now() - t0) / 1000;
        mbps.set(name, [...(mbps.get(name) ?? []), bytes / 1048576 / s]);
      }
    }
    console.log(`\nPublished port, 127.0.0.1 → busybox httpd in a private container`);
    console.log('                 request p50 (ms)  p90 (ms)   64 MB download (MB/s, best of 3)');
    for (const [name] of rows) {
      const l = stats(latency.get(name)!);
      console.log(
        `${name.padEnd(16)} ${fmt(l.p50)}          ${fmt(l.p90)}    ${fmt(Math.max(...mbps.get(name)!))}`,
      );
    }
  } finally {
    server.close();
    await c.remove();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      requests: { type: 'string' },
      'image-runs': { type: 'string' },
      skip: { type: 'string', default: '' },
      'docker-network': { type: 'string', default: 'none' },
    },
  });
  const skip = new Set(values.skip.split(',').filter(Boolean));
  const dockerWhy = skip.has('docker')
    ? 'skipped'
    : (await dockerAvailable())
      ? undefined
      : 'no Docker daemon answers';
  const why = skip.has('runc') ? 'skipped' : runcSkipReason();
  if (why && dockerWhy) throw new Error(`cannot run: runc: ${why}; docker: ${dockerWhy}`);
  if (why) say(`runc parts not run: ${why}`);
  else {
    const work = makeTempDir('stratus-bench-containers-');
    const driver = new RuncDriver({ stateDir: join(work, 'state') });
    try {
      const rootfs = busyboxRootfs(join(work, 'busybox'));
      say(`runc ${driver.runcArgv.join(' ')}; rootfs ${rootfs}`);
      const spec = await startToExit(driver, rootfs, Number(values.runs ?? 40));
      await imageStarts(work, rootfs, Number(values['image-runs'] ?? 10), { driver, spec });
      await ports(driver, rootfs, Number(values.requests ?? 300));
    } finally {
      await driver.close();
      removeTempDir(work);
    }
  }
  if (dockerWhy) say(`docker part not run: ${dockerWhy}`);
  else {
    const network = values['docker-network'] === 'private' ? 'private' : 'none';
    await dockerStartToExit(Number(values.runs ?? 40), network);
  }
}

runBench(main, say);
