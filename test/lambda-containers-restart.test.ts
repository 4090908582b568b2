/**
 * kill -9 of Stratus (`--driver runc`) with Lambda environments running, a warm one and a
 * pre-started one: the next start on the same state directory leaves no container, no
 * runtime process and no code-slot mount behind. Skipped where runc cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, waitUntilFunctionActiveV2 } from '@aws-sdk/client-lambda';
import { CreateFunctionCommand } from '@aws-sdk/client-lambda';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import { clients, createRole, destroy, NODE_ECHO, nodeZip } from './helpers/lambda.js';
import { spawnServer } from './helpers/process.js';

const skip = runcSkipReason();
const IMAGE_CACHE = join(tmpdir(), 'stratus-test-images');

test(
  'kill -9 with Lambda environments running: the next start leaves none orphaned',
  { skip: skip ?? false },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'stratus-lambda-restart-'));
    const state = join(work, 'state');
    const runcRoot = join(state, 'containers', 'runc-driver', 'runc');
    const running = () =>
      (
        (JSON.parse(
          execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], {
            encoding: 'utf8',
          }) || 'null',
        ) as { id: string; status: string; pid: number }[] | null) ?? []
      ).filter((c) => c.status === 'running');
    const slotMounts = () =>
      readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .filter((l) => l.includes(state));
    const gatewayPorts = () =>
      execFileSync('nft', ['list', 'set', 'inet', 'stratus', 'gateway_ports'], {
        encoding: 'utf8',
      }).match(/\d+/g) ?? ([] as string[]);
    const env = { STRATUS_DRIVER: 'runc', STRATUS_IMAGE_CACHE: IMAGE_CACHE };
    try {
      const first = await spawnServer(['--state-dir', state], env);
      const c = clients(first.endpoint);
      let pids: number[];
      let apiPorts: string[];
      try {
        const role = await createRole(c.iam, 'restart-role');
        await c.lambda.send(
          new CreateFunctionCommand({
            FunctionName: 'echo',
            Timeout: 30, // not the 3 s default: CI load must not time a test function out
            Runtime: 'nodejs22.x',
            Handler: 'index.handler',
            Role: role,
            Code: { ZipFile: nodeZip(NODE_ECHO) },
          }),
        );
        await waitUntilFunctionActiveV2(
          { client: c.lambda, maxWaitTime: 900 },
          { FunctionName: 'echo' },
        );
        const out = await c.lambda.send(
          new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{}') }),
        );
        assert.equal(out.FunctionError, undefined);
        // The warm environment and the pool's pre-started container.
        for (const until = Date.now() + 60_000; running().length < 2 && Date.now() < until;)
          await new Promise((r) => setTimeout(r, 100));
        const before = running();
        assert.equal(before.length, 2);
        assert.ok(slotMounts().length > 0, 'the pre-started container has its slot mounted');
        pids = before.map((x) => x.pid);
        apiPorts = readdirSync(join(state, 'containers', 'runc-driver', 'lambda', 'ports'));
        assert.equal(apiPorts.length, 2);
        for (const port of apiPorts) assert.ok(gatewayPorts().includes(port));
      } finally {
        destroy(c);
        first.child.kill('SIGKILL');
        await first.exited;
      }

      const second = await spawnServer(['--state-dir', state], env);
      try {
        assert.match(second.output(), /removed 2 container\(s\) left by a previous run/);
        assert.deepEqual(running(), []);
        // The Runtime API ports of the dead run are no longer reachable from containers.
        for (const port of apiPorts) assert.ok(!gatewayPorts().includes(port), `port ${port}`);
        for (const pid of pids)
          assert.ok(
            !existsSync(`/proc/${pid}/cmdline`) ||
              readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'),
            `pid ${pid} is gone`,
          );
        // Code slots are unmounted when Lambda's executor starts (on the first use).
        const c2 = clients(second.endpoint);
        try {
          const out = await c2.lambda.send(
            new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{}') }),
          );
          assert.equal(out.FunctionError, undefined);
        } finally {
          destroy(c2);
        }
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      assert.deepEqual(slotMounts(), []);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
