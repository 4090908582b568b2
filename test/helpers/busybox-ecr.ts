/**
 * A busybox-static image (test/helpers/oci-image.ts, built offline) pushed with skopeo into
 * a test server's ECR and resolved through ECR's ImageSource, for the container drivers'
 * tests and benchmarks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import type { ImageRuntimeConfig, ResolvedImage } from '../../src/runtime/container.js';
import { openImageSource, type OpenedImageSource } from './ecr-image-source.js';
import { buildImage, copyImage, type ImageOptions } from './oci-image.js';
import { clientConfig, startTestServer } from './server.js';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';

export interface PushedBusybox {
  repository: string;
  /** The AWS form, `<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:…`. */
  reference: string;
  digest: string;
}

/**
 * Creates `repository` (through the ECR API), builds the busybox image (entrypoint
 * `/bin/sh -c`, cmd `echo hello from stratus`) and copies it in with skopeo, signed in
 * with the password of `aws ecr get-login-password`.
 */
export async function pushBusybox(
  endpoint: string,
  repository: string,
  opts: ImageOptions = {},
): Promise<PushedBusybox> {
  const registry = new URL(endpoint).host;
  const ecr = new ECRClient(clientConfig(endpoint));
  const work = await mkdtemp(join(tmpdir(), 'busybox-ecr-'));
  try {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repository }));
    const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
    const token = auth.authorizationData?.[0]?.authorizationToken ?? '';
    const creds = Buffer.from(token, 'base64').toString('utf8');
    const image = await buildImage(join(work, 'layout'), { ...opts, tag: 'v1' });
    await copyImage(image.ref, `docker://${registry}/${repository}:v1`, { destCreds: creds });
    return {
      repository,
      reference: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}@${image.digest}`,
      digest: image.digest,
    };
  } finally {
    ecr.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

export interface BusyboxImage {
  /** What ECR's ImageSource resolved the pushed reference to. */
  image: ResolvedImage;
  pushed: PushedBusybox;
  /** The image source and the registry it serves pulls from (strict auth). */
  source: OpenedImageSource;
  /** The same root filesystem under another runtime config: pushed with skopeo into the
   * same repository (through the image source's own registry) and resolved. */
  withConfig(config: ImageRuntimeConfig): Promise<ResolvedImage>;
  /** Every image resolved so far (the first and the withConfig ones), e.g. to delete what a
   * Docker daemon pulled of them. */
  resolved(): ResolvedImage[];
  close(): Promise<void>;
}

/**
 * Pushes the busybox image into a test server's ECR (state on disk), stops the server,
 * and resolves the image through the ECR plugin's ImageSource over the same state.
 */
export async function busyboxImage(
  repository = 'drivers/busybox',
  opts: Pick<ImageOptions, 'rootfs'> = {},
): Promise<BusyboxImage> {
  const stateDir = await mkdtemp(join(tmpdir(), 'busybox-state-'));
  try {
    const server = await startTestServer({ ephemeral: false, stateDir });
    let pushed: PushedBusybox;
    try {
      pushed = await pushBusybox(server.endpoint, repository, opts);
    } finally {
      await server.stop();
    }
    const source = await openImageSource(stateDir);
    try {
      const image = await source.imageSource.resolve(pushed.reference, ACCOUNT, REGION);
      const all = [image];
      return {
        image,
        pushed,
        source,
        resolved: () => [...all],
        async withConfig(config) {
          const tag = `config-${all.length}`;
          const layout = join(stateDir, 'variants');
          const built = await buildImage(layout, { ...opts, tag, config });
          const registry = new URL(source.endpoint).host;
          await copyImage(built.ref, `docker://${registry}/${repository}:${tag}`, {
            destCreds: `${image.pull.username}:${image.pull.password}`,
          });
          const reference = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}:${tag}`;
          const variant = await source.imageSource.resolve(reference, ACCOUNT, REGION);
          all.push(variant);
          return variant;
        },
        async close() {
          await source.close();
          await rm(stateDir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      await source.close();
      throw err;
    }
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}
