/**
 * The container conformance suite (src/runtime/container-conformance.ts) on the docker
 * driver: a busybox-static root filesystem (all applets) made into an image, pushed with
 * skopeo into a test server's ECR, resolved through ECR's ImageSource and pulled by the
 * Docker daemon from Stratus's registry; image configs of the suite pushed the same way.
 * Skipped where no Docker daemon answers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runContainerConformance } from '../src/runtime/container-conformance.js';
import { DockerDriver, dockerAvailable } from '../src/runtime/docker/driver.js';
import { busyboxRootfs } from '../src/runtime/runc/test-support.js';
import { busyboxImage, type BusyboxImage } from './helpers/busybox-ecr.js';
import { imageToolsMissing } from './helpers/oci-image.js';

async function skipReason(): Promise<string | undefined> {
  if (!(await dockerAvailable()))
    return 'no Docker daemon answers (start dockerd, or set DOCKER_HOST)';
  if (process.getuid?.() !== 0) return 'the busybox rootfs is made with chroot (root)';
  return imageToolsMissing();
}

const skip = await skipReason();
const work = skip ? '' : mkdtempSync(join(tmpdir(), 'stratus-docker-conformance-'));
let busybox: BusyboxImage | undefined;

runContainerConformance('docker', () => new DockerDriver({ owner: `conformance-${process.pid}` }), {
  skip,
  busyboxRoot: async () => {
    busybox = await busyboxImage('conformance/busybox', {
      rootfs: busyboxRootfs(join(work, 'rootfs')),
    });
    return { kind: 'image', image: busybox.image };
  },
  imageRoot: async (config) => {
    if (!busybox) throw new Error('busyboxRoot comes first');
    return { kind: 'image', image: await busybox.withConfig(config) };
  },
  cleanup: async () => {
    // What the daemon pulled for this run (its registry port is this run's only).
    const refs = busybox?.resolved().map((i) => i.pull.reference) ?? [];
    if (refs.length) execFileSync('docker', ['rmi', '-f', ...refs], { stdio: 'ignore' });
    await busybox?.close();
    rmSync(work, { recursive: true, force: true });
  },
});
