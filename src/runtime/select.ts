/**
 * Which ContainerDriver runs containers: configuration (`--driver auto|process|runc|docker`,
 * STRATUS_DRIVER), never a service's choice. `auto` takes runc where Stratus runs as root
 * on Linux with runc present and a quick self-check passing, else docker if a daemon
 * answers, else process (which says once in the log that isolation and limits are off).
 *
 * At start the chosen driver's leftovers from a crashed run of the same state directory
 * (containers carrying its OWNER_LABEL) are destroyed: no service can reattach to their
 * output, so none is left orphaned.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../shared/log.js';
import { isProcessRunning } from '../storage/state-lock.js';
import { OWNER_LABEL, type ContainerDriver, type DriverName } from './container.js';
import { DockerDriver, dockerAvailable } from './docker/driver.js';
import { LayerCache } from './images/layer-cache.js';
import { ProcessDriver } from './process/driver.js';
import { detectCgroups } from './runc/cgroups.js';
import { RuncDriver, type RootfsPreparer, type RuncDriverOptions } from './runc/driver.js';

export type DriverChoice = 'auto' | DriverName;

export const DRIVER_CHOICES: readonly DriverChoice[] = ['auto', 'process', 'runc', 'docker'];

export interface SelectOptions {
  choice: DriverChoice;
  /** The drivers' own directory inside Stratus's state directory. */
  stateDir: string;
  /** OWNER_LABEL's value: names this server's state directory. */
  owner: string;
  log: Logger;
  prepareRootfs?: RootfsPreparer;
  overlayLayers?: RuncDriverOptions['overlayLayers'];
}

/** Why runc cannot be the driver here, or undefined when it can. */
export async function runcUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'Stratus does not run as root';
  const version = await new Promise<string | undefined>((resolve) =>
    execFile('runc', ['--version'], (err, out) => resolve(err ? undefined : out)),
  );
  if (!version) return 'runc is not installed';
  // Self-check: the cgroups the driver writes must be writable.
  try {
    const layout = detectCgroups();
    const probe = join(layout.memory, `probe-${process.pid}`);
    await mkdir(probe, { recursive: true });
    await rmdir(probe);
  } catch (err) {
    return `cgroups are not writable (${(err as Error).message})`;
  }
  return undefined;
}

export async function selectDriver(opts: SelectOptions): Promise<ContainerDriver> {
  const driver = await choose(opts);
  if (driver.name === 'process')
    opts.log.warn(
      'containers run as host processes (process driver): no isolation, memory limits are not enforced',
    );
  else opts.log.info(`container driver: ${driver.name}`);
  return driver;
}

async function choose(opts: SelectOptions): Promise<ContainerDriver> {
  const runc = () =>
    new RuncDriver({
      stateDir: join(opts.stateDir, 'runc-driver'),
      owner: opts.owner,
      prepareRootfs: opts.prepareRootfs,
      overlayLayers: opts.overlayLayers,
    });
  const proc = () =>
    new ProcessDriver({ stateDir: join(opts.stateDir, 'process-driver'), owner: opts.owner });
  switch (opts.choice) {
    case 'process':
      return proc();
    case 'runc': {
      const why = await runcUnavailable();
      if (why) throw new Error(`--driver runc: ${why}`);
      return runc();
    }
    case 'docker': {
      if (!(await dockerAvailable())) throw new Error('--driver docker: no Docker daemon answers');
      return new DockerDriver({
        owner: opts.owner,
        stateDir: join(opts.stateDir, 'docker-driver'),
      });
    }
    case 'auto': {
      const why = await runcUnavailable();
      if (!why) return runc();
      opts.log.debug(`runc driver not used: ${why}`);
      if (await dockerAvailable()) {
        return new DockerDriver({
          owner: opts.owner,
          stateDir: join(opts.stateDir, 'docker-driver'),
        });
      }
      return proc();
    }
    default: {
      const never: never = opts.choice;
      throw new Error(`unknown driver ${String(never)}`);
    }
  }
}

/** Destroys every container a previous run of this state directory left behind. */
export async function reapOrphans(
  driver: ContainerDriver,
  owner: string,
  log: Logger,
): Promise<number> {
  const left = await driver.list({ [OWNER_LABEL]: owner });
  for (const c of left) {
    try {
      await driver.destroy(c.id);
    } catch (err) {
      log.warn('could not remove a leftover container', { id: c.id, error: String(err) });
    }
  }
  if (driver instanceof RuncDriver) await driver.sweep();
  if (left.length)
    log.info(`removed ${left.length} container(s) left by a previous run`, { driver: driver.name });
  return left.length;
}

/**
 * The server's container driver, with its state in `<stateDir>/containers` (a temp dir
 * when ephemeral) and OWNER_LABEL naming the state directory. A previous run's leftovers
 * are destroyed first; at close, whatever the services left running is. An ephemeral server
 * first takes down what ephemeral servers killed before it left (their pid is in the name).
 */
export async function openContainers(
  config: { driver: DriverChoice; stateDir: string; ephemeral: boolean },
  log: Logger,
): Promise<{ driver: ContainerDriver; close(): Promise<void> }> {
  if (config.ephemeral) await reapDeadEphemeral(log);
  const dir = config.ephemeral
    ? await mkdtemp(join(tmpdir(), `${EPHEMERAL_PREFIX}${process.pid}-`))
    : join(resolve(config.stateDir), 'containers');
  const owner = config.ephemeral ? dir : resolve(config.stateDir);
  // Image roots: layers unpacked once into a cache beside the drivers' state.
  const layers = new LayerCache(join(dir, 'layers'));
  const driver = await selectDriver({
    choice: config.driver,
    stateDir: dir,
    owner,
    log,
    prepareRootfs: (image, containerDir) => layers.prepareRootfs(image, containerDir),
    overlayLayers: (image, containerDir) => layers.overlayLayers(image, containerDir),
  });
  await reapOrphans(driver, owner, log);
  // Unpacked layers no container used for a day go (an image run again is unpacked again).
  const collector = setInterval(() => {
    layers.collectIdle(LAYER_IDLE_MS).then(
      (removed) => {
        if (removed.length) log.info(`removed ${removed.length} unused image layer(s)`);
      },
      (err: unknown) => log.warn('could not collect image layers', { error: String(err) }),
    );
  }, LAYER_COLLECT_EVERY_MS);
  collector.unref();
  return {
    driver,
    close: async () => {
      clearInterval(collector);
      await reapOrphans(driver, owner, log);
      if (driver instanceof RuncDriver || driver instanceof DockerDriver) await driver.close();
      if (config.ephemeral) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An ephemeral server's containers directory: `<tmpdir>/<prefix><pid>-XXXXXX`. */
export const EPHEMERAL_PREFIX = 'stratus-containers-';
/** How long an unpacked layer no container uses is kept, and how often that is checked. */
export const LAYER_IDLE_MS = 24 * 60 * 60_000;
const LAYER_COLLECT_EVERY_MS = 60 * 60_000;

/** Containers and directories of ephemeral servers that died without closing. */
async function reapDeadEphemeral(log: Logger): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = /^stratus-containers-(\d+)-/.exec(name)?.[1];
    if (!pid || isProcessRunning(Number(pid))) continue;
    const dir = join(tmpdir(), name);
    try {
      if (existsSync(join(dir, 'runc-driver')) && !(await runcUnavailable()))
        await reapOrphans(
          new RuncDriver({ stateDir: join(dir, 'runc-driver'), owner: dir }),
          dir,
          log,
        );
      const proc = new ProcessDriver({ stateDir: join(dir, 'process-driver'), owner: dir });
      await reapOrphans(proc, dir, log);
      // Never recurse into a mount a failed teardown left.
      const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
      if (mounts.includes(` ${dir}/`)) continue;
      await rm(dir, { recursive: true, force: true });
    } catch (err) {
      log.warn('could not clean up after a dead ephemeral server', { dir, error: String(err) });
    }
  }
}
