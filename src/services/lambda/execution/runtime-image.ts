/**
 * The runtime image each Lambda runtime runs on in a container (images/build/
 * runtime-images.ts: `nodejs22.x` → `stratus/lambda-nodejs:22`), resolved through ECR's
 * `images` link. A missing image is built offline with the image builder and pushed into
 * Stratus's own ECR (default account and region, signed with the root keys) first: one
 * build per image however many functions wait for it.
 */
import type { StratusConfig } from '../../../config.js';
import { buildImage } from '../../../images/build/builder.js';
import { createProgress } from '../../../images/build/progress.js';
import { runtimeImage } from '../../../images/build/runtime-images.js';
import {
  ImageNotFoundError,
  type ImageSource,
  type ResolvedImage,
} from '../../../runtime/container.js';

export interface RuntimeImagesOptions {
  images: ImageSource;
  config: Pick<
    StratusConfig,
    'defaultAccount' | 'defaultRegion' | 'rootAccessKeyId' | 'rootSecretAccessKey'
  >;
  /** Stratus's own endpoint (the builder pushes there). */
  endpoint: () => string;
  /** The builder's cache (default: its own, STRATUS_IMAGE_CACHE or ~/.cache/stratus/images). */
  cacheDir?: string;
  /** Progress of a build, for the server log. */
  info?: (msg: string) => void;
}

export class RuntimeImages {
  private readonly ready = new Map<string, Promise<ResolvedImage>>();

  constructor(private readonly opts: RuntimeImagesOptions) {}

  /** The image a runtime's name maps to (`stratus/lambda-python:3.13`), or undefined. */
  static imageOf(runtime: string): string | undefined {
    return runtimeImage(runtime)?.image;
  }

  /** Resolves the runtime's image, building and pushing it first when ECR lacks it. */
  ensure(runtime: string): Promise<ResolvedImage> {
    const name = RuntimeImages.imageOf(runtime);
    if (name === undefined) return Promise.reject(new Error(`no runtime image for ${runtime}`));
    let p = this.ready.get(name);
    if (p === undefined) {
      p = this.resolveOrBuild(runtime, name);
      this.ready.set(name, p);
      // A failed build is retried by the next caller.
      p.catch(() => this.ready.delete(name));
    }
    return p;
  }

  /** An image function's own image (by digest), from the caller's ECR. */
  resolve(reference: string, account: string, region: string): Promise<ResolvedImage> {
    return this.opts.images.resolve(reference, account, region);
  }

  /** Forgets resolved images (after a reset of ECR's state). */
  clear(): void {
    this.ready.clear();
  }

  private async resolveOrBuild(runtime: string, name: string): Promise<ResolvedImage> {
    const { defaultAccount: account, defaultRegion: region } = this.opts.config;
    try {
      return await this.opts.images.resolve(name, account, region);
    } catch (err) {
      if (!(err instanceof ImageNotFoundError)) throw err;
    }
    this.opts.info?.(`building the ${runtime} runtime image ${name} (stratus image build)`);
    const c = this.opts.config;
    // The image itself (python3.12 runs on lambda-python:3.13, which the builder makes).
    await buildImage(name.replace(/^stratus\//, ''), {
      endpoint: this.opts.endpoint(),
      cacheDir: this.opts.cacheDir,
      // Step lines only (no detail) into the server's log.
      progress: createProgress((line) => this.opts.info?.(line.trim())),
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: c.rootAccessKeyId,
        AWS_SECRET_ACCESS_KEY: c.rootSecretAccessKey,
        AWS_SESSION_TOKEN: '',
        AWS_REGION: region,
      },
    });
    return this.opts.images.resolve(name, account, region);
  }
}
