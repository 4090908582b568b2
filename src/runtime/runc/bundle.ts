/**
 * The OCI runtime spec (config.json) of one container, from the image config and the
 * ContainerSpec, with Docker's defaults where the spec says nothing: its entrypoint and
 * command rules, its default capability set, runc's masked and read-only /proc paths,
 * no new privileges. https://github.com/opencontainers/runtime-spec/blob/main/config.md
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerSpec, ImageRuntimeConfig } from '../container.js';
import { UnsupportedSpecError } from '../container.js';

/** Docker's default capabilities (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** runc's (and Docker's) masked and read-only paths. */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciNamespace {
  type: string;
  path?: string;
}

/** The parts of the OCI runtime spec Stratus writes. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted', string[]>;
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    cgroupsPath: string;
    namespaces: OciNamespace[];
    resources: {
      devices: { allow: boolean; access: string }[];
      cpu?: { shares?: number; quota?: number; period?: number };
      pids?: { limit: number };
    };
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

export interface BundleInputs {
  spec: ContainerSpec;
  /** The image's runtime config ({} for a plain rootfs). */
  image: ImageRuntimeConfig;
  /** Absolute path of the root filesystem. */
  rootfs: string;
  hostname: string;
  /** cgroup path runc creates the container in (relative to runc's own cgroup). */
  cgroupsPath: string;
  /** A network namespace Stratus prepared (private mode); undefined: runc makes one. */
  netnsPath?: string;
  /**
   * An overlay runc mounts at `/` inside the container (rootfs is then its empty mount
   * point; /etc/passwd is read from the layers, top first).
   */
  overlay?: { lower: string[]; upper: string; work: string };
  /** Files bind-mounted read-only over /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  etcFiles: { hosts: string; resolvConf: string; hostname: string };
}

/** Docker's rules: an entrypoint override drops the image's Cmd unless command is given. */
export function processArgs(spec: ContainerSpec, image: ImageRuntimeConfig): string[] {
  const entrypoint = spec.entrypoint ?? image.Entrypoint ?? [];
  const command = spec.command ?? (spec.entrypoint ? [] : (image.Cmd ?? []));
  const args = [...entrypoint, ...command];
  if (args.length === 0) throw new UnsupportedSpecError('runc', 'no command specified');
  return args;
}

/** The image's Env with the spec's over it (spec wins); PATH defaults as Docker's does. */
export function mergeEnv(
  image: string[] | undefined,
  given: Record<string, string>,
  home: string,
): string[] {
  const env = new Map<string, string>();
  for (const entry of image ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    else if (eq < 0) env.set(entry, '');
  }
  for (const [k, v] of Object.entries(given)) env.set(k, v);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (!env.has('HOME')) env.set('HOME', home);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/**
 * `uid[:gid]` or `name[:group]` against the rootfs's /etc/passwd and /etc/group, as
 * Docker resolves `--user`. A numeric uid absent from passwd is fine (gid 0, home /).
 */
export function resolveUser(roots: string[], user: string | undefined): ResolvedUser {
  const [u, g] = (user ?? '').split(':', 2);
  const passwd = readTable(roots, 'etc/passwd');
  const groups = readTable(roots, 'etc/group');
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  if (u) {
    const row = /^\d+$/.test(u) ? passwd.find((r) => r[2] === u) : passwd.find((r) => r[0] === u);
    if (row) {
      name = row[0];
      uid = Number(row[2]);
      gid = Number(row[3]);
      home = row[5] || '/';
    } else if (/^\d+$/.test(u)) {
      uid = Number(u);
    } else {
      throw new UnsupportedSpecError(
        'runc',
        `unable to find user ${u}: no matching entries in passwd file`,
      );
    }
  } else {
    const root = passwd.find((r) => r[2] === '0');
    if (root) home = root[5] || '/root';
    name = root?.[0];
  }
  if (g) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = groups.find((r) => r[0] === g);
      if (!row)
        throw new UnsupportedSpecError(
          'runc',
          `unable to find group ${g}: no matching entries in group file`,
        );
      gid = Number(row[2]);
    }
  }
  const additionalGids = name
    ? groups
        .filter((r) => (r[3] ?? '').split(',').includes(name) && Number(r[2]) !== gid)
        .map((r) => Number(r[2]))
    : [];
  return { uid, gid, additionalGids, home };
}

/** The file from the first root that has it (the top layer first). */
function readTable(roots: string[], file: string): string[][] {
  let text: string | undefined;
  for (const root of roots) {
    try {
      text = readFileSync(join(root, file), 'utf8');
      break;
    } catch {
      // not in this layer
    }
  }
  if (text === undefined) return [];
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** Stratus's own open-files limit (a container cannot be given more than its parent has). */
function openFilesLimit(): { soft: number; hard: number } {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
      readFileSync('/proc/self/limits', 'utf8'),
    );
    const n = (s: string | undefined) => (s && s !== 'unlimited' ? Number(s) : 1_048_576);
    if (m) return { soft: n(m[2]), hard: n(m[2]) };
  } catch {
    // not Linux: the spec's default
  }
  return { soft: 1024, hard: 1024 };
}

/** The spec's ulimits as OCI rlimits (`nofile` → RLIMIT_NOFILE); nofile defaults to ours. */
function rlimits(spec: ContainerSpec): { type: string; hard: number; soft: number }[] {
  const out = new Map<string, { type: string; hard: number; soft: number }>();
  out.set('RLIMIT_NOFILE', { type: 'RLIMIT_NOFILE', ...openFilesLimit() });
  for (const u of spec.ulimits ?? []) {
    const type = `RLIMIT_${u.name.toUpperCase()}`;
    out.set(type, { type, soft: u.soft, hard: u.hard });
  }
  return [...out.values()];
}

export function buildOciSpec(inputs: BundleInputs): OciSpec {
  const { spec, image } = inputs;
  const user = resolveUser(inputs.overlay?.lower ?? [inputs.rootfs], spec.user ?? image.User);
  const mode = spec.network.mode;
  const namespaces: OciNamespace[] = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  if (mode === 'private') namespaces.push({ type: 'network', path: inputs.netnsPath });
  else if (mode === 'none') namespaces.push({ type: 'network' });
  if (mode !== 'host') namespaces.push({ type: 'cgroup' });

  const mounts: OciMount[] = [];
  if (inputs.overlay) {
    const o = inputs.overlay;
    mounts.push({
      destination: '/',
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=${o.lower.join(':')}`, `upperdir=${o.upper}`, `workdir=${o.work}`],
    });
  }
  mounts.push(
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    {
      destination: '/dev/mqueue',
      type: 'mqueue',
      source: 'mqueue',
      options: ['nosuid', 'noexec', 'nodev'],
    },
    // sysfs needs a network namespace of its own; the host's is bound read-only instead.
    mode === 'host'
      ? {
          destination: '/sys',
          type: 'none',
          source: '/sys',
          options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
        }
      : {
          destination: '/sys',
          type: 'sysfs',
          source: 'sysfs',
          options: ['nosuid', 'noexec', 'nodev', 'ro'],
        },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  );
  const etc = inputs.etcFiles;
  for (const [dest, src] of [
    ['/etc/hosts', etc.hosts],
    ['/etc/resolv.conf', etc.resolvConf],
    ['/etc/hostname', etc.hostname],
  ] as const) {
    mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'ro'] });
  }
  for (const t of spec.tmpfs ?? []) {
    mounts.push({
      destination: t.target,
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'mode=1777', `size=${t.sizeMb}m`],
    });
  }
  for (const m of spec.mounts ?? []) {
    mounts.push({
      destination: m.target,
      type: 'bind',
      source: m.source,
      options: ['rbind', m.propagation ?? 'rprivate', m.readonly ? 'ro' : 'rw'],
    });
  }

  const r = spec.resources ?? {};
  const resources: OciSpec['linux']['resources'] = {
    devices: [{ allow: false, access: 'rwm' }],
  };
  if (r.cpuShares !== undefined || r.cpus !== undefined) {
    const period = 100_000;
    resources.cpu = {
      ...(r.cpuShares !== undefined ? { shares: Math.max(2, Math.round(r.cpuShares)) } : {}),
      ...(r.cpus !== undefined
        ? { quota: Math.max(1000, Math.round(r.cpus * period)), period }
        : {}),
    };
  }
  if (r.pidsLimit !== undefined) resources.pids = { limit: r.pidsLimit };

  const caps = DEFAULT_CAPABILITIES;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: {
        uid: user.uid,
        gid: user.gid,
        ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}),
      },
      args: processArgs(spec, image),
      env: mergeEnv(image.Env, spec.env, user.home),
      cwd: spec.workingDir || image.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: rlimits(spec),
      noNewPrivileges: spec.allowPrivilegeEscalation !== true,
    },
    root: { path: inputs.rootfs, readonly: spec.readonlyRoot === true },
    hostname: inputs.hostname,
    mounts,
    linux: {
      cgroupsPath: inputs.cgroupsPath,
      namespaces,
      resources,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
