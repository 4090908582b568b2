/**
 * kill -9 of a process running five containers, then a real Stratus server on the same
 * state directory (`--driver runc`): at start it destroys every container the dead run
 * left, with its network namespace, veth, address, port rules and cgroups; none is
 * orphaned. Skipped where runc cannot run (not root, no runc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectCgroups } from '../src/runtime/runc/cgroups.js';
import { netNames } from '../src/runtime/runc/network.js';
import { busyboxRootfs, runcSkipReason } from '../src/runtime/runc/test-support.js';
import { spawnServer } from './helpers/process.js';

const skip = runcSkipReason();

test(
  'kill -9 with five containers running: the next start leaves none orphaned',
  { skip: skip ?? false },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'stratus-restart-'));
    const state = join(work, 'state');
    const runcRoot = join(state, 'containers', 'runc-driver', 'runc');
    const runcList = () =>
      JSON.parse(
        execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], {
          encoding: 'utf8',
        }) || 'null',
      ) as { id: string; status: string; pid: number }[] | null;
    try {
      const rootfs = busyboxRootfs(join(work, 'busybox'));
      const script = fileURLToPath(new URL('./helpers/containers-child.js', import.meta.url));
      const child = spawn(process.execPath, [script, state, rootfs], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const ids = await new Promise<string[]>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(JSON.parse(out) as string[]);
        });
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      assert.equal(ids.length, 5);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      // The containers outlive the process that started them.
      const before = runcList() ?? [];
      assert.deepEqual(
        before
          .filter((c) => c.status === 'running')
          .map((c) => c.id)
          .sort(),
        [...ids].sort(),
      );
      const pids = before.map((c) => c.pid);
      const ipam = readdirSync('/run/stratus/ipam').filter((ip) =>
        readFileSync(join('/run/stratus/ipam', ip), 'utf8').includes(state),
      );
      assert.equal(ipam.length, 3);

      const server = await spawnServer(['--state-dir', state, '--driver', 'runc']);
      try {
        assert.match(server.output(), /removed 5 container\(s\) left by a previous run/);
        assert.deepEqual(runcList() ?? [], []);
        for (const pid of pids)
          assert.ok(
            !existsSync(`/proc/${pid}/cmdline`) ||
              readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'),
            `pid ${pid} is gone`,
          );
        for (const id of ids) {
          const { netns, veth } = netNames(id);
          assert.ok(!existsSync(`/run/netns/${netns}`), `netns of ${id} removed`);
          assert.ok(!existsSync(`/sys/class/net/${veth}`), `veth of ${id} removed`);
          for (const group of detectCgroups().all)
            assert.ok(!existsSync(join(group, id)), `cgroup ${group}/${id} removed`);
          assert.ok(
            !existsSync(join(state, 'containers', 'runc-driver', id)),
            `bundle of ${id} removed`,
          );
        }
        for (const ip of ipam)
          assert.ok(!existsSync(join('/run/stratus/ipam', ip)), `${ip} released`);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
