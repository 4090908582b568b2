/**
 * Getting a container's root into the Docker daemon: an image is pulled from Stratus's own
 * registry on loopback (Docker treats 127.0.0.0/8 registries as insecure without daemon
 * configuration), a prepared rootfs directory is imported as an image of its own.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { ImageNotFoundError, type ResolvedImage } from '../container.js';
import { ignoring, statusCode } from './api.js';

/** Repository of the images imported from rootfs directories (one tag per container). */
export const ROOTFS_REPOSITORY = 'stratus-rootfs';

interface ProgressEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Reads a progress stream (pull, import) to its end; an `error` line rejects. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: ProgressEvent[]) => {
      if (err) return reject(err);
      const failed = events.find((e) => e.error !== undefined);
      if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error));
      resolve(events);
    });
  });
}

/**
 * Pulls images once per reference even when many containers of one image are created at
 * the same moment, and not at all when the daemon already has them. References seen
 * present are remembered (references are by digest, so they never change meaning); an
 * image removed behind our back shows as a 404 at create, and the driver calls forget().
 */
export class ImagePuller {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly present = new Set<string>();

  constructor(private readonly docker: Docker) {}

  ensure(image: ResolvedImage): Promise<void> {
    const ref = image.pull.reference;
    if (this.present.has(ref)) return Promise.resolve();
    let pending = this.inFlight.get(ref);
    if (!pending) {
      pending = this.pullIfMissing(image)
        .then(() => void this.present.add(ref))
        .finally(() => this.inFlight.delete(ref));
      this.inFlight.set(ref, pending);
    }
    return pending;
  }

  forget(ref: string): void {
    this.present.delete(ref);
  }

  private async pullIfMissing(image: ResolvedImage): Promise<void> {
    const ref = image.pull.reference;
    try {
      await this.docker.getImage(ref).inspect();
      return;
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    const { username, password } = image.pull;
    const serveraddress = ref.slice(0, ref.indexOf('/'));
    try {
      const stream = await this.docker.pull(ref, {
        authconfig: { username, password, serveraddress },
      });
      await followProgress(this.docker, stream);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Deleted from the registry between resolve and pull.
      if (/manifest unknown|not found/i.test(message))
        throw new ImageNotFoundError(image.reference, message);
      throw new Error(`docker pull ${ref} failed: ${message}`);
    }
  }
}

/**
 * Imports a prepared root filesystem as an image of its own (`docker import` through the
 * API), tarred by tar-fs: ownership and modes are kept, symlinks are stored as links, never
 * followed. Returns the reference to create the container from; remove it with the container.
 */
export async function importRootfs(docker: Docker, path: string): Promise<string> {
  const tag = randomBytes(8).toString('hex');
  // tar-fs 2 packs with tar-stream 2, a Node Readable; @types/tar-fs names tar-stream 3's
  // Pack type, which does not declare the Readable members dockerode's typings ask for.
  const tarball = pack(path) as unknown as NodeJS.ReadableStream;
  const stream = await docker.importImage(tarball, { repo: ROOTFS_REPOSITORY, tag });
  await followProgress(docker, stream);
  return `${ROOTFS_REPOSITORY}:${tag}`;
}

/** Removes an image imported for a rootfs; an image already gone is fine. */
export async function removeImported(docker: Docker, ref: string): Promise<void> {
  await ignoring([404], () => docker.getImage(ref).remove());
}
