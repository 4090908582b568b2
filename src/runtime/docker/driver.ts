/**
 * The `docker` driver: containers through the Docker Engine API (dockerode; a Podman socket
 * answers the same API). It is what users get where runc is not at hand, Docker Desktop on
 * macOS and Windows above all. The daemon pulls images from Stratus's own registry on
 * loopback; labels (OWNER_LABEL and the service's) find Stratus's containers again after a
 * crash (`list`, `destroy`).
 *
 * Roots: an image is pulled (once per reference); a prepared rootfs directory is imported
 * as an image of its own per container (`docker import` of a tar-fs stream) and deleted with
 * it. Docker can only run its own images, and a per-container import is never stale: a
 * cache keyed by path could run yesterday's files. The cost is a copy of the tree per
 * create, so services that start many containers should hand this driver an image.
 * 'host' roots are refused: Docker has no way to run a container on the host's own root.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import {
  OWNER_LABEL,
  UnsupportedSpecError,
  type Container,
  type ContainerDriver,
  type ContainerIo,
  type ContainerSpec,
  type ContainerSummary,
} from '../container.js';
import { ignoring, statusCode } from './api.js';
import { signalName } from './signals.js';
import { DockerContainer } from './container.js';
import { NAME_LABEL, ROOTFS_IMAGE_LABEL, containerName, createOptions } from './create-options.js';
import { ImagePuller, importRootfs, removeImported } from './images.js';

/** The bridge network of `private` containers, created on first use and kept. */
export const DEFAULT_NETWORK = 'stratus';
/** Marks the networks Stratus created (`docker network ls --filter label=…`). */
export const NETWORK_LABEL = 'dev.stratus.network';

export interface DockerDriverOptions {
  /** Default: the daemon DOCKER_HOST names, else the local socket. */
  docker?: Docker;
  /** Name of the bridge network for `private` mode (default `stratus`). */
  network?: string;
  /** OWNER_LABEL's value on every container that does not bring its own (as runc does). */
  owner?: string;
  /** Where services keep files they bind-mount into containers (default a temp dir). */
  stateDir?: string;
}

/** Whether a Docker daemon answers (for `--driver auto`); never waits long. */
export async function dockerAvailable(docker = new Docker(), timeoutMs = 2_000): Promise<boolean> {
  // dockerode's ping takes an abort signal; its typings do not say so.
  const ping = docker.ping.bind(docker) as unknown as (opts: {
    abortSignal: AbortSignal;
  }) => Promise<unknown>;
  try {
    await ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}

export class DockerDriver implements ContainerDriver {
  readonly name = 'docker' as const;
  readonly capabilities = { images: true, limits: true, isolation: true };
  private readonly docker: Docker;
  private readonly network: string;
  private readonly owner: string | undefined;
  private readonly puller: ImagePuller;
  private networkReady: Promise<void> | undefined;
  private gateway: Promise<string> | undefined;
  /** Loopback ports forwarded to the network's gateway address (exposeHostPort). */
  private readonly forwarders = new Map<number, Server>();
  readonly stateDir: string;

  constructor(opts: DockerDriverOptions = {}) {
    this.docker = opts.docker ?? new Docker();
    this.network = opts.network ?? DEFAULT_NETWORK;
    this.owner = opts.owner;
    this.puller = new ImagePuller(this.docker);
    this.stateDir = opts.stateDir ?? join(tmpdir(), `stratus-docker-driver-${process.pid}`);
  }

  /** The address `private` containers reach this machine at: the network's gateway. */
  gatewayAddress(): Promise<string> {
    this.gateway ??= (async () => {
      await this.ensureNetwork();
      const info = (await this.docker.getNetwork(this.network).inspect()) as {
        IPAM?: { Config?: { Gateway?: string }[] };
      };
      const gateway = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
      if (!gateway) throw new Error(`Docker network ${this.network} has no gateway address`);
      return gateway;
    })().catch((err: unknown) => {
      this.gateway = undefined;
      throw err;
    });
    return this.gateway;
  }

  /**
   * Lets private containers reach a loopback port of the host (Stratus's own endpoint) at
   * <gateway>:<port>: a small TCP forwarder on the gateway address, as Docker gives us no
   * DNAT of our own (the runc driver uses nftables for the same). Where something already
   * listens there (Stratus bound to 0.0.0.0), containers reach it directly.
   */
  async exposeHostPort(port: number): Promise<void> {
    if (this.forwarders.has(port)) return;
    const gateway = await this.gatewayAddress();
    const server = createServer({ noDelay: true }, (socket) => {
      const upstream = createConnection({ host: '127.0.0.1', port, noDelay: true });
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        err.code === 'EADDRINUSE' ? resolve() : reject(err),
      );
      server.listen(port, gateway, () => {
        this.forwarders.set(port, server);
        resolve();
      });
    });
  }

  /** Closes the forwarders exposeHostPort opened (at server shutdown). */
  async close(): Promise<void> {
    const servers = [...this.forwarders.values()];
    this.forwarders.clear();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  async create(spec: ContainerSpec, io: ContainerIo): Promise<Container> {
    if (spec.root.kind === 'host')
      throw new UnsupportedSpecError(
        'docker',
        "the docker driver runs images or rootfs directories, not the host's own root",
      );
    // Translated (and refused where Docker cannot honour it) before anything is pulled.
    const owner = spec.labels[OWNER_LABEL] ?? this.owner;
    const options = createOptions(
      spec,
      { image: '', network: this.network, labels: owner ? { [OWNER_LABEL]: owner } : {} },
      containerName(spec.name, randomBytes(4).toString('hex')),
    );
    if (spec.network.mode === 'private') await this.ensureNetwork();

    let imported: string | undefined;
    let imageStopSignal: string | undefined;
    if (spec.root.kind === 'image') {
      await this.puller.ensure(spec.root.image);
      options.Image = spec.root.image.pull.reference;
      imageStopSignal = spec.root.image.config.StopSignal;
    } else {
      imported = await importRootfs(this.docker, spec.root.path);
      options.Image = imported;
      options.Labels = { ...options.Labels, [ROOTFS_IMAGE_LABEL]: imported };
    }
    const afterRemove = async () => {
      if (imported) await removeImported(this.docker, imported);
    };

    let handle: Docker.Container | undefined;
    try {
      handle = await this.createContainer(spec, options);
      const container = new DockerContainer({
        docker: this.docker,
        handle,
        spec,
        io,
        stopSignal: spec.stopSignal ?? signalName(imageStopSignal) ?? 'SIGTERM',
        afterRemove,
        recreateNetwork: () => {
          this.networkReady = undefined;
          return this.ensureNetwork();
        },
      });
      await container.attach();
      return container;
    } catch (err) {
      const created = handle;
      if (created) await ignoring([404], () => created.remove({ force: true, v: true }));
      await afterRemove().catch(() => undefined);
      throw err;
    }
  }

  /** Only containers this driver made (they all carry NAME_LABEL), never the user's own. */
  async list(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const rows = await this.docker.listContainers({
      all: true,
      filters: { label: [NAME_LABEL, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)] },
    });
    return rows.map((r) => ({ id: r.Id, labels: r.Labels ?? {}, running: r.State === 'running' }));
  }

  async destroy(id: string): Promise<void> {
    const handle = this.docker.getContainer(id);
    let imported: string | undefined;
    try {
      imported = (await handle.inspect()).Config.Labels?.[ROOTFS_IMAGE_LABEL];
    } catch (err) {
      if (statusCode(err) === 404) return;
      throw err;
    }
    await ignoring([404], () => handle.remove({ force: true, v: true }));
    if (imported) await removeImported(this.docker, imported);
  }

  /**
   * Creates the container; where the image went away since we pulled it (`docker rmi`, a
   * prune), pulls again and retries once. (A missing network only shows at start.)
   */
  private async createContainer(
    spec: ContainerSpec,
    options: Docker.ContainerCreateOptions,
  ): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(options);
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      if (spec.root.kind === 'image') {
        this.puller.forget(spec.root.image.pull.reference);
        await this.puller.ensure(spec.root.image);
      } else throw err;
      return this.docker.createContainer(options);
    }
  }

  private ensureNetwork(): Promise<void> {
    this.networkReady ??= this.createNetwork().catch((err: unknown) => {
      this.networkReady = undefined;
      throw err;
    });
    return this.networkReady;
  }

  private async createNetwork(): Promise<void> {
    try {
      await this.docker.getNetwork(this.network).inspect();
      return;
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    // 409: another Stratus created it in the meantime.
    await ignoring([409], () =>
      this.docker.createNetwork({
        Name: this.network,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [NETWORK_LABEL]: 'private' },
        // No NAT to the outside: containers reach this machine (published ports, the
        // bridge's gateway address) and nothing beyond it.
        Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
      }),
    );
  }
}
