/**
 * The runc driver's private networks: a container reaches the host port Stratus exposes
 * (its endpoint) at the bridge's gateway address and nothing else, has no route beyond
 * this machine, and leaves no namespace, veth, address or port rule behind.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container, ContainerSpec } from '../container.js';
import { detectCgroups } from './cgroups.js';
import { RuncDriver } from './driver.js';
import { GATEWAY, netNames } from './network.js';
import { busyboxRootfs, runcSkipReason } from './test-support.js';

const skip = runcSkipReason();

describe('runc driver: private networks', { skip: skip ?? false }, () => {
  let work: string;
  let driver: RuncDriver;
  let rootfs: string;
  const servers: Server[] = [];
  const containers: Container[] = [];

  const listen = async (): Promise<number> => {
    const server = createServer((_req, res) => res.end('hello-from-host\n'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'stratus-runc-net-'));
    rootfs = busyboxRootfs(join(work, 'busybox'));
    driver = new RuncDriver({ stateDir: join(work, 'state') });
  });
  after(async () => {
    for (const c of containers) await c.remove();
    await driver.close();
    for (const s of servers) s.close();
    rmSync(work, { recursive: true, force: true });
  });

  const run = async (script: string, extra: Partial<ContainerSpec> = {}) => {
    let out = '';
    const c = await driver.create(
      {
        name: 'net',
        root: { kind: 'rootfs', path: rootfs },
        entrypoint: ['/bin/sh', '-c'],
        command: [script],
        env: {},
        network: { mode: 'private' },
        labels: {},
        ...extra,
      },
      { onStdout: (b) => (out += b.toString()), onStderr: (b) => (out += b.toString()) },
    );
    containers.push(c);
    await c.start();
    const exit = await c.wait();
    return { c, exit, out: () => out };
  };

  const get = (port: number) =>
    `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${GATEWAY} ${port} 2>/dev/null | tail -n 1`;

  test('reaches an exposed host port at the gateway address, and only that one', async () => {
    const exposed = await listen();
    const hidden = await listen();
    await driver.exposeHostPort(exposed);
    const r = await run(`${get(exposed)}; echo "hidden: $(${get(hidden)})"`);
    assert.equal(r.out(), 'hello-from-host\nhidden: \n');
    await r.c.remove();
  });

  test('has its own address, loopback and a default route via the bridge', async () => {
    const r = await run('ip -4 addr show eth0 | grep -o "inet [0-9.]*"; ip route; hostname');
    assert.ok(r.c.ip?.startsWith('10.213.'));
    const lines = r.out().split('\n');
    assert.equal(lines[0], `inet ${r.c.ip}`);
    assert.match(r.out(), new RegExp(`default via ${GATEWAY.replace(/\./g, '\\.')}`));
    await r.c.remove();
  });

  test('containers reach each other on the bridge, whatever iptables FORWARD policy Docker set', async () => {
    // busybox httpd serves a file; the client retries until it listens.
    const server = await driver.create(
      {
        name: 'net-server',
        root: { kind: 'rootfs', path: rootfs },
        entrypoint: ['/bin/sh', '-c'],
        command: [
          'mkdir -p /tmp/www && echo pong > /tmp/www/index.html && httpd -f -p 7000 -h /tmp/www',
        ],
        env: {},
        network: { mode: 'private' },
        labels: {},
        tmpfs: [{ target: '/tmp', sizeMb: 1 }],
      },
      { onStdout: () => undefined, onStderr: () => undefined },
    );
    containers.push(server);
    await server.start();
    const r = await run(
      `for i in $(seq 1 50); do out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${server.ip} 7000 2>/dev/null | tail -n 1); [ -n "$out" ] && echo "$out" && exit 0; sleep 0.2; done; echo unreachable`,
    );
    assert.equal(r.out().trim(), 'pong', `from ${r.c.ip} to ${server.ip}`);
    await r.c.remove();
    await server.remove();
  });

  test('nothing beyond this machine: forwarding out of the bridge is dropped', async () => {
    const rules = execFileSync('nft', ['list', 'chain', 'inet', 'stratus', 'forward'], {
      encoding: 'utf8',
    });
    assert.match(rules, /iifname "stratus0" oifname != "stratus0" drop/);
    // TEST-NET-3: never routed anywhere, and the packet cannot leave the bridge anyway.
    const r = await run(
      'nc -w 1 203.0.113.1 80 </dev/null 2>/dev/null && echo connected || echo refused',
    );
    assert.equal(r.out().trim().split('\n').pop(), 'refused');
    await r.c.remove();
  });

  test('remove leaves no namespace, veth, address or port rule', async () => {
    const r = await run('true', {
      network: { mode: 'private', ports: [{ containerPort: 80, protocol: 'tcp' }] },
    });
    const { netns, veth } = netNames(r.c.id);
    const ip = r.c.ip!;
    const hostPort = r.c.ports[0].hostPort;
    assert.ok(existsSync(`/run/netns/${netns}`));
    assert.ok(existsSync(`/sys/class/net/${veth}`));
    await r.c.remove();
    assert.ok(!existsSync(`/run/netns/${netns}`));
    assert.ok(!existsSync(`/sys/class/net/${veth}`));
    for (const group of detectCgroups().all) assert.ok(!existsSync(join(group, r.c.id)), group);
    assert.ok(!readdirSync('/run/stratus/ipam').includes(ip));
    const map = execFileSync('nft', ['list', 'map', 'inet', 'stratus', 'tcp_ports'], {
      encoding: 'utf8',
    });
    assert.doesNotMatch(map, new RegExp(`\\b${hostPort} :`));
  });
});
