/**
 * ContainerSpec → the Docker Engine API's container create body
 * (https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerCreate).
 * Pure translation: what Docker cannot honour is refused here with UnsupportedSpecError,
 * before anything is created.
 */
import type Docker from 'dockerode';
import { UnsupportedSpecError, type ContainerSpec, type PortMapping } from '../container.js';

/** Label naming the image imported for a `rootfs` root, removed with its container. */
export const ROOTFS_IMAGE_LABEL = 'dev.stratus.rootfs-image';
/** Label carrying the spec's name (Docker's own names must be unique; spec names need not). */
export const NAME_LABEL = 'dev.stratus.name';

const MB = 1024 * 1024;

export interface CreateContext {
  /** The image reference Docker knows (pulled, or imported from a rootfs). */
  image: string;
  /** The bridge network for `private` mode. */
  network: string;
  /** Extra labels the driver adds (the imported image's reference, say). */
  labels?: Record<string, string>;
}

export function portKey(p: Pick<PortMapping, 'containerPort' | 'protocol'>): string {
  return `${p.containerPort}/${p.protocol}`;
}

/** `stratus-<name>-<suffix>`, reduced to what Docker accepts in a name ([a-zA-Z0-9][a-zA-Z0-9_.-]*). */
export function containerName(specName: string, suffix: string): string {
  const clean = specName.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 64);
  return `stratus-${clean ? `${clean}-` : ''}${suffix}`;
}

export function createOptions(
  spec: ContainerSpec,
  ctx: CreateContext,
  name: string,
): Docker.ContainerCreateOptions {
  const ports = spec.network.ports ?? [];
  checkPorts(spec.network.mode, ports);
  const r = spec.resources ?? {};
  const hostConfig: Docker.HostConfig = {
    // Joining another container's namespace is Docker's `container:<id>` mode (ECS awsvpc).
    NetworkMode: spec.network.join
      ? `container:${spec.network.join}`
      : networkMode(spec.network.mode, ctx.network),
    ...(spec.ulimits?.length && {
      Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    }),
    ReadonlyRootfs: spec.readonlyRoot ?? false,
    Mounts: (spec.mounts ?? []).map((m) => ({
      Type: 'bind' as const,
      Source: m.source,
      Target: m.target,
      ReadOnly: m.readonly,
      ...(m.propagation !== undefined && { BindOptions: { Propagation: m.propagation } }),
    })),
    // Executable, as Lambda's /tmp is (Docker's tmpfs default is noexec) and as runc mounts it.
    Tmpfs: Object.fromEntries(
      (spec.tmpfs ?? []).map(
        (t) => [t.target, `rw,exec,nosuid,nodev,mode=1777,size=${t.sizeMb}m`] as const,
      ),
    ),
    ExtraHosts: Object.entries(spec.network.hosts ?? {}).map(([host, ip]) => `${host}:${ip}`),
    ...(r.cpuShares !== undefined && { CpuShares: r.cpuShares }),
    ...(r.cpus !== undefined && { NanoCpus: Math.round(r.cpus * 1e9) }),
    // Swap equal to the limit: no swap beyond it, so exceeding it means the OOM killer, as
    // on ECS and Lambda (ignored with a daemon warning where swap accounting is off).
    ...(r.memoryMb !== undefined && { Memory: r.memoryMb * MB, MemorySwap: r.memoryMb * MB }),
    ...(r.memoryReservationMb !== undefined && {
      MemoryReservation: r.memoryReservationMb * MB,
    }),
    ...(r.pidsLimit !== undefined && { PidsLimit: r.pidsLimit }),
  };
  if (spec.network.mode === 'private' && spec.network.join && ports.length > 0)
    throw new UnsupportedSpecError('docker', 'a container that joins a network publishes no ports');
  if (spec.network.mode === 'private' && !spec.network.join && ports.length > 0) {
    // Loopback only, like every Stratus listener; HostPort '' asks Docker for a free port.
    hostConfig.PortBindings = Object.fromEntries(
      ports.map((p) => [
        portKey(p),
        [{ HostIp: '127.0.0.1', HostPort: p.hostPort ? String(p.hostPort) : '' }],
      ]),
    );
  }
  return {
    name,
    Image: ctx.image,
    ...(spec.entrypoint !== undefined && { Entrypoint: spec.entrypoint }),
    ...(spec.command !== undefined && { Cmd: spec.command }),
    // Docker merges these over the image's Env (the container's win), as the contract says.
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    ...(spec.user !== undefined && { User: spec.user }),
    ...(spec.workingDir !== undefined && { WorkingDir: spec.workingDir }),
    ...(spec.stopSignal !== undefined && { StopSignal: spec.stopSignal }),
    Labels: { ...spec.labels, [NAME_LABEL]: spec.name, ...ctx.labels },
    ExposedPorts: Object.fromEntries(ports.map((p) => [portKey(p), {}])),
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: hostConfig,
  };
}

function networkMode(mode: ContainerSpec['network']['mode'], network: string): string {
  switch (mode) {
    case 'none':
      return 'none';
    case 'host':
      return 'host';
    case 'private':
      return network;
    default: {
      const never: never = mode;
      throw new UnsupportedSpecError('docker', `unknown network mode ${String(never)}`);
    }
  }
}

function checkPorts(mode: ContainerSpec['network']['mode'], ports: PortMapping[]): void {
  if (ports.length === 0) return;
  if (mode === 'none')
    throw new UnsupportedSpecError('docker', 'network mode none cannot publish ports');
  if (mode === 'host') {
    const moved = ports.find((p) => p.hostPort && p.hostPort !== p.containerPort);
    if (moved)
      throw new UnsupportedSpecError(
        'docker',
        `network mode host listens on the host's own ports: hostPort ${moved.hostPort} must equal containerPort ${moved.containerPort}`,
      );
  }
}
