/**
 * Container networks for the runc driver, made of plain kernel parts driven through `ip`
 * and `nft`:
 * - a bridge `stratus0` with 10.213.0.1/16 (a private range no route of this machine uses;
 *   checked at set-up), one network namespace and veth pair per `private` container;
 * - addresses from a machine-wide IPAM in /run/stratus/ipam: one file per address, created
 *   with O_EXCL, so several Stratus servers (and parallel tests) never hand out the same
 *   address; /run has the bridge's lifetime (both vanish on reboot);
 * - nftables table `inet stratus`: nothing is forwarded into or out of the bridge (no
 *   route beyond this machine, even where ip_forward is on); from the bridge the host
 *   accepts only the ports Stratus exposes (its own endpoint, DNATed from the gateway
 *   address to 127.0.0.1, where Stratus listens by default: containers call
 *   http://10.213.0.1:<port> and Stratus needs no second listener);
 * - published ports: DNAT in the output hook from 127.0.0.1:<hostPort> to the container,
 *   the host port held by a Node listener so no other program can take it (see
 *   bench/README.md for the figure that chose DNAT over a userland proxy).
 */
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InboundRule, PortMapping, PublishedPort } from '../container.js';
import { run } from './exec.js';

export const BRIDGE = 'stratus0';
export const GATEWAY = '10.213.0.1';
const PREFIX_LEN = 16;
const SUBNET = '10.213.0.0/16';
const TABLE = 'stratus';
const RUN_DIR = '/run/stratus';
const IPAM_DIR = join(RUN_DIR, 'ipam');
/** A set-up lock this old was left by a crashed holder (set-up takes well under a second). */
const STALE_LOCK_MS = 60_000;

/** The netns name and host-side veth of a container (names fit IFNAMSIZ). */
export function netNames(id: string): { netns: string; veth: string } {
  return { netns: id, veth: `vs${id.slice(-12)}` };
}

export function netnsPath(netns: string): string {
  return `/run/netns/${netns}`;
}

/**
 * Creates the bridge and the nftables table once per boot (idempotent, serialised), and
 * on every call lets traffic between containers through another firewall's forward policy
 * (acceptBridgeForwarding).
 */
export async function ensureBridge(): Promise<void> {
  await createBridge();
  await acceptBridgeForwarding();
}

/**
 * With br_netfilter loaded and `bridge-nf-call-iptables` on (what dockerd sets up), frames
 * between two ports of a bridge pass iptables' FORWARD chain, and Docker sets its policy
 * to DROP: containers on `stratus0` could not reach each other (a Batch multi-node job's
 * nodes, ECS tasks by address). nftables cannot overrule that from our table (a drop in
 * any table's chain wins), so an ACCEPT for stratus0-to-stratus0 goes into iptables'
 * FORWARD chain itself, where Docker keeps it across its restarts (it adds its jumps
 * above, and DOCKER-USER returns by default). Traffic into or out of the bridge stays
 * dropped by our table. Nothing is done where iptables or the setting is absent.
 */
async function acceptBridgeForwarding(): Promise<void> {
  const setting = await readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').catch(
    () => '0',
  );
  if (setting.trim() !== '1') return;
  const rule = ['FORWARD', '-i', BRIDGE, '-o', BRIDGE, '-j', 'ACCEPT'];
  const present = await run('iptables', ['-w', '-C', ...rule]).then(
    () => true,
    () => false,
  );
  if (!present) await run('iptables', ['-w', '-I', ...rule]).catch(() => undefined);
}

async function createBridge(): Promise<void> {
  if (existsSync(`/sys/class/net/${BRIDGE}`) && (await tableExists())) return;
  await mkdir(RUN_DIR, { recursive: true });
  const lock = join(RUN_DIR, 'setup.lock');
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // A crashed holder's lock is removed; a live one's is not, however long a loaded
      // machine makes its set-up take (a count of tries did: two servers then raced).
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await rmdir(lock).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  try {
    if (!existsSync(`/sys/class/net/${BRIDGE}`)) {
      const routes = await run('ip', ['-4', 'route', 'show', 'match', GATEWAY]);
      if (routes.split('\n').some((l) => l.trim() && !l.startsWith('default')))
        throw new Error(`${SUBNET} collides with a route of this machine: ${routes.trim()}`);
      await run(
        'ip',
        ['-batch', '-'],
        [
          `link add ${BRIDGE} type bridge`,
          `addr add ${GATEWAY}/${PREFIX_LEN} dev ${BRIDGE}`,
          `link set ${BRIDGE} up`,
          '',
        ].join('\n'),
      );
    }
    // 127.0.0.1 may be routed to and from the bridge (the DNATs below need it there only).
    await writeFile(`/proc/sys/net/ipv4/conf/${BRIDGE}/route_localnet`, '1');
    if (!(await tableExists())) await run('nft', ['-f', '-'], NFT_TABLE);
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

async function tableExists(): Promise<boolean> {
  return run('nft', ['list', 'table', 'inet', TABLE]).then(
    () => true,
    () => false,
  );
}

const NFT_TABLE = `
table inet ${TABLE} {
  set gateway_ports { type inet_service; }
  map tcp_ports { type inet_service : ipv4_addr . inet_service; }
  map udp_ports { type inet_service : ipv4_addr . inet_service; }
  chain prerouting {
    type nat hook prerouting priority dstnat;
    iifname "${BRIDGE}" ip daddr ${GATEWAY} tcp dport @gateway_ports dnat ip to 127.0.0.1
  }
  chain output {
    type nat hook output priority -100;
    ip daddr 127.0.0.1 meta l4proto tcp dnat ip to tcp dport map @tcp_ports
    ip daddr 127.0.0.1 meta l4proto udp dnat ip to udp dport map @udp_ports
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "${BRIDGE}" ip saddr 127.0.0.0/8 masquerade
  }
  chain forward {
    type filter hook forward priority 0;
    iifname "${BRIDGE}" oifname != "${BRIDGE}" drop
    oifname "${BRIDGE}" iifname != "${BRIDGE}" drop
  }
  chain input {
    type filter hook input priority 0;
    iifname "${BRIDGE}" ct state established,related accept
    iifname "${BRIDGE}" ct status dnat accept
    iifname "${BRIDGE}" ip protocol icmp accept
    iifname "${BRIDGE}" drop
  }
}
`;

/**
 * Lets containers reach a port of the host's loopback through the gateway address. Ports
 * a killed server left exposed (nothing listens on them any more) are withdrawn first,
 * so a program that later takes such a port is not reachable from containers.
 */
export async function exposeHostPort(port: number): Promise<void> {
  const listing = await run('nft', ['-j', 'list', 'set', 'inet', TABLE, 'gateway_ports']);
  const set = (JSON.parse(listing) as { nftables: { set?: { elem?: number[] } }[] }).nftables
    .map((e) => e.set?.elem)
    .find((e) => e !== undefined);
  const listening = await loopbackListeners();
  const stale = (set ?? []).filter((p) => p !== port && !listening.has(p));
  if (stale.length) await unexposeHostPort(stale);
  await run('nft', ['add', 'element', 'inet', TABLE, 'gateway_ports', `{ ${port} }`]);
}

/** TCP ports with a listener on 127.0.0.1 or any address (/proc/net/tcp{,6}, state 0A). */
async function loopbackListeners(): Promise<Set<number>> {
  const ports = new Set<number>();
  const any = new Set(['0100007F', '00000000', '0'.repeat(32), '0000000000000000FFFF00000100007F']);
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const table = await readFile(file, 'utf8').catch(() => '');
    for (const line of table.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !f[1]) continue;
      const [addr, port] = f[1].split(':');
      if (any.has(addr)) ports.add(parseInt(port, 16));
    }
  }
  return ports;
}

export async function unexposeHostPort(ports: number | number[]): Promise<void> {
  const list = Array.isArray(ports) ? ports : [ports];
  await run('nft', [
    'delete',
    'element',
    'inet',
    TABLE,
    'gateway_ports',
    `{ ${list.join(', ')} }`,
  ]).catch(() => undefined);
}

/** Takes the first free address (machine-wide), recording who holds it. */
export async function allocateAddress(id: string, owner: string): Promise<string> {
  await mkdir(IPAM_DIR, { recursive: true });
  // Start at a spot derived from the id so parallel servers rarely probe the same files.
  const size = 1 << (32 - PREFIX_LEN);
  let n = parseInt(id.slice(-4), 16) % (size - 3);
  for (let tries = 0; tries < size; tries++, n = (n + 1) % (size - 3)) {
    const host = n + 2; // .0.0 is the network, .0.1 the gateway
    const ip = `10.213.${host >> 8}.${host & 255}`;
    try {
      const fh = await open(join(IPAM_DIR, ip), 'wx');
      await fh.writeFile(`${id} ${owner}\n`);
      await fh.close();
      return ip;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`no free address left in ${SUBNET}`);
}

/** Frees an address if `id` still holds it. */
export async function releaseAddress(ip: string, id: string): Promise<void> {
  const path = join(IPAM_DIR, ip);
  const holder = await readFile(path, 'utf8').catch(() => '');
  if (holder.split(' ')[0] === id) await unlink(path).catch(() => undefined);
}

/** Who holds an address in the IPAM (`undefined` when it is free). */
export async function addressHolder(ip: string): Promise<string | undefined> {
  const holder = await readFile(join(IPAM_DIR, ip), 'utf8').catch(() => '');
  return holder.split(' ')[0] || undefined;
}

/** Bytes through a private container's eth0, from its host-side veth (whose rx is its tx). */
export async function interfaceBytes(id: string): Promise<{ rxBytes: number; txBytes: number }> {
  const dir = `/sys/class/net/${netNames(id).veth}/statistics`;
  const num = async (f: string) =>
    Number((await readFile(join(dir, f), 'utf8').catch(() => '0')).trim());
  return { rxBytes: await num('tx_bytes'), txBytes: await num('rx_bytes') };
}

const INBOUND_TABLE = 'stratus_inbound';

/**
 * The inbound filter of a container's namespace: nftables table `inet stratus_inbound`
 * inside it (the container's processes lack CAP_NET_ADMIN, so they cannot change it).
 * Replaced atomically (one `nft -f` transaction); undefined rules remove it.
 */
export async function filterInbound(
  netns: string,
  rules: readonly InboundRule[] | undefined,
): Promise<void> {
  const lines = [`table inet ${INBOUND_TABLE} {}`, `delete table inet ${INBOUND_TABLE}`];
  if (rules) {
    lines.push(`table inet ${INBOUND_TABLE} {`, '  chain input {');
    lines.push('    type filter hook input priority 0; policy drop;');
    lines.push('    iif "lo" accept', '    ct state established,related accept');
    for (const r of rules) {
      const from = r.cidrs.length ? `ip saddr { ${r.cidrs.join(', ')} } ` : null;
      if (from === null) continue;
      const ports = r.fromPort === r.toPort ? `${r.fromPort}` : `${r.fromPort}-${r.toPort}`;
      if (r.protocol === 'all') lines.push(`    ${from}accept`);
      else if (r.protocol === 'icmp')
        lines.push(
          `    ${from}icmp type ${r.fromPort < 0 ? '{ 0-255 }' : String(r.fromPort)} accept`,
        );
      else lines.push(`    ${from}${r.protocol} dport ${ports} accept`);
    }
    lines.push('  }', '}');
  }
  await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], lines.join('\n') + '\n');
}

/** Addresses held for containers of `owner` (a state dir), by container id. */
export async function addressesOf(owner: string): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (const ip of await readdir(IPAM_DIR).catch(() => [])) {
    const [id, who] = (await readFile(join(IPAM_DIR, ip), 'utf8').catch(() => ''))
      .trim()
      .split(' ');
    if (who === owner && id) held.set(id, ip);
  }
  return held;
}

/** A network namespace with loopback up and eth0 on the bridge at `ip`. */
export async function createPrivateNetwork(id: string, ip: string): Promise<void> {
  const { netns, veth } = netNames(id);
  await run(
    'ip',
    ['-batch', '-'],
    [
      `netns add ${netns}`,
      `link add ${veth} type veth peer name eth0 netns ${netns}`,
      `link set ${veth} master ${BRIDGE} up`,
      '',
    ].join('\n'),
  );
  await run(
    'ip',
    ['-n', netns, '-batch', '-'],
    [
      'link set lo up',
      `addr add ${ip}/${PREFIX_LEN} dev eth0`,
      'link set eth0 up',
      `route add default via ${GATEWAY}`,
      '',
    ].join('\n'),
  );
}

/** Removes the namespace and the veth pair (either may be gone already). */
export async function removePrivateNetwork(id: string): Promise<void> {
  const { netns, veth } = netNames(id);
  await run('ip', ['link', 'del', veth]).catch(() => undefined);
  await run('ip', ['netns', 'del', netns]).catch(() => undefined);
}

/** A published port: the DNAT rule plus the listener holding the host port. */
export interface Publication {
  published: PublishedPort[];
  holders: Server[];
}

/**
 * Holds the host ports, hands them to `reserved` (the caller records them, so a crash
 * from here on leaves rules its records name), then adds the DNAT rules.
 */
export async function publishPorts(
  ip: string,
  ports: readonly PortMapping[],
  reserved: (published: PublishedPort[]) => Promise<void>,
): Promise<Publication> {
  const published: PublishedPort[] = [];
  const holders: Server[] = [];
  try {
    for (const p of ports) {
      const { server, port } = await holdPort(p.hostPort ?? 0, p.protocol);
      holders.push(server);
      published.push({ ...p, hostIp: '127.0.0.1', hostPort: port });
    }
    await reserved(published);
    const elements = (proto: 'tcp' | 'udp') =>
      published
        .filter((p) => p.protocol === proto)
        .map((p) => `${p.hostPort} : ${ip} . ${p.containerPort}`);
    for (const proto of ['tcp', 'udp'] as const) {
      const e = elements(proto);
      if (e.length)
        await run('nft', [
          'add',
          'element',
          'inet',
          TABLE,
          `${proto}_ports`,
          `{ ${e.join(', ')} }`,
        ]);
    }
  } catch (err) {
    for (const h of holders) h.close();
    throw err;
  }
  return { published, holders };
}

export async function unpublishPorts(ports: readonly PublishedPort[]): Promise<void> {
  for (const proto of ['tcp', 'udp'] as const) {
    const keys = ports.filter((p) => p.protocol === proto).map((p) => p.hostPort);
    if (keys.length)
      await run('nft', [
        'delete',
        'element',
        'inet',
        TABLE,
        `${proto}_ports`,
        `{ ${keys.join(', ')} }`,
      ]).catch(() => undefined);
  }
}

/**
 * Binds 127.0.0.1:<port> (0: a free one) so no other program takes the port while the
 * DNAT rule sends its traffic to the container. UDP ports are held by a TCP listener on
 * the same number (a collision there is unlikely and harmless).
 */
function holdPort(port: number, _proto: 'tcp' | 'udp'): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => s.destroy());
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.unref();
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : port });
    });
  });
}

/** The /etc/hosts of a container. */
export function hostsFile(
  hostname: string,
  ip: string | undefined,
  extra: Record<string, string>,
): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  lines.push(`${ip ?? '127.0.1.1'}\t${hostname}`);
  for (const [name, addr] of Object.entries(extra)) lines.push(`${addr}\t${name}`);
  return lines.join('\n') + '\n';
}

/** No name server: containers reach only this machine, by address (/etc/hosts names). */
export const RESOLV_CONF =
  '# Stratus containers reach only this machine; no DNS.\noptions ndots:0\n';
