/**
 * What is particular to the docker driver, beyond the conformance suite every driver
 * passes (test/docker-conformance.test.ts): cgroup settings, the stop signal, fixed and
 * dynamic ports and the container's address, host networking, stats after the exit, crash
 * reaping through driver selection, rootfs imports, images and networks removed behind its
 * back, refusals and pull failures. The busybox-static image is pushed into a test
 * server's ECR by skopeo, resolved through ECR's ImageSource and pulled by the daemon from
 * Stratus's registry (strict auth: the credentials the source hands out are the ones that
 * work). What the container sees is checked from inside it (busybox), what the host sees
 * through curl and the docker CLI. Skipped where no daemon answers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ImageNotFoundError,
  OWNER_LABEL,
  UnsupportedSpecError,
  type Container,
  type ContainerSpec,
} from '../src/runtime/container.js';
import { DockerDriver, dockerAvailable } from '../src/runtime/docker/driver.js';
import { reapOrphans, selectDriver } from '../src/runtime/select.js';
import { createLogger } from '../src/shared/log.js';
import { freePort } from './helpers/backends.js';
import { busyboxImage, type BusyboxImage } from './helpers/busybox-ecr.js';
import { BUSYBOX, imageToolsMissing } from './helpers/oci-image.js';

const skip = (await dockerAvailable())
  ? imageToolsMissing()
  : 'no Docker daemon answers (start dockerd, or set DOCKER_HOST)';

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: stdout + stderr }),
    );
  });
}

describe('docker driver', { skip }, () => {
  const driver = new DockerDriver();
  const owner = `docker-driver-test-${process.pid}`;
  let busybox: BusyboxImage;
  let work: string;
  const created: Container[] = [];

  const spec = (overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
    name: 'driver-test',
    root: { kind: 'image', image: busybox.image },
    env: {},
    network: { mode: 'none' },
    labels: { [OWNER_LABEL]: owner },
    ...overrides,
  });

  /** Creates, starts and waits; stdout and stderr as text. */
  const runToEnd = (s: ContainerSpec) => runOwn(driver, s);

  async function runOwn(d: DockerDriver, s: ContainerSpec) {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const c = await d.create(s, {
      onStdout: (b) => out.push(b),
      onStderr: (b) => err.push(b),
    });
    created.push(c);
    await c.start();
    const exit = await c.wait();
    return {
      exit,
      container: c,
      stdout: Buffer.concat(out).toString(),
      stderr: Buffer.concat(err).toString(),
    };
  }

  const sh = (script: string, overrides: Partial<ContainerSpec> = {}) =>
    runToEnd(spec({ command: [script], ...overrides }));

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'docker-driver-'));
    busybox = await busyboxImage();
  });

  after(async () => {
    for (const c of created) await c.remove().catch(() => undefined);
    if (busybox) await run('docker', ['rmi', '-f', busybox.image.pull.reference]);
    await busybox?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("the pulled image's own entrypoint and cmd run; exit code and output come back", async () => {
    const plain = await runToEnd(spec());
    assert.deepEqual(plain.exit, { code: 0, signal: null, oomKilled: false });
    assert.equal(plain.stdout, 'hello from stratus\n');
  });

  test('a tmpfs is sized, world-writable and executable (as the /tmp of Lambda)', async () => {
    const r = await sh(
      [
        "busybox grep ' /scratch ' /proc/mounts | busybox cut -d' ' -f4",
        'busybox stat -c %a /scratch',
        // busybox picks the applet by its own name: a copy named echo echoes.
        'busybox cp /bin/busybox /scratch/echo && /scratch/echo ran-from-tmpfs',
      ].join('; '),
      { readonlyRoot: true, tmpfs: [{ target: '/scratch', sizeMb: 8 }] },
    );
    assert.equal(r.exit.code, 0, r.stderr);
    const [options, mode, ran] = r.stdout.trim().split('\n');
    assert.match(options, /size=8192k/);
    assert.doesNotMatch(options, /noexec/);
    assert.equal(mode, '1777');
    assert.equal(ran, 'ran-from-tmpfs');
  });

  test('cpu shares and quota, memory limit and reservation, pids limit reach the cgroup', async () => {
    // cgroup v1 paths first (this machine's hybrid hierarchy), v2 names as the fallback.
    const read = (v1: string, v2: string) =>
      `cat /sys/fs/cgroup/${v1} 2>/dev/null || cat /sys/fs/cgroup/${v2}`;
    const r = await sh(
      [
        read('memory/memory.limit_in_bytes', 'memory.max'),
        read('memory/memory.soft_limit_in_bytes', 'memory.low'),
        read('pids/pids.max', 'pids.max'),
        `${read('cpu/cpu.cfs_quota_us', 'cpu.max')} | busybox cut -d' ' -f1`,
        read('cpu/cpu.shares', 'cpu.weight'),
      ].join('; '),
      {
        resources: {
          memoryMb: 64,
          memoryReservationMb: 32,
          pidsLimit: 50,
          cpus: 0.5,
          cpuShares: 512,
        },
      },
    );
    assert.equal(r.exit.code, 0, r.stderr);
    const [memory, reservation, pids, quota, shares] = r.stdout.trim().split('\n');
    assert.equal(memory, String(64 * 1024 * 1024));
    assert.equal(reservation, String(32 * 1024 * 1024));
    assert.equal(pids, '50');
    assert.equal(quota, '50000'); // half of the default 100 ms period
    assert.ok(shares === '512' || Number(shares) < 100, `cpu weight ${shares}`);
  });

  test("stop sends the spec's stop signal first; signal() reaches the init process", async () => {
    const spawnIdle = async (script: string, extra: Partial<ContainerSpec> = {}) => {
      const c = await driver.create(spec({ command: [script], ...extra }), {
        onStdout: () => {},
        onStderr: () => {},
      });
      created.push(c);
      await c.start();
      return c;
    };
    // The spec's stop signal is the one sent first.
    const usr1 = await spawnIdle('trap "exit 9" USR1; while true; do sleep 1 & wait; done', {
      stopSignal: 'SIGUSR1',
    });
    assert.deepEqual(await usr1.stop(30_000), { code: 9, signal: null, oomKilled: false });

    // signal() reaches the init process.
    const signalled = await spawnIdle('trap "exit 5" HUP; while true; do sleep 1 & wait; done');
    await signalled.signal('SIGHUP');
    assert.equal((await signalled.wait()).code, 5);
  });

  test('a private network publishes ports on 127.0.0.1 (dynamic and fixed), curl gets answers', async () => {
    const fixed = await freePort();
    const httpd = [
      'busybox mkdir -p /tmp/www',
      'echo "served from $HOSTNAME" > /tmp/www/index.html',
      'busybox httpd -p 8081 -h /tmp/www',
      'exec busybox httpd -f -p 8080 -h /tmp/www',
    ].join(' && ');
    const c = await driver.create(
      spec({
        command: [httpd],
        network: {
          mode: 'private',
          ports: [
            { containerPort: 8080, hostPort: 0, protocol: 'tcp' },
            { containerPort: 8081, hostPort: fixed, protocol: 'tcp' },
          ],
        },
      }),
      { onStdout: () => {}, onStderr: () => {} },
    );
    created.push(c);
    await c.start();
    const [dynamic, pinned] = c.ports;
    assert.deepEqual(
      c.ports.map((p) => [p.hostIp, p.containerPort, p.protocol]),
      [
        ['127.0.0.1', 8080, 'tcp'],
        ['127.0.0.1', 8081, 'tcp'],
      ],
    );
    assert.ok(dynamic.hostPort > 0, `dynamic port ${dynamic.hostPort}`);
    assert.equal(pinned.hostPort, fixed);
    assert.match(c.ip ?? '', /^\d+\.\d+\.\d+\.\d+$/);

    const viaDynamic = await curlUntil(`http://127.0.0.1:${dynamic.hostPort}/`);
    assert.match(viaDynamic, /^served from /);
    assert.equal(await curlUntil(`http://127.0.0.1:${fixed}/`), viaDynamic);
    // The container's own address is reachable from the host too.
    assert.equal(await curlUntil(`http://${c.ip}:8080/`), viaDynamic);

    // busybox httpd as PID 1 has no TERM handler: the grace period ends in SIGKILL.
    const exit = await c.stop(500);
    assert.equal(exit.oomKilled, false);
  });

  test('network none has loopback only; host shares the host interfaces; hosts entries apply', async () => {
    const none = await sh('cat /proc/net/dev | busybox tail -n +3 | busybox cut -d: -f1', {
      network: { mode: 'none', hosts: { 'stratus.internal': '10.9.8.7' } },
    });
    assert.deepEqual(none.stdout.trim().split(/\s+/), ['lo']);
    const hosts = await sh('busybox grep stratus.internal /etc/hosts', {
      network: { mode: 'none', hosts: { 'stratus.internal': '10.9.8.7' } },
    });
    assert.match(hosts.stdout, /^10\.9\.8\.7\s+stratus\.internal$/m);

    // Other work on the machine adds and removes interfaces (veths of other containers):
    // the container must see every host interface that exists before and after it ran.
    const hostIfaces = async () =>
      new Set(
        (await readText('/proc/net/dev'))
          .trim()
          .split('\n')
          .slice(2)
          .map((l) => l.split(':')[0].trim()),
      );
    const before = await hostIfaces();
    const host = await sh('cat /proc/net/dev | busybox tail -n +3 | busybox cut -d: -f1', {
      network: { mode: 'host' },
    });
    const after = await hostIfaces();
    const seen = new Set(host.stdout.trim().split(/\s+/));
    const stable = [...before].filter((name) => after.has(name));
    assert.ok(stable.length > 1, `host interfaces: ${stable.join(', ')}`);
    assert.deepEqual(
      stable.filter((name) => !seen.has(name)),
      [],
      `seen in the container: ${[...seen].join(', ')}`,
    );
  });

  test('stats report peak memory and cpu time while running', async () => {
    const c = await driver.create(
      spec({
        // ~24 MB held in a shell variable, then a busy loop for cpu time.
        command: [
          'a=$(busybox head -c 25000000 /dev/zero | busybox tr "\\0" x); echo ready; i=0; while true; do i=$((i+1)); done',
        ],
        resources: { memoryMb: 256 },
      }),
      { onStdout: () => {}, onStderr: () => {} },
    );
    created.push(c);
    await c.start();
    let stats = await c.stats();
    for (
      const until = Date.now() + 60_000;
      (stats.peakMemoryMb < 24 || stats.cpuTimeMs < 200) && Date.now() < until;
    ) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await c.stats();
    }
    assert.ok(stats.peakMemoryMb >= 24, `peak ${stats.peakMemoryMb} MB`);
    assert.ok(stats.peakMemoryMb < 256, `peak ${stats.peakMemoryMb} MB`);
    assert.ok(stats.cpuTimeMs >= 200, `cpu ${stats.cpuTimeMs} ms`);
    await c.stop(0);
    // The last figures stand once the container (and its cgroup) is gone.
    const after = await c.stats();
    assert.ok(after.peakMemoryMb >= stats.peakMemoryMb);
  });

  test('--driver docker: the containers of a crashed run (its owner label) are reaped at the next start', async () => {
    const stateDir = join(work, 'select');
    const owner = join(work, 'crashed-state');
    const log = createLogger('warn');
    const crashed = await selectDriver({ choice: 'docker', stateDir, owner, log });
    assert.equal(crashed.name, 'docker');
    for (let i = 0; i < 3; i++) {
      const c = await crashed.create(spec({ command: ['sleep 600'], labels: {} }), {
        onStdout: () => {},
        onStderr: () => {},
      });
      created.push(c);
      await c.start();
    }
    assert.equal((await crashed.list({ [OWNER_LABEL]: owner })).length, 3);
    // A container Stratus did not make is never listed, even with no labels asked for.
    const foreign = await run('docker', [
      'create',
      '--label',
      `${OWNER_LABEL}=${owner}`,
      busybox.image.pull.reference,
    ]);
    assert.equal(foreign.code, 0, foreign.out);
    const foreignId = foreign.out.trim();
    try {
      const all = await crashed.list({});
      assert.ok(all.length >= 3 && !all.some((c) => c.id === foreignId));
    } finally {
      await run('docker', ['rm', '-f', foreignId]);
    }

    const next = await selectDriver({ choice: 'docker', stateDir, owner, log });
    assert.equal(await reapOrphans(next, owner, log), 3);
    assert.deepEqual(await next.list({ [OWNER_LABEL]: owner }), []);
  });

  test('a rootfs directory runs as an imported image, removed with the container', async () => {
    const rootfs = join(work, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await copyFile(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    await symlink('busybox', join(rootfs, 'bin', 'sh'));
    await writeFile(join(rootfs, 'marker'), 'prepared\n');
    const r = await runToEnd(
      spec({
        root: { kind: 'rootfs', path: rootfs },
        entrypoint: ['/bin/sh', '-c', 'cat /marker'],
      }),
    );
    assert.equal(r.exit.code, 0, r.stderr);
    assert.equal(r.stdout, 'prepared\n');
    const image = (
      await run('docker', ['inspect', '--format', '{{.Config.Image}}', r.container.id])
    ).out.trim();
    assert.match(image, /^stratus-rootfs:/);
    await r.container.remove();
    assert.notEqual(
      (await run('docker', ['image', 'inspect', image])).code,
      0,
      'imported image left behind',
    );
  });

  test('an image or a network removed behind the driver is pulled or created again', async () => {
    const network = `stratus-test-${process.pid}`;
    const own = new DockerDriver({ network });
    try {
      const first = await runOwn(
        own,
        spec({ network: { mode: 'private' }, command: ['echo one'] }),
      );
      assert.equal(first.stdout, 'one\n');
      const labels = await run('docker', [
        'network',
        'inspect',
        '--format',
        '{{json .Labels}}',
        network,
      ]);
      assert.equal(labels.out.trim(), '{"dev.stratus.network":"private"}');
      assert.equal((await run('docker', ['rmi', '-f', busybox.image.pull.reference])).code, 0);
      assert.equal((await run('docker', ['network', 'rm', network])).code, 0);
      const again = await runOwn(
        own,
        spec({ network: { mode: 'private' }, command: ['echo two'] }),
      );
      assert.equal(again.stdout, 'two\n');
    } finally {
      await run('docker', ['network', 'rm', network]);
    }
  });

  test('specs Docker cannot honour are refused before anything is created; a missing image is ImageNotFoundError', async () => {
    const before = await driver.list({ [OWNER_LABEL]: owner });
    const io = { onStdout: () => {}, onStderr: () => {} };
    await assert.rejects(driver.create(spec({ root: { kind: 'host' } }), io), UnsupportedSpecError);
    await assert.rejects(
      driver.create(
        spec({ network: { mode: 'none', ports: [{ containerPort: 80, protocol: 'tcp' }] } }),
        io,
      ),
      UnsupportedSpecError,
    );
    // Deleted from the registry after it was resolved: the daemon's pull finds nothing.
    const { image } = busybox;
    const missing = {
      ...image,
      pull: {
        ...image.pull,
        reference: image.pull.reference.replace(/@.*/, `@sha256:${'0'.repeat(64)}`),
      },
    };
    await assert.rejects(
      driver.create(spec({ root: { kind: 'image', image: missing } }), io),
      ImageNotFoundError,
    );
    // The daemon pulls with the credentials the image source handed out (strict auth).
    const forged = { ...missing, pull: { ...missing.pull, password: 'forged' } };
    await assert.rejects(
      driver.create(spec({ root: { kind: 'image', image: forged } }), io),
      (err: unknown) => {
        assert.ok(!(err instanceof ImageNotFoundError), String(err));
        assert.match(String(err), /docker pull .* failed: .*(unauthorized|denied|authentication)/i);
        return true;
      },
    );
    assert.equal((await driver.list({ [OWNER_LABEL]: owner })).length, before.length);
  });
});

const readText = (path: string): Promise<string> => readFile(path, 'utf8');

/** GET with curl until the server in the container answers (it starts asynchronously). */
async function curlUntil(url: string): Promise<string> {
  let last = '';
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    const r = await run('curl', ['-sS', '--max-time', '2', url]);
    if (r.code === 0) return r.out;
    last = r.out;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${url} never answered: ${last}`);
}
