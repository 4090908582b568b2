/**
 * The container conformance suite on runc, against a busybox-static rootfs (and the same
 * rootfs behind an image config, standing in for the layer cache's prepared root).
 * Skipped where Stratus is not root on Linux or runc is missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runContainerConformance } from '../container-conformance.js';
import type { ImageRuntimeConfig, ResolvedImage } from '../container.js';
import { RuncDriver } from './driver.js';
import { runcSkipReason, busyboxRootfs } from './test-support.js';

const skip = runcSkipReason();
const work = skip ? '' : mkdtempSync(join(tmpdir(), 'stratus-runc-test-'));
let rootfs = '';

runContainerConformance(
  'runc',
  () =>
    new RuncDriver({
      stateDir: join(work, 'state'),
      prepareRootfs: async () => ({ path: rootfs, release: async () => {} }),
    }),
  {
    skip,
    busyboxRoot: () => {
      rootfs = busyboxRootfs(join(work, 'busybox'));
      return { kind: 'rootfs', path: rootfs };
    },
    imageRoot: async (config: ImageRuntimeConfig) => ({
      kind: 'image',
      image: busyboxImage(config),
    }),
    cleanup: async () => rmSync(work, { recursive: true, force: true }),
  },
);

/** The resolved form of a busybox image with `config` (its root is the prepared rootfs). */
function busyboxImage(config: ImageRuntimeConfig): ResolvedImage {
  return {
    reference: '000000000000.dkr.ecr.us-east-1.amazonaws.com/busybox:latest',
    account: '000000000000',
    region: 'us-east-1',
    repository: 'busybox',
    manifestDigest: `sha256:${'0'.repeat(64)}`,
    config,
    layers: [],
    pull: { reference: '127.0.0.1:4566/busybox:latest', username: 'AWS', password: '' },
    openLayer: () => Promise.reject(new Error('no layers: the rootfs is prepared')),
  };
}
