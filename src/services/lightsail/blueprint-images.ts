/**
 * The image each blueprint's instances boot from (`stratus/lightsail:<blueprint>`, recipe
 * `lightsail:<blueprint>` in images/build), resolved through ECR's `images` link. A missing
 * image is built offline (mmdebstrap from Debian's packages) and pushed into Stratus's own
 * ECR first, as Lambda's runtime images are: one build per blueprint however many
 * instances wait for it.
 */
import type { StratusConfig } from '../../config.js';
import { buildImage } from '../../images/build/builder.js';
import { createProgress } from '../../images/build/progress.js';
import { NAMESPACE } from '../../images/build/recipes.js';
import {
  ImageNotFoundError,
  type ImageSource,
  type ResolvedImage,
} from '../../runtime/container.js';

export interface BlueprintImagesOptions {
  images: ImageSource;
  config: Pick<
    StratusConfig,
    'defaultAccount' | 'defaultRegion' | 'rootAccessKeyId' | 'rootSecretAccessKey'
  >;
  endpoint: () => string;
  info?: (msg: string) => void;
}

export class BlueprintImages {
  private readonly ready = new Map<string, Promise<ResolvedImage>>();

  constructor(private readonly opts: BlueprintImagesOptions) {}

  static reference(blueprintId: string): string {
    return `${NAMESPACE}/lightsail:${blueprintId}`;
  }

  ensure(blueprintId: string): Promise<ResolvedImage> {
    let p = this.ready.get(blueprintId);
    if (p === undefined) {
      p = this.resolveOrBuild(blueprintId);
      this.ready.set(blueprintId, p);
      p.catch(() => this.ready.delete(blueprintId));
    }
    return p;
  }

  clear(): void {
    this.ready.clear();
  }

  private async resolveOrBuild(blueprintId: string): Promise<ResolvedImage> {
    const { defaultAccount: account, defaultRegion: region } = this.opts.config;
    const name = BlueprintImages.reference(blueprintId);
    try {
      return await this.opts.images.resolve(name, account, region);
    } catch (err) {
      if (!(err instanceof ImageNotFoundError)) throw err;
    }
    this.opts.info?.(`building the ${blueprintId} blueprint image ${name} (stratus image build)`);
    const c = this.opts.config;
    await buildImage(`lightsail:${blueprintId}`, {
      endpoint: this.opts.endpoint(),
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
