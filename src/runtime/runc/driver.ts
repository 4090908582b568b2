/**
 * The runc driver: one OCI bundle per container under Stratus's state directory, run by
 * the `runc` binary with its own state in `<stateDir>/runc` (`runc --root`), so Stratus
 * only ever sees and touches containers it created.
 *
 * Start is `runc run` in the foreground (not `--detach`, not `create` + `start`): one runc
 * invocation per start (the fastest path, see bench/containers.ts), the container's
 * stdout/stderr are our pipes themselves (runc passes them through when there is no
 * terminal), and runc stays the container's parent: it forwards the signals it gets to
 * the container's init and exits with its status (128+n for signal n), which Node reads
 * as the exit of its own child. A detached runc would leave the container's exit status
 * with nobody to collect it but a shim of our own.
 *
 * After a crash of Stratus, the records in the state directory (and runc's own state)
 * name every container left behind; list() and destroy() take them down (reap.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  stopWithGrace,
  ExecTimeoutError,
  OWNER_LABEL,
  UnsupportedSpecError,
  type Container,
  type ContainerDriver,
  type ContainerExit,
  type ContainerIo,
  type ContainerSpec,
  type ContainerStats,
  type ContainerSummary,
  type AddressPool,
  type ImageRuntimeConfig,
  type InboundRule,
  type PublishedPort,
  type ResolvedImage,
} from '../container.js';
import { LayerCache, type OverlayLayers } from '../images/layer-cache.js';
import { buildOciSpec } from './bundle.js';
import {
  ContainerCgroup,
  detectCgroups,
  listCgroups,
  runcCgroupsPath,
  type CgroupLayout,
} from './cgroups.js';
import { run } from './exec.js';
import {
  RESOLV_CONF,
  addressHolder,
  addressesOf,
  filterInbound,
  interfaceBytes,
  allocateAddress,
  createPrivateNetwork,
  ensureBridge,
  exposeHostPort,
  hostsFile,
  netNames,
  netnsPath,
  publishPorts,
  releaseAddress,
  removePrivateNetwork,
  unexposeHostPort,
  unpublishPorts,
  type Publication,
} from './network.js';
import { listRecords, readRecord, writeRecord, type ContainerRecord } from './records.js';

/** Undoes a RootfsPreparer's work in a directory whose release() was lost (a crash). */
export type RootfsDiscarder = (containerDir: string) => Promise<void>;

/** A root filesystem prepared from an image's layers (the images layer cache). */
export interface PreparedRootfs {
  path: string;
  release(): Promise<void>;
}
export type RootfsPreparer = (
  image: ResolvedImage,
  containerDir: string,
) => Promise<PreparedRootfs>;

export interface RuncDriverOptions {
  /** The driver's own directory (bundles, records, runc's state). */
  stateDir: string;
  /** OWNER_LABEL's value on every container (default: stateDir). */
  owner?: string;
  /** Where image roots come from; without it, image roots are refused. */
  prepareRootfs?: RootfsPreparer;
  /** Image roots as an overlay runc mounts itself (tried before prepareRootfs). */
  overlayLayers?: (
    image: ResolvedImage,
    containerDir: string,
  ) => Promise<OverlayLayers | undefined>;
  /** Default: LayerCache.discard (unmounts the overlay, removes its directories). */
  discardRootfs?: RootfsDiscarder;
  /** The runc binary (default `runc` on PATH). */
  runc?: string;
}

const SIGNALS: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  15: 'SIGTERM',
};

export class RuncDriver implements ContainerDriver {
  readonly name = 'runc' as const;
  readonly capabilities = { images: true, limits: true, isolation: true };
  readonly stateDir: string;
  readonly owner: string;
  private readonly runcRoot: string;
  private readonly runcBin: string;
  private cgroups: CgroupLayout | undefined;
  private bridge: Promise<void> | undefined;
  private readonly exposed = new Set<number>();

  constructor(private readonly opts: RuncDriverOptions) {
    this.stateDir = resolve(opts.stateDir);
    this.owner = opts.owner ?? this.stateDir;
    this.runcRoot = join(this.stateDir, 'runc');
    this.runcBin = opts.runc ?? 'runc';
  }

  /**
   * Addresses held beyond one container (Lightsail's instances): IPAM entries whose owner
   * is `<owner>#held`, so the sweep of this owner's crashed containers never frees them.
   */
  readonly addresses: AddressPool = {
    hold: async (holder) => {
      if (!/^[0-9a-z-]*[0-9a-f]{4}$/.test(holder)) throw new Error(`bad address holder ${holder}`);
      await this.network();
      return allocateAddress(holder, `${this.owner}#held`);
    },
    release: (address, holder) => releaseAddress(address, holder),
    holds: async (address, holder) => (await addressHolder(address)) === holder,
  };

  /** runc with this driver's state root. */
  runc(args: string[]): Promise<string> {
    return run(this.runcBin, ['--root', this.runcRoot, ...args]);
  }

  get runcArgv(): string[] {
    return [this.runcBin, '--root', this.runcRoot];
  }

  layout(): CgroupLayout {
    return (this.cgroups ??= detectCgroups());
  }

  private network(): Promise<void> {
    return (this.bridge ??= ensureBridge().catch((err: unknown) => {
      this.bridge = undefined;
      throw err;
    }));
  }

  /**
   * Lets private containers reach a loopback port of the host (Stratus's own endpoint)
   * at http://10.213.0.1:<port>.
   */
  async exposeHostPort(port: number): Promise<void> {
    await this.network();
    await exposeHostPort(port);
    this.exposed.add(port);
  }

  /** Withdraws what exposeHostPort granted (at server shutdown). */
  async close(): Promise<void> {
    for (const port of this.exposed) await unexposeHostPort(port);
    this.exposed.clear();
  }

  async create(spec: ContainerSpec, io: ContainerIo): Promise<Container> {
    if (spec.root.kind === 'host')
      throw new UnsupportedSpecError('runc', 'the runc driver needs an image or a rootfs root');
    if (spec.root.kind === 'image' && !this.opts.prepareRootfs)
      throw new UnsupportedSpecError('runc', 'image roots need the layer cache (not configured)');
    const id = `stratus-${randomBytes(6).toString('hex')}`;
    const dir = join(this.stateDir, id);
    await mkdir(dir, { recursive: true });
    const labels = { ...spec.labels, [OWNER_LABEL]: spec.labels[OWNER_LABEL] ?? this.owner };
    const record: ContainerRecord = {
      id,
      name: spec.name,
      labels,
      createdAt: new Date().toISOString(),
      ports: [],
      ...(spec.root.kind === 'image' && { imageRoot: true }),
    };
    await writeRecord(dir, record);
    const parts = new Parts(this, id, dir);
    try {
      // The cgroup and the root file system are independent: made side by side (the
      // record above already names both for a crash's clean-up; release() frees both).
      parts.cgroup = new ContainerCgroup(this.layout(), id);
      const cgroupMade = parts.cgroup.create({
        memoryMb: spec.resources?.memoryMb,
        memoryReservationMb: spec.resources?.memoryReservationMb,
      });
      let rootfs: string;
      let image: ImageRuntimeConfig = {};
      let overlay: OverlayLayers | undefined;
      try {
        if (spec.root.kind === 'image') {
          overlay = await this.opts.overlayLayers?.(spec.root.image, dir);
          parts.rootfs = overlay
            ? { path: overlay.rootfs, release: overlay.release }
            : await this.opts.prepareRootfs!(spec.root.image, dir);
          rootfs = parts.rootfs.path;
          image = spec.root.image.config;
        } else {
          rootfs = resolve(spec.root.path);
        }
      } finally {
        // Settled before release() runs on failure, so it never races the mkdir.
        await cgroupMade.catch(() => undefined);
      }
      await cgroupMade;
      let netns: string | undefined;
      if (spec.network.mode === 'private' && spec.network.join) {
        // Another container's namespace (ECS awsvpc): its address, nothing of our own to free.
        if (spec.network.ports?.length)
          throw new UnsupportedSpecError(
            'runc',
            'a container that joins a network publishes no ports',
          );
        const peer = /^stratus-[0-9a-f]+$/.test(spec.network.join)
          ? await readRecord(join(this.stateDir, spec.network.join))
          : undefined;
        if (!peer?.netns)
          throw new UnsupportedSpecError(
            'runc',
            `no private network to join: ${spec.network.join}`,
          );
        netns = peer.netns;
        record.joinedIp = peer.ip;
      } else if (spec.network.mode === 'private') {
        await this.network();
        record.ip = spec.network.address ?? (await allocateAddress(id, this.owner));
        record.netns = netns = netNames(id).netns;
        await writeRecord(dir, record);
        await createPrivateNetwork(id, record.ip);
        if (spec.network.ports?.length) {
          parts.publication = await publishPorts(record.ip, spec.network.ports, (published) => {
            record.ports = published;
            return writeRecord(dir, record);
          });
        }
      } else if (spec.network.ports?.length && spec.network.mode === 'none') {
        throw new UnsupportedSpecError('runc', 'ports cannot be published without a network');
      }
      const hostname = id.slice(-12);
      const etcFiles = {
        hosts: join(dir, 'hosts'),
        resolvConf: join(dir, 'resolv.conf'),
        hostname: join(dir, 'hostname'),
      };
      const ip = record.ip ?? record.joinedIp;
      const oci = buildOciSpec({
        spec,
        image,
        rootfs,
        hostname,
        cgroupsPath: runcCgroupsPath(id),
        netnsPath: netns ? netnsPath(netns) : undefined,
        overlay,
        etcFiles,
      });
      // Built first (it may refuse the spec), then the four files written side by side.
      // allSettled: none is still writing when a failure's release() removes the bundle.
      const written = await Promise.allSettled([
        writeFile(etcFiles.hosts, hostsFile(hostname, ip, spec.network.hosts ?? {})),
        writeFile(etcFiles.resolvConf, RESOLV_CONF),
        writeFile(etcFiles.hostname, `${hostname}\n`),
        writeFile(join(dir, 'config.json'), JSON.stringify(oci)),
      ]);
      for (const w of written) if (w.status === 'rejected') throw w.reason;
      const stopSignal =
        spec.stopSignal ?? (normalizeSignal(image.StopSignal) as NodeJS.Signals | undefined);
      return new RuncContainer(this, parts, spec, record, io, stopSignal ?? 'SIGTERM');
    } catch (err) {
      await parts.release(record);
      throw err;
    }
  }

  async list(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const running = await this.runningIds();
    return (await listRecords(this.stateDir))
      .filter((r) => Object.entries(labels).every(([k, v]) => r.labels[k] === v))
      .map((r) => ({ id: r.id, labels: r.labels, running: running.has(r.id) }));
  }

  /** Ids runc knows as created, running or paused. */
  async runningIds(): Promise<Set<string>> {
    const out = await this.runc(['list', '--format', 'json']).catch(() => 'null');
    const rows = (JSON.parse(out || 'null') ?? []) as { id: string; status: string }[];
    return new Set(rows.filter((r) => r.status !== 'stopped').map((r) => r.id));
  }

  async destroy(id: string): Promise<void> {
    if (!/^stratus-[0-9a-f]+$/.test(id)) throw new Error(`not a Stratus container id: ${id}`);
    const dir = join(this.stateDir, id);
    const record = await readRecord(dir);
    await this.runc(['kill', id, 'KILL']).catch(() => undefined);
    await this.runc(['delete', '--force', id]).catch(() => undefined);
    const parts = new Parts(this, id, dir);
    parts.cgroup = new ContainerCgroup(this.layout(), id);
    if (record?.imageRoot) {
      const discard = this.opts.discardRootfs ?? ((d: string) => LayerCache.discard(d));
      parts.rootfs = { path: join(dir, 'rootfs'), release: () => discard(dir) };
    }
    if (record) await parts.release(record);
    else await removeBundle(dir);
  }

  /**
   * What a crash left without a record (between taking it and writing the record down):
   * parent cgroups, and addresses this owner holds in the IPAM (with their namespace).
   */
  async sweep(): Promise<void> {
    const known = new Set((await listRecords(this.stateDir)).map((r) => r.id));
    // Cgroups of other servers' containers are in the same group: only empty ones go
    // (rmdir refuses the rest) and none younger than a minute (one being created now).
    for (const id of await listCgroups(this.layout(), 60_000))
      if (!known.has(id) && id.startsWith('stratus-'))
        await new ContainerCgroup(this.layout(), id).remove();
    for (const [id, ip] of await addressesOf(this.owner)) {
      if (known.has(id)) continue;
      await removePrivateNetwork(id);
      await releaseAddress(ip, id);
    }
  }
}

/** Removes a bundle directory, unless something is still mounted inside it. */
async function removeBundle(dir: string): Promise<void> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const prefix = `${dir}/`;
  if (mounts.split('\n').some((l) => l.split(' ')[4]?.startsWith(prefix)))
    throw new Error(`${dir} still has a mount inside; not removed`);
  await rm(dir, { recursive: true, force: true });
}

function normalizeSignal(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const n = Number(s);
  if (Number.isInteger(n)) return SIGNALS[n];
  return s.startsWith('SIG') ? s : `SIG${s}`;
}

/** Everything a container holds on the host, released in reverse order. */
class Parts {
  rootfs: { path: string; release(): Promise<void> } | undefined;
  cgroup: ContainerCgroup | undefined;
  publication: Publication | undefined;

  constructor(
    readonly driver: RuncDriver,
    readonly id: string,
    readonly dir: string,
  ) {}

  async release(record: ContainerRecord): Promise<void> {
    if (this.publication) for (const h of this.publication.holders) h.close();
    if (record.ports.length) await unpublishPorts(record.ports);
    if (record.netns) await removePrivateNetwork(this.id);
    if (record.ip) await releaseAddress(record.ip, this.id);
    await this.cgroup?.remove();
    // A rootfs from the layer cache is unmounted before its directory is removed; if that
    // fails the directory stays (never recurse into a mounted image).
    if (this.rootfs) await this.rootfs.release();
    await removeBundle(this.dir);
  }
}

class RuncContainer implements Container {
  readonly id: string;
  readonly ip: string | undefined;
  readonly ports: readonly PublishedPort[];
  private child: ChildProcess | undefined;
  private exit: Promise<ContainerExit> | undefined;
  private exited: ContainerExit | undefined;
  private removed = false;
  /** Stratus sent SIGKILL itself (so a SIGKILL exit is not the OOM killer's). */
  private sentKill = false;

  constructor(
    private readonly driver: RuncDriver,
    private readonly parts: Parts,
    readonly spec: ContainerSpec,
    private readonly record: ContainerRecord,
    private readonly io: ContainerIo,
    private readonly stopSignal: NodeJS.Signals,
  ) {
    this.id = record.id;
    this.ip = record.ip ?? record.joinedIp;
    this.ports = record.ports;
  }

  start(): Promise<void> {
    if (this.child) return Promise.reject(new Error(`container ${this.id} already started`));
    const dir = this.parts.dir;
    const pidFile = join(dir, 'pid');
    const [bin, ...root] = this.driver.runcArgv;
    return new Promise((resolveStart, rejectStart) => {
      let watcher: FSWatcher | undefined;
      let started = false;
      const onStarted = () => {
        if (started) return;
        started = true;
        watcher?.close();
        resolveStart();
      };
      try {
        // The pid file appears once the container's process runs: start succeeded.
        watcher = watch(dir, (_event, file) => {
          if (file === 'pid' && existsSync(pidFile)) onStarted();
        });
      } catch {
        watcher = undefined;
      }
      const child = spawn(
        bin,
        [
          ...root,
          '--log',
          join(dir, 'runc.log'),
          '--log-format',
          'json',
          'run',
          '--bundle',
          dir,
          '--pid-file',
          pidFile,
          this.id,
        ],
        // Not `detached`: a new session costs runc ~25 ms more per start (measured with
        // bench/containers.ts); a terminal's Ctrl-C then reaches the containers too, as
        // Stratus stops them anyway.
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      this.child = child;
      child.stdout!.on('data', (c: Buffer) => this.io.onStdout(c));
      child.stderr!.on('data', (c: Buffer) => this.io.onStderr(c));
      const closed = new Promise<number | null>((r) => {
        let code: number | null = null;
        child.once('exit', (c, sig) => (code = c ?? (sig ? 128 + signalNumber(sig) : null)));
        child.once('close', () => r(code));
      });
      child.once('error', (err) => {
        watcher?.close();
        rejectStart(err);
      });
      this.exit = closed.then(async (code) => {
        if (!started) {
          if (existsSync(pidFile)) onStarted();
          else {
            watcher?.close();
            rejectStart(new Error(`container ${this.id} did not start: ${await runcError(dir)}`));
          }
        }
        const status = code ?? 255;
        const oomKilled =
          (await this.parts.cgroup?.oomKilled({
            sigkill: status === 137,
            sentKill: this.sentKill,
          })) ?? false;
        const exit: ContainerExit = {
          code: status,
          signal: status > 128 ? (SIGNALS[status - 128] ?? null) : null,
          oomKilled,
        };
        this.exited = exit;
        return exit;
      });
    });
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.exited) return;
    if (signal === 'SIGKILL') this.sentKill = true;
    // runc forwards what it receives to the container's init; SIGKILL it cannot forward.
    if (signal !== 'SIGKILL' && this.child?.pid && this.child.exitCode === null) {
      try {
        process.kill(this.child.pid, signal);
        return;
      } catch {
        // gone already: fall through to runc kill
      }
    }
    await this.driver.runc(['kill', this.id, signal.replace(/^SIG/, '')]).catch(() => undefined);
  }

  async stop(graceMs: number): Promise<ContainerExit> {
    if (!this.exit) throw new Error(`container ${this.id} was not started`);
    if (this.exited) return this.exited;
    return stopWithGrace(this, this.exit, this.stopSignal, graceMs);
  }

  wait(): Promise<ContainerExit> {
    if (!this.exit) return Promise.reject(new Error(`container ${this.id} was not started`));
    return this.exit;
  }

  exec(argv: string[], timeoutMs: number): Promise<number> {
    const [bin, ...root] = this.driver.runcArgv;
    // `runc exec` runs argv with config.json's process settings (user, env, cwd, caps).
    const child = spawn(bin, [...root, 'exec', this.id, ...argv], { stdio: 'ignore' });
    return new Promise((resolveExec, rejectExec) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        rejectExec(new ExecTimeoutError(timeoutMs));
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        rejectExec(err);
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        resolveExec(code ?? (sig ? 128 + signalNumber(sig) : 255));
      });
    });
  }

  async stats(): Promise<ContainerStats> {
    const stats: ContainerStats = (await this.parts.cgroup?.stats()) ?? {
      peakMemoryMb: 0,
      cpuTimeMs: 0,
    };
    if (this.record.netns) stats.network = await interfaceBytes(this.id);
    return stats;
  }

  async filterInbound(rules: readonly InboundRule[] | undefined): Promise<void> {
    if (!this.record.netns || this.record.joinedIp)
      throw new UnsupportedSpecError('runc', `container ${this.id} has no network of its own`);
    await filterInbound(this.record.netns, rules);
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    if (this.exit && !this.exited) {
      await this.signal('SIGKILL');
      await this.exit;
    } else if (!this.exit) {
      await this.driver.runc(['delete', '--force', this.id]).catch(() => undefined);
    }
    await this.parts.release(this.record);
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  for (const [n, s] of Object.entries(SIGNALS)) if (s === sig) return Number(n);
  return 0;
}

/** The error runc logged about a failed start. */
async function runcError(dir: string): Promise<string> {
  const log = await readFile(join(dir, 'runc.log'), 'utf8').catch(() => '');
  const errors = log
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l) as { level?: string; msg?: string };
      } catch {
        return {};
      }
    })
    .filter((l) => l.level === 'error' && l.msg)
    .map((l) => l.msg);
  return errors.join('; ') || 'runc exited before the container ran';
}
