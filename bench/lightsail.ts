/**
 * Lightsail (issue 18, "Speed"), in one run:
 *
 * 1. CreateInstances → SSH answering: the time from sending CreateInstances (debian_12,
 *    nano_3_0, a cached blueprint: the image is built, pushed and unpacked by an untimed
 *    first instance) to the instance's sshd sending its banner at the address
 *    GetInstance reports, polled every 20 ms;
 * 2. the baseline: the same rootfs (the blueprint image's layers as an overlay with a fresh
 *    upper directory) started with raw `runc run`, host network, running what the
 *    instance's init runs before sshd answers (new host keys, then sshd), to the banner on
 *    127.0.0.1;
 * 3. memory per idle instance: the instances of (1) left running, idle for 10 s, then
 *    their cgroups' memory (usage, and rss + cache from memory.stat).
 *
 *   npm run build && node dist/bench/lightsail.js [--samples 5]
 *
 * Needs root and runc; the image comes from the builder cache (STRATUS_IMAGE_CACHE,
 * default ~/.cache/stratus/images), built there on first use.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { buildImage } from '../src/images/build/builder.js';
import { createProgress } from '../src/images/build/progress.js';
import { mountOverlay, unmount } from '../src/runtime/images/overlay.js';
import { detectCgroups } from '../src/runtime/runc/cgroups.js';
import { run } from '../src/runtime/runc/exec.js';
import { killAllNow, makeTempDir, removeTempDir } from './children.js';
import { startStratus } from './stratus-process.js';

function say(msg: string): void {
  process.stderr.write(`[lightsail] ${msg}\n`);
}

const BLUEPRINT = 'debian_12';

async function call(endpoint: string, op: string, body: object): Promise<Record<string, unknown>> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: 'lightsail',
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    sha256: Sha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `Lightsail_20161128.${op}`,
      },
      body: JSON.stringify(body),
    }),
  );
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: signed.headers,
    body: JSON.stringify(body),
  });
  const out = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${op}: ${JSON.stringify(out)}`);
  return out;
}

/** Resolves once something at host:port sends an SSH banner (retrying every 20 ms). */
async function banner(host: string, port: number, deadlineMs = 300_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      let data = '';
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => done(false));
      s.on('data', (c: Buffer) => {
        data += c.toString();
        if (data.startsWith('SSH-')) done(true);
      });
      s.on('error', () => done(false));
      s.on('close', () => done(data.startsWith('SSH-')));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`no SSH banner from ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function instanceIp(endpoint: string, name: string): Promise<string> {
  for (;;) {
    const out = await call(endpoint, 'GetInstance', { instanceName: name });
    const i = out.instance as { publicIpAddress?: string; state: { name: string } };
    if (i.state.name === 'running' && i.publicIpAddress) return i.publicIpAddress;
    if (i.state.name === 'stopped') throw new Error(`${name} stopped while booting`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function createToSsh(endpoint: string, name: string): Promise<number> {
  const t0 = performance.now();
  await call(endpoint, 'CreateInstances', {
    instanceNames: [name],
    availabilityZone: 'us-east-1a',
    blueprintId: BLUEPRINT,
    bundleId: 'nano_3_0',
    keyPairName: 'bench',
  });
  const ip = await instanceIp(endpoint, name);
  await banner(ip, 22);
  return performance.now() - t0;
}

/** The blueprint image's layers, top first, as unpacked in the server's layer cache. */
async function lowerDirs(state: string): Promise<string[]> {
  const image = await buildImage(`lightsail:${BLUEPRINT}`, {
    push: false,
    progress: createProgress(() => {}),
  });
  return image.layers
    .map((l) => join(state, 'lightsail', 'layers', 'sha256', l.digest.slice(7), 'root'))
    .reverse();
}

/** One raw runc start of sshd on the same layers; resolves the ms to its banner. */
async function rawStart(work: string, lower: string[], i: number): Promise<number> {
  const dir = join(work, `raw-${i}`);
  const rootfs = join(dir, 'rootfs');
  mkdirSync(dir, { recursive: true });
  await mountOverlay({
    lower,
    links: join(dir, 'links'),
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    target: rootfs,
  });
  const port = 22200 + i;
  await run('runc', ['spec', '--bundle', dir]);
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    root: { path: string; readonly: boolean };
    process: { terminal: boolean; args: string[] };
    linux: { namespaces: { type: string }[] };
  };
  spec.root = { path: rootfs, readonly: false };
  spec.process.terminal = false;
  spec.process.args = [
    '/bin/sh',
    '-c',
    // As the instance's first boot: its own host keys (the image ships none it keeps).
    `rm -f /etc/ssh/ssh_host_* && mkdir -p /run/sshd && ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -p ${port} -o ListenAddress=127.0.0.1`,
  ];
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  const root = join(work, 'runc-root');
  const id = `bench-lightsail-${process.pid}-${i}`;
  const t0 = performance.now();
  const child = spawn('runc', ['--root', root, 'run', '--bundle', dir, id], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  try {
    await Promise.race([
      banner('127.0.0.1', port, 60_000),
      exited.then(() => {
        throw new Error(`raw runc exited: ${stderr.trim()}`);
      }),
    ]);
    return performance.now() - t0;
  } finally {
    await run('runc', ['--root', root, 'kill', id, 'KILL']).catch(() => undefined);
    await exited;
    await run('runc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
    await unmount(rootfs);
  }
}

/** Memory of each of this server's containers (its runc state lists them). */
async function idleMemory(
  state: string,
): Promise<{ usageMb: number; rssMb: number; cacheMb: number }[]> {
  const root = join(state, 'containers', 'runc-driver', 'runc');
  const rows = (
    JSON.parse((await run('runc', ['--root', root, 'list', '--format', 'json'])) || '[]') as {
      id: string;
      status: string;
    }[]
  ).filter((r) => r.status === 'running');
  const group = detectCgroups().memory;
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return rows.map(({ id }) => {
    const dir = join(group, id);
    const stat = readFileSync(join(dir, 'memory.stat'), 'utf8');
    const field = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
    const usage = Number(
      readFileSync(
        join(
          dir,
          readdirSync(dir).includes('memory.current') ? 'memory.current' : 'memory.usage_in_bytes',
        ),
        'utf8',
      ),
    );
    return {
      usageMb: mb(usage),
      rssMb: mb(field('total_rss') || field('anon')),
      cacheMb: mb(field('total_cache') || field('file')),
    };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string', default: '5' } } });
  const samples = Number(values.samples);
  const work = makeTempDir('stratus-bench-lightsail-');
  const state = join(work, 'state');
  const stratus = await startStratus({ auth: 'permissive', driver: 'runc', stateDir: state });
  const ep = stratus.endpoint;
  try {
    await call(ep, 'CreateKeyPair', { keyPairName: 'bench' });
    say('priming (image build or cache, push, unpack): untimed');
    await createToSsh(ep, 'prime');
    await call(ep, 'DeleteInstance', { instanceName: 'prime' });
    const lower = await lowerDirs(state);
    const stratusMs: number[] = [];
    const rawMs: number[] = [];
    // Alternating, so that outside load falls on both alike.
    for (let i = 0; i < samples; i++) {
      stratusMs.push(await createToSsh(ep, `b${i}`));
      rawMs.push(await rawStart(work, lower, i));
      say(
        `sample ${i + 1}: stratus ${stratusMs[i].toFixed(0)} ms, raw runc ${rawMs[i].toFixed(0)} ms`,
      );
    }
    say('idle for 10 s');
    await new Promise((r) => setTimeout(r, 10_000));
    const memory = await idleMemory(state);
    const result = {
      blueprint: BLUEPRINT,
      bundle: 'nano_3_0',
      samples,
      loadavg: loadavg().map((l) => Math.round(l * 10) / 10),
      createToSshMs: { p50: Math.round(median(stratusMs)), all: stratusMs.map(Math.round) },
      rawRuncSshdMs: { p50: Math.round(median(rawMs)), all: rawMs.map(Math.round) },
      ratio: Math.round((median(stratusMs) / median(rawMs)) * 100) / 100,
      idleInstances: memory.length,
      idleMemoryMb: {
        usageP50: median(memory.map((m) => m.usageMb)),
        rssP50: median(memory.map((m) => m.rssMb)),
        cacheP50: median(memory.map((m) => m.cacheMb)),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    // Instances hold addresses beyond the server's life: delete what is left, then stop.
    const left = await call(ep, 'GetInstances', {}).catch(() => ({ instances: [] }));
    for (const i of left.instances as { name: string }[])
      await call(ep, 'DeleteInstance', { instanceName: i.name }).catch(() => undefined);
    await stratus.stop();
    removeTempDir(work);
  }
}

process.on('SIGINT', () => {
  killAllNow();
  process.exit(130);
});
main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  killAllNow();
  process.exit(1);
});
