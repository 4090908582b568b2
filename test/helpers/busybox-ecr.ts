/**
 * A busybox-static image (test/helpers/oci-image.ts, built offline) pushed with skopeo into
 * a test server's ECR, for the container drivers' tests and benchmarks.
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
import { buildImage, copyImage, imageConfig } from './oci-image.js';
import { clientConfig } from './server.js';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';

export interface PushedBusybox {
  /** `127.0.0.1:<port>` */
  registry: string;
  repository: string;
  /** The AWS form, `<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:…`. */
  reference: string;
  /** `127.0.0.1:<port>/<repo>@sha256:…` */
  localReference: string;
  digest: string;
  /** The password of `aws ecr get-login-password` (user `AWS`). */
  password: string;
  config: ImageRuntimeConfig;
}

/**
 * Creates `repository` (through the ECR API), builds the busybox image (entrypoint
 * `/bin/sh -c`, cmd `echo hello from stratus`) and copies it in with skopeo.
 */
export async function pushBusybox(endpoint: string, repository: string): Promise<PushedBusybox> {
  const registry = new URL(endpoint).host;
  const ecr = new ECRClient(clientConfig(endpoint));
  try {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repository }));
    const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
    const token = auth.authorizationData?.[0]?.authorizationToken ?? '';
    const password = Buffer.from(token, 'base64').toString('utf8').replace(/^AWS:/, '');
    const work = await mkdtemp(join(tmpdir(), 'busybox-ecr-'));
    try {
      const image = await buildImage(join(work, 'layout'), { tag: 'v1' });
      const creds = `AWS:${password}`;
      await copyImage(image.ref, `docker://${registry}/${repository}:v1`, { destCreds: creds });
      const config = (await imageConfig(image.ref)).config as ImageRuntimeConfig;
      return {
        registry,
        repository,
        reference: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}@${image.digest}`,
        localReference: `${registry}/${repository}@${image.digest}`,
        digest: image.digest,
        password,
        config,
      };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  } finally {
    ecr.destroy();
  }
}

/**
 * The ResolvedImage a Docker daemon needs (it pulls by itself, so layers are not opened).
 * Stop-gap until ECR's ImageSource resolves images for every driver.
 */
export function dockerResolved(pushed: PushedBusybox): ResolvedImage {
  return {
    reference: pushed.reference,
    account: ACCOUNT,
    region: REGION,
    repository: pushed.repository,
    manifestDigest: pushed.digest,
    config: pushed.config,
    layers: [],
    pull: { reference: pushed.localReference, username: 'AWS', password: pushed.password },
    openLayer: () => Promise.reject(new Error('the docker driver pulls layers itself')),
  };
}
