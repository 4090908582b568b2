/**
 * The one suite every ContainerDriver passes (runc, docker, and process where it applies).
 * It runs busybox commands only (sh, echo, id, pwd, head, tr, sleep, httpd), so a driver
 * runs it against a busybox root: a rootfs from busybox-static for runc, an image pushed
 * to Stratus's registry for docker, the host's own shell for the process driver. Tests of
 * what a driver cannot do (capabilities.isolation / limits / images) are skipped.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  Container,
  ContainerDriver,
  ContainerExit,
  ContainerSpec,
  ImageRuntimeConfig,
} from './container.js';

export interface ContainerConformanceOptions {
  /** A root holding busybox at /bin (its applets as /bin/<name>). */
  busyboxRoot(): Promise<ContainerSpec['root']> | ContainerSpec['root'];
  /** A busybox root whose image config is `config` (Env, Entrypoint, Cmd, WorkingDir). */
  imageRoot?(config: ImageRuntimeConfig): Promise<ContainerSpec['root']>;
  /** Why the whole suite is skipped here (not root, no runc, no daemon), if it is. */
  skip?: string | false;
  /** Called once after the suite (stop what `driver` started). */
  cleanup?(): Promise<void>;
}

interface Ran {
  exit: ContainerExit;
  stdout: string;
  stderr: string;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function runContainerConformance(
  name: string,
  driver: () => ContainerDriver,
  opts: ContainerConformanceOptions,
): void {
  describe(`container driver conformance: ${name}`, { skip: opts.skip || false }, () => {
    let d: ContainerDriver;
    let root: ContainerSpec['root'];
    const label = `conformance-${process.pid}-${Date.now()}`;
    const live = new Set<Container>();

    before(async () => {
      d = driver();
      root = await opts.busyboxRoot();
    });
    after(async () => {
      for (const c of live) await c.remove().catch(() => undefined);
      await opts.cleanup?.();
    });

    const spec = (script: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: 'conformance',
      root,
      entrypoint: ['/bin/sh', '-c'],
      command: [script],
      env: { PATH },
      // Loopback only, where the driver has network namespaces at all.
      network: { mode: d.capabilities.isolation ? 'none' : 'host' },
      labels: { 'dev.stratus.test': label },
      ...extra,
    });

    /** Output collected as it comes. */
    const collector = () => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      return {
        io: { onStdout: (c: Buffer) => out.push(c), onStderr: (c: Buffer) => err.push(c) },
        stdout: () => Buffer.concat(out).toString('utf8'),
        stderr: () => Buffer.concat(err).toString('utf8'),
      };
    };

    const startContainer = async (s: ContainerSpec) => {
      const io = collector();
      const c = await d.create(s, io.io);
      live.add(c);
      await c.start();
      return { c, io };
    };

    const run = async (s: ContainerSpec): Promise<Ran & { c: Container }> => {
      const { c, io } = await startContainer(s);
      const exit = await c.wait();
      return { c, exit, stdout: io.stdout(), stderr: io.stderr() };
    };

    const remove = async (c: Container) => {
      await c.remove();
      live.delete(c);
    };

    // Generous: containers start slowly on a loaded CI machine; a pass returns at once.
    const waitFor = async (cond: () => boolean | Promise<boolean>, ms = 60_000) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (await cond()) return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      return cond();
    };

    const isolated = () => d.capabilities.isolation;
    const limited = () => d.capabilities.limits;

    test('reports the exit code', async () => {
      const r = await run(spec('exit 7'));
      assert.deepEqual(r.exit, { code: 7, signal: null, oomKilled: false });
      await remove(r.c);
    });

    test('streams stdout and stderr separately', async () => {
      const r = await run(spec('echo out-1; echo err-1 >&2; echo out-2'));
      assert.equal(r.stdout, 'out-1\nout-2\n');
      assert.equal(r.stderr, 'err-1\n');
      await remove(r.c);
    });

    test('passes the environment exactly as given', async () => {
      const env = { PATH, A: 'one', B: 'two words', C: 'x=y=z', EMPTY: '' };
      const r = await run(spec('echo "A=$A|B=$B|C=$C|EMPTY=${EMPTY-unset}|D=${D-unset}"', { env }));
      assert.equal(r.stdout, 'A=one|B=two words|C=x=y=z|EMPTY=|D=unset\n');
      await remove(r.c);
    });

    test('merges the environment over the image’s (the spec wins)', async (t) => {
      if (!opts.imageRoot) return t.skip('no image root for this driver');
      const image = await opts.imageRoot({
        Env: [`PATH=${PATH}`, 'FROM_IMAGE=kept', 'OVERRIDE=image'],
      });
      const r = await run(
        spec('echo "$FROM_IMAGE $OVERRIDE $GIVEN"', {
          root: image,
          env: { OVERRIDE: 'spec', GIVEN: 'yes' },
        }),
      );
      assert.equal(r.stdout, 'kept spec yes\n');
      await remove(r.c);
    });

    test('runs in the given working directory', async () => {
      const r = await run(spec('pwd', { workingDir: '/tmp' }));
      assert.equal(r.stdout, '/tmp\n');
      await remove(r.c);
    });

    test('runs as the given user (uid:gid)', async (t) => {
      if (!isolated()) return t.skip('the driver runs as the server’s user');
      const r = await run(spec('echo "$(id -u):$(id -g)"', { user: '1234:2345' }));
      assert.equal(r.stdout, '1234:2345\n');
      await remove(r.c);
    });

    test('entrypoint and command override the image’s as Docker does', async (t) => {
      if (!opts.imageRoot) return t.skip('no image root for this driver');
      const image = await opts.imageRoot({
        Env: [`PATH=${PATH}`],
        Entrypoint: ['/bin/echo', 'image-entrypoint'],
        Cmd: ['image-cmd'],
        WorkingDir: '/tmp',
      });
      const base = { root: image, env: {}, entrypoint: undefined, command: undefined };
      const cases: [Partial<ContainerSpec>, string][] = [
        [{}, 'image-entrypoint image-cmd\n'],
        [{ command: ['given-cmd'] }, 'image-entrypoint given-cmd\n'],
        // An entrypoint override drops the image's Cmd.
        [{ entrypoint: ['/bin/echo', 'given-entrypoint'] }, 'given-entrypoint\n'],
        [{ entrypoint: ['/bin/echo', 'e'], command: ['c'] }, 'e c\n'],
        [{ entrypoint: ['/bin/sh', '-c', 'pwd'] }, '/tmp\n'],
      ];
      for (const [override, expected] of cases) {
        const r = await run(spec('', { ...base, ...override }));
        assert.equal(r.stdout, expected, JSON.stringify(override));
        await remove(r.c);
      }
    });

    test('a missing executable fails to start', async () => {
      const io = collector();
      let c: Container | undefined;
      try {
        c = await d.create(spec('', { entrypoint: ['/nonexistent/bin'], command: [] }), io.io);
        live.add(c);
        await assert.rejects(c.start());
      } catch (err) {
        // Refusing at create is as good as at start.
        if (!c) assert.ok(err instanceof Error);
        else throw err;
      } finally {
        if (c) await remove(c);
      }
    });

    test('a driver without images refuses an image root (UnsupportedSpecError)', async (t) => {
      if (d.capabilities.images) return t.skip('the driver runs images');
      await assert.rejects(
        d.create(spec('true', { root: { kind: 'rootfs', path: '/' } }), collector().io),
        (err: Error) => err.name === 'UnsupportedSpecError',
      );
    });

    test('stop sends the stop signal, then SIGKILL after the grace period', async () => {
      const { c, io } = await startContainer(
        spec('trap "echo got-term" TERM; echo ready; while :; do sleep 0.1; done'),
      );
      assert.ok(await waitFor(() => io.stdout().includes('ready')), 'container ready');
      const exit = await c.stop(1000);
      assert.equal(exit.code, 137);
      assert.equal(exit.signal, 'SIGKILL');
      assert.equal(exit.oomKilled, false);
      assert.match(io.stdout(), /got-term/, 'SIGTERM came first');
      await remove(c);
    });

    test('stop ends a container that exits on SIGTERM before the grace period', async () => {
      const { c, io } = await startContainer(
        spec('trap "echo bye; exit 3" TERM; echo ready; while :; do sleep 0.1; done'),
      );
      assert.ok(await waitFor(() => io.stdout().includes('ready')));
      const exit = await c.stop(60_000);
      assert.equal(exit.code, 3);
      assert.match(io.stdout(), /bye/);
      await remove(c);
    });

    test('labels: list finds the container, destroy removes it', async () => {
      const mine = { 'dev.stratus.test': label, 'dev.stratus.case': 'list' };
      const { c, io } = await startContainer(spec('echo ready; sleep 300', { labels: mine }));
      assert.ok(await waitFor(() => io.stdout().includes('ready')));
      const found = await d.list(mine);
      assert.deepEqual(
        found.map((s) => [s.id, s.running, s.labels['dev.stratus.case']]),
        [[c.id, true, 'list']],
      );
      assert.deepEqual(await d.list({ ...mine, 'dev.stratus.case': 'other' }), []);
      await d.destroy(c.id);
      const exit = await c.wait();
      assert.equal(exit.code, 137);
      assert.deepEqual(await d.list(mine), []);
      live.delete(c);
    });

    test('reports peak memory (the high-water mark)', async () => {
      const { c, io } = await startContainer(
        spec(
          'x=$(head -c 50000000 /dev/zero | tr "\\0" a); echo ${#x}; x=; echo dropped; sleep 30',
        ),
      );
      try {
        assert.ok(await waitFor(() => io.stdout().includes('dropped'), 60_000));
        const stats = await c.stats();
        assert.ok(stats.peakMemoryMb >= 45, `peak ${stats.peakMemoryMb} MB covers 48 MB`);
        assert.ok(stats.peakMemoryMb < 1024, `peak ${stats.peakMemoryMb} MB is plausible`);
        assert.ok(stats.cpuTimeMs >= 0);
      } finally {
        await remove(c);
      }
    });

    test('a memory limit ends in an OOM kill reported as such', async (t) => {
      if (!limited()) return t.skip('the driver enforces no limits');
      const r = await run(
        spec('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived ${#x}', {
          resources: { memoryMb: 32 },
        }),
      );
      assert.equal(r.exit.oomKilled, true);
      assert.equal(r.exit.code, 137);
      assert.doesNotMatch(r.stdout, /survived/);
      await remove(r.c);
    });

    test('a pids limit caps the processes', async (t) => {
      if (!limited()) return t.skip('the driver enforces no limits');
      // A child shell starts 30 background sleeps until fork fails (busybox sh then exits);
      // the count is a glob (no fork): this shell plus at most 9.
      const ps = await run(
        spec(
          `sh -c "for i in ${'x '.repeat(30)}; do sleep 30 & done" 2>/dev/null; set -- /proc/[0-9]*; echo $#`,
          {
            resources: { pidsLimit: 10 },
          },
        ),
      );
      const n = Number(ps.stdout.trim());
      assert.ok(n >= 2 && n <= 10, `processes: ${ps.stdout.trim()}`);
      await remove(ps.c);
    });

    test('a read-only root refuses writes; tmpfs stays writable within its size', async (t) => {
      if (!isolated()) return t.skip('the driver has no root of its own');
      const r = await run(
        spec(
          'touch /rootfile 2>/dev/null && echo root-writable; ' +
            'head -c 500000 /dev/zero > /scratch/small && echo small-ok; ' +
            'head -c 3000000 /dev/zero > /scratch/big 2>/dev/null || echo big-refused',
          { readonlyRoot: true, tmpfs: [{ target: '/scratch', sizeMb: 1 }] },
        ),
      );
      assert.equal(r.stdout, 'small-ok\nbig-refused\n');
      await remove(r.c);
    });

    test('bind mounts: read-only and read-write', async (t) => {
      if (!isolated()) return t.skip('the driver has no mount namespace');
      const host = await mkdtemp(join(tmpdir(), 'stratus-conformance-'));
      try {
        await writeFile(join(host, 'in.txt'), 'from-host\n');
        const r = await run(
          spec(
            'cat /ro/in.txt; touch /ro/x 2>/dev/null && echo ro-writable; echo from-container > /rw/out.txt',
            {
              mounts: [
                { source: host, target: '/ro', readonly: true },
                { source: host, target: '/rw', readonly: false },
              ],
            },
          ),
        );
        assert.equal(r.stdout, 'from-host\n');
        assert.equal(await readFile(join(host, 'out.txt'), 'utf8'), 'from-container\n');
        await remove(r.c);
      } finally {
        await rm(host, { recursive: true, force: true });
      }
    });

    test('network none has loopback only', async (t) => {
      if (!isolated()) return t.skip('the driver has no network namespace');
      const r = await run(spec('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "'));
      assert.equal(r.stdout, 'lo\n');
      await remove(r.c);
    });

    test('a published port is answered on 127.0.0.1 (curl)', async (t) => {
      if (!isolated()) return t.skip('the driver has no network namespace');
      const { c, io } = await startContainer(
        spec(
          'mkdir -p /www && echo hello-from-container > /www/index.html && ' +
            'echo serving && exec httpd -f -p 8080 -h /www',
          {
            tmpfs: [{ target: '/www', sizeMb: 1 }],
            network: { mode: 'private', ports: [{ containerPort: 8080, protocol: 'tcp' }] },
          },
        ),
      );
      try {
        assert.equal(c.ports.length, 1);
        const port = c.ports[0];
        assert.equal(port.hostIp, '127.0.0.1');
        assert.ok(port.hostPort > 0);
        assert.ok(await waitFor(() => io.stdout().includes('serving')));
        let body = '';
        assert.ok(
          await waitFor(async () => {
            body = await curl(`http://127.0.0.1:${port.hostPort}/index.html`).catch(() => '');
            return body !== '';
          }),
          `curl answered (stderr: ${io.stderr()})`,
        );
        assert.equal(body, 'hello-from-container\n');
      } finally {
        await remove(c);
      }
    });
  });
}

function curl(url: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('curl', ['-sf', '--max-time', '2', url], (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );
}
