/**
 * Pushes a built image into Stratus's registry over the OCI distribution API (/v2/ on the
 * same port), with the Basic credential GetAuthorizationToken gives, as docker and skopeo
 * do: a blob the repository has is skipped (HEAD), one another `stratus/` repository has
 * is mounted from it (no bytes sent: the Debian base layer is stored once for all images),
 * any other is uploaded in one PUT; then the manifest is put by tag.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { BuildCache } from './cache.js';
import { MANIFEST_MEDIA_TYPE } from './image.js';
import type { Step } from './progress.js';

export interface PushTarget {
  /** Stratus's endpoint (the registry is on the same port). */
  endpoint: string;
  username: string;
  password: string;
}

export interface PushResult {
  uploaded: number;
  mounted: number;
  present: number;
  bytesSent: number;
}

export class RegistryPushError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryPushError';
  }
}

export class RegistryPusher {
  private readonly auth: string;
  private readonly base: string;

  constructor(target: PushTarget) {
    this.auth = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
    this.base = target.endpoint.replace(/\/+$/, '');
  }

  private url(path: string): string {
    return path.startsWith('http') ? path : `${this.base}${path}`;
  }

  private request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', this.auth);
    return fetch(this.url(path), { ...init, method, headers });
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repository}/blobs/${digest}`);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new RegistryPushError(`HEAD ${repository} blob ${digest}: HTTP ${res.status}`);
  }

  /**
   * Pushes `blobs` (digests in the cache) and the manifest; `mountFrom` lists repositories
   * that may already hold some blobs.
   */
  async push(
    repository: string,
    tag: string,
    manifest: Buffer,
    blobs: string[],
    cache: BuildCache,
    mountFrom: string[],
    step: Step,
  ): Promise<PushResult> {
    const result: PushResult = { uploaded: 0, mounted: 0, present: 0, bytesSent: 0 };
    for (const digest of blobs) {
      if (await this.hasBlob(repository, digest)) {
        result.present++;
        continue;
      }
      const from = await this.findBlob(
        digest,
        mountFrom.filter((r) => r !== repository),
      );
      const location = await this.startUpload(repository, digest, from);
      if (location === undefined) {
        result.mounted++;
        continue;
      }
      result.bytesSent += await this.upload(location, digest, cache, step);
      result.uploaded++;
    }
    const res = await this.request('PUT', `/v2/${repository}/manifests/${tag}`, {
      headers: { 'content-type': MANIFEST_MEDIA_TYPE },
      body: manifest,
    });
    if (res.status !== 201) {
      throw new RegistryPushError(
        `PUT ${repository}:${tag} manifest: HTTP ${res.status} ${await res.text()}`,
      );
    }
    return result;
  }

  private async findBlob(digest: string, repositories: string[]): Promise<string | undefined> {
    for (const repo of repositories) {
      if (await this.hasBlob(repo, digest)) return repo;
    }
    return undefined;
  }

  /** Starts an upload (or mounts): undefined when mounted, else the upload's location. */
  private async startUpload(
    repository: string,
    digest: string,
    from: string | undefined,
  ): Promise<string | undefined> {
    const query = from
      ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`
      : '';
    const res = await this.request('POST', `/v2/${repository}/blobs/uploads/${query}`);
    await res.arrayBuffer();
    if (res.status === 201) return undefined;
    const location = res.headers.get('location');
    if (res.status !== 202 || !location) {
      throw new RegistryPushError(`POST ${repository} upload: HTTP ${res.status}`);
    }
    return location;
  }

  private async upload(location: string, digest: string, cache: BuildCache, step: Step) {
    const path = cache.blobPath(digest);
    const { size } = await stat(path);
    const counting = new Transform({
      transform(chunk: Buffer, _enc, done) {
        step.bytes(chunk.length);
        done(null, chunk);
      },
    });
    const body = Readable.toWeb(createReadStream(path).pipe(counting)) as ReadableStream;
    const target = new URL(this.url(location));
    target.searchParams.set('digest', digest);
    const res = await this.request('PUT', target.toString(), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
      duplex: 'half',
    } as RequestInit);
    const text = await res.text();
    if (res.status !== 201) {
      throw new RegistryPushError(`upload of ${digest}: HTTP ${res.status} ${text}`);
    }
    return size;
  }
}
