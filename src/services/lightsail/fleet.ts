/**
 * The instances' lifecycle with AWS's states: pending → running, stopping → stopped,
 * pending again on start, shutting-down on delete. The API modules change an instance only
 * through here; each change of state is one store transaction, and the machine work
 * (booting, halting) runs after the API call has answered, as on AWS, serialised per
 * instance.
 *
 * After a restart of Stratus (clean or kill -9), every instance whose desired state is
 * running boots again on its own disk and address; one caught mid-stop is stopped.
 * https://docs.aws.amazon.com/lightsail/latest/userguide/understanding-instance-states.html
 */
import { createHash } from 'node:crypto';
import { KeyedMutex } from '../../shared/keyed-mutex.js';
import type { MetadataStore } from '../../storage/types.js';
import { PUBLISHED_IP, type Machines } from './machines.js';
import { ensureCa } from './ssh-ca.js';
import {
  T,
  keyOf,
  type DiskRecord,
  type InstanceRecord,
  type InstanceStateName,
  type KeyPairRecord,
  type StaticIpRecord,
} from './store.js';
import type { UsageMeter } from './usage.js';

export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  stopping: 64,
  stopped: 80,
};

/** The address pool holder of an instance's own (non-static) address. */
export const instanceHolder = (rec: Pick<InstanceRecord, 'id'>): string => `lsi-${rec.id}`;

export const staticIpHolder = (account: string, region: string, name: string): string =>
  `lss-${createHash('sha256').update(`${account}/${region}/${name}`).digest('hex').slice(0, 20)}`;

export class InstanceFleet {
  private readonly mutex = new KeyedMutex();
  private readonly work = new Set<Promise<void>>();

  constructor(
    private readonly store: MetadataStore,
    readonly machines: Machines,
    private readonly usage: UsageMeter,
    private readonly log: (msg: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  private key(rec: Pick<InstanceRecord, 'account' | 'region' | 'name'>): string {
    return keyOf(rec, rec.name);
  }

  /** Runs `fn` for the instance in the background, one at a time per instance. */
  private background(rec: InstanceRecord, what: string, fn: () => Promise<void>): void {
    const p = (async () => {
      const release = await this.mutex.lock(rec.id);
      try {
        await fn();
      } catch (err) {
        this.log(`lightsail: ${what} of ${rec.name} failed: ${(err as Error).message}`);
      } finally {
        release();
      }
    })();
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }

  /** Writes a change of the instance (if it still exists); resolves the new record. */
  async update(
    rec: Pick<InstanceRecord, 'account' | 'region' | 'name' | 'id'>,
    change: (r: InstanceRecord) => void,
  ): Promise<InstanceRecord | undefined> {
    return this.store.transaction(async (tx) => {
      const cur = await tx.get<InstanceRecord>(T.instances, this.key(rec));
      if (!cur || cur.id !== rec.id) return undefined;
      change(cur);
      await tx.put(T.instances, this.key(cur), cur);
      return cur;
    });
  }

  /** Boots a pending instance in the background (CreateInstances, StartInstance). */
  launch(rec: InstanceRecord): void {
    this.usage.started(rec, this.now());
    this.background(rec, 'boot', () => this.boot(rec));
  }

  private async boot(initial: InstanceRecord): Promise<void> {
    const rec = await this.store.get<InstanceRecord>(T.instances, this.key(initial));
    if (!rec || rec.id !== initial.id || rec.desired !== 'running') return;
    const why = this.machines.unavailable();
    if (why) {
      await this.update(rec, (r) => {
        r.state = 'stopped';
        r.desired = 'stopped';
        r.error = why;
      });
      this.log(`lightsail: ${rec.name} cannot run: ${why}`);
      return;
    }
    try {
      const address = await this.address(rec);
      const key = await this.store.get<KeyPairRecord>(T.keyPairs, keyOf(rec, rec.keyPairName));
      const disks: { source: string; target: string }[] = [];
      for (const d of rec.disks) {
        const disk = await this.store.get<DiskRecord>(T.disks, keyOf(rec, d.name));
        if (disk) disks.push({ source: this.machines.diskDir(disk.id), target: diskMount(d.path) });
      }
      const hostPorts = await this.machines.boot(rec, {
        authorizedKeys: key ? `${key.publicKey}\n` : '',
        trustedCa: (await ensureCa(this.store, rec)).publicKey,
        address,
        disks,
      });
      const up = await this.update(rec, (r) => {
        r.state = 'running';
        r.ip = address;
        if (hostPorts) r.hostPorts = { ...r.hostPorts, ...hostPorts };
        delete r.error;
      });
      if (!up) await this.machines.destroy(rec.id);
    } catch (err) {
      await this.machines.halt(rec.id).catch(() => undefined);
      await this.update(rec, (r) => {
        r.state = 'stopped';
        r.desired = 'stopped';
        r.error = (err as Error).message;
      });
      throw err;
    }
  }

  /**
   * The address the instance boots with: its static IP's, the one it still holds (a
   * restart of Stratus), or a new one; loopback where the driver publishes ports instead.
   */
  private async address(rec: InstanceRecord): Promise<string> {
    const pool = this.machines.driver.addresses;
    if (!pool) return PUBLISHED_IP;
    if (rec.staticIpName) {
      const ip = await this.store.get<StaticIpRecord>(T.staticIps, keyOf(rec, rec.staticIpName));
      if (ip && (await pool.holds(ip.ip, ip.holder))) return ip.ip;
    }
    const holder = instanceHolder(rec);
    if (rec.ip && (await pool.holds(rec.ip, holder))) return rec.ip;
    const ip = await pool.hold(holder);
    await this.update(rec, (r) => (r.ip = ip));
    return ip;
  }

  /** Gives back the instance's own address (not a static IP's). */
  async releaseOwnAddress(rec: Pick<InstanceRecord, 'id' | 'ip'>): Promise<void> {
    if (rec.ip) await this.machines.driver.addresses?.release(rec.ip, instanceHolder(rec));
  }

  stop(rec: InstanceRecord): void {
    this.background(rec, 'stop', async () => {
      await this.machines.halt(rec.id);
      await this.update(rec, (r) => {
        r.state = 'stopped';
        if (!r.staticIpName) delete r.ip;
      });
      await this.releaseOwnAddress(rec);
    });
  }

  reboot(rec: InstanceRecord): void {
    this.background(rec, 'reboot', async () => {
      await this.machines.halt(rec.id);
      await this.boot(rec);
    });
  }

  /** Takes the instance down and deletes its disk; the record is already gone. */
  delete(rec: InstanceRecord): void {
    this.background(rec, 'delete', async () => {
      await this.machines.destroy(rec.id);
      await this.releaseOwnAddress(rec);
      this.usage.deleted(rec, this.now());
    });
  }

  /**
   * Re-applies the public ports of a running instance: its firewall, or where the driver
   * publishes ports (Docker, which binds them when it makes a container), a new container
   * publishing the new set.
   */
  ports(rec: InstanceRecord): void {
    if (!this.machines.publishesPorts) {
      this.background(rec, 'firewall update', () => this.machines.applyPorts(rec));
      return;
    }
    this.background(rec, 'port change', async () => {
      const cur = await this.store.get<InstanceRecord>(T.instances, this.key(rec));
      if (cur?.id !== rec.id || cur.desired !== 'running' || !this.machines.portsChanged(cur))
        return;
      await this.machines.halt(rec.id);
      await this.boot(cur);
    });
  }

  /**
   * Moves a running instance to its new address (a static IP attached or detached), which
   * means a reboot of its container; `ownIp` is the address it held itself before, freed.
   */
  readdress(rec: InstanceRecord, ownIp?: string): void {
    // Loopback stays loopback (ports published by Docker): nothing moves.
    if (this.machines.publishesPorts) return;
    this.background(rec, 'address change', async () => {
      if (rec.state === 'running' || rec.state === 'pending') await this.machines.halt(rec.id);
      if (ownIp) await this.releaseOwnAddress({ id: rec.id, ip: ownIp });
      const cur = await this.store.get<InstanceRecord>(T.instances, this.key(rec));
      if (cur?.id === rec.id && cur.desired === 'running') await this.boot(cur);
    });
  }

  /** Runs `fn` while the instance's machine work is paused (a snapshot of its disk). */
  async exclusive<R>(rec: InstanceRecord, fn: () => Promise<R>): Promise<R> {
    const release = await this.mutex.lock(rec.id);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** An instance's container ended by itself: it is stopped now (its address kept). */
  crashed(id: string, reason: string): void {
    void (async () => {
      const all = await this.store.list<InstanceRecord>(T.instances);
      const rec = all.find((i) => i.value.id === id)?.value;
      if (!rec) return;
      this.log(`lightsail: instance ${rec.name} stopped: ${reason}`);
      await this.update(rec, (r) => {
        r.state = 'stopped';
        r.desired = 'stopped';
        r.error = reason;
      });
    })();
  }

  /** After a restart: boot what should run, settle what was caught mid-stop. */
  async recover(): Promise<number> {
    let n = 0;
    for (const { value: rec } of await this.store.list<InstanceRecord>(T.instances)) {
      if (rec.state === 'shutting-down') {
        await this.store.delete(T.instances, this.key(rec));
        this.delete(rec);
      } else if (rec.desired === 'running') {
        const up = await this.update(rec, (r) => (r.state = 'pending'));
        if (up) {
          this.launch(up);
          n++;
        }
      } else if (rec.state !== 'stopped') {
        const down = await this.update(rec, (r) => (r.state = 'stopped'));
        if (down) this.stop(down);
      }
    }
    return n;
  }

  /**
   * Gives back every address instances and static IPs hold (an ephemeral server's stop:
   * nothing will ever boot on them again).
   */
  async releaseAll(): Promise<void> {
    const pool = this.machines.driver.addresses;
    if (!pool) return;
    for (const { value: rec } of await this.store.list<InstanceRecord>(T.instances))
      await this.releaseOwnAddress(rec);
    for (const { value: ip } of await this.store.list<StaticIpRecord>(T.staticIps))
      await pool.release(ip.ip, ip.holder);
  }

  /** Waits for background work (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.work.size) await Promise.allSettled([...this.work]);
  }
}

/** Where a disk attached at `path` (`/dev/xvdf`) appears inside the instance: /mnt/xvdf. */
export function diskMount(path: string): string {
  return `/mnt/${path.split('/').filter(Boolean).pop() ?? 'disk'}`;
}
