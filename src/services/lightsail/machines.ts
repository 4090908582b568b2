/**
 * Lightsail's instances as long-lived system containers on the server's container driver.
 *
 * An instance's disk is an overlay Lightsail mounts itself: the blueprint image's layers
 * (unpacked once into Lightsail's own layer cache) and the layers of the snapshot it came
 * from as lower directories, and a writable upper directory of its own under
 * `<state>/lightsail/instances/<id>`. The container is made afresh at every start (and
 * after a crash of Stratus, whose reaper destroys the old one) on the same disk, so files
 * survive stop/start, reboot and kill -9 of Stratus, while the driver's per-container
 * state stays disposable.
 *
 * Its address is held in the driver's address pool by the instance itself (or by its
 * static IP), so it survives a restart of Stratus; a stop gives it back unless a static
 * IP holds it, as AWS's public IPs change on stop/start "unless you attach a static IP".
 * https://docs.aws.amazon.com/lightsail/latest/userguide/lightsail-create-static-ip.html
 *
 * A driver without an address pool (Docker) gives no address this machine reaches as it
 * is: the instance's open public ports are published on 127.0.0.1 instead (its public IP
 * is then 127.0.0.1, the host ports are in its networking details), and a change of the
 * open ports makes its container again with the new set. Docker only runs images, so the
 * container runs the blueprint image with the instance's disk bind-mounted over it
 * (SYSTEM_DIRS): what the instance writes still lands in its own upper directory.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LIGHTSAIL_RUN_DIR } from '../../images/build/lightsail-files.js';
import type {
  BindMount,
  Container,
  ContainerDriver,
  ContainerSpec,
  ContainerStats,
  InboundRule,
  PortMapping,
  PublishedPort,
  ResolvedImage,
} from '../../runtime/container.js';
import { LayerCache } from '../../runtime/images/layer-cache.js';
import { mountOverlay, unmount } from '../../runtime/images/overlay.js';
import type { BlobStore } from '../../storage/types.js';
import type { BlueprintImages } from './blueprint-images.js';
import { blueprintOf, bundleOf } from './catalog.js';
import type { InstanceRecord, PortRecord } from './store.js';

export interface MachinesOptions {
  driver: ContainerDriver;
  images: BlueprintImages;
  blobs: BlobStore;
  /** Lightsail's own directory (disks, layers, snapshot layers). */
  dir: string;
  log: (msg: string) => void;
}

/** What boot needs besides the record: the key to install, and where the disks are. */
export interface BootInputs {
  authorizedKeys: string;
  /** The region's Lightsail CA public key (sshd's TrustedUserCAKeys). */
  trustedCa: string;
  /** The address the instance gets (held already by the caller). */
  address: string;
  /** Disk directories on the host by mount path inside the instance. */
  disks: { source: string; target: string }[];
}

export class BootError extends Error {}

/** An instance's public IP where its ports are published on loopback (Docker). */
export const PUBLISHED_IP = '127.0.0.1';
/** Most ports one instance publishes on loopback (a 0-65535 rule publishes the first ones). */
export const MAX_PUBLISHED_PORTS = 64;
/**
 * The instance disk's directories bind-mounted over the blueprint image where the driver
 * cannot boot a directory (Docker): everything a Debian system writes (bookworm has merged
 * /usr, so /bin, /lib and /sbin are links into /usr).
 */
const SYSTEM_DIRS = ['etc', 'home', 'opt', 'root', 'srv', 'tmp', 'usr', 'var'] as const;

/** `tcp/80` → host port: where a published instance port was last bound. */
export type HostPorts = Record<string, number>;

/** How long a stop waits for the init to end its services before SIGKILL. */
const STOP_GRACE_MS = 15_000;
/** How long a boot waits for the init's "booted" line. */
const BOOT_TIMEOUT_MS = 180_000;

export class Machines {
  private readonly containers = new Map<string, Container>();
  /** Instances stopped on purpose (their container's exit is no crash). */
  private readonly halting = new Set<string>();
  private readonly layers: LayerCache;

  constructor(
    private readonly opts: MachinesOptions,
    /** Called when an instance's container ends without being asked to. */
    private readonly onCrash: (id: string, reason: string) => void,
  ) {
    this.layers = new LayerCache(join(opts.dir, 'layers'));
  }

  get driver(): ContainerDriver {
    return this.opts.driver;
  }

  instanceDir(id: string): string {
    return join(this.opts.dir, 'instances', id);
  }

  diskDir(id: string): string {
    return join(this.opts.dir, 'disks', id);
  }

  container(id: string): Container | undefined {
    return this.containers.get(id);
  }

  /** Why instances cannot run here, or undefined. */
  unavailable(): string | undefined {
    const d = this.opts.driver;
    if (!d.capabilities.images || !d.capabilities.isolation)
      return `the ${d.name} container driver cannot run Lightsail instances (start Stratus with --driver runc or --driver docker)`;
    return undefined;
  }

  /** Whether instances' ports are published on loopback (no address of their own). */
  get publishesPorts(): boolean {
    return this.opts.driver.addresses === undefined;
  }

  /** Whether the running container publishes other ports than the record's open ones. */
  portsChanged(rec: InstanceRecord): boolean {
    const container = this.containers.get(rec.id);
    if (!container) return false;
    const key = (ps: readonly PortMapping[]) => ps.map(portKey).sort().join(' ');
    return key(container.spec.network.ports ?? []) !== key(publishedPorts(rec.ports));
  }

  /**
   * Mounts the instance's disk and starts its container; resolves once its init booted,
   * with the host ports it publishes (where the driver publishes them).
   */
  async boot(rec: InstanceRecord, inputs: BootInputs): Promise<HostPorts | undefined> {
    const bundle = bundleOf(rec.bundleId);
    const blueprint = blueprintOf(rec.blueprintId);
    if (!bundle || !blueprint) throw new BootError(`unknown bundle or blueprint of ${rec.name}`);
    const image = await this.opts.images.ensure(rec.blueprintId);
    const rootfs = await this.mountDisk(rec, image);
    const runDir = join(this.instanceDir(rec.id), 'run');
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, 'authorized_keys'), inputs.authorizedKeys, { mode: 0o644 });
    await writeFile(join(runDir, 'user-data'), rec.userData, { mode: 0o600 });
    await writeFile(join(runDir, 'ca.pub'), `${inputs.trustedCa}\n`, { mode: 0o644 });
    const services = image.config.Labels?.['dev.stratus.lightsail.services'] ?? '';
    await writeFile(
      join(runDir, 'env'),
      `LIGHTSAIL_USER=${blueprint.username}\nLIGHTSAIL_SERVICES='${services}'\n`,
    );
    let booted: () => void = () => {};
    const bootedP = new Promise<void>((r) => (booted = r));
    let out = '';
    const published = this.publishesPorts;
    const mounts: BindMount[] = [
      ...(published
        ? SYSTEM_DIRS.map((d) => ({ source: join(rootfs, d), target: `/${d}`, readonly: false }))
        : []),
      { source: runDir, target: LIGHTSAIL_RUN_DIR, readonly: true },
      ...inputs.disks.map((d) => ({ ...d, readonly: false })),
    ];
    const spec = (ports: PortMapping[]): ContainerSpec => ({
      name: `lightsail-${rec.name}`,
      root: published ? { kind: 'image', image } : { kind: 'rootfs', path: rootfs },
      entrypoint: image.config.Entrypoint,
      command: [],
      env: {},
      mounts,
      resources: {
        memoryMb: Math.round(bundle.ramSizeInGb * 1024),
        cpus: bundle.cpuCount,
        pidsLimit: 4096,
      },
      network: published
        ? { mode: 'private', ports }
        : { mode: 'private', address: inputs.address },
      labels: {
        'dev.stratus.service': 'lightsail',
        'dev.stratus.lightsail.instance': rec.id,
      },
      stopSignal: 'SIGTERM',
      // The login user's sudo (a setuid program) must work, as on AWS.
      allowPrivilegeEscalation: true,
    });
    const io = {
      onStdout: (c: Buffer) => {
        if (out.length < 4096) out += c.toString();
        if (out.includes('stratus-lightsail: booted')) booted();
      },
      onStderr: () => {},
    };
    const start = async (ports: PortMapping[]): Promise<Container> => {
      const container = await this.opts.driver.create(spec(ports), io);
      try {
        await container.filterInbound?.(inboundRules(rec.ports));
        await container.start();
        return container;
      } catch (err) {
        await container.remove().catch(() => undefined);
        throw err;
      }
    };
    const wanted = publishedPorts(rec.ports);
    let container: Container;
    try {
      // The host ports it had before, so that what users saw stays true across a stop.
      container = await start(wanted.map((p) => ({ ...p, hostPort: rec.hostPorts?.[portKey(p)] })));
    } catch (err) {
      // One of them is taken by now: any free ones.
      if (!published || !wanted.some((p) => rec.hostPorts?.[portKey(p)])) throw err;
      container = await start(wanted);
    }
    this.containers.set(rec.id, container);
    const exit = container.wait();
    void exit.then((e) => {
      if (this.containers.get(rec.id) !== container) return;
      this.containers.delete(rec.id);
      void container.remove().catch(() => undefined);
      if (!this.halting.has(rec.id)) this.onCrash(rec.id, `its init exited (code ${e.code})`);
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      bootedP.then(() => 'booted' as const),
      exit.then(() => 'exited' as const),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), BOOT_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (outcome !== 'booted') {
      await this.halt(rec.id);
      throw new BootError(`instance ${rec.name} did not boot (${outcome})`);
    }
    return published ? hostPortsOf(container.ports) : undefined;
  }

  /** Stops the container (SIGTERM to the init, which stops the services) and unmounts the disk. */
  async halt(id: string): Promise<void> {
    const container = this.containers.get(id);
    this.halting.add(id);
    try {
      if (container) {
        this.containers.delete(id);
        await container.stop(STOP_GRACE_MS).catch(() => undefined);
        await container.remove().catch(() => undefined);
      }
      await unmount(join(this.instanceDir(id), 'rootfs')).catch(() => undefined);
    } finally {
      this.halting.delete(id);
    }
  }

  /** Replaces the running instance's inbound filter (the public ports). */
  async applyPorts(rec: InstanceRecord): Promise<void> {
    await this.containers.get(rec.id)?.filterInbound?.(inboundRules(rec.ports));
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    return this.containers.get(id)?.stats();
  }

  /** Removes the instance's disk (after halt). */
  async destroy(id: string): Promise<void> {
    await this.halt(id);
    await rm(this.instanceDir(id), { recursive: true, force: true });
  }

  /** Stops every container (server shutdown); the instances' states stay as they are. */
  async close(): Promise<void> {
    await Promise.all([...this.containers.keys()].map((id) => this.halt(id)));
  }

  /**
   * The instance's own changes (its upper directory) as a tar in the blob store: a
   * snapshot layer. Overlay whiteouts and opaque directories travel as the character
   * devices and trusted.overlay.* attributes they are, so the layer works as a lower
   * directory again.
   */
  async captureLayer(id: string): Promise<{ digest: string; size: number }> {
    const upper = join(this.instanceDir(id), 'upper');
    await mkdir(upper, { recursive: true });
    const tmp = join(this.opts.dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const file = join(tmp, `snapshot-${id}-${Date.now()}.tar`);
    try {
      await tool('tar', [
        '--xattrs',
        '--xattrs-include=trusted.overlay.*',
        '--numeric-owner',
        '--sparse',
        '-C',
        upper,
        '-cf',
        file,
        '.',
      ]);
      const blob = await this.opts.blobs.put(createReadStream(file));
      return { digest: blob.digest, size: blob.size };
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Deletes a snapshot layer nothing uses any more (its blob and its unpacked copy). */
  async forgetLayer(digest: string): Promise<void> {
    await this.opts.blobs.delete(digest);
    const dir = join(this.opts.dir, 'snapshot-layers', digest.replace(/^sha256:/, ''));
    await rm(dir, { recursive: true, force: true });
  }

  /** A snapshot layer unpacked (once) where overlayfs can use it as a lower directory. */
  private async snapshotLayer(digest: string): Promise<string> {
    const dir = join(this.opts.dir, 'snapshot-layers', digest.replace(/^sha256:/, ''));
    if (existsSync(dir)) return dir;
    const stream = await this.opts.blobs.get(digest);
    if (!stream) throw new BootError(`snapshot layer ${digest} is missing from the store`);
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    try {
      const child = spawn(
        'tar',
        [
          '--xattrs',
          '--xattrs-include=trusted.overlay.*',
          '--numeric-owner',
          '-C',
          tmp,
          '-xf',
          '-',
        ],
        { stdio: ['pipe', 'ignore', 'pipe'] },
      );
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const done = new Promise<number | null>((r) => child.once('close', r));
      await pipeline(stream, child.stdin);
      const code = await done;
      if (code !== 0) throw new BootError(`unpacking snapshot layer ${digest}: ${err.trim()}`);
      await rename(tmp, dir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return dir;
  }

  private async mountDisk(rec: InstanceRecord, image: ResolvedImage): Promise<string> {
    // Private: instances' disks keep their setuid files and secrets (as the layer cache does).
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    if (!(await this.layers.overlay()))
      throw new BootError('Lightsail instances need overlayfs (a state directory it can use)');
    const lower: string[] = [];
    for (const digest of rec.snapshotLayers) lower.push(await this.snapshotLayer(digest));
    for (const layer of [...image.layers].reverse())
      lower.push((await this.layers.layer(image, layer)).root);
    const dir = this.instanceDir(rec.id);
    const rootfs = join(dir, 'rootfs');
    // A crash of Stratus may have left the overlay mounted: mount it afresh.
    await unmount(rootfs).catch(() => undefined);
    await rm(join(dir, 'links'), { recursive: true, force: true });
    await mountOverlay({
      lower,
      links: join(dir, 'links'),
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      target: rootfs,
    });
    return rootfs;
  }

  /** The instance's SSH host public keys (generated at its first boot). */
  async hostKeys(id: string): Promise<{ algorithm: string; publicKey: string }[]> {
    const out: { algorithm: string; publicKey: string }[] = [];
    for (const kind of ['ed25519', 'ecdsa', 'rsa']) {
      const path = join(this.instanceDir(id), 'upper', 'etc', 'ssh', `ssh_host_${kind}_key.pub`);
      const text = await readFile(path, 'utf8').catch(() => '');
      const [algorithm, key] = text.trim().split(/\s+/);
      if (algorithm && key) out.push({ algorithm, publicKey: key });
    }
    return out;
  }
}

/** Lightsail's public ports as the driver's inbound rules (IPv4; icmpv6 has no IPv4 rule). */
export function inboundRules(ports: readonly PortRecord[]): InboundRule[] {
  const rules: InboundRule[] = [];
  for (const p of ports) {
    if (p.protocol === 'icmpv6') continue;
    rules.push({ protocol: p.protocol, fromPort: p.fromPort, toPort: p.toPort, cidrs: p.cidrs });
  }
  return rules;
}

const portKey = (p: Pick<PortMapping, 'containerPort' | 'protocol'>): string =>
  `${p.protocol}/${p.containerPort}`;

/** The open TCP/UDP ports as the ports to publish on loopback (at most MAX_PUBLISHED_PORTS). */
export function publishedPorts(ports: readonly PortRecord[]): PortMapping[] {
  const out = new Map<string, PortMapping>();
  for (const p of ports) {
    const protocols = p.protocol === 'all' ? (['tcp', 'udp'] as const) : [p.protocol];
    for (const protocol of protocols) {
      if (protocol !== 'tcp' && protocol !== 'udp') continue;
      for (let port = Math.max(p.fromPort, 1); port <= p.toPort; port++) {
        if (out.size >= MAX_PUBLISHED_PORTS) return [...out.values()];
        const m: PortMapping = { containerPort: port, protocol };
        out.set(portKey(m), m);
      }
    }
  }
  return [...out.values()];
}

function hostPortsOf(ports: readonly PublishedPort[]): HostPorts {
  return Object.fromEntries(ports.map((p) => [portKey(p), p.hostPort]));
}

function tool(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    // tar exits 1 when a file changed while it read it (a running instance): still a snapshot.
    child.once('close', (code) =>
      code === 0 || (file === 'tar' && code === 1)
        ? resolve()
        : reject(new Error(`${file} failed (${code}): ${err.trim()}`)),
    );
  });
}
