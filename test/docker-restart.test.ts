/**
 * kill -9 of a process running five docker containers (three on the private network with
 * a published port), then a real Stratus server on the same state directory
 * (`--driver docker`): at start it destroys every container the dead run left (found by
 * their owner label), with the images imported for their rootfs roots; none is orphaned.
 * Skipped where no Docker daemon answers.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OWNER_LABEL } from '../src/runtime/container.js';
import { dockerAvailable } from '../src/runtime/docker/driver.js';
import { busyboxRootfs } from '../src/runtime/runc/test-support.js';
import { spawnServer } from './helpers/process.js';

async function skipReason(): Promise<string | undefined> {
  if (!(await dockerAvailable())) return 'no Docker daemon answers';
  if (process.getuid?.() !== 0) return 'the busybox rootfs is made with chroot (root)';
  return undefined;
}

function docker(args: string[]): Promise<string> {
  return new Promise((ok, fail) =>
    execFile('docker', args, { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? fail(new Error(`docker ${args.join(' ')}: ${stderr}`)) : ok(stdout.trim()),
    ),
  );
}

test(
  'kill -9 with five docker containers running: the next start leaves none orphaned',
  { skip: (await skipReason()) ?? false },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'stratus-docker-restart-'));
    const state = join(work, 'state');
    const owned = () =>
      docker(['ps', '-aq', '--no-trunc', '--filter', `label=${OWNER_LABEL}=${resolve(state)}`]);
    try {
      const rootfs = busyboxRootfs(join(work, 'busybox'));
      const script = fileURLToPath(new URL('./helpers/containers-child.js', import.meta.url));
      const child = spawn(process.execPath, [script, state, rootfs, 'docker'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const ids = await new Promise<string[]>((ok, fail) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) ok(JSON.parse(out) as string[]);
        });
        child.once('exit', (code) => fail(new Error(`child exited ${code}`)));
      });
      assert.equal(ids.length, 5);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      // The containers outlive the process that started them.
      assert.deepEqual((await owned()).split('\n').sort(), [...ids].sort());
      const images = await Promise.all(
        ids.map((id) => docker(['inspect', '--format', '{{.Config.Image}}', id])),
      );

      const server = await spawnServer(['--state-dir', state, '--driver', 'docker']);
      try {
        assert.match(server.output(), /removed 5 container\(s\) left by a previous run/);
        assert.equal(await owned(), '');
        for (const image of images)
          await assert.rejects(docker(['image', 'inspect', image]), `${image} removed`);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    } finally {
      for (const id of (await owned().catch(() => '')).split('\n').filter(Boolean))
        await docker(['rm', '-f', id]).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }
  },
);
