/**
 * The container conformance suite on runc, twice: against a busybox-static rootfs
 * directory (its image-config cases see that directory behind an image config), and with
 * image roots assembled by the layer cache from a gzipped busybox layer (overlayfs where
 * the kernel has it). Skipped where Stratus is not root on Linux or runc is missing.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runContainerConformance } from '../container-conformance.js';
import type { ImageLayer, ImageRuntimeConfig, ResolvedImage } from '../container.js';
import { LayerCache } from '../images/layer-cache.js';
import { RuncDriver } from './driver.js';
import { busyboxRootfs, runcSkipReason } from './test-support.js';

const skip = runcSkipReason();
const work = skip ? '' : mkdtempSync(join(tmpdir(), 'stratus-runc-test-'));
const rootfs = () => busyboxRootfs(join(work, 'busybox'));

runContainerConformance(
  'runc (rootfs roots)',
  () =>
    new RuncDriver({
      stateDir: join(work, 'state'),
      prepareRootfs: async () => ({ path: rootfs(), release: async () => {} }),
    }),
  {
    skip,
    busyboxRoot: () => ({ kind: 'rootfs', path: rootfs() }),
    imageRoot: async (config) => ({ kind: 'image', image: busyboxImage(config, []) }),
  },
);

let layer: ImageLayer | undefined;
/** The busybox rootfs as one gzipped layer (built once). */
function busyboxLayer(): ImageLayer {
  if (layer) return layer;
  const tgz = join(work, 'busybox.tar.gz');
  execFileSync('tar', ['-czf', tgz, '-C', rootfs(), '.']);
  const digest = `sha256:${createHash('sha256').update(readFileSync(tgz)).digest('hex')}`;
  layer = {
    digest,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    size: statSync(tgz).size,
  };
  return layer;
}

const cache = skip ? undefined : new LayerCache(join(work, 'layers'));
runContainerConformance(
  'runc (image roots from the layer cache)',
  () =>
    new RuncDriver({
      stateDir: join(work, 'state-images'),
      prepareRootfs: (image, dir) => cache!.prepareRootfs(image, dir),
      overlayLayers: (image, dir) => cache!.overlayLayers(image, dir),
    }),
  {
    skip,
    busyboxRoot: () => ({
      kind: 'image',
      image: busyboxImage({ Env: ['PATH=/bin'] }, [busyboxLayer()]),
    }),
    imageRoot: async (config) => ({ kind: 'image', image: busyboxImage(config, [busyboxLayer()]) }),
    cleanup: async () => rmSync(work, { recursive: true, force: true }),
  },
);

/** The resolved form of a busybox image with `config`. */
function busyboxImage(config: ImageRuntimeConfig, layers: ImageLayer[]): ResolvedImage {
  return {
    reference: '000000000000.dkr.ecr.us-east-1.amazonaws.com/busybox:latest',
    account: '000000000000',
    region: 'us-east-1',
    repository: 'busybox',
    manifestDigest: `sha256:${'0'.repeat(64)}`,
    config,
    layers,
    pull: { reference: '127.0.0.1:4566/busybox:latest', username: 'AWS', password: '' },
    openLayer: async () => createReadStream(join(work, 'busybox.tar.gz')),
  };
}
