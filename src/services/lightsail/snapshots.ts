/**
 * Instance snapshots and disks.
 *
 * CreateInstanceSnapshot captures the instance's own files (its disk's writable layer,
 * with the layers of the snapshot it came from beneath) as a tar in Stratus's blob store;
 * CreateInstancesFromSnapshot (instances.ts) boots new disks on those layers over the
 * blueprint's image. The snapshot is `pending` until the capture is stored.
 *
 * Disks are directories in Lightsail's state, bind-mounted into the instance at
 * /mnt/<last part of diskPath> (`/dev/xvdf` → /mnt/xvdf): a file system, not a block
 * device, so there is nothing to format. An attach or detach takes effect at the
 * instance's next start (or reboot).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import type { LightsailOperations } from '../../api/lightsail/operations.js';
import {
  checkName,
  invalid,
  notFound,
  operation,
  scopeOf,
  tagsIn,
  type LightsailDeps,
} from './common.js';
import { findInstance } from './instances.js';
import {
  T,
  keyOf,
  scopePrefix,
  type DiskRecord,
  type InstanceRecord,
  type Scope,
  type SnapshotRecord,
} from './store.js';
import { diskView, instanceArn, snapshotView } from './views.js';

type SnapshotOps = Pick<
  LightsailOperations,
  | 'CreateInstanceSnapshot'
  | 'GetInstanceSnapshot'
  | 'GetInstanceSnapshots'
  | 'DeleteInstanceSnapshot'
  | 'CreateDisk'
  | 'GetDisk'
  | 'GetDisks'
  | 'AttachDisk'
  | 'DetachDisk'
  | 'DeleteDisk'
>;

export function snapshotOperations(deps: LightsailDeps, log: (m: string) => void): SnapshotOps {
  const { store, fleet } = deps;

  async function capture(scope: Scope, snap: SnapshotRecord, rec: InstanceRecord) {
    const key = keyOf(scope, snap.name);
    try {
      const layer = await fleet.exclusive(rec, () => fleet.machines.captureLayer(rec.id));
      await store.transaction(async (tx) => {
        const cur = await tx.get<SnapshotRecord>(T.snapshots, key);
        if (!cur || cur.createdAt !== snap.createdAt) return;
        cur.layers = [layer.digest, ...rec.snapshotLayers];
        cur.sizeBytes = layer.size;
        cur.state = 'available';
        await tx.put(T.snapshots, key, cur);
      });
    } catch (err) {
      log(`lightsail: snapshot ${snap.name} of ${rec.name} failed: ${(err as Error).message}`);
      const cur = await store.get<SnapshotRecord>(T.snapshots, key);
      if (cur?.createdAt === snap.createdAt)
        await store.put(T.snapshots, key, { ...cur, state: 'error' });
    }
  }

  async function findDisk(scope: Scope, name: string): Promise<DiskRecord> {
    const d = await store.get<DiskRecord>(T.disks, keyOf(scope, name));
    if (!d) throw notFound('Disk', name);
    return d;
  }

  return {
    async CreateInstanceSnapshot(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('InstanceSnapshot', input.instanceSnapshotName);
      const rec = await findInstance(store, scope, input.instanceName);
      const now = deps.now();
      const snap: SnapshotRecord = {
        ...scope,
        name: input.instanceSnapshotName,
        createdAt: now,
        state: 'pending',
        fromInstanceName: rec.name,
        fromInstanceArn: instanceArn(rec),
        fromBlueprintId: rec.blueprintId,
        fromBundleId: rec.bundleId,
        layers: [],
        sizeBytes: 0,
        tags: tagsIn(input.tags),
      };
      if (!(await store.insert(T.snapshots, keyOf(scope, snap.name), snap)))
        throw invalid(`Some names are already in use: ${snap.name}`);
      void capture(scope, snap, rec);
      return {
        operations: [
          operation(scope, now, snap.name, 'InstanceSnapshot', 'CreateInstanceSnapshot'),
          operation(
            scope,
            now,
            rec.name,
            'Instance',
            'CreateInstanceSnapshot',
            rec.availabilityZone,
          ),
        ],
      };
    },

    async GetInstanceSnapshot(input, ctx) {
      const scope = scopeOf(ctx);
      const s = await store.get<SnapshotRecord>(
        T.snapshots,
        keyOf(scope, input.instanceSnapshotName),
      );
      if (!s) throw notFound('InstanceSnapshot', input.instanceSnapshotName);
      return { instanceSnapshot: snapshotView(s) };
    },

    async GetInstanceSnapshots(_input, ctx) {
      const rows = await store.list<SnapshotRecord>(T.snapshots, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      return { instanceSnapshots: rows.map((r) => snapshotView(r.value)) };
    },

    async DeleteInstanceSnapshot(input, ctx) {
      const scope = scopeOf(ctx);
      const key = keyOf(scope, input.instanceSnapshotName);
      const s = await store.get<SnapshotRecord>(T.snapshots, key);
      if (!s) throw notFound('InstanceSnapshot', input.instanceSnapshotName);
      await store.delete(T.snapshots, key);
      // Its top layer goes unless an instance made from it, or another snapshot, uses it.
      const top = s.layers[0];
      if (top) {
        const used =
          (await store.list<InstanceRecord>(T.instances)).some((i) =>
            i.value.snapshotLayers.includes(top),
          ) ||
          (await store.list<SnapshotRecord>(T.snapshots)).some((o) => o.value.layers.includes(top));
        if (!used) await fleet.machines.forgetLayer(top);
      }
      return {
        operations: [
          operation(scope, deps.now(), s.name, 'InstanceSnapshot', 'DeleteInstanceSnapshot'),
        ],
      };
    },

    async CreateDisk(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('Disk', input.diskName);
      if (input.sizeInGb < 8 || input.sizeInGb > 16384)
        throw invalid('The disk size must be between 8 and 16384 GB.');
      const rec: DiskRecord = {
        ...scope,
        name: input.diskName,
        id: randomUUID(),
        createdAt: deps.now(),
        availabilityZone: input.availabilityZone,
        sizeInGb: input.sizeInGb,
        tags: tagsIn(input.tags),
      };
      if (!(await store.insert(T.disks, keyOf(scope, rec.name), rec)))
        throw invalid(`Some names are already in use: ${rec.name}`);
      await mkdir(fleet.machines.diskDir(rec.id), { recursive: true });
      return {
        operations: [
          operation(scope, rec.createdAt, rec.name, 'Disk', 'CreateDisk', rec.availabilityZone),
        ],
      };
    },

    async GetDisk(input, ctx) {
      return { disk: diskView(await findDisk(scopeOf(ctx), input.diskName)) };
    },

    async GetDisks(_input, ctx) {
      const rows = await store.list<DiskRecord>(T.disks, { prefix: scopePrefix(scopeOf(ctx)) });
      return { disks: rows.map((r) => diskView(r.value)) };
    },

    async AttachDisk(input, ctx) {
      const scope = scopeOf(ctx);
      if (!/^\/dev\/[a-z0-9]+$/.test(input.diskPath))
        throw invalid(`The disk path ${input.diskPath} is not valid.`);
      await store.transaction(async (tx) => {
        const d = await tx.get<DiskRecord>(T.disks, keyOf(scope, input.diskName));
        if (!d) throw notFound('Disk', input.diskName);
        if (d.attachedTo)
          throw invalid(`The disk ${d.name} is already attached to ${d.attachedTo}.`);
        const inst = await findInstance(tx, scope, input.instanceName);
        if (d.availabilityZone !== inst.availabilityZone)
          throw invalid(
            `The disk ${d.name} and the instance ${inst.name} are in different availability zones.`,
          );
        if (inst.disks.some((x) => x.path === input.diskPath))
          throw invalid(`The disk path ${input.diskPath} is already in use on ${inst.name}.`);
        d.attachedTo = inst.name;
        d.path = input.diskPath;
        inst.disks.push({ name: d.name, path: input.diskPath });
        await tx.put(T.disks, keyOf(scope, d.name), d);
        await tx.put(T.instances, keyOf(scope, inst.name), inst);
      });
      return {
        operations: [operation(scope, deps.now(), input.diskName, 'Disk', 'AttachDisk')],
      };
    },

    async DetachDisk(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const d = await tx.get<DiskRecord>(T.disks, keyOf(scope, input.diskName));
        if (!d) throw notFound('Disk', input.diskName);
        if (!d.attachedTo) throw invalid(`The disk ${d.name} is not attached.`);
        const inst = await tx.get<InstanceRecord>(T.instances, keyOf(scope, d.attachedTo));
        if (inst) {
          inst.disks = inst.disks.filter((x) => x.name !== d.name);
          await tx.put(T.instances, keyOf(scope, inst.name), inst);
        }
        delete d.attachedTo;
        delete d.path;
        await tx.put(T.disks, keyOf(scope, d.name), d);
      });
      return {
        operations: [operation(scope, deps.now(), input.diskName, 'Disk', 'DetachDisk')],
      };
    },

    async DeleteDisk(input, ctx) {
      const scope = scopeOf(ctx);
      const d = await findDisk(scope, input.diskName);
      if (d.attachedTo)
        throw invalid(`The disk ${d.name} is attached to ${d.attachedTo}; detach it first.`);
      await store.delete(T.disks, keyOf(scope, d.name));
      await rm(fleet.machines.diskDir(d.id), { recursive: true, force: true });
      return {
        operations: [operation(scope, deps.now(), d.name, 'Disk', 'DeleteDisk')],
      };
    },
  };
}
