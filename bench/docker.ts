/**
 * The docker driver's container start to exit (issue 9, "Speed"): `/bin/true` in a
 * busybox-static image pushed with skopeo into Stratus's ECR and resolved through its
 * ImageSource (test/helpers/busybox-ecr.ts),
 * through DockerDriver (create, start, wait, remove) against `docker run --rm` of the
 * same image by the docker CLI, in alternating turns of the same run. The first start of
 * the image (the daemon pulls it from Stratus) is timed on its own.
 *
 *   npm run build && node dist/bench/docker.js [--runs 20] [--network none|private]
 *
 * `private` puts the driver's containers on its `stratus` bridge network and the CLI's on
 * the same network (`--network stratus`), `none` gives both loopback only.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { OWNER_LABEL, type ContainerSpec } from '../src/runtime/container.js';
import { DEFAULT_NETWORK, DockerDriver, dockerAvailable } from '../src/runtime/docker/driver.js';
import { busyboxImage } from '../test/helpers/busybox-ecr.js';
import { imageToolsMissing } from '../test/helpers/oci-image.js';
import { runBench } from './children.js';
import { quantile } from './load-result.js';

function say(msg: string): void {
  process.stderr.write(`[docker-bench] ${msg}\n`);
}

function docker(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: 120_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`docker ${args.join(' ')}: ${stderr || err.message}`)) : resolve(),
    );
  });
}

interface Summary {
  runs: number;
  p50Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    runs: sorted.length,
    p50Ms: round(quantile(sorted, 0.5)),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    minMs: round(sorted[0]),
    maxMs: round(sorted[sorted.length - 1]),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      network: { type: 'string', default: 'none' },
    },
  });
  const runs = Number(values.runs);
  const network = values.network === 'private' ? 'private' : 'none';
  const missing = imageToolsMissing();
  if (missing) throw new Error(missing);
  if (!(await dockerAvailable())) throw new Error('no Docker daemon answers');

  const load = [loadavg()[0]];
  const driver = new DockerDriver();
  const busybox = await busyboxImage('bench/busybox');
  const { image } = busybox;
  const ref = image.pull.reference;
  // The image comes from a fixed build: drop what an earlier run left, so the first start pulls.
  await docker(['rmi', '-f', ref]).catch(() => undefined);

  const spec: ContainerSpec = {
    name: 'bench-true',
    root: { kind: 'image', image },
    entrypoint: ['/bin/true'],
    env: {},
    network: { mode: network },
    labels: { [OWNER_LABEL]: `docker-bench-${process.pid}` },
  };
  const io = { onStdout: () => {}, onStderr: () => {} };
  const throughDriver = async (): Promise<number> => {
    const t0 = performance.now();
    const c = await driver.create(spec, io);
    await c.start();
    const exit = await c.wait();
    await c.remove();
    if (exit.code !== 0) throw new Error(`/bin/true exited ${exit.code}`);
    return performance.now() - t0;
  };
  const cliArgs = [
    'run',
    '--rm',
    '--network',
    network === 'private' ? DEFAULT_NETWORK : 'none',
    '--entrypoint',
    '/bin/true',
    ref,
  ];
  const throughCli = async (): Promise<number> => {
    const t0 = performance.now();
    await docker(cliArgs);
    return performance.now() - t0;
  };

  say('first start: the daemon pulls the image from Stratus');
  const firstMs = await throughDriver();
  say(`${runs} turns each, alternating (network ${network})`);
  await throughCli(); // the CLI's own first run (binary and config in the page cache)
  const driverMs: number[] = [];
  const cliMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    driverMs.push(await throughDriver());
    cliMs.push(await throughCli());
  }
  await docker(['rmi', '-f', ref]).catch(() => undefined);
  await busybox.close();
  load.push(loadavg()[0]);

  const d = summary(driverMs);
  const c = summary(cliMs);
  const ratio = Math.round((d.p50Ms / c.p50Ms) * 100) / 100;
  const row = (name: string, s: Summary) =>
    `${name.padEnd(34)} ${String(s.p50Ms).padStart(8)} ${String(s.meanMs).padStart(8)} ${String(s.minMs).padStart(8)} ${String(s.maxMs).padStart(8)}`;
  console.log(`\nContainer start to exit of /bin/true (network ${network}), ms`);
  console.log(
    `${''.padEnd(34)} ${'p50'.padStart(8)} ${'mean'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}`,
  );
  console.log(row('DockerDriver (create→remove)', d));
  console.log(row(`docker ${cliArgs.slice(0, 4).join(' ')} …`, c));
  console.log(`driver ÷ CLI (p50): ${ratio}`);
  console.log(`first start with the pull from Stratus: ${Math.round(firstMs)} ms`);
  console.log(`load average (1 min) before/after: ${load.map((l) => l.toFixed(2)).join(' / ')}`);
  console.log(
    JSON.stringify({ network, driver: d, cli: c, ratio, firstStartMs: Math.round(firstMs), load }),
  );
}

runBench(main, say);
