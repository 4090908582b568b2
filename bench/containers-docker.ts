/**
 * Part of the container benchmark (bench/containers.ts): the docker driver's start to exit
 * of `/bin/true` in a busybox-static image pushed with skopeo into Stratus's ECR and
 * resolved through its ImageSource (test/helpers/busybox-ecr.ts), through DockerDriver
 * (create, start, wait, remove) against `docker run --rm` of the same image by the docker
 * CLI, alternating in the same run. The first start of the image (the daemon pulls it from
 * Stratus) is timed on its own. `private` puts both on the driver's `stratus` bridge
 * network, `none` gives both loopback only.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { OWNER_LABEL, type ContainerSpec } from '../src/runtime/container.js';
import { DEFAULT_NETWORK, DockerDriver } from '../src/runtime/docker/driver.js';
import { busyboxImage } from '../test/helpers/busybox-ecr.js';
import { quantile } from './load-result.js';

function docker(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: 120_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`docker ${args.join(' ')}: ${stderr || err.message}`)) : resolve(),
    );
  });
}

interface Summary {
  p50: number;
  p90: number;
  mean: number;
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

const fmt = (n: number) => n.toFixed(1).padStart(7);

export async function dockerStartToExit(runs: number, network: 'none' | 'private'): Promise<void> {
  const driver = new DockerDriver();
  const busybox = await busyboxImage('bench/busybox');
  try {
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
      labels: { [OWNER_LABEL]: `containers-bench-${process.pid}` },
    };
    const quiet = { onStdout: () => {}, onStderr: () => {} };
    const viaDriver = async (): Promise<number> => {
      const t0 = performance.now();
      const c = await driver.create(spec, quiet);
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
    const viaCli = async (): Promise<number> => {
      const t0 = performance.now();
      await docker(cliArgs);
      return performance.now() - t0;
    };

    const firstMs = await viaDriver();
    for (let i = 0; i < 2; i++) {
      await viaDriver();
      await viaCli();
    }
    const driverMs: number[] = [];
    const cliMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      driverMs.push(await viaDriver());
      cliMs.push(await viaCli());
    }
    await docker(['rmi', '-f', ref]).catch(() => undefined);

    const d = summary(driverMs);
    const c = summary(cliMs);
    console.log(
      `\nDocker: start to exit of /bin/true (network ${network}; ${runs} runs each, alternating; ms)`,
    );
    console.log('                          p50     p90    mean');
    console.log(`driver (docker)       ${fmt(d.p50)} ${fmt(d.p90)} ${fmt(d.mean)}`);
    console.log(`docker run --rm (CLI) ${fmt(c.p50)} ${fmt(c.p90)} ${fmt(c.mean)}`);
    console.log(`ratio (p50)           ${(d.p50 / c.p50).toFixed(2)}×`);
    console.log(`first start, pulling the image from Stratus: ${firstMs.toFixed(0)} ms`);
    console.log(`CLI command: docker ${cliArgs.join(' ')}`);
  } finally {
    await busybox.close();
  }
}
