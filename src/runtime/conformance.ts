/**
 * The suite every execution driver passes (process today; runc and docker when they come).
 * It only uses a POSIX shell, so a container driver can run it against a busybox rootfs:
 * pass that shell's path and a working directory that exists inside it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ExecutionDriver, ProcessIo, ProcessSpec, SpawnedProcess } from './types.js';

export interface ConformanceOptions {
  /** A POSIX shell inside the driver's root (default /bin/sh). */
  shell?: string;
  /** A directory that exists for the spawned process (default /tmp). */
  cwd?: string;
}

interface Captured {
  io: ProcessIo;
  stdout(): string;
  stderr(): string;
}

function capture(): Captured {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  return {
    io: { onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) },
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
}

/** A zombie (killed, not yet reaped by whoever inherited it) counts as dead. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    // No procfs entry: gone (or not Linux: fall back to signal 0).
  }
  try {
    process.kill(pid, 0);
    return process.platform !== 'linux';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls `cond` until it holds or `timeoutMs` passes (generous: drivers run on loaded CI). */
async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

export function runDriverConformance(
  name: string,
  driver: ExecutionDriver,
  opts: ConformanceOptions = {},
): void {
  const shell = opts.shell ?? '/bin/sh';
  const cwd = opts.cwd ?? '/tmp';
  const spec = (script: string, extra: Partial<ProcessSpec> = {}): ProcessSpec => ({
    command: shell,
    args: ['-c', script],
    cwd,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    memoryMb: 128,
    ...extra,
  });
  const run = async (s: ProcessSpec) => {
    const c = capture();
    const p = await driver.spawn(s, c.io);
    const status = await p.exited;
    return { status, stdout: c.stdout(), stderr: c.stderr(), proc: p };
  };

  describe(`execution driver conformance: ${name}`, () => {
    test('spawns a process and captures stdout and stderr separately', async () => {
      const r = await run(spec('echo out-line; echo err-line >&2'));
      assert.equal(r.stdout, 'out-line\n');
      assert.equal(r.stderr, 'err-line\n');
      assert.ok(r.proc.pid > 0);
    });

    test('passes exactly the given environment', async () => {
      const r = await run(
        spec('echo "A=$A"; echo "B=$B"; echo "HOME=${HOME-unset}"', {
          env: { PATH: '/usr/bin:/bin', A: 'one', B: 'two words' },
        }),
      );
      assert.equal(r.stdout, 'A=one\nB=two words\nHOME=unset\n');
    });

    test('runs in the given working directory', async () => {
      const r = await run(spec('pwd'));
      assert.equal(r.stdout.trim(), cwd);
    });

    test('reports the exit code', async () => {
      const r = await run(spec('exit 7'));
      assert.deepEqual(r.status, { code: 7, signal: null });
    });

    test('reports death by signal', async () => {
      const r = await run(spec('kill -TERM $$'));
      assert.equal(r.status.code, null);
      assert.equal(r.status.signal, 'SIGTERM');
    });

    test('a spawn of a missing executable fails', async () => {
      await assert.rejects(
        driver.spawn(spec('', { command: '/nonexistent/bootstrap', args: [] }), capture().io),
      );
    });

    test('kill ends the process and everything it started', async () => {
      const c = capture();
      // The child prints its background grandchild's pid, then waits for ever.
      const p: SpawnedProcess = await driver.spawn(
        spec('sleep 300 & echo $!; while :; do sleep 1; done'),
        c.io,
      );
      assert.ok(await waitFor(() => c.stdout().includes('\n'), 30_000), 'grandchild pid printed');
      const grandchild = Number(c.stdout().trim());
      assert.ok(grandchild > 0 && alive(grandchild), 'grandchild runs');
      await p.kill();
      const status = await p.exited;
      assert.equal(status.signal, 'SIGKILL');
      assert.ok(await waitFor(() => !alive(grandchild), 30_000), 'grandchild killed too');
    });

    test('kill of an exited process resolves', async () => {
      const c = capture();
      const p = await driver.spawn(spec('exit 0'), c.io);
      await p.exited;
      await p.kill();
    });

    test('reports peak memory (the high-water mark, not the current size)', async () => {
      const c = capture();
      // Holds ~48 MB in a shell variable, prints, drops it, then waits to be asked.
      const p = await driver.spawn(
        spec(
          'x=$(head -c 50000000 /dev/zero | tr "\\0" a); echo ${#x}; x=; echo dropped; sleep 30',
        ),
        c.io,
      );
      try {
        assert.ok(await waitFor(() => c.stdout().includes('dropped'), 60_000));
        assert.equal(c.stdout().split('\n')[0], '50000000');
        const peak = await p.peakMemoryMb();
        assert.ok(peak >= 45, `peak ${peak} MB should cover the 48 MB string`);
        assert.ok(peak < 1024, `peak ${peak} MB is plausible`);
      } finally {
        await p.kill();
      }
      // Still answers (with the last figure) once the process is gone.
      assert.ok((await p.peakMemoryMb()) >= 45);
    });
  });
}
