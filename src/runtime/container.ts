/**
 * The container contract every execution driver implements (process, runc, docker; later
 * kubernetes). One interface serves ECS tasks, Batch jobs, Lambda execution environments
 * and Lightsail instances: a service builds a ContainerSpec, a driver creates, starts,
 * signals, waits for and removes the container. Which driver runs is configuration
 * (`--driver auto|process|runc|docker`, see select.ts), never a service's choice.
 *
 * Capabilities differ: the process driver has no image, no isolation and no limits; it
 * says so through `capabilities` and refuses specs it cannot honour with
 * UnsupportedSpecError rather than pretending.
 */
import type { Readable } from 'node:stream';

export type DriverName = 'process' | 'runc' | 'docker';

/** An image resolved from Stratus's own registry (ECR): everything a driver needs to run it. */
export interface ResolvedImage {
  /** The reference as the caller wrote it (`<acct>.dkr.ecr.<region>.amazonaws.com/repo:tag`). */
  reference: string;
  account: string;
  region: string;
  repository: string;
  /** Digest of the platform manifest (linux/amd64 picked from an index). */
  manifestDigest: string;
  /** The image configuration's `config` part (OCI image spec), as stored. */
  config: ImageRuntimeConfig;
  /** Layers bottom to top, as the manifest lists them. */
  layers: ImageLayer[];
  /**
   * A reference a Docker daemon can pull from Stratus's registry on loopback, e.g.
   * `127.0.0.1:4566/repo@sha256:…`, with the credentials it needs.
   */
  pull: { reference: string; username: string; password: string };
  /** Opens a layer's compressed (or plain) tar stream from the registry's blob store. */
  openLayer(digest: string): Promise<Readable>;
}

export interface ImageLayer {
  digest: string;
  mediaType: string;
  size: number;
}

/** The OCI image config's runtime part (https://github.com/opencontainers/image-spec/blob/main/config.md). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  StopSignal?: string;
  Labels?: Record<string, string>;
}

/** Resolves image references against Stratus's registry; exported by the ECR plugin. */
export interface ImageSource {
  /**
   * Resolves `reference` (AWS form `<acct>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@digest]`,
   * or the local forms `127.0.0.1:<port>/repo…`, `repo…`) seen from `account`/`region`.
   * Rejects with ImageNotFoundError when the repository, tag or digest does not exist.
   */
  resolve(reference: string, account: string, region: string): Promise<ResolvedImage>;
}

export class ImageNotFoundError extends Error {
  constructor(
    readonly reference: string,
    readonly reason: string,
  ) {
    super(`${reference}: ${reason}`);
    this.name = 'ImageNotFoundError';
  }
}

/** A spec the driver cannot honour (a process driver asked for an image, say). */
export class UnsupportedSpecError extends Error {
  constructor(
    readonly driver: DriverName,
    message: string,
  ) {
    super(message);
    this.name = 'UnsupportedSpecError';
  }
}

/** An exec() that did not finish within its time limit (the process was killed). */
export class ExecTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`command did not finish within ${timeoutMs} ms`);
    this.name = 'ExecTimeoutError';
  }
}

export interface BindMount {
  /** Host path. */
  source: string;
  /** Path inside the container. */
  target: string;
  readonly: boolean;
  /**
   * `rslave`: mounts made later under `source` on the host appear in the container too
   * (Lambda's pre-started environments receive their code so). Default: private.
   */
  propagation?: 'rslave';
}

export interface TmpfsMount {
  target: string;
  sizeMb: number;
}

export interface PortMapping {
  containerPort: number;
  /** 0 or absent: a free host port is chosen (ECS bridge mode's dynamic port). */
  hostPort?: number;
  protocol: 'tcp' | 'udp';
}

export interface ContainerSpec {
  /** Human-readable name (used in logs and as a label); need not be unique. */
  name: string;
  /** What the root filesystem is: an image, a prepared directory, or the host's own. */
  root:
    { kind: 'image'; image: ResolvedImage } | { kind: 'rootfs'; path: string } | { kind: 'host' };
  readonlyRoot?: boolean;
  /** Overrides of the image's Entrypoint and Cmd (Docker's rules: an entrypoint override
   *  drops the image's Cmd unless command is given too). */
  entrypoint?: string[];
  command?: string[];
  /** Merged over the image's Env (these win). */
  env: Record<string, string>;
  /** `uid[:gid]` or a name the image's /etc/passwd knows. */
  user?: string;
  workingDir?: string;
  mounts?: BindMount[];
  tmpfs?: TmpfsMount[];
  resources?: {
    /** Relative weight, Docker's scale (1024 = one share). */
    cpuShares?: number;
    /** Hard cap in CPUs (0.25 = a quarter of one core). */
    cpus?: number;
    /** Hard memory limit; the kernel's OOM killer ends the container beyond it. */
    memoryMb?: number;
    /** Soft limit (reservation). */
    memoryReservationMb?: number;
    pidsLimit?: number;
  };
  network: {
    /** none: loopback only; private: own namespace and address on Stratus's bridge;
     *  host: the host's network. */
    mode: 'none' | 'private' | 'host';
    ports?: PortMapping[];
    /**
     * Joins the network namespace of another container of the same driver (its id; created
     * and not yet removed) instead of getting one of its own: ECS awsvpc tasks, whose
     * containers share one address and localhost. Mode must be `private`; the first
     * container publishes the ports.
     */
    join?: string;
    /** Extra /etc/hosts entries inside the container. */
    hosts?: Record<string, string>;
    /**
     * An address the caller holds from the driver's `addresses` pool (Lightsail keeps an
     * instance's address across stop/start and restarts): used instead of a fresh one, and
     * left held when the container goes.
     */
    address?: string;
  };
  /** Resource limits (setrlimit) of the container's processes, Docker's names: `nofile`, `nproc`… */
  ulimits?: Ulimit[];
  /** Labels identify Stratus's containers (owner, service, resource ARN) for reaping. */
  labels: Record<string, string>;
  /** Signal `stop` sends first (default the image's StopSignal, else SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /**
   * Let setuid programs (sudo) gain privileges: system containers (Lightsail instances).
   * By default runc's containers run with no_new_privs, as Docker's
   * `--security-opt no-new-privileges`; Docker's own default already allows it.
   */
  allowPrivilegeEscalation?: boolean;
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

export interface ContainerIo {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

export interface ContainerExit {
  /** Exit code; 128+n when killed by signal n (Docker's convention). */
  code: number;
  signal: NodeJS.Signals | null;
  /** The kernel's OOM killer ended it (cgroup memory.events oom_kill, Docker's OOMKilled). */
  oomKilled: boolean;
}

export interface ContainerStats {
  /** High-water mark of memory use, in MB. */
  peakMemoryMb: number;
  /** Memory in use now, in MB (where the driver can tell: ECS's MemoryUtilization). */
  memoryMb?: number;
  /** CPU time used (user + system), in ms. */
  cpuTimeMs: number;
  /** Bytes through the container's own network interface (private networks). */
  network?: { rxBytes: number; txBytes: number };
}

/**
 * Who may reach a private container's address: TCP/UDP port ranges from IPv4 CIDRs, and
 * ICMP (fromPort/toPort are then the ICMP type and code, -1 for all, as Lightsail says).
 * Everything else arriving at the container is dropped; what it sends is not filtered.
 */
export interface InboundRule {
  protocol: 'tcp' | 'udp' | 'icmp' | 'all';
  fromPort: number;
  toPort: number;
  cidrs: string[];
}

/** Addresses on the driver's network a caller holds beyond any one container's life. */
export interface AddressPool {
  /** Takes a free address for `holder` (a hex id unique to the caller's resource). */
  hold(holder: string): Promise<string>;
  /** Gives it back (a no-op unless `holder` holds it). */
  release(address: string, holder: string): Promise<void>;
  /** Whether `holder` still holds `address` (after a reboot of the machine it does not). */
  holds(address: string, holder: string): Promise<boolean>;
}

export interface PublishedPort extends PortMapping {
  hostIp: string;
  hostPort: number;
}

export interface Container {
  /** Driver-unique id. */
  readonly id: string;
  readonly spec: ContainerSpec;
  /** The container's own address where network mode is private (reachable from the host). */
  readonly ip: string | undefined;
  /** Host ports actually bound, once started. */
  readonly ports: readonly PublishedPort[];
  start(): Promise<void>;
  /** Sends a signal to the container's init process. */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** stopSignal, then SIGKILL after `graceMs`; resolves with the exit. */
  stop(graceMs: number): Promise<ContainerExit>;
  /** Resolves once the container has exited (whether started by us or reattached). */
  wait(): Promise<ContainerExit>;
  stats(): Promise<ContainerStats>;
  /**
   * Replaces the inbound filter of a private container's address (undefined: no filter,
   * everything may reach it). Absent where the driver has no network of its own to filter.
   */
  filterInbound?(rules: readonly InboundRule[] | undefined): Promise<void>;
  /**
   * Runs `argv` inside the running container, as its process's user, env and cwd (ECS and
   * Docker health checks); resolves its exit code, or ExecTimeoutError after `timeoutMs`.
   * Absent where the driver has no container to enter (the process driver).
   */
  exec?(argv: string[], timeoutMs: number): Promise<number>;
  /** Frees everything: the container, its writable layer, its network, its ports. */
  remove(): Promise<void>;
}

export interface ContainerSummary {
  id: string;
  labels: Record<string, string>;
  running: boolean;
}

export interface ContainerDriver {
  readonly name: DriverName;
  readonly capabilities: {
    /** Runs image roots (else only 'host'). */
    images: boolean;
    /** Enforces memory and cpu limits. */
    limits: boolean;
    /** Own network namespace per container. */
    isolation: boolean;
  };
  create(spec: ContainerSpec, io: ContainerIo): Promise<Container>;
  /** Addresses a caller may hold across containers (runc's bridge network); absent elsewhere. */
  readonly addresses?: AddressPool;
  /** Containers of this driver whose labels include all of `labels`. */
  list(labels: Record<string, string>): Promise<ContainerSummary[]>;
  /** Kills and removes a container by id (a crash's leftover found through list). */
  destroy(id: string): Promise<void>;
}

/** The label every Stratus container carries, naming the server instance's state dir. */
export const OWNER_LABEL = 'dev.stratus.owner';

/**
 * The stop sequence every driver shares: `stopSignal` to the container's init, then
 * SIGKILL once `graceMs` has passed without an exit; resolves with the exit.
 */
export async function stopWithGrace(
  container: Pick<Container, 'signal'>,
  exit: Promise<ContainerExit>,
  stopSignal: NodeJS.Signals,
  graceMs: number,
): Promise<ContainerExit> {
  await container.signal(stopSignal);
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    exit.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (late) await container.signal('SIGKILL');
  return exit;
}
