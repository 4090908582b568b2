/**
 * The CNCF distribution registry (Debian package `docker-registry`) as a reference peer for
 * the ECR benchmark and the image tests: its own process on a free 127.0.0.1 port, with
 * filesystem storage in a temp dir and a config.yml written next to it, stopped by PID.
 * https://distribution.github.io/distribution/about/configuration/
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SERVER_CPU,
  freePort,
  makeTempDir,
  removeTempDir,
  spawnTracked,
  stopChild,
  waitForPort,
} from './children.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RegistryPeer {
  child: ChildProcess;
  port: number;
  /** `127.0.0.1:<port>`: the host part of image references. */
  host: string;
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** The registry's storage root (filesystem driver). */
  dataDir: string;
  /** The last few KB the registry wrote (for error messages). */
  output(): string;
  /** Stops the process by PID and removes its temp dir. */
  stop(): Promise<void>;
}

/**
 * The upstream example config minus auth: filesystem storage, the in-memory blob
 * descriptor cache the packaged config also enables, deletes allowed, logs at error level
 * with the access log off (so logging does not weigh on the figures).
 */
function configYaml(dataDir: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dataDir}`,
    '  cache:',
    '    blobdescriptor: inmemory',
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Why the registry cannot be started here (a skip reason), or undefined when it can. */
export function registryPeerMissing(binary = REGISTRY_BINARY): string | undefined {
  try {
    accessSync(binary, constants.X_OK);
    return undefined;
  } catch {
    return `${binary} not installed (apt-get install docker-registry)`;
  }
}

/** Starts the registry (on the server CPU when the benchmark pins) and waits for `/v2/`. */
export async function startRegistryPeer(opts: { binary?: string } = {}): Promise<RegistryPeer> {
  const binary = opts.binary ?? REGISTRY_BINARY;
  const root = makeTempDir('registry-peer-');
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  const port = await freePort();
  const config = join(root, 'config.yml');
  writeFileSync(config, configYaml(dataDir, port));
  const child = spawnTracked(
    binary,
    ['serve', config],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: root },
    SERVER_CPU,
  );
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async () => {
    await stopChild(child);
    removeTempDir(root);
  };
  try {
    await waitForPort(port, 15_000, child);
    await waitForV2(port, child);
  } catch (err) {
    await stop();
    throw new Error(`docker-registry did not start: ${(err as Error).message}\n${log}`);
  }
  return {
    child,
    port,
    host: `127.0.0.1:${port}`,
    endpoint: `http://127.0.0.1:${port}`,
    dataDir,
    output: () => log,
    stop,
  };
}

/** The API version check answers 200 once the registry is ready (no auth configured). */
async function waitForV2(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('process exited');
    const status = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`GET /v2/ answers ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
